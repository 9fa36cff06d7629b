import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../support/shared';
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
  type StudioServer,
} from './support/studio';
import { addCarImages, tempFolder } from './support/datasets';

/** A small class-folders dataset with one corrupt JPEG and one text file among good images. */
function brokenDataset(): string {
  const root = addCarImages(tempFolder('broken'), 3, 0, 4);
  const [first, second] = readdirSync(root);
  writeFileSync(path.join(root, first, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
  writeFileSync(path.join(root, second, 'notes.txt'), 'not an image');
  return root;
}

describe('embedding in the worker, cached in IndexedDB (real Chromium, wasm)', () => {
  let server: StudioServer;
  let browser: Browser;
  let served: { requests: string[] };
  const cars40 = sharedPath('data', 'stanford-cars-40');
  const temp: string[] = [];

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    served = await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const t of temp) rmSync(t, { recursive: true, force: true });
  });

  it('downloads and stores the model, embeds 1,619 images and shows the baseline', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    const started = Date.now();
    const result = await embedAndWait(page);
    const seconds = (Date.now() - started) / 1000;
    expect(result).toEqual({ embedded: 1619, cached: 0, failed: 0 });
    expect(served.requests).toEqual(['model.json', 'weights.bin']);
    expect(await textOf(page, 'encoder-from')).toBe('download (now stored)');
    expect(await textOf(page, 'backend-running')).toMatch(/^Running on wasm/);
    expect(await textOf(page, 'baseline-on')).toMatch(/^[\d,]+ images of 20 classes$/);
    const rp = Number((await textOf(page, 'baseline-rprecision')).replace('%', ''));
    expect(rp).toBeGreaterThan(5); // chance on 20 classes is about 5%
    expect(await page.getByTestId('cache-count').first().textContent()).toBe('1,619');
    // the cache panel's payload is counted, not guessed: 256 float32 per vector plus the UTF-16 keys
    const keys = Object.keys(await storedEmbeddings(page));
    const payload = keys.reduce((sum, k) => sum + 256 * 4 + k.length * 2, 0);
    expect(Number(await page.getByTestId('cache-bytes').first().getAttribute('data-bytes'))).toBe(payload);
    // and the browser's own total is shown (with its IndexedDB share where Chromium reports it)
    const usage = page.getByTestId('cache-usage');
    await expect.poll(async () => Number(await usage.getAttribute('data-usage')), { timeout: 10_000 }).toBeGreaterThan(0);
    const idb = await usage.getAttribute('data-indexeddb');
    if (idb) expect(Number(idb)).toBeGreaterThan(0);
    console.log(`[e2e] cache: payload ${payload} B counted; browser usage ${await usage.getAttribute('data-usage')} B, IndexedDB ${idb || 'not reported'}`);
    console.log(`[e2e] embed 1,619 on wasm: ${seconds.toFixed(1)} s wall, ${await textOf(page, 'embed-speed')}`);
  });

  it('after a reload embeds nothing again and shows the baseline from the cache, model read offline', async () => {
    const { page } = browser;
    const baseline = await textOf(page, 'baseline-rprecision');
    await page.reload();
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    const result = await embedAndWait(page);
    expect(result).toEqual({ embedded: 0, cached: 1619, failed: 0 });
    expect(await textOf(page, 'embed-missing')).toBe('0');
    expect(await page.getByTestId('baseline').locator('h3').textContent()).toContain('(from the cache)');
    expect(await textOf(page, 'baseline-rprecision')).toBe(baseline);
    expect(await textOf(page, 'encoder-from')).toBe('browser storage (offline)');
    expect(served.requests).toEqual(['model.json', 'weights.bin']); // not downloaded again
  });

  it('reports a corrupt JPEG and a text file, and embeds the rest', async () => {
    const { page } = browser;
    const folder = brokenDataset();
    temp.push(folder);
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-layout')).toBe('one folder per class');
    expect(await textOf(page, 'dataset-images')).toBe('13');
    expect(await page.getByTestId('dataset-problems').innerText()).toContain('notes.txt');
    await chooseTestEncoder(page, 'wasm');
    const result = await embedAndWait(page);
    expect(result).toEqual({ embedded: 12, cached: 0, failed: 1 });
    expect(await page.getByTestId('embed-problems').innerText()).toMatch(/broken\.jpg/);
    const stored = Object.keys(await storedEmbeddings(page));
    expect(stored.filter((k) => k.includes('broken.jpg'))).toEqual([]);
  });
});
