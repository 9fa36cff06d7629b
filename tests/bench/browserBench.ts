/**
 * Browser embedding benchmark, JSON out. Headless Chromium on the WASM backend, the app
 * served by Vite, the model served in place of its URL (as in the e2e tests):
 *
 * - pipeline images/s: the studio's embedding worker (decode + infer + store in IndexedDB),
 *   from its own `embed-done` event (embedding loop only: model load and cache lookup excluded),
 *   with the decode pool (its default size, from navigator.hardwareConcurrency) and without it
 *   (decodeWorkers 0: decoding in the embedding worker, the path before the pool);
 * - bare encoder images/s: the same model, backend, images and batch size in a bench worker
 *   (src/workers/bench/bareEncoderWorker.ts), images decoded beforehand, inference timed only;
 * - their ratio (goal: at least 0.9), decode ms per image in the decoding thread(s), inference
 *   ms per image (the bare encoder's), and the cores the browser kept busy during each run
 *   (CPU seconds of Chromium's processes / wall seconds, from /proc): what limits the ratio;
 * - bytes stored per embedding, and the time to read 10,000 cached embeddings (10,000
 *   synthetic ones are written, then removed).
 *
 * - head seconds per epoch on WASM (tests/bench/headEpochWorker.ts: 1,280-d synthetic clusters,
 *   32 x 8 batches, validation loss and exact metrics each epoch), and the WASM thread count.
 *
 *   npm run bench:browser -- [--rounds 2] [--batch 32] [--encoders mobilenet-v1-0.25-128,mobilenet-v1-0.75-224,mobilenet-v2-1.0-224]
 *     [--per-class 30] [--v2] [--decode-workers 0,auto] [--no-isolation] [--head-epochs 3] [--out bench-browser.json]
 *
 * --no-isolation serves the page without COOP/COEP: WASM then runs on one thread (compare).
 * --encoders: which encoders (default the tiny mobilenet-v1-0.25-128 alone); the 224 px ones run on a
 * subset (4 classes × --per-class images of stanford-cars-40-folders). --v2 = adds mobilenet-v2-1.0-224.
 * Per encoder, `cpuMsPerImage` splits the embedding loop's CPU into inference and decoding (as the
 * bare phases measure them) and the rest, and `cpuBoundRatio` = inference / total: on a CPU
 * backend owning every core, the pipeline/bare ratio cannot exceed it. `loopCpuMsPerImageByThread`
 * says which of Chromium's threads spent it (tests/bench/chromiumCpu.ts).
 * Figures vary with the machine's load: the rounds alternate pipeline and bare runs.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { sharedPath } from '../support/shared';
import type { BareResult } from '../../src/workers/bench/bareEncoderWorker';
import { bareEncoderRun } from './bareEncoder';
import { chromiumThreads, cpuMsPerImageByThread, threadDelta, totalSeconds, type ThreadCpu } from './chromiumCpu';
import { dropFolder, embedAndWait, launchBrowser, serveModelAt, startStudio, type Browser, revealed } from '../e2e/support/studio';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const rounds = Number(arg('rounds', '2'));
const batchSize = Number(arg('batch', '32'));
/** The encoders to measure (ENCODERS below); --v2 (kept for old command lines) adds MobileNetV2. */
const encoderIds = [...new Set([...arg('encoders', 'mobilenet-v1-0.25-128').split(','), ...(process.argv.includes('--v2') ? ['mobilenet-v2-1.0-224'] : [])])];
const perClass = Number(arg('per-class', '30'));
const isolated = !process.argv.includes('--no-isolation');
const headEpochs = Number(arg('head-epochs', '3'));
const out = arg('out', 'bench-browser.json');
/** Decode pool sizes to run the pipeline with: 'auto' = the studio's default (cores - 1, at least 1), 0 = no pool. */
const decodeSettings = arg('decode-workers', '0,auto').split(',');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

interface EmbedDone {
  embedded: number;
  imagesPerSecond: number;
  decodeMsPerImage: number;
  decodeWorkers: number;
  seconds: number;
}

/**
 * Records the embedding worker's terminal events on window.__benchEvents, and sets the
 * decode pool's size of embed requests to window.__benchDecodeWorkers when it is a number
 * (bench only: the page has no control for it).
 */
const RECORD_WORKER_EVENTS = `(() => {
  const W = window.Worker;
  window.Worker = class extends W {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (e.data && (e.data.type === 'embed-done' || e.data.type === 'error')) (window.__benchEvents ??= []).push(e.data);
        // the embedding loop's first and last progress: the bench reads Chromium's CPU there
        if (e.data && e.data.type === 'progress' && !e.data.pass && window.__benchMark) {
          if (e.data.done === 0) window.__benchMark('loop-start');
          else if (e.data.done === e.data.total) window.__benchMark('loop-end');
        }
      });
    }
    postMessage(message, ...rest) {
      if (message && message.type === 'embed' && typeof window.__benchDecodeWorkers === 'number') {
        message = { ...message, options: { ...message.options, decodeWorkers: window.__benchDecodeWorkers } };
      }
      return super.postMessage(message, ...rest);
    }
  };
})();`;

/** CPU seconds (user + system) used so far by Chromium's processes: the one started on `profile` and its descendants. */
function browserCpuSeconds(profile: string): number {
  const ticks = 100; // USER_HZ on Linux
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  const roots: number[] = [];
  for (const d of procs) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(fields[1]));
      cpu.set(Number(d), (Number(fields[11]) + Number(fields[12])) / ticks);
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`--user-data-dir=${profile}`)) roots.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (roots.includes(p)) return true;
    return false;
  };
  let total = 0;
  for (const [pid, s] of cpu) if (inTree(pid)) total += s;
  return total;
}

async function clearEmbeddings(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('similarity-studio');
        // no database yet: do not create an empty one at the app's version (the app would then skip its upgrade)
        let absent = false;
        open.onupgradeneeded = () => ((absent = true), open.transaction?.abort());
        open.onerror = () => (absent ? resolve() : reject(open.error));
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('embeddings')) return (db.close(), resolve());
          const tx = db.transaction(['embeddings', 'embeddingSets'], 'readwrite');
          tx.objectStore('embeddings').clear();
          tx.objectStore('embeddingSets').clear();
          tx.oncomplete = () => (db.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

/** Chromium's threads' CPU when the page marked a moment ('loop-start', 'loop-end': the embedding loop's first and last progress). */
const marks = new Map<string, ThreadCpu[]>();

type PipelineRun = EmbedDone & {
  coresBusy: number;
  cpuSeconds: number;
  /** CPU per thread during the embedding loop alone (first to last progress event). */
  loop: ThreadCpu[];
};

/** One full pipeline run on an empty cache; the worker's embed-done figures. `decodeWorkers` undefined: the pool's default. */
async function pipelineRun(
  browser: Browser,
  url: string,
  modelUrl: string,
  folder: string,
  expected: number,
  decodeWorkers: number | undefined,
): Promise<PipelineRun> {
  const { page } = browser;
  await page.goto(url);
  await clearEmbeddings(page);
  await page.reload();
  await dropFolder(browser, folder);
  await page.getByTestId('dataset-images').waitFor({ timeout: 120_000 });
  await (await revealed(page, 'encoder-url')).fill(modelUrl);
  await (await revealed(page, 'encoder-url-use')).click();
  await (await revealed(page, 'backend-select')).selectOption('wasm');
  await (await revealed(page, 'embed-batch')).fill(String(batchSize));
  await page.evaluate((n) => ((window as unknown as { __benchDecodeWorkers?: number }).__benchDecodeWorkers = n), decodeWorkers);
  marks.clear();
  const cpu0 = browserCpuSeconds(browser.profile);
  const t0 = Date.now();
  const r = await embedAndWait(page, 900_000);
  // the whole click-to-result span (model load, cache lookup included), so a lower bound of the loop's own use
  const cpuSeconds = browserCpuSeconds(browser.profile) - cpu0;
  const coresBusy = cpuSeconds / ((Date.now() - t0) / 1000);
  if (r.embedded !== expected) throw new Error(`pipeline embedded ${r.embedded}, expected ${expected}`);
  const events = (await page.evaluate(() => (window as unknown as { __benchEvents?: unknown[] }).__benchEvents ?? [])) as (EmbedDone & {
    type: string;
  })[];
  const done = events.filter((e) => e.type === 'embed-done').pop();
  if (!done) throw new Error('no embed-done event recorded');
  const start = marks.get('loop-start');
  const end = marks.get('loop-end');
  if (!start || !end) throw new Error('the embedding loop\'s first or last progress was not seen');
  return { ...done, coresBusy, cpuSeconds, loop: threadDelta(start, end) };
}

/** The embedding worker's thumbnails' long side (src/workers/embedWorker.ts): the bare run decodes as the pipeline does. */
const THUMBNAIL_SIDE = 100;

type BareRun = BareResult & { decodeCpu: ThreadCpu[]; inferCpu: ThreadCpu[] };

/**
 * The bare encoder on the same image files (every JPEG under the folder, sorted by path),
 * decoded as the pipeline decodes them (thumbnails included); Chromium's CPU measured apart
 * for the decoding and the inference phases.
 */
async function bareRun(browser: Browser, modelUrl: string, folder: string): Promise<BareRun> {
  let loaded: ThreadCpu[] = [];
  let decoded: ThreadCpu[] = [];
  const r = await bareEncoderRun(
    browser.page,
    folder,
    { modelUrl, batchSize, backend: 'wasm', thumbnailSide: THUMBNAIL_SIDE },
    { loaded: () => void (loaded = chromiumThreads(browser.profile)), decoded: () => void (decoded = chromiumThreads(browser.profile)) },
  );
  const done = chromiumThreads(browser.profile);
  return { ...r, decodeCpu: threadDelta(loaded, decoded), inferCpu: threadDelta(decoded, done) };
}

/** Writes 10,000 synthetic 256-d embeddings through the cache adapter, times reading them, removes them. */
async function storageBench(page: Page) {
  return page.evaluate(async () => {
    const url = '/src/storage/embeddingCache.ts';
    const { EmbeddingCache } = await import(/* @vite-ignore */ url);
    const N = 10_000;
    const DIM = 256;
    const key = 'bench-synthetic|mobilenet-v1-0.25-128-like|256';
    // (No named local functions in here: tsx's __name helper does not exist in the page.)
    const cache = await EmbeddingCache.open();
    await cache.clearSet(key);
    const usageBefore = (await navigator.storage.estimate()).usage ?? 0;
    const identities = Array.from({ length: N }, (_, i) => `cars_train/${String(i).padStart(5, '0')}.jpg|${40000 + i}|1700000000000`);
    const vectors = new Float32Array(N * DIM);
    for (let i = 0; i < vectors.length; i++) vectors[i] = Math.sin(i);
    const writeStarted = performance.now();
    for (let i = 0; i < N; i += 32) {
      const ids = identities.slice(i, i + 32);
      await cache.putBatch(key, ids, vectors.subarray(i * DIM, (i + ids.length) * DIM), DIM);
    }
    const writeMs = performance.now() - writeStarted;
    const usageAfter = (await navigator.storage.estimate()).usage ?? 0;
    const readMs: number[] = [];
    const lookupMs: number[] = [];
    for (let r = 0; r < 3; r++) {
      let t = performance.now();
      const set = await cache.readSet(key, DIM);
      readMs.push(performance.now() - t);
      if (set.identities.length !== N) throw new Error(`read ${set.identities.length} of ${N}`);
      t = performance.now();
      await cache.lookup(key, DIM, identities);
      lookupMs.push(performance.now() - t);
    }
    await cache.clearSet(key);
    cache.close();
    const keyChars = key.length + 2 + identities[0].length;
    return { N, DIM, writeMs, usageBefore, usageAfter, readMs, lookupMs, keyChars };
  });
}

interface HeadEpochs {
  threads?: { count: number; reason: string };
  stepsPerEpoch: number;
  secondsPerEpoch: number[];
}

/** Head epochs on WASM in a worker of the page (tests/bench/headEpochWorker.ts). */
function headEpochRun(page: Page): Promise<HeadEpochs> {
  return page.evaluate(
    (epochs) =>
      new Promise<HeadEpochs>((resolve, reject) => {
        const worker = new Worker('/tests/bench/headEpochWorker.ts', { type: 'module' });
        worker.onerror = (e) => reject(new Error(e.message));
        worker.onmessage = (e) => {
          worker.terminate();
          if (e.data.ok) resolve(e.data.result);
          else reject(new Error(e.data.error));
        };
        worker.postMessage({ epochs, dim: 1280, classes: 98, perClass: 42 });
      }),
    headEpochs,
  );
}

/**
 * The encoders this bench can run (../shared/models/<id>), served at a URL of their own (the
 * app infers the card from the model.json, as for any URL); `on`: the tiny one runs on all
 * 1,619 images of stanford-cars-40, the 224 px ones on a subset (4 classes x --per-class).
 */
const ENCODERS: Record<string, { on: 'all' | 'subset'; what: string }> = {
  'mobilenet-v1-0.25-128': { on: 'all', what: 'MobileNetV1 0.25/128, the tiny test encoder (not in the catalog)' },
  'mobilenet-v1-0.75-224': { on: 'subset', what: "MobileNetV1 0.75/224, the catalog's tfjs-mobilenet-v1-0.75-224 (Google's files)" },
  'mobilenet-v2-1.0-224': { on: 'subset', what: 'MobileNetV2 1.0/224, the built-in encoder' },
};
const modelUrl = (id: string) => `https://models.studio.test/${id}/model.json`;

/** classes × perClass images of stanford-cars-40-folders in a temp folder. */
function subset(classes: number, perClass: number): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-subset-'));
  const source = sharedPath('data', 'stanford-cars-40-folders');
  for (const cls of readdirSync(source).sort().slice(0, classes)) {
    mkdirSync(path.join(root, cls));
    for (const img of readdirSync(path.join(source, cls)).sort().slice(0, perClass)) {
      copyFileSync(path.join(source, cls, img), path.join(root, cls, img));
    }
  }
  return root;
}

async function compare(browser: Browser, url: string, modelUrl: string, folder: string, images: number) {
  const runs = new Map<string, PipelineRun[]>(decodeSettings.map((d) => [d, []]));
  const bare: BareRun[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const d of decodeSettings) runs.get(d)!.push(await pipelineRun(browser, url, modelUrl, folder, images, d === 'auto' ? undefined : Number(d)));
    bare.push(await bareRun(browser, modelUrl, folder));
    console.error(
      `[bench] ${modelUrl} round ${r + 1}: ` +
        decodeSettings.map((d) => `decode workers ${d} (${runs.get(d)![r].decodeWorkers}): ${runs.get(d)![r].imagesPerSecond.toFixed(1)} images/s`).join(', ') +
        `; bare ${bare[r].imagesPerSecond.toFixed(1)} images/s`,
    );
  }
  const b = median(bare.map((x) => x.imagesPerSecond));
  const msPerImage = (threads: ThreadCpu[], n: number) => (totalSeconds(threads) * 1000) / n;
  // the CPU each image costs, in the bare phases (inference; decoding as the pipeline decodes)
  const inferenceCpu = median(bare.map((x) => msPerImage(x.inferCpu, x.images)));
  const decodeCpu = median(bare.map((x) => msPerImage(x.decodeCpu, x.images)));
  /**
   * The pipeline's CPU per image in parts: inference and decoding as in the bare phases, the
   * rest (messages, IndexedDB, thumbnails' storage, progress, the page) what remains. On a CPU
   * backend that owns every core, the pipeline/bare ratio cannot exceed inference / total.
   */
  const cpuParts = (loopMs: number) => ({
    cpuMsPerImage: { inference: round(inferenceCpu, 2), decode: round(decodeCpu, 2), other: round(loopMs - inferenceCpu - decodeCpu, 2), total: round(loopMs, 2) },
    cpuBoundRatio: round(inferenceCpu / loopMs),
  });
  const medianRun = (runs: PipelineRun[]) => [...runs].sort((x, y) => x.imagesPerSecond - y.imagesPerSecond)[Math.floor((runs.length - 1) / 2)];
  const summary = (setting: string, runs: PipelineRun[]) => {
    const p = median(runs.map((x) => x.imagesPerSecond));
    return {
      decodeWorkersAsked: setting,
      decodeWorkers: runs[0].decodeWorkers,
      pipelineImagesPerSecond: round(p, 1),
      ratio: round(p / b),
      decodeMsPerImage: round(median(runs.map((x) => x.decodeMsPerImage)), 1),
      browserCoresBusy: round(median(runs.map((x) => x.coresBusy)), 2),
      // Chromium's CPU time per image (decode + inference + storage, model load included): at
      // this many ms per image the pipeline needs cpuMsPerImage / 1000 × rate cores
      browserCpuMsPerImage: round(median(runs.map((x) => (x.cpuSeconds * 1000) / x.embedded)), 1),
      ...cpuParts(median(runs.map((x) => msPerImage(x.loop, x.embedded)))),
      // the embedding loop's CPU per image by process/thread (the busiest round's of the median run)
      loopCpuMsPerImageByThread: cpuMsPerImageByThread(medianRun(runs).loop, medianRun(runs).embedded),
      rounds: runs.map((x, i) => ({
        pipelineImagesPerSecond: round(x.imagesPerSecond, 1),
        bareImagesPerSecond: round(bare[i].imagesPerSecond, 1),
        ratio: round(x.imagesPerSecond / bare[i].imagesPerSecond),
        decodeMsPerImage: round(x.decodeMsPerImage, 1),
        browserCoresBusy: round(x.coresBusy, 2),
        loopCpuMsPerImage: round(msPerImage(x.loop, x.embedded), 2),
      })),
    };
  };
  return {
    images,
    batchSize,
    // the machine's load (1, 5, 15 min) when these rounds ended: other work shares the 2 cores
    loadAverageAtEnd: os.loadavg().map((x) => round(x, 2)),
    bareEncoderImagesPerSecond: round(b, 1),
    inferMsPerImage: round(1000 / b, 2),
    bareDecodeMsPerImage: round(median(bare.map((x) => x.decodeMsPerImage)), 1),
    bareCpuMsPerImage: { inference: round(inferenceCpu, 2), decodeWithThumbnail: round(decodeCpu, 2) },
    bareCpuMsPerImageByThread: {
      inference: cpuMsPerImageByThread(bare[0].inferCpu, bare[0].images),
      decodeWithThumbnail: cpuMsPerImageByThread(bare[0].decodeCpu, bare[0].images),
    },
    goal: 0.9,
    pipelines: decodeSettings.map((d) => summary(d, runs.get(d)!)),
  };
}

async function main(): Promise<void> {
  const server = await startStudio({ isolated });
  const browser = await launchBrowser();
  const temp: string[] = [];
  try {
    await browser.context.addInitScript(RECORD_WORKER_EVENTS);
    for (const id of encoderIds) {
      if (!ENCODERS[id]) throw new Error(`unknown encoder ${id}: one of ${Object.keys(ENCODERS).join(', ')}`);
      await serveModelAt(browser.context, modelUrl(id), id);
    }
    await browser.context.exposeBinding('__benchMark', (_source, label: string) => void marks.set(label, chromiumThreads(browser.profile)));
    const { page } = browser;
    const started = Date.now();
    const results: Record<string, unknown> = {
      machine: { cpus: os.cpus().length, hardwareConcurrency: await page.evaluate(() => navigator.hardwareConcurrency), loadAverage: os.loadavg().map((x) => round(x, 2)), browser: browser.context.browser()?.version() ?? 'chromium' },
      backend: 'wasm',
    };
    await page.goto(server.url);
    const head = await headEpochRun(page);
    results.wasm = { crossOriginIsolated: await page.evaluate(() => crossOriginIsolated), threads: head.threads };
    // --head-epochs 0: the WASM threads are reported, no epoch is timed
    if (headEpochs > 0) {
      const perEpoch = round(median(head.secondsPerEpoch), 2);
      results.headEpochs = {
        data: '98 + 98 classes x 42 vectors, 1,280-d, batches 32 x 8',
        stepsPerEpoch: head.stepsPerEpoch,
        secondsPerEpoch: perEpoch,
        all: head.secondsPerEpoch.map((x) => round(x, 2)),
      };
      console.error(`[bench] head on wasm (${head.threads?.count} threads): ${perEpoch} s/epoch`);
    }
    for (const id of encoderIds) {
      let folder = sharedPath('data', 'stanford-cars-40');
      if (ENCODERS[id].on === 'subset') temp.push((folder = subset(4, perClass)));
      const n = ENCODERS[id].on === 'subset' ? readdirSync(folder).reduce((s, c) => s + readdirSync(path.join(folder, c)).length, 0) : 1619;
      const on = ENCODERS[id].on === 'subset' ? `a subset (${n} images)` : `stanford-cars-40 (${n.toLocaleString('en')} images)`;
      results[`${id} on ${on}`] = { encoder: ENCODERS[id].what, ...(await compare(browser, server.url, modelUrl(id), folder, n)) };
    }
    const s = await storageBench(page);
    results.storage = {
      embeddings: s.N,
      featureSize: s.DIM,
      valueBytesPerEmbedding: s.DIM * 4,
      keyBytesPerEmbedding: s.keyChars * 2,
      diskBytesPerEmbedding: round((s.usageAfter - s.usageBefore) / s.N, 0),
      writeMsPer10000: round(s.writeMs, 0),
      read10000Ms: round(median(s.readMs), 1),
      read10000MsAll: s.readMs.map((x) => round(x, 1)),
      lookup10000Ms: round(median(s.lookupMs), 1),
    };
    results.seconds = round((Date.now() - started) / 1000, 1);
    const json = JSON.stringify(results, null, 2);
    writeFileSync(out, json + '\n');
    console.log(json);
  } finally {
    await browser.close();
    await server.close();
    for (const t of temp) rmSync(t, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
