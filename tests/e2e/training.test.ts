import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sharedPath } from '../support/shared';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  serveModelAt,
  startStudio,
  TEST_MODEL,
  TEST_MODEL_URL,
  type Browser,
  type StudioServer, revealed } from './support/studio';

const EPOCHS = 4;

async function points(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute('data-points'));
}

async function phase(page: Page): Promise<string> {
  return (await page.getByTestId('train-stage').getAttribute('data-phase')) ?? '';
}

async function waitForPhase(page: Page, wanted: string[], timeout = 120_000): Promise<string> {
  await page.waitForFunction(
    (w) => w.includes(document.querySelector('[data-testid="train-stage"]')?.getAttribute('data-phase') ?? ''),
    wanted,
    { timeout, polling: 100 },
  );
  return phase(page);
}

async function setSetting(page: Page, key: string, value: string): Promise<void> {
  await (await revealed(page, `train-setting-${key}`)).fill(value);
}

describe('training the head in a worker, with live charts and a run history (real Chromium, wasm)', () => {
  let server: StudioServer;
  let browser: Browser;
  let page: Page;
  const cars40 = sharedPath('data', 'stanford-cars-40');

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    page = browser.page;
    await page.goto(server.url);
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    await embedAndWait(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('embedded on threaded WASM: the page is cross-origin isolated and the backend label says how many threads', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const running = await page.getByTestId('backend-running').innerText();
    const threads = Number(/(\d+) threads?:/.exec(running)?.[1]);
    expect(running, running).toMatch(/^Running on wasm/);
    // one per logical core: more than one wherever the machine has them (this one has 2)
    expect(threads).toBe(await page.evaluate(() => navigator.hardwareConcurrency));
    expect(threads).toBeGreaterThan(1);
  });

  it("refuses invalid settings with the engine's message, before starting", async () => {
    await setSetting(page, 'learningRate', '0');
    await expect.poll(() => page.getByTestId('training-panel').innerText()).toContain('learningRate must be > 0 and ≤ 1, got 0');
    await page.getByTestId('train-start').click();
    expect(await page.getByTestId('train-settings-error').innerText()).toContain('learningRate must be > 0 and ≤ 1, got 0');
    expect(await phase(page)).toBe('idle');
    await setSetting(page, 'learningRate', '0.003');
    expect(await page.getByTestId('train-settings-error').count()).toBe(0);
  });

  it('trains a few epochs: one chart point per epoch, pause and resume, a summary at the end', async () => {
    await setSetting(page, 'maxEpochs', String(EPOCHS));
    await (await revealed(page, 'train-backend')).selectOption('wasm');
    const started = Date.now();
    await page.getByTestId('train-start').click();
    await page.getByTestId('train-pause').click();
    expect(await waitForPhase(page, ['paused', 'failed'])).toBe('paused');
    const pausedAt = await points(page, 'train-chart-loss');
    expect(pausedAt).toBeLessThan(EPOCHS);
    await page.waitForTimeout(1500);
    expect(await points(page, 'train-chart-loss')).toBe(pausedAt);
    expect(await phase(page)).toBe('paused');
    await page.getByTestId('train-resume').click();
    const end = await waitForPhase(page, ['done', 'failed']);
    const wall = (Date.now() - started) / 1000;
    if (end === 'failed') throw new Error(`Training failed: ${await page.getByTestId('train-error').textContent()}\n${browser.log.join('\n')}`);

    expect(await textOf('train-backend-used')).toBe('wasm');
    // losses: training, validation; R-Precision (held-out selection, the default): held-out
    // validation, test classes (charted only), frozen encoder
    for (const [chart, series] of [['train-chart-loss', 2], ['train-chart-rprecision', 3]] as const) {
      expect(await points(page, chart)).toBe(EPOCHS);
      expect(Number(await page.getByTestId(chart).getAttribute('data-series'))).toBe(series);
    }
    expect(await textOf('train-selection')).toMatch(/^held-out validation: \d+ images · 4 training classes$/);
    expect(await page.getByTestId('train-summary-selection').getAttribute('data-selection')).toBe('heldout');
    const summary = page.getByTestId('train-summary');
    expect(Number(await summary.getAttribute('data-epochs'))).toBe(EPOCHS);
    const best = Number(await summary.getAttribute('data-best-epoch'));
    expect(best).toBeGreaterThanOrEqual(1);
    for (const key of ['rPrecision', 'rPrecisionMacro', 'precisionAt1', 'mapAtR']) {
      expect(await textOf(`train-summary-base-${key}`)).toMatch(/^\d+\.\d%$/);
      expect(await textOf(`train-summary-tuned-${key}`)).toMatch(/^\d+\.\d%$/);
    }

    // not hovering, the legend shows the latest values (never "—" for a chart with data)
    const legend = await page.getByTestId('train-chart-loss').locator('.u-legend').innerText();
    expect(legend).toMatch(/epoch\s*4/);
    expect(legend).not.toContain('—');
    // values on hover: uPlot's legend shows the epoch under the cursor
    const over = page.getByTestId('train-chart-loss').locator('.u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width - 2, y: box.height / 2 } });
    await expect.poll(() => page.getByTestId('train-chart-loss').locator('.u-legend').innerText()).toMatch(/epoch\s*4/);

    const tasks = page.getByTestId('train-longtasks');
    expect(await tasks.getAttribute('data-supported')).toBe('true');
    const stats = await page.evaluate(
      () => (window as unknown as { __studioLongTasks?: { supported: boolean; count: number; longestMs: number } }).__studioLongTasks,
    );
    expect(stats?.supported).toBe(true);
    expect(typeof stats?.count).toBe('number');
    const perEpoch = await page.evaluate(() =>
      Array.from(document.querySelectorAll('[data-testid="train-seconds"]'), (e) => e.textContent),
    );
    console.log(
      `[e2e] ${EPOCHS} epochs on wasm (40 classes): ${wall.toFixed(1)} s wall incl. a 1.5 s pause; last epoch ${perEpoch[0]} s; ` +
        `best epoch ${best}; R-Precision ${await textOf('train-summary-base-rPrecision')} -> ${await textOf('train-summary-tuned-rPrecision')}; ` +
        `main-thread long tasks while training: ${stats?.count} (longest ${Math.round(stats?.longestMs ?? 0)} ms)`,
    );
  });

  it('a tab closed mid-run leaves the run in the history up to its last finished epoch; runs open, compare and delete', async () => {
    await setSetting(page, 'maxEpochs', '200');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="train-chart-loss"]')?.getAttribute('data-points')) >= 2,
      undefined,
      { timeout: 120_000, polling: 100 },
    );
    await page.close(); // the tab goes, and its worker with it
    await new Promise((r) => setTimeout(r, 500));
    page = await browser.context.newPage();
    await page.goto(server.url);

    const rows = page.getByTestId('run-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    const interrupted = rows.nth(0); // newest first
    const finished = rows.nth(1);
    expect(await interrupted.getAttribute('data-status')).toBe('interrupted');
    expect(Number(await interrupted.getAttribute('data-epochs'))).toBeGreaterThanOrEqual(2);
    expect(await interrupted.getByTestId('run-status').innerText()).toMatch(/^interrupted after epoch \d+$/);
    expect(await finished.getAttribute('data-status')).toBe('finished');
    expect(Number(await finished.getAttribute('data-epochs'))).toBe(EPOCHS);

    await finished.getByTestId('run-open').click();
    expect(await points(page, 'opened-chart-loss')).toBe(EPOCHS);
    expect(await points(page, 'opened-chart-rprecision')).toBe(EPOCHS);
    expect(await textOf('opened-summary-tuned-rPrecision')).toMatch(/^\d+\.\d%$/);
    expect(await textOf('opened-summary-base-rPrecision')).toMatch(/^\d+\.\d%$/);

    await interrupted.getByTestId('run-open').click();
    expect(await page.getByTestId('opened-run').innerText()).toContain('Interrupted');
    const kept = Number(await interrupted.getAttribute('data-epochs'));
    expect(await points(page, 'opened-chart-loss')).toBe(kept);

    await interrupted.getByTestId('run-compare').check();
    await finished.getByTestId('run-compare').check();
    expect(await points(page, 'compare-chart-loss')).toBe(Math.max(kept, EPOCHS));
    expect(Number(await page.getByTestId('compare-chart-rprecision').getAttribute('data-series'))).toBeGreaterThanOrEqual(3);

    await interrupted.getByTestId('run-delete').click();
    await expect.poll(() => rows.count()).toBe(1);
    await page.reload();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('run-row').getAttribute('data-status')).toBe('finished');
  });

  async function textOf(testId: string): Promise<string> {
    return ((await page.getByTestId(testId).textContent()) ?? '').trim();
  }
});
