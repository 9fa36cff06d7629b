import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCarImages, tempFolder } from './support/datasets';
import { dropFolder, embedAndWait, launchBrowser, offline, startStudio, textOf, type Browser, type StudioServer, revealed } from './support/studio';

describe('the built-in encoder, offline (real Chromium, fresh profile)', () => {
  let server: StudioServer;
  let browser: Browser;
  const folder = addCarImages(tempFolder('builtin'), 4, 0, 4);

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('embeds a dropped dataset and shows a baseline with no model drop and no network', async () => {
    const { page } = browser;
    const refused = await offline(browser.context, server.url);
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-images')).toBe('16');
    await (await revealed(page, 'backend-select')).selectOption('wasm');
    const result = await embedAndWait(page);
    expect(result).toEqual({ embedded: 16, cached: 0, failed: 0 });
    expect(await textOf(page, 'encoder-loaded-name')).toBe('MobileNetV2 1.0 (224), built in');
    expect(await textOf(page, 'encoder-feature-size')).toBe('1280');
    expect(await textOf(page, 'baseline-on')).toMatch(/^\d+ images of 2 classes$/);
    expect(await textOf(page, 'baseline-rprecision')).toMatch(/%$/);
    expect(refused).toEqual([]);
  });
});
