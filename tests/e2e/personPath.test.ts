/**
 * The person's path, as a first-time user meets it: a fresh profile with no network, the
 * catalog download failing, a model folder and a dataset dropped, embed, train, download,
 * reload (the page is where it was, from IndexedDB), train again without a drop, and a tab
 * closed mid-run. Prints the path's benchmark as JSON (actions, time to first baseline,
 * reload to a usable page); nothing here is timed as a test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { catalogCard } from '../../src/core/encoder/catalog';
import { sharedPath } from '../support/shared';
import { dropFolder, launchBrowser, msUntilUsable, offline, revealed, startStudio, textOf, type Browser, type StudioServer } from './support/studio';

const CATALOG_ID = 'tfjs-mobilenet-v1-0.25-224';

async function waitForPhase(page: Page, wanted: string[], timeout = 180_000): Promise<string> {
  await page.waitForFunction(
    (w) => w.includes(document.querySelector('[data-testid="train-stage"]')?.getAttribute('data-phase') ?? ''),
    wanted,
    { timeout, polling: 100 },
  );
  return (await page.getByTestId('train-stage').getAttribute('data-phase')) ?? '';
}

describe("the person's path: open the page, drop a folder, get a model, nothing lost on reload (real Chromium, offline)", () => {
  let server: StudioServer;
  let browser: Browser;
  let page: Page;
  const actions: string[] = [];
  const bench: Record<string, unknown> = {};
  const cars40 = sharedPath('data', 'stanford-cars-40');

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    page = browser.page;
  });
  afterAll(async () => {
    console.log(`[bench] person's path: ${JSON.stringify(bench)}`);
    await browser?.close();
    await server?.close();
  });

  it('a failed catalog download names its URL and the model-folder route; a dropped model folder clears it; embed, train, download', async () => {
    const refused = await offline(browser.context, server.url);
    const opened = Date.now();
    await page.goto(server.url);
    await page.getByTestId('drop-zone').waitFor();
    expect(await page.getByTestId('drop-zone').innerText()).toMatch(/dataset folder[\s\S]*model folder/);

    await dropFolder(browser, cars40);
    actions.push('drop the dataset folder');
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-images')).toBe('1,619');
    expect(await page.getByTestId('step-data').getAttribute('data-state')).toBe('done');

    // the catalog entry cannot be downloaded here
    await page.getByTestId('encoder-catalog').selectOption(CATALOG_ID);
    await (await revealed(page, 'backend-select')).selectOption('wasm');
    await page.getByTestId('embed-start').click();
    const error = page.getByTestId('embed-error');
    await error.waitFor({ timeout: 60_000 });
    const message = await error.innerText();
    expect(message).toContain(`Could not load the encoder from ${catalogCard(CATALOG_ID).url}:`);
    expect(message).toMatch(/offline|did not reach/);
    expect(message).toContain('drop its folder (model.json and its weight files) on the page');
    expect(refused.length).toBeGreaterThan(0);

    // the way that needs no network: a model folder
    await dropFolder(browser, sharedPath('models', 'mobilenet-v1-0.25-128'));
    actions.push('drop the model folder (this test; the built-in encoder needs none)');
    await page.getByTestId('encoder-card-name').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('embed-error').count()).toBe(0);

    await page.getByTestId('embed-start').click();
    actions.push('click Embed');
    await page.getByTestId('baseline-rprecision').waitFor({ timeout: 300_000 });
    bench.secondsToFirstBaseline = (Date.now() - opened) / 1000;
    await page.getByTestId('embed-result').waitFor();
    expect(await page.getByTestId('embed-result').getAttribute('data-embedded')).toBe('1619');
    expect(await page.getByTestId('step-embed').getAttribute('data-state')).toBe('done');
    expect(await textOf(page, 'baseline-plain')).toMatch(/^R-Precision \d+\.\d%: of the other photos of the same car model/);
    bench.embedImagesPerSecond = Number((await textOf(page, 'embed-speed')).split(' ')[0]);

    // training: three epochs, the defaults otherwise
    await (await revealed(page, 'train-setting-maxEpochs')).fill('3');
    await (await revealed(page, 'train-backend')).selectOption('wasm');
    await page.getByTestId('train-start').click();
    actions.push('click Train');
    expect(await waitForPhase(page, ['done', 'failed'])).toBe('done');
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('run-status').innerText()).toMatch(/^(finished \(3 epochs\)|early-stopped after epoch \d)$/);

    const download = page.getByTestId('head-download');
    await expect.poll(() => download.isEnabled(), { timeout: 15_000 }).toBe(true);
    expect(await textOf(page, 'head-why')).toBe('Head in use: the only trained run.');
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    actions.push('click Download head');
    expect(file.suggestedFilename()).toMatch(/-head\.zip$/);
    bench.secondsToDownloadedHead = (Date.now() - opened) / 1000;
    bench.actionsToDownloadedHead = {
      drops: actions.filter((a) => a.startsWith('drop')).length,
      clicks: actions.filter((a) => a.startsWith('click')).length,
      list: actions,
      notCounted: 'this test also picks the failing catalog entry, the wasm backend (2 selects) and maxEpochs = 3 (1 field) under Advanced',
    };
  });

  it('after a reload the page is at the same step from IndexedDB: 1,619 images, 40 classes, the run; it trains again without a drop', async () => {
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.session === 'restored', undefined, { timeout: 30_000 });
    // the record as the restore read it (a save comes at least 150 ms after a change)
    const savedAt = await savedSessionAt(page);
    const train = page.getByTestId('train-start');
    // usable: the Train button enabled, measured in the page from its navigation start
    bench.reloadToUsableMs = Math.round(await msUntilUsable(page));
    bench.reloadToSessionRestoredMs = Number(await page.evaluate(() => document.documentElement.dataset.restoredMs));
    bench.reloadCachedEmbeddings = 1619;

    expect(await textOf(page, 'dataset-images')).toBe('1,619');
    expect(await textOf(page, 'dataset-classes')).toBe('40');
    expect(await page.getByTestId('dataset-not-connected').count()).toBe(1);
    for (const step of ['data', 'encoder', 'embed']) expect(await page.getByTestId(`step-${step}`).getAttribute('data-state'), step).toBe('done');
    expect(await textOf(page, 'baseline-rprecision')).toMatch(/%$/);
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.getByTestId('head-active').count(), { timeout: 15_000 }).toBe(1);
    // search shows its pictures from the stored thumbnails, no folder connected
    const pick = page.getByTestId('search-pick').first();
    await pick.waitFor({ timeout: 30_000 });
    // the grid's pictures are read when the person scrolls down to it, not on the reload, and
    // all in one IndexedDB transaction
    await page.waitForTimeout(1000);
    expect(await pick.locator('img').count()).toBe(0);
    await page.evaluate(() => {
      const open = IDBDatabase.prototype.transaction;
      const w = window as unknown as { thumbnailReads: number };
      w.thumbnailReads = 0;
      IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof open>) {
        if ([args[0]].flat().includes('thumbnails')) w.thumbnailReads += 1;
        return open.apply(this, args);
      };
    });
    await pick.scrollIntoViewIfNeeded();
    await expect.poll(() => pick.locator('img').getAttribute('data-source'), { timeout: 15_000 }).toBe('thumbnail');
    const grid = page.getByTestId('search-grid');
    await expect.poll(() => grid.locator('img[data-source="thumbnail"]').count(), { timeout: 15_000 }).toBe(await grid.getByTestId('search-pick').count());
    expect(await page.evaluate(() => (window as unknown as { thumbnailReads: number }).thumbnailReads)).toBe(1);
    // restoring changed nothing, so nothing was written back (a save of 16,185 images costs 50-150 ms of the page's time)
    expect(await savedSessionAt(page)).toBe(savedAt);

    // the settings came back too: maxEpochs is still 3
    expect(await (await revealed(page, 'train-setting-maxEpochs')).inputValue()).toBe('3');
    await train.click();
    expect(await waitForPhase(page, ['done', 'failed'])).toBe('done');
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 10_000 }).toBe(2);
  });

  it('a tab closed mid-run: reopened, that run says "interrupted after epoch N"', async () => {
    await (await revealed(page, 'train-setting-maxEpochs')).fill('200');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="train-chart-loss"]')?.getAttribute('data-points')) >= 2,
      undefined,
      { timeout: 120_000, polling: 100 },
    );
    // the row follows the live epoch
    await expect.poll(() => page.getByTestId('run-status').first().innerText(), { timeout: 10_000 }).toMatch(/^training · epoch \d+ done$/);
    await page.close();
    await new Promise((r) => setTimeout(r, 500));
    page = await browser.context.newPage();
    browser.page = page; // the drops below go to this tab
    await page.goto(server.url);
    const rows = page.getByTestId('run-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(3);
    expect(await rows.nth(0).getAttribute('data-status')).toBe('interrupted');
    expect(await rows.nth(0).getByTestId('run-status').innerText()).toMatch(/^interrupted after epoch \d+$/);
  });

  it('after a reload, "Reconnect folder" asks for permission on the stored folder handle (tested up to the call)', async () => {
    await page.reload();
    const button = page.getByTestId('dataset-reconnect');
    await button.waitFor({ timeout: 30_000 });
    expect(await button.innerText()).toBe('Reconnect folder “stanford-cars-40”');
    // headless Chromium's permission prompt is never answered: record the call, leave it pending
    await page.evaluate(() => {
      const w = window as unknown as { __asked: string[] };
      w.__asked = [];
      const proto = (globalThis as unknown as { FileSystemHandle: { prototype: Record<string, unknown> } }).FileSystemHandle.prototype;
      proto.requestPermission = function (this: { name: string }, options: { mode: string }) {
        w.__asked.push(`${this.name}:${options.mode}`);
        return new Promise(() => undefined);
      };
    });
    await button.click();
    expect(await page.evaluate(() => (window as unknown as { __asked: string[] }).__asked)).toEqual(['stanford-cars-40:read']);
    expect(await page.getByTestId('dataset-not-connected').innerText()).toContain('Waiting for your permission to read the folder…');
  });

  it('the same folder dropped again is matched by path, size and date: nothing is embedded again', async () => {
    await page.reload();
    await page.getByTestId('dataset-not-connected').waitFor({ timeout: 30_000 });
    await dropFolder(browser, cars40);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="step-data"]')?.getAttribute('data-state') === 'done' &&
        !document.querySelector('[data-testid="dataset-not-connected"]'),
      undefined,
      { timeout: 60_000 },
    );
    expect(await page.getByTestId('step-embed').getAttribute('data-state')).toBe('done');
    await page.getByTestId('embed-start').click();
    await page.getByTestId('embed-result').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('embed-result').getAttribute('data-embedded')).toBe('0');
    expect(await page.getByTestId('embed-result').getAttribute('data-cached')).toBe('1619');
  });

  it('a damaged saved session gives a clear message and a fresh session, not a blank page; runs and embeddings are kept', async () => {
    // damaged from a page of the same origin that is not the studio (so no save of the studio's races it)
    await page.goto(new URL('models/mobilenet-v2-1.0-224/NOTICE.md', server.url).href);
    await savedSessionRecord(page, { version: 2, dataset: { paths: 'not a list' } });
    await page.goto(server.url);
    const problem = page.getByTestId('session-problem');
    await problem.waitFor({ timeout: 30_000 });
    expect(await problem.innerText()).toMatch(
      /^Your last session could not be restored \(the saved session is damaged: the dataset has no file list\), so a fresh one was started\./,
    );
    await page.getByTestId('drop-zone').waitFor();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 10_000 }).toBe(3);
  });
});

/**
 * The saved session record in the page's IndexedDB (the page must be of the studio's origin),
 * as it was before `replacement`, when given, is written in its place.
 */
function savedSessionRecord(page: Page, replacement?: unknown): Promise<{ savedAt?: number } | undefined> {
  return page.evaluate(
    (replacement) =>
      new Promise<{ savedAt?: number } | undefined>((resolve, reject) => {
        const open = indexedDB.open('similarity-studio-session');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('session', replacement === undefined ? 'readonly' : 'readwrite');
          const store = tx.objectStore('session');
          const read = store.get('current');
          read.onsuccess = () => {
            if (replacement !== undefined) store.put(replacement, 'current');
          };
          tx.onerror = () => reject(tx.error);
          tx.oncomplete = () => {
            open.result.close();
            resolve(read.result as { savedAt?: number } | undefined);
          };
        };
      }),
    replacement,
  );
}

/** When the saved session record was written (its `savedAt`). */
async function savedSessionAt(page: Page): Promise<number> {
  const savedAt = (await savedSessionRecord(page))?.savedAt;
  if (typeof savedAt !== 'number') throw new Error('The page has no saved session record with a savedAt.');
  return savedAt;
}
