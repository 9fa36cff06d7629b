import { rmSync } from 'node:fs';
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
import { addCarImages, tempFolder } from './support/datasets';

/** Two classes of two images: WebGPU on a software adapter is about 100x slower than WASM here. */
function tinyDataset(): string {
  return addCarImages(tempFolder('tiny'), 2, 0, 2);
}

describe('WebGPU backend in the worker (SwiftShader adapter)', () => {
  let server: StudioServer;
  let browser: Browser;
  let folder: string;

  beforeAll(async () => {
    folder = tinyDataset();
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('embeds on webgpu and matches the wasm embeddings within tolerance', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await (await revealed(page, 'embed-batch')).fill('2');

    await chooseTestEncoder(page, 'webgpu');
    expect(await embedAndWait(page, 300_000)).toEqual({ embedded: 4, cached: 0, failed: 0 });
    const running = await textOf(page, 'backend-running');
    expect(running).toMatch(/^Running on webgpu/);
    expect(running).toContain('swiftshader');
    expect(running).toContain('software fallback adapter');
    const onWebgpu = await storedEmbeddings(page);
    expect(Object.keys(onWebgpu)).toHaveLength(4);

    // Same key on every backend (the backend does not change the embedding): clear, redo on wasm.
    await revealed(page, 'cache-panel'); // under the Embed step's "Storage"
    await revealed(page, 'cache-panel'); // under the Embed step's "Storage"
    await page.getByTestId('cache-panel').getByRole('button', { name: 'Clear' }).first().click();
    await expect.poll(async () => Object.keys(await storedEmbeddings(page)).length).toBe(0);
    await (await revealed(page, 'backend-select')).selectOption('wasm');
    expect(await embedAndWait(page)).toEqual({ embedded: 4, cached: 0, failed: 0 });
    const onWasm = await storedEmbeddings(page);

    let maxDiff = 0;
    let maxAbs = 0;
    for (const [key, a] of Object.entries(onWebgpu)) {
      const b = onWasm[key];
      expect(b, key).toBeDefined();
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        maxAbs = Math.max(maxAbs, Math.abs(b[i]));
      }
    }
    console.log(`[e2e] webgpu vs wasm: max abs diff ${maxDiff.toExponential(2)} (max |x| ${maxAbs.toFixed(2)})`);
    expect(maxAbs).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(1e-3 * Math.max(1, maxAbs));
  });
});
