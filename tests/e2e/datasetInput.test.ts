import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFullScaleDevkit } from '../../src/cli/fullScaleDataset';
import { sharedPath } from '../support/shared';
import { tempFolder } from './support/datasets';
import { dropFolder, launchBrowser, pickFolder, startStudio, textOf, type Browser, type StudioServer, revealed } from './support/studio';

describe('dataset folder input (real Chromium)', () => {
  let server: StudioServer;
  let browser: Browser;
  const cars40 = sharedPath('data', 'stanford-cars-40');

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('reads a folder dropped on the page (DevTools-protocol drag and drop) as the devkit layout', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-layout')).toBe('Stanford Cars devkit');
    expect(await textOf(page, 'dataset-images')).toBe('1,619');
    expect(await textOf(page, 'dataset-classes')).toBe('40');
    expect(await textOf(page, 'dataset-train')).toMatch(/^20 classes · [\d,]+ images$/);
    expect(await textOf(page, 'dataset-validation')).toMatch(/^20 classes · [\d,]+ images$/);
    expect(await page.getByTestId('train-class-list').locator('li').count()).toBe(20);
    expect(await page.getByTestId('validation-class-list').locator('li').count()).toBe(20);
  });

  it('reads the same folder through the folder picker, and the split follows its settings', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await pickFolder(page, '[data-testid="dataset-picker"]', cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    expect(await textOf(page, 'dataset-images')).toBe('1,619');
    expect(await textOf(page, 'dataset-classes')).toBe('40');
    const before = await page.getByTestId('validation-class-list').textContent();
    await (await revealed(page, 'split-numpy')).check();
    const numpy = await page.getByTestId('validation-class-list').textContent();
    expect(numpy).not.toBe(before);
    expect(await page.getByTestId('validation-class-list').locator('li').count()).toBe(20);
  });

  it('shows sample thumbnails of a class once the gallery is opened', async () => {
    const { page } = browser;
    await page.locator('details.gallery > summary').click();
    const firstRowImages = page.getByTestId('class-gallery').locator('li').first().locator('img');
    await expect.poll(() => firstRowImages.count(), { timeout: 10_000 }).toBe(4);
    expect(await firstRowImages.first().getAttribute('src')).toMatch(/^blob:/);
  });

  it('reads a whole Stanford Cars devkit drop (16,185 images, both halves, 196 classes) and stays responsive', async () => {
    // The real devkit annotations of all 16,185 images, each file linked to one of the shared
    // images: the page lists, matches and splits a full-size download.
    const root = tempFolder('full-devkit');
    const folder = path.join(root, 'stanford_cars');
    try {
      await buildFullScaleDevkit(
        sharedPath('data', 'stanford-cars-devkit'),
        sharedPath('data', 'stanford-cars-40', 'cars_train'),
        folder,
      );
      const { page } = browser;
      await page.goto(server.url);
      await dropFolder(browser, folder);
      await page.getByTestId('dataset-images').waitFor({ timeout: 180_000 });
      expect(await textOf(page, 'dataset-images')).toBe('16,185');
      expect(await textOf(page, 'dataset-classes')).toBe('196');
      expect(await textOf(page, 'dataset-train')).toMatch(/^98 classes · [\d,]+ images$/);
      // the page answers while and after it reads the folder
      expect(await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(1))))).toBe(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
