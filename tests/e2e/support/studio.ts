/**
 * End-to-end harness: the app served by Vite's dev server (port 0, in process) and
 * Debian's Chromium driven by playwright-core with a fresh profile per launch.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { build, createServer, preview, type ViteDevServer } from 'vite';
import { projectRoot, sharedPath } from '../../support/shared';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Debian's Chromium at ${CHROMIUM}. Install it with ` +
        '`apt-get install -y chromium` (or run `npm test`, whose setup installs it), or set CHROMIUM_PATH.',
    );
  }
}

export interface StudioServer {
  url: string;
  close(): Promise<void>;
}

/** Starts Vite's dev server for the project on a free port. */
/** The dev server; `isolated: false` serves without cross-origin isolation (WASM on one thread). */
export async function startStudio(opts: { isolated?: boolean } = {}): Promise<StudioServer> {
  const notIsolated = { 'Cross-Origin-Opener-Policy': 'unsafe-none', 'Cross-Origin-Embedder-Policy': 'unsafe-none' };
  const server: ViteDevServer = await createServer({
    root: projectRoot,
    configFile: path.join(projectRoot, 'vite.config.ts'),
    logLevel: 'warn',
    server: { port: 0, strictPort: false, host: '127.0.0.1', hmr: false, ...(opts.isolated === false ? { headers: notIsolated } : {}) },
    clearScreen: false,
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a port');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

/**
 * A production build (minified, as hosted) in `outDir`, served by `vite preview` with the
 * config's headers. The build takes a while (about 15 s here).
 */
export async function startProductionStudio(outDir: string): Promise<StudioServer> {
  const configFile = path.join(projectRoot, 'vite.config.ts');
  await build({ root: projectRoot, configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const server = await preview({ root: projectRoot, configFile, logLevel: 'warn', build: { outDir }, preview: { port: 0, strictPort: false, host: '127.0.0.1' } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  return { url, close: () => server.close() };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  profile: string;
  /** Console errors and page errors seen so far (for failure messages). */
  log: string[];
  close(): Promise<void>;
  /** Closes the browser but keeps the profile, then starts it again on the same profile. */
  restart(): Promise<Browser>;
}

/** Launches Chromium on a profile folder (fresh unless given). */
export async function launchBrowser(profile = mkdtempSync(path.join(os.tmpdir(), 'studio-profile-'))): Promise<Browser> {
  assertChromium();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--disable-quic', '--enable-unsafe-webgpu'],
    viewport: { width: 1200, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.push(`[${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  const browser: Browser = {
    context,
    page,
    profile,
    log,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
    restart: async () => {
      await context.close();
      return launchBrowser(profile);
    },
  };
  return browser;
}

/**
 * A real folder drop: DevTools-protocol drag events carrying the folder's path, so the
 * page sees `webkitGetAsEntry()` as a directory (Playwright's own drop gives flat files).
 */
export async function dropFolder(browser: Browser, folder: string, at = { x: 400, y: 300 }): Promise<void> {
  if (!statSync(folder).isDirectory()) throw new Error(`${folder} is not a folder`);
  // as a person would: once the page shows and takes a drop (its listeners are on)
  await browser.page.locator('html[data-folder-drop="ready"]').waitFor({ state: 'attached', timeout: 60_000 });
  const cdp = await browser.context.newCDPSession(browser.page);
  const data = { items: [], files: [path.resolve(folder)], dragOperationsMask: 1 };
  try {
    for (const type of ['dragEnter', 'dragOver', 'drop'] as const) {
      await cdp.send('Input.dispatchDragEvent', { type, x: at.x, y: at.y, data });
    }
  } finally {
    await cdp.detach();
  }
}

/** Chooses a folder through the dataset panel's `<input type=file webkitdirectory>`. */
export async function pickFolder(page: Page, selector: string, folder: string): Promise<void> {
  await page.setInputFiles(selector, path.resolve(folder));
}

const CONTENT_TYPES: Record<string, string> = { '.json': 'application/json' };

/**
 * Serves a model folder of ../shared/models in place of a model.json URL (and its weight
 * files beside it), for every request of the browser context: page and workers.
 * Returns a counter of the requests served.
 */
export async function serveModelAt(context: BrowserContext, modelJsonUrl: string, sharedModel: string): Promise<{ requests: string[] }> {
  const folder = sharedPath('models', sharedModel);
  const base = new URL('.', modelJsonUrl).href;
  const served = { requests: [] as string[] };
  await context.route(
    (url) => url.href.startsWith(base),
    async (route) => {
      const url = new URL(route.request().url());
      const name = url.href === modelJsonUrl ? 'model.json' : decodeURIComponent(url.pathname.slice(new URL(base).pathname.length));
      const file = path.join(folder, name);
      served.requests.push(name);
      if (!existsSync(file)) {
        await route.fulfill({ status: 404, body: `not in ${folder}: ${name}` });
        return;
      }
      await route.fulfill({
        status: 200,
        body: readFileSync(file),
        headers: {
          'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
          'access-control-allow-origin': '*',
        },
      });
    },
  );
  return served;
}

/** The text of a test id, trimmed. */
export async function textOf(page: Page, testId: string): Promise<string> {
  return ((await page.getByTestId(testId).textContent()) ?? '').trim();
}

/** A URL no machine resolves; the tests serve ../shared/models under it. */
export const TEST_MODEL_URL = 'https://models.studio.test/mobilenet-v1-0.25-128/model.json';
export const TEST_MODEL = 'mobilenet-v1-0.25-128';

/**
 * The element of a test id, with the folded sections (<details>, "Advanced …") around it
 * opened, as a person clicking them would.
 */
export async function revealed(page: Page, testId: string): Promise<Locator> {
  const el = page.getByTestId(testId);
  await el.evaluate((node) => {
    for (let d = node.closest('details'); d; d = d.parentElement?.closest('details') ?? null) d.open = true;
  });
  return el;
}

/** Chooses the intercepted model URL and a backend in the Encoder step (under its Advanced). */
export async function chooseTestEncoder(page: Page, backend: 'wasm' | 'webgpu' | 'webgl' | 'cpu' | 'auto' = 'wasm'): Promise<void> {
  await (await revealed(page, 'encoder-url')).fill(TEST_MODEL_URL);
  await page.getByTestId('encoder-url-use').click();
  await (await revealed(page, 'backend-select')).selectOption(backend);
}

/** Clicks Embed and waits for the run to end; returns the result line's figures. */
export async function embedAndWait(page: Page, timeoutMs = 240_000): Promise<{ embedded: number; cached: number; failed: number }> {
  await page.getByTestId('embed-start').click();
  const result = page.getByTestId('embed-result');
  const error = page.getByTestId('embed-error');
  await result.or(error).waitFor({ timeout: timeoutMs });
  if (await error.isVisible()) throw new Error(`Embedding failed: ${await error.textContent()}`);
  const attr = async (name: string) => Number(await result.getAttribute(name));
  return { embedded: await attr('data-embedded'), cached: await attr('data-cached'), failed: await attr('data-failed') };
}

/** Every stored embedding, read straight from IndexedDB in the page: key -> vector. */
export async function storedEmbeddings(page: Page): Promise<Record<string, number[]>> {
  return page.evaluate(
    () =>
      new Promise<Record<string, number[]>>((resolve, reject) => {
        const open = indexedDB.open('similarity-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const store = db.transaction('embeddings', 'readonly').objectStore('embeddings');
          const keys = store.getAllKeys();
          const values = store.getAll();
          values.onsuccess = () => {
            const out: Record<string, number[]> = {};
            (keys.result as string[]).forEach((k, i) => (out[k] = Array.from(new Float32Array(values.result[i] as ArrayBuffer))));
            db.close();
            resolve(out);
          };
          values.onerror = () => reject(values.error);
        };
      }),
  );
}

/**
 * No network but the studio itself: every request to another origin fails as it would
 * offline. Returns the refused URLs (the catalog downloads a page tries, say).
 */
export async function offline(context: BrowserContext, studioUrl: string): Promise<string[]> {
  const origin = new URL(studioUrl).origin;
  const refused: string[] = [];
  await context.route(
    (url) => url.origin !== origin && /^https?:$/.test(url.protocol),
    (route) => {
      refused.push(route.request().url());
      return route.abort('internetdisconnected');
    },
  );
  return refused;
}

/** Milliseconds from the page's navigation start until the Train button is enabled: the page usable again (after a reload). */
export async function msUntilUsable(page: Page, timeoutMs = 30_000): Promise<number> {
  const usable = await page.waitForFunction(
    () => {
      const b = document.querySelector<HTMLButtonElement>('[data-testid="train-start"]');
      return b && !b.disabled ? performance.now() : null;
    },
    undefined,
    { timeout: timeoutMs, polling: 'raf' },
  );
  return (await usable.jsonValue()) as number;
}

/**
 * Trains from the Train step with `epochs` epochs on `backend` (set under Advanced) and waits
 * for the run to end; returns how it ended and, when it failed, the page's error line.
 */
export async function trainAndWait(
  page: Page,
  { epochs, backend = 'wasm', timeoutMs = 240_000 }: { epochs: number; backend?: string; timeoutMs?: number },
): Promise<{ phase: string; error: string }> {
  await (await revealed(page, 'train-setting-maxEpochs')).fill(String(epochs));
  await (await revealed(page, 'train-backend')).selectOption(backend);
  await page.getByTestId('train-start').click();
  await page.waitForFunction(
    () => ['done', 'failed'].includes(document.querySelector('[data-testid="train-stage"]')?.getAttribute('data-phase') ?? ''),
    undefined,
    { timeout: timeoutMs, polling: 200 },
  );
  const phase = (await page.getByTestId('train-stage').getAttribute('data-phase')) ?? '';
  return { phase, error: phase === 'failed' ? await page.getByTestId('train-error').innerText() : '' };
}

/** Drops a photo from disk into the search ("search-photo-input") and waits until both spaces show its results. */
export async function searchByPhoto(page: Page, photo: string): Promise<void> {
  await page.getByTestId('search-photo-input').setInputFiles(photo);
  const name = path.basename(photo);
  await page.waitForFunction(
    (n) =>
      ['base', 'tuned'].every((s) => document.querySelector(`[data-testid="search-results-${s}"]`)?.getAttribute('data-query')?.startsWith(`photo:dropped-photos/${n}|`)),
    name,
    { timeout: 60_000, polling: 100 },
  );
}
