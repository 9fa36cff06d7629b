import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  serveModelAt,
  startStudio,
  storedEmbeddings,
  textOf,
  TEST_MODEL,
  TEST_MODEL_URL,
  type Browser,
  type StudioServer, revealed } from './support/studio';
import { addCarImages } from './support/datasets';



/**
 * A full disk in the embedding worker: the test wraps the worker's IDBObjectStore.put (real
 * IndexedDB otherwise, no hook in the app) so that, after `allowed` embeddings, a put aborts
 * its transaction and throws QuotaExceededError, as Chromium does when a commit does not fit.
 * (The DevTools protocol's Storage.overrideQuotaForOrigin does lower the real quota, but
 * Chromium enforces it only every so many writes: hundreds of images late, not at a chosen batch.)
 */
async function fillStorageAfter(browser: Browser, allowed: number, store = 'embeddings'): Promise<void> {
  const { page } = browser;
  // The worker starts on its first request: detecting the backends is one (under the Encoder's Advanced).
  await revealed(page, 'backend-select');
  await page.getByRole('button', { name: 'Detect' }).click();
  await page.getByTestId('backend-table').waitFor({ timeout: 60_000 });
  const workers = page.workers().filter((w) => w.url().includes('embedWorker'));
  expect(workers.length).toBe(1);
  await workers[0].evaluate(({ allowed, store }) => {
    const put = IDBObjectStore.prototype.put;
    let puts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
      if (this.name === store && ++puts > allowed) {
        this.transaction.abort();
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return put.apply(this, args);
    };
  }, { allowed, store });
}
describe('storage full while embedding (real Chromium quota, wasm)', () => {
  let server: StudioServer;
  let browser: Browser;
  const folder = mkdtempSync(path.join(os.tmpdir(), 'studio-quota-'));
  const BATCH = 8;

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const keysOfSet = async () => Object.keys(await storedEmbeddings(browser.page));

  async function embedFolder(
    allowed?: number,
    store?: string,
  ): Promise<Awaited<ReturnType<typeof embedAndWait>> | { error: string; code: string | null }> {
    const { page } = browser;
    if (allowed !== undefined) await fillStorageAfter(browser, allowed, store);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    await (await revealed(page, 'embed-batch')).fill(String(BATCH));
    try {
      return await embedAndWait(page);
    } catch {
      const error = page.getByTestId('embed-error');
      return { error: (await error.textContent()) ?? '', code: await error.getAttribute('data-code') };
    }
  }

  it('stops cleanly with a clear message when the quota is reached, keeping every stored batch', async () => {
    const { page } = browser;
    await page.goto(server.url);
    // First a small run, so the model is downloaded and stored while there is room.
    addCarImages(folder, 4, 0, 1);
    expect(await embedFolder()).toEqual({ embedded: 4, cached: 0, failed: 0 });
    // Then the dataset grows to 64 images, and storage fills up after two more batches.
    addCarImages(folder, 4, 1, 16);
    await page.reload();
    const outcome = await embedFolder(2 * BATCH);
    expect(outcome).toMatchObject({ code: 'quota' });
    const message = (outcome as { error: string }).error;
    expect(message).toMatch(/^Browser storage is full: stopped after storing \d+ new embeddings/);
    expect(message).toContain('embed again to finish');
    const stored = await keysOfSet();
    const newlyStored = stored.length - 4;
    expect(message).toContain(`stopped after storing ${newlyStored} new embeddings (${stored.length} in all`);
    expect(newlyStored).toBe(2 * BATCH); // whole batches only: the failed one left nothing behind
    expect(await textOf(page, 'embed-stage')).not.toMatch(/embedding/i);
    await expect(page.getByTestId('embed-start').isEnabled()).resolves.toBe(true);
    expect(await page.getByTestId('baseline').count()).toBe(0);
  });

  it('with room again, the next run embeds only the images that were not stored', async () => {
    const { page } = browser;
    const before = (await keysOfSet()).length;
    await page.reload(); // a fresh worker: storage has room again
    const result = await embedFolder();
    expect(result).toEqual({ embedded: 64 - before, cached: before, failed: 0 });
    expect((await keysOfSet()).length).toBe(64);
    expect(await textOf(page, 'baseline-rprecision')).toMatch(/%$/);
  });

  it('fine-tuning wanted: the cut maps stop at a full disk the same way, and the next run stores only the rest', async () => {
    const { page } = browser;
    await page.reload();
    await (await revealed(page, 'train-setting-topBlocks')).fill('1');
    const outcome = await embedFolder(2 * BATCH, 'cutMaps');
    expect(outcome).toMatchObject({ code: 'quota' });
    const message = (outcome as { error: string }).error;
    expect(message).toMatch(/^Browser storage is full: stopped caching cut maps for fine-tuning after 16 new ones \(16 in all, each \d+ KB; the embeddings are all kept\)/);
    expect(message).toContain('embed again to finish');
    expect((await keysOfSet()).length).toBe(64);
    await page.reload();
    expect(await embedFolder()).toEqual({ embedded: 0, cached: 64, failed: 0 });
    const cut = page.getByTestId('embed-cut-result');
    expect([await cut.getAttribute('data-stored'), await cut.getAttribute('data-cached')]).toEqual(['48', '16']);
  });
});
