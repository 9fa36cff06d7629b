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
 * And main-thread long tasks (over 50 ms; `longTasks` in the JSON, tests/bench/longTaskPhases.ts)
 * over the person's whole path, step by step: the page starting, the folder dropped and listed
 * (the devkit .mat of 16,185 images parsed, the class gallery), embedding, each reload until
 * the search is ready, training, a search with its thumbnails, the map (PCA, then UMAP, of the
 * never-seen images), the downloads (head, Qdrant and Projector exports). Every phase but the
 * embedding is traced (tests/bench/mainThreadTrace.ts), so each long task comes with the main
 * thread's own CPU time in it (`cpuMs`; `overFiftyMsOfCpu` counts those over 50 ms): on a busy
 * 2-core machine much of a long task's wall time is the thread waiting for a core. A second run on a
 * kept profile drops the folder again: every image is then cached, nothing is embedded.
 *
 *   npm run bench:reload -- [--reloads 5] [--out bench-reload.json] [--profile DIR --port N] [--cpu-profile DIR] [--settle MS]
 *
 * With --profile (a Chromium profile folder, kept) and a fixed --port (IndexedDB belongs to
 * the origin), a second run finds the session made by the first and only reloads.
 *
 * With --cpu-profile DIR the build is left unminified (readable function names) and each step
 * from training on writes the main thread's CPU profile (DevTools' .cpuprofile) to DIR;
 * `npx tsx tests/bench/cpuProfileSummary.ts FILE` lists what ran in its long stretches.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { buildFullScaleDevkit } from '../../src/cli/fullScaleDataset';
import type { Page } from 'playwright-core';
import { sharedPath } from '../support/shared';
import { chooseTestEncoder, dropFolder, embedAndWait, launchBrowser, msUntilUsable, serveModelAt, textOf, trainAndWait, TEST_MODEL, TEST_MODEL_URL } from '../e2e/support/studio';
import { longTasksBetween, measurePhase, pageNow, type PhaseLongTasks } from './longTaskPhases';
import { MainThreadTracer } from './mainThreadTrace';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const reloads = Number(arg('reloads', '5'));
const keptProfile = arg('profile', '');
const port = Number(arg('port', '0'));
const out = arg('out', 'bench-reload.json');
const trainEpochs = Number(arg('epochs', '2'));
const cpuProfileDir = arg('cpu-profile', '');
// `--until reloads` ends the path after the reloads (page start, drop, embedding, reloads only)
const until = arg('until', '');
// A browser just launched runs its own start-up beside the first page: on this 2-core machine
// its UI's own renderer took ~0.5 s of CPU in its first seconds, and first visits made at once
// had a long task in 6 of 6 tries, against 1 of 6 after 3 s on about:blank (alternated, fresh
// profiles). A person opens the studio in a browser already running; --settle 0 measures the other case.
const settleMs = Number(arg('settle', '3000'));
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Clicks `click` and waits for `count` downloads to start. */
async function downloads(page: Page, click: () => Promise<void>, count: number): Promise<string[]> {
  const names: string[] = [];
  const all = new Promise<void>((resolve) => {
    const on = (d: { suggestedFilename(): string }) => {
      names.push(d.suggestedFilename());
      if (names.length === count) {
        page.off('download', on);
        resolve();
      }
    };
    page.on('download', on);
  });
  await click();
  await Promise.race([all, page.waitForTimeout(300_000).then(() => Promise.reject(new Error(`${names.length} of ${count} downloads after 5 min`)))]);
  return names;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'reload-bench-'));
const outDir = path.join(work, 'dist');
const folder = path.join(work, 'stanford_cars');

try {
  const t0 = Date.now();
  await build({ root: projectRoot, configFile: path.join(projectRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true, ...(cpuProfileDir ? { minify: false } : {}) } });
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
    steps: {
    const { page } = browser;
    const phases: PhaseLongTasks[] = [];
    /** Runs one step, recording the main thread's CPU profile of it when --cpu-profile is given. */
    const profiled = async <T>(name: string, action: () => Promise<T>): Promise<T> => {
      if (!cpuProfileDir) return action();
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
      try {
        return await action();
      } finally {
        const { profile } = await cdp.send('Profiler.stop');
        mkdirSync(cpuProfileDir, { recursive: true });
        writeFileSync(path.join(cpuProfileDir, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.cpuprofile`), JSON.stringify(profile));
        await cdp.detach();
      }
    };
    // each step as it ends, on stderr (a failure later keeps what was measured)
    const record = (...ps: PhaseLongTasks[]) => {
      for (const p of ps) {
        const cpu = p.overFiftyMsOfCpu === undefined ? '' : `, ${p.overFiftyMsOfCpu} with over 50 ms of CPU`;
        console.error(`[long tasks] ${p.phase}: ${p.count} (longest ${p.longestMs} ms, total ${p.totalMs} ms${cpu}, load ${p.loadAverage})`);
      }
      phases.push(...ps);
    };
    // every phase but the embedding (minutes, no long task) is traced: each long task's CPU time
    const tracer = new MainThreadTracer(browser.context, page);
    await page.waitForTimeout(settleMs);
    await tracer.start();
    await page.goto(url);
    await page.waitForFunction(() => document.documentElement.dataset.session !== undefined, undefined, { timeout: 60_000 });
    await page.waitForTimeout(1000);
    // from the navigation's start: the page's own code included
    record(await longTasksBetween(page, 'page start (session read)', 0, await pageNow(page), await tracer.stop()));
    const made = (await page.getByTestId('step-embed').getAttribute('data-state')) === 'done' && (await page.getByTestId('dataset-images').count()) > 0 && (await textOf(page, 'dataset-images')) === '16,185';
    const drop = await measurePhase(page, 'drop the folder and list it', async () => {
      await dropFolder(browser, folder);
      // the listing starts (a kept session shows its old count until then), then ends
      await page.waitForFunction(() => /Reading folder|Detecting layout/.test(document.querySelector('[data-testid="dataset-panel"] .panel-status')?.textContent ?? ''), undefined, { timeout: 60_000, polling: 'raf' });
      await page.getByTestId('dataset-images').waitFor({ timeout: 300_000 });
    }, 1000, tracer);
    record(drop.longTasks);
    const images = await textOf(page, 'dataset-images');
    if (images !== '16,185') throw new Error(`The full-size folder read as ${images} images, not 16,185.`);
    if (!made) await chooseTestEncoder(page, 'wasm');
    const t1 = Date.now();
    const embed = await measurePhase(page, 'embedding', () => embedAndWait(page, 3_600_000));
    record({ ...embed.longTasks, phase: `embedding (${embed.result.embedded} embedded, ${embed.result.cached} from the cache)` });
    const embedding = embed.result;
    const embedSeconds = (Date.now() - t1) / 1000;
    if (embedding.embedded + embedding.cached !== 16_185) throw new Error(`Embedded ${JSON.stringify(embedding)}, not all 16,185 images.`);

    const runs: { marks: Record<string, number>; sessionRestoredMs: number; usableMs: number; searchReadyMs: number | null; longTasks: PhaseLongTasks }[] = [];
    for (let r = 0; r < reloads; r++) {
      await tracer.start();
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
      await page.waitForTimeout(1000);
      const reloadTasks = await longTasksBetween(page, `reload ${r + 1} until the search is ready`, 0, await pageNow(page), await tracer.stop());
      runs.push({ marks, sessionRestoredMs: Math.round(restoredMs), usableMs: Math.round(usableMs), searchReadyMs: searchReady === null ? null : Math.round(searchReady), longTasks: reloadTasks });
    }
    record(...runs.map((x) => x.longTasks));
    if (until === 'reloads') {
      const text = JSON.stringify({ bench: 'long tasks up to the reloads', embedding, reloads: runs, phases, loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100) }, null, 2);
      writeFileSync(out, text + '\n');
      console.log(text);
      break steps;
    }

    // the rest of the path, on the last reload's page (no folder connected: the cached vectors and thumbnails)
    const train = await measurePhase(page, `training (${trainEpochs} epochs)`, () => profiled('training', () => trainAndWait(page, { epochs: trainEpochs, timeoutMs: 1_800_000 })), 1000, tracer);
    if (train.result.phase !== 'done') throw new Error(`Training ended ${train.result.phase}: ${train.result.error}`);
    record(train.longTasks);
    const galleryCount = Number(await page.getByTestId('search-grid').getAttribute('data-count'));
    const search = await measurePhase(page, 'a search with its thumbnails', () => profiled('search', async () => {
      await page.getByTestId('search-pick').first().click();
      await page.getByTestId('search-hit').first().waitFor({ timeout: 60_000 });
      await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid="search-hit"] img')).every((i) => (i as HTMLImageElement).complete), undefined, { timeout: 60_000 });
    }), 1000, tracer);
    record(search.longTasks);
    const mapped = (method: string) =>
      page.waitForFunction(
        ({ method, n }) => ['map-base', 'map-tuned'].every((id) => {
          const c = document.querySelector(`[data-testid="${id}"]`);
          return c?.getAttribute('data-method') === method && Number(c.getAttribute('data-points')) === n;
        }),
        { method, n: galleryCount },
        { timeout: 900_000, polling: 200 },
      );
    record((await measurePhase(page, `the map: PCA of ${galleryCount} points, base and tuned`, () => profiled('map-pca', () => mapped('pca')), 1000, tracer)).longTasks);
    record((await measurePhase(page, `the map: UMAP of ${galleryCount} points, base and tuned`, () => profiled('map-umap', async () => {
      await page.getByTestId('map-method-umap').check();
      await mapped('umap');
    }), 1000, tracer)).longTasks);
    const head = await measurePhase(page, 'download the head', () => profiled('head', () => downloads(page, () => page.getByTestId('head-download').click(), 1)), 1000, tracer);
    record(head.longTasks);
    const qdrant = await measurePhase(page, 'export for Qdrant', () => profiled('qdrant', () => downloads(page, () => page.getByTestId('export-qdrant').click(), 1)), 1000, tracer);
    record(qdrant.longTasks);
    const projector = await measurePhase(page, 'export for the Embedding Projector', () => profiled('projector', () => downloads(page, () => page.getByTestId('export-projector').click(), 2)), 1000, tracer);
    record(projector.longTasks);
    const result = {
      bench: 'reload to a usable page, full-size session',
      server: 'vite build + vite preview (production build)',
      images: 16_185,
      classes: Number((await textOf(page, 'dataset-classes')).replace(/,/g, '')),
      encoder: 'mobilenet-v1-0.25-128 (256-d), WASM',
      buildSeconds,
      browserSettledMs: settleMs,
      embedSeconds,
      embedding,
      reloads: runs,
      median: {
        sessionRestoredMs: median(runs.map((x) => x.sessionRestoredMs)),
        usableMs: median(runs.map((x) => x.usableMs)),
        searchReadyMs: runs.every((x) => x.searchReadyMs !== null) ? median(runs.map((x) => x.searchReadyMs as number)) : null,
      },
      goalUsableMs: 1000,
      longTasks: {
        goal: 'none over 50 ms on the main thread',
        total: phases.reduce((a, p) => a + p.count, 0),
        // of them, those that held over 50 ms of the main thread's own CPU (traced phases; the rest waited for a core)
        overFiftyMsOfCpu: phases.reduce((a, p) => a + (p.overFiftyMsOfCpu ?? 0), 0),
        cpuUnknown: phases.reduce((a, p) => a + (p.cpuUnknown ?? 0), 0),
        untracedPhases: phases.filter((p) => p.overFiftyMsOfCpu === undefined).map((p) => p.phase),
        longestMs: Math.max(0, ...phases.map((p) => p.longestMs)),
        phases,
        downloads: [...head.result, ...qdrant.result, ...projector.result],
      },
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const text = JSON.stringify(result, null, 2);
    writeFileSync(out, text + '\n');
    console.log(text);
    }
  } catch (e) {
    // what the page said (warnings, errors) tells why a step did not end
    console.error(browser.log.join('\n'));
    throw e;
  } finally {
    if (keptProfile) await browser.context.close();
    else await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(`${folder}-sources`, { recursive: true, force: true });
}
