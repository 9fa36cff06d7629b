import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../support/shared';
import { dropFolder, launchBrowser, pickFolder, startStudio, textOf, type Browser, type StudioServer } from './support/studio';

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
    await page.getByTestId('split-numpy').check();
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
});
