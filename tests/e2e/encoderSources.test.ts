import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogCard } from '../../src/core/encoder/catalog';
import { sharedPath } from '../support/shared';
import { dropFolder, embedAndWait, launchBrowser, serveModelAt, startStudio, textOf, type Browser, type StudioServer, revealed } from './support/studio';
import { addCarImages } from './support/datasets';



/** The catalog's MobileNetV1 0.75 (Google's tfjs-models files, 55 shards) at its real URL. */
const CATALOG_ID = 'tfjs-mobilenet-v1-0.75-224';
const CATALOG_URL = catalogCard(CATALOG_ID).url!;

describe('encoder sources: a catalog URL stored for offline use, a dropped model folder (real Chromium, wasm)', () => {
  let server: StudioServer;
  let browser: Browser;
  /** 4 classes × 3 images; the second test adds a fourth image to each class. */
  const folder = mkdtempSync(path.join(os.tmpdir(), 'studio-small-'));

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  async function embedWithCatalogEntry(folder: string): Promise<{ embedded: number; cached: number; failed: number }> {
    const { page } = browser;
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await page.getByTestId('encoder-catalog').selectOption(CATALOG_ID);
    expect(await textOf(page, 'encoder-card-features')).toBe('768');
    expect(await textOf(page, 'encoder-card-input')).toBe('224×224 RGB');
    await (await revealed(page, 'backend-select')).selectOption('wasm');
    return embedAndWait(page, 180_000);
  }

  it('picks the catalog entry, downloads its 55 shards from its public URL, stores them and shows the baseline', async () => {
    const served = await serveModelAt(browser.context, CATALOG_URL, 'mobilenet-v1-0.75-224');
    addCarImages(folder, 4, 0, 3);
    await browser.page.goto(server.url);
    const result = await embedWithCatalogEntry(folder);
    expect(result).toEqual({ embedded: 12, cached: 0, failed: 0 });
    expect(served.requests[0]).toBe('model.json');
    expect(served.requests.filter((r) => r.startsWith('group')).length).toBe(55);
    const { page } = browser;
    expect(await textOf(page, 'encoder-from')).toBe('download (now stored)');
    expect(await textOf(page, 'encoder-feature-size')).toBe('768');
    expect(await textOf(page, 'baseline-on')).toMatch(/^\d+ images of \d classes$/);
    expect(await textOf(page, 'baseline-rprecision')).toMatch(/%$/);
  });

  it('with the URL offline, a reload loads the model from IndexedDB and embeds only the new images with it', async () => {
    const { context, page } = browser;
    await context.unrouteAll({ behavior: 'wait' });
    const refused: string[] = [];
    await context.route(
      (url) => url.href.startsWith(new URL('.', CATALOG_URL).href),
      (route) => {
        refused.push(route.request().url());
        return route.fulfill({ status: 404, body: 'offline' });
      },
    );
    await page.reload();
    // One more image per class than before: those four need the stored model to run.
    addCarImages(folder, 4, 3, 4);
    const result = await embedWithCatalogEntry(folder);
    expect(result).toEqual({ embedded: 4, cached: 12, failed: 0 });
    expect(await textOf(page, 'encoder-from')).toBe('browser storage (offline)');
    expect(refused).toEqual([]);
    expect(await textOf(page, 'baseline-on')).toMatch(/^\d+ images of \d classes$/);
  });

  it('a dropped model folder becomes the encoder, with its input and feature size', async () => {
    const { page } = browser;
    await page.goto(server.url);
    // the session keeps the dataset of the tests before: a dropped model folder must leave it as it is
    await page.getByTestId('step-data').waitFor();
    const datasetBefore = await page.getByTestId('step-data-line').textContent();
    await dropFolder(browser, sharedPath('models', 'mobilenet-v1-0.25-128'));
    await page.getByTestId('encoder-card').waitFor({ timeout: 30_000 });
    expect(await textOf(page, 'encoder-card-name')).toContain('MobileNetV1 0.25 (128)');
    expect(await textOf(page, 'encoder-card-input')).toBe('128×128 RGB');
    expect(await textOf(page, 'encoder-card-features')).toBe('256');
    expect(await textOf(page, 'encoder-card-size')).toMatch(/KiB|MiB/);
    expect(await page.getByTestId('encoder-panel').locator('.panel-status').textContent()).toMatch(/dropped folder mobilenet-v1-0\.25-128/);
    expect(await page.getByTestId('step-data-line').textContent()).toBe(datasetBefore); // not taken for a dataset
  });
});
