/**
 * Reload benchmark, JSON out: how long a person waits after a reload before the page is
 * usable again, with a full-size session — the real devkit annotations of all 16,185
 * Stanford Cars images (each file linked to one of the shared images; see
 * src/cli/fullScaleDataset.ts), every image embedded and cached, a thumbnail of each stored.
 *
 * The app is served as a person gets it: a production build (`vite build`) behind
 * `vite preview`, in headless Debian Chromium on a fresh profile. The session is made the
 * person's way (drop the folder, embed with the tiny test encoder on WASM: 16,185 images,
 * several minutes), then the page is reloaded `--reloads` times. Measured in the page from
 * each navigation's start:
 *
 * - marks: the app's code starting the restore, IndexedDB opened, the record read;
 * - sessionRestoredMs: the saved session read back from IndexedDB and applied;
 * - usableMs: the Train button enabled (the page at the same step, able to train again);
 * - searchReadyMs: the never-seen classes' cached vectors loaded into the search worker.
 *
 *   npm run bench:reload -- [--reloads 5] [--out bench-reload.json] [--profile DIR --port N]
 *
 * With --profile (a Chromium profile folder, kept) and a fixed --port (IndexedDB belongs to
 * the origin), a second run finds the session made by the first and only reloads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { buildFullScaleDevkit } from '../../src/cli/fullScaleDataset';
import { sharedPath } from '../support/shared';
import { chooseTestEncoder, dropFolder, embedAndWait, launchBrowser, msUntilUsable, serveModelAt, textOf, TEST_MODEL, TEST_MODEL_URL } from '../e2e/support/studio';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const reloads = Number(arg('reloads', '5'));
const keptProfile = arg('profile', '');
const port = Number(arg('port', '0'));
const out = arg('out', 'bench-reload.json');
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const work = mkdtempSync(path.join(os.tmpdir(), 'reload-bench-'));
const outDir = path.join(work, 'dist');
const folder = path.join(work, 'stanford_cars');

try {
  const t0 = Date.now();
  await build({ root: projectRoot, configFile: path.join(projectRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const buildSeconds = (Date.now() - t0) / 1000;
  const server = await preview({
    root: projectRoot,
    configFile: path.join(projectRoot, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir },
    preview: { port, strictPort: port !== 0, host: '127.0.0.1' },
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview did not report a port');
  const url = `http://127.0.0.1:${address.port}/`;

  await buildFullScaleDevkit(sharedPath('data', 'stanford-cars-devkit'), sharedPath('data', 'stanford-cars-40', 'cars_train'), folder);
  const browser = keptProfile ? await launchBrowser(keptProfile) : await launchBrowser();
  try {
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    const { page } = browser;
    await page.goto(url);
    await page.waitForFunction(() => document.documentElement.dataset.session !== undefined, undefined, { timeout: 60_000 });
    const made = (await page.getByTestId('step-embed').getAttribute('data-state')) === 'done' && (await page.getByTestId('dataset-images').count()) > 0;
    let embedding = null;
    let embedSeconds = null;
    if (!made || (await textOf(page, 'dataset-images')) !== '16,185') {
      await dropFolder(browser, folder);
      await page.getByTestId('dataset-images').waitFor({ timeout: 300_000 });
      const images = await textOf(page, 'dataset-images');
      if (images !== '16,185') throw new Error(`The full-size folder read as ${images} images, not 16,185.`);
      await chooseTestEncoder(page, 'wasm');
      const t1 = Date.now();
      embedding = await embedAndWait(page, 3_600_000);
      embedSeconds = (Date.now() - t1) / 1000;
      if (embedding.embedded + embedding.cached !== 16_185) throw new Error(`Embedded ${JSON.stringify(embedding)}, not all 16,185 images.`);
    }

    const runs: { marks: Record<string, number>; sessionRestoredMs: number; usableMs: number; searchReadyMs: number | null }[] = [];
    for (let r = 0; r < reloads; r++) {
      await page.reload();
      const usableMs = await msUntilUsable(page, 120_000);
      const restoredMs = Number(await page.evaluate(() => document.documentElement.dataset.restoredMs));
      // where the time before the restore went: the app's code running, IndexedDB opening, the record read
      const marks = (await page.evaluate(
        "Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('studio:')).map((m) => [m.name.slice(7), Math.round(m.startTime)]))",
      )) as Record<string, number>;
      const searchReady = await page
        .waitForFunction(
          () => {
            const grid = document.querySelector('[data-testid="search-grid"]');
            return grid && Number(grid.getAttribute('data-count')) > 0 ? performance.now() : null;
          },
          undefined,
          { timeout: 120_000, polling: 100 },
        )
        .then(async (h) => (await h.jsonValue()) as number)
        .catch(() => null);
      const checked = await textOf(page, 'dataset-images');
      if (checked !== '16,185') throw new Error(`After reload ${r + 1} the page shows ${checked} images.`);
      runs.push({ marks, sessionRestoredMs: Math.round(restoredMs), usableMs: Math.round(usableMs), searchReadyMs: searchReady === null ? null : Math.round(searchReady) });
    }
    const result = {
      bench: 'reload to a usable page, full-size session',
      server: 'vite build + vite preview (production build)',
      images: 16_185,
      classes: Number((await textOf(page, 'dataset-classes')).replace(/,/g, '')),
      encoder: 'mobilenet-v1-0.25-128 (256-d), WASM',
      buildSeconds,
      embedSeconds,
      embedding,
      reloads: runs,
      median: {
        sessionRestoredMs: median(runs.map((x) => x.sessionRestoredMs)),
        usableMs: median(runs.map((x) => x.usableMs)),
        searchReadyMs: runs.every((x) => x.searchReadyMs !== null) ? median(runs.map((x) => x.searchReadyMs as number)) : null,
      },
      goalUsableMs: 1000,
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const text = JSON.stringify(result, null, 2);
    writeFileSync(out, text + '\n');
    console.log(text);
  } finally {
    if (keptProfile) await browser.context.close();
    else await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(`${folder}-sources`, { recursive: true, force: true });
}
