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

  it("starts without loading ICU's data on the main thread: every Intl use waits for the worker that loads it", async () => {
    // the first Intl object a page makes costs its main thread 34-117 ms (ICU's data); the
    // page's own code uses none as it starts, and the charts' library (which makes two as it
    // loads) waits for the worker to have loaded the data (icuWarmup.ts)
    const fresh = await browser.context.newPage();
    // the warm-up worker's script comes 2 s late (its fallback waits 3 s), so that anything
    // not waiting for it makes its Intl objects first and is caught
    const lateWarmUp = /icuWarmupWorker[^/]*\.js$/;
    await browser.context.route(lateWarmUp, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await route.continue();
    });
    await fresh.addInitScript(() => {
      const calls: { what: string; at: number }[] = [];
      (window as unknown as { __intlCalls: typeof calls }).__intlCalls = calls;
      const note = (what: string) => calls.push({ what, at: performance.now() });
      const intl = Intl as unknown as Record<string, object>;
      for (const name of ['NumberFormat', 'DateTimeFormat', 'Collator', 'PluralRules', 'RelativeTimeFormat', 'ListFormat', 'Segmenter', 'DisplayNames']) {
        const original = intl[name] as (new (...a: unknown[]) => object) | undefined;
        if (!original) continue;
        intl[name] = new Proxy(original, {
          construct: (target, args, newTarget) => (note(name), Reflect.construct(target, args, newTarget) as object),
          apply: (target, self, args) => (note(name), Reflect.apply(target as unknown as (...a: unknown[]) => unknown, self, args) as object),
        });
      }
      const methods: [object, string][] = [
        [String.prototype, 'localeCompare'],
        [Number.prototype, 'toLocaleString'],
        [Array.prototype, 'toLocaleString'],
        [Date.prototype, 'toLocaleString'],
        [Date.prototype, 'toLocaleDateString'],
        [Date.prototype, 'toLocaleTimeString'],
      ];
      for (const [proto, name] of methods) {
        const holder = proto as Record<string, (...a: unknown[]) => unknown>;
        const original = holder[name];
        holder[name] = function (this: unknown, ...args: unknown[]) {
          note(name);
          return original.apply(this, args);
        };
      }
    });
    try {
      await fresh.goto(server.url);
      await fresh.getByTestId('train-start').waitFor({ state: 'attached', timeout: 60_000 });
      const { calls, ready } = await fresh.evaluate(() => ({
        calls: (window as unknown as { __intlCalls: { what: string; at: number }[] }).__intlCalls,
        ready: performance.getEntriesByName('studio:icu-ready')[0]?.startTime ?? null,
      }));
      expect(ready, 'the ICU warm-up never finished').not.toBeNull();
      expect(ready!, 'the warm-up worker was not delayed').toBeGreaterThan(2000);
      // the charts' library is loaded (so its Intl objects were made), and none came early
      expect(calls.map((c) => c.what)).toContain('NumberFormat');
      expect(calls.filter((c) => c.at < ready!)).toEqual([]);
    } finally {
      await browser.context.unroute(lateWarmUp);
      await fresh.close();
    }
  });

  it('downloads the stages of its start with the page (preloaded from the HTML), not one after another', async () => {
    const fresh = await browser.context.newPage();
    try {
      await fresh.goto(server.url);
      await fresh.getByTestId('train-start').waitFor({ state: 'attached', timeout: 60_000 });
      const fetched = await fresh.evaluate(() =>
        performance.getEntriesByType('resource').map((e) => ({ file: e.name.split('/').pop()!, by: (e as PerformanceResourceTiming).initiatorType })),
      );
      // the session store, React DOM (its `client` chunk) and the studio: each imported by the one before (main.tsx)
      for (const stage of ['sessionStore-', 'client-', 'App-']) {
        const chunk = fetched.filter((f) => f.file.startsWith(stage) && f.file.endsWith('.js'));
        // fetched once; by the preload (Chromium times a modulepreload as 'other'), not by the import() ('script')
        expect(chunk, `${stage}*.js: ${JSON.stringify(fetched)}`).toHaveLength(1);
        expect(chunk[0].by, `${stage}*.js: ${JSON.stringify(fetched)}`).not.toBe('script');
      }
    } finally {
      await fresh.close();
    }
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
