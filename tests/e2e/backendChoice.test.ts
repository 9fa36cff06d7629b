import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { addCarImages, tempFolder } from './support/datasets';

const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

describe('choosing the fastest backend by timing the encoder (real Chromium)', () => {
  let server: StudioServer;
  let browser: Browser;
  let folder: string;

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    folder = addCarImages(tempFolder('backends'), 2, 0, 2);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('times the chosen encoder on every available backend, shows the figures, and "fastest" runs on the fastest', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'auto');
    await (await revealed(page, 'backend-measure')).click();
    const measure = page.getByTestId('backend-measure');
    await expect.poll(() => measure.textContent(), { timeout: 240_000 }).toBe('Time the encoder on each');

    const figures: Partial<Record<(typeof BACKENDS)[number], number>> = {};
    for (const name of BACKENDS) {
      const cell = (await page.getByTestId(`backend-ips-${name}`).textContent()) ?? '';
      const value = /^([\d.]+) \(batch \d+\)$/.exec(cell);
      if (value) figures[name] = Number(value[1]);
    }
    // WASM always runs here; the rest depend on the machine (WebGPU through SwiftShader here).
    console.info('[e2e] encoder images/s per backend:', figures);
    expect(figures.wasm).toBeGreaterThan(0);
    const fastest = Object.entries(figures).sort((a, b) => b[1] - a[1])[0][0];

    const result = await embedAndWait(page);
    expect(result.embedded).toBe(4);
    const running = (await page.getByTestId('backend-running').textContent()) ?? '';
    expect(running).toContain(`Running on ${fastest}`);
  });
});
