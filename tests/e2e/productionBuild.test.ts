import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCarImages, tempFolder } from './support/datasets';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  serveModelAt,
  startProductionStudio,
  TEST_MODEL,
  TEST_MODEL_URL,
  type Browser,
  type StudioServer,
  trainAndWait,
} from './support/studio';

/** The minified build is where tfjs's threaded WASM broke (its thread workers could not start). */
describe('a production build (vite build + vite preview): cross-origin isolated, threaded WASM embeds and trains', () => {
  let server: StudioServer;
  let browser: Browser;
  let page: Page;
  const outDir = tempFolder('dist');
  // 8 classes: 4 to train on (2 of them held out to choose the epoch), 4 to test
  const folder = addCarImages(tempFolder('prod'), 8, 0, 5);

  beforeAll(async () => {
    server = await startProductionStudio(outDir);
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(folder, { recursive: true, force: true });
  });

  it('embeds on wasm with one thread per logical core, then trains on it in the training worker', async () => {
    await page.goto(server.url);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    expect(await embedAndWait(page)).toEqual({ embedded: 40, cached: 0, failed: 0 });
    const running = await page.getByTestId('backend-running').innerText();
    expect(running).toMatch(/^Running on wasm/);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(running).toContain(`${cores} threads: one per logical core`);

    const { phase, error } = await trainAndWait(page, { epochs: 2, timeoutMs: 180_000 });
    expect(phase, `${error}\n${browser.log.join('\n')}`).toBe('done');
    expect(browser.log.filter((l) => /is not defined/.test(l))).toEqual([]);
  });
});
