/**
 * The head download, similar-cars search, embedding map and embedding exports, end to end in
 * headless Chromium (wasm): stanford-cars-40 embedded with MobileNetV1 0.25/128 (256-d), a
 * short training run, then everything is checked against the engine run in Node on the
 * exported vectors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchIndex } from '../../src/core/eval/nearestNeighbours';
import { decodeSafetensors } from '../../src/core/export/safetensors';
import { sharedPath } from '../support/shared';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  serveModelAt,
  startStudio,
  storedEmbeddings,
  TEST_MODEL,
  TEST_MODEL_URL,
  type Browser,
  type StudioServer, revealed, searchByPhoto, trainAndWait } from './support/studio';

const DIM = 256;
const KEYS = ['rPrecision', 'rPrecisionMacro', 'precisionAt1', 'mapAtR'] as const;

async function metricValues(page: Page, row: 'base' | 'tuned' | 'recorded'): Promise<number[]> {
  return Promise.all(KEYS.map(async (k) => Number(await page.getByTestId(`head-metric-${row}-${k}`).getAttribute('data-value'))));
}

async function waitMetricsReady(page: Page, activeText: string): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const active = document.querySelector('[data-testid="head-active"]');
      const table = document.querySelector('[data-testid="head-metrics"]');
      const tuned = document.querySelector('[data-testid="head-metric-tuned-rPrecision"]')?.getAttribute('data-value');
      return (
        Boolean(active?.textContent?.includes(want)) &&
        table?.getAttribute('data-phase') === 'ready' &&
        table.getAttribute('data-head') === active?.getAttribute('data-key') &&
        Boolean(tuned)
      );
    },
    activeText,
    { timeout: 60_000, polling: 100 },
  );
}

async function saved(dl: Download, folder: string): Promise<string> {
  const file = path.join(folder, dl.suggestedFilename());
  await dl.saveAs(file);
  return file;
}

/** Downloads started by one click (some buttons save two files). */
async function downloadsOf(page: Page, click: () => Promise<void>, count: number, folder: string): Promise<string[]> {
  const got: Download[] = [];
  const on = (d: Download) => void got.push(d);
  page.on('download', on);
  try {
    await click();
    await expect.poll(() => got.length, { timeout: 60_000 }).toBe(count);
  } finally {
    page.off('download', on);
  }
  return Promise.all(got.map((d) => saved(d, folder)));
}

/** The points of a Qdrant export zip (collection.json + points.json), checked for the request bodies Qdrant takes. */
function qdrantVectors(file: string): { vectors: Float32Array; payloads: { file: string; class: string; classId: number; split: string }[] } {
  const entries = unzipSync(new Uint8Array(readFileSync(file)));
  expect(Object.keys(entries).sort()).toEqual(['README.md', 'collection.json', 'points.json']);
  expect(JSON.parse(new TextDecoder().decode(entries['collection.json']))).toEqual({ vectors: { size: DIM, distance: 'Cosine' } });
  const points = JSON.parse(new TextDecoder().decode(entries['points.json'])).points as { id: number; vector: number[]; payload: { file: string; class: string; classId: number; split: string } }[];
  const vectors = new Float32Array(points.length * DIM);
  const payloads = points.map((p, i) => {
    expect(p.id).toBe(i);
    expect(p.vector.length).toBe(DIM);
    vectors.set(p.vector, i * DIM);
    return p.payload;
  });
  return { vectors, payloads };
}

interface Hit {
  row: number;
  distance: number;
  correct: string;
  classId: number;
}

async function hits(page: Page, testId: string): Promise<Hit[]> {
  return page.getByTestId(testId).getByTestId('search-hit').evaluateAll((els) =>
    els.map((e) => ({
      row: Number(e.getAttribute('data-row')),
      distance: Number(e.getAttribute('data-distance')),
      correct: e.getAttribute('data-correct') ?? '',
      classId: Number(e.getAttribute('data-class')),
    })),
  );
}

describe('trained head download, similar-cars search, embedding map and exports (real Chromium, wasm)', () => {
  let server: StudioServer;
  let browser: Browser;
  let page: Page;
  let folder: string;
  const cars40 = sharedPath('data', 'stanford-cars-40');
  let galleryCount = 0;
  let tunedMetrics: number[] = [];
  let zipPath = '';
  let headZipFiles: { json: Uint8Array; bin: Uint8Array } | null = null;
  const exported: Record<string, ReturnType<typeof qdrantVectors>> = {};

  beforeAll(async () => {
    folder = mkdtempSync(path.join(os.tmpdir(), 'studio-downloads-'));
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
    page = browser.page;
    await page.goto(server.url);
    await dropFolder(browser, cars40);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    await embedAndWait(page);
    const { phase, error } = await trainAndWait(page, { epochs: 3 });
    if (phase !== 'done') throw new Error(`Training failed: ${error}\n${browser.log.join('\n')}`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("measures the run's head as the run did, downloads it as one zip whose files parse, and a reloaded head measures the same", async () => {
    const started = Date.now();
    await waitMetricsReady(page, 'epoch');
    tunedMetrics = await metricValues(page, 'tuned');
    const recorded = await metricValues(page, 'recorded');
    const base = await metricValues(page, 'base');
    tunedMetrics.forEach((v, i) => expect(v).toBeCloseTo(recorded[i], 6));
    expect(tunedMetrics[0]).not.toBe(base[0]);

    const [zipFile] = await downloadsOf(page, () => page.getByTestId('head-download').click(), 1, folder);
    zipPath = zipFile;
    expect(path.basename(zipFile)).toMatch(/^stanford-cars-40-.*-head\.zip$/);
    const entries = unzipSync(new Uint8Array(readFileSync(zipFile)));
    const stem = path.basename(zipFile, '.zip');
    const names = Object.keys(entries).sort();
    expect(names).toEqual(
      ['README.md', 'config.json', 'model.safetensors', 'run.json', 'studio.json', 'tfjs/model.json', 'tfjs/weights.bin'].map((n) => `${stem}/${n}`),
    );
    const file = (n: string) => entries[`${stem}/${n}`];

    // safetensors: u64 LE header length, JSON header with contiguous F32 offsets, then the data
    const st = file('model.safetensors');
    const headerLength = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + headerLength)));
    expect(header.__metadata__.format).toBe('pt');
    expect(header['fc_0.weight']).toMatchObject({ dtype: 'F32', shape: [DIM, DIM] });
    expect(header.gates_0).toMatchObject({ dtype: 'F32', shape: [DIM] });
    expect(header['fc_0.bias']).toMatchObject({ dtype: 'F32', shape: [DIM] });
    expect(st.length).toBe(8 + headerLength + (DIM * DIM + 2 * DIM) * 4);
    const decoded = decodeSafetensors(st);
    expect(decoded.tensors['fc_0.weight'].shape).toEqual([DIM, DIM]);
    expect(JSON.parse(new TextDecoder().decode(file('config.json')))).toEqual({
      input_embedding_size: DIM,
      dropout: 0.1,
      skip_dropout: 0,
      n_layers: 1,
    });
    const studio = JSON.parse(new TextDecoder().decode(file('studio.json')));
    expect(studio.headClass).toBe('SkipConnectionHead');
    expect(studio.encoder.featureSize).toBe(DIM);
    expect(String(studio.encoder.preprocessingKey)).toContain('128');

    // TF.js: a standard layers model, one Dense layer (the head folded into x·K + b)
    const modelJson = JSON.parse(new TextDecoder().decode(file('tfjs/model.json')));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.modelTopology).not.toBeNull();
    expect(modelJson.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => [w.name, w.shape])).toEqual([
      ['similarity_head/kernel', [DIM, DIM]],
      ['similarity_head/bias', [DIM]],
    ]);
    expect(file('tfjs/weights.bin').length).toBe((DIM * DIM + DIM) * 4);
    const readme = new TextDecoder().decode(file('README.md'));
    expect(readme).toContain('SkipConnectionHead(**json.load(open("config.json")))');
    expect(readme).toContain("tf.loadLayersModel('tfjs/model.json')");
    expect(readme).toMatch(/\| with this head \| \d+\.\d%/);
    headZipFiles = { json: file('tfjs/model.json'), bin: file('tfjs/weights.bin') };

    // load the zip back: the same metrics on the same validation set
    await page.getByTestId('head-load-input').setInputFiles(zipFile);
    await waitMetricsReady(page, '.zip');
    expect(await metricValues(page, 'tuned')).toEqual(tunedMetrics);

    // and the TF.js pair alone
    const tfjsDir = path.join(folder, 'tfjs-only');
    rmSync(tfjsDir, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(tfjsDir);
    writeFileSync(path.join(tfjsDir, 'model.json'), file('tfjs/model.json'));
    writeFileSync(path.join(tfjsDir, 'weights.bin'), file('tfjs/weights.bin'));
    await page.getByTestId('head-load-input').setInputFiles([path.join(tfjsDir, 'model.json'), path.join(tfjsDir, 'weights.bin')]);
    await waitMetricsReady(page, '(tfjs)');
    // the same map, through different float32 weights: the same metrics up to rounding
    (await metricValues(page, 'tuned')).forEach((v, i) => expect(v).toBeCloseTo(tunedMetrics[i], 3));
    console.log(
      `[e2e] head: R-Precision base ${base[0].toFixed(4)} -> tuned ${tunedMetrics[0].toFixed(4)} (run recorded ${recorded[0].toFixed(4)}); ` +
        `zip ${readFileSync(zipFile).length} bytes; download + 2 reloads in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it('search: the neighbours of a fixed query are those the engine finds on the exported vectors, in both spaces; a dropped photo finds itself', async () => {
    galleryCount = Number(await page.getByTestId('search-grid').getAttribute('data-count'));
    expect(galleryCount).toBeGreaterThan(500);

    const exports = exported;
    await page.getByTestId('export-scope-validation').check();
    for (const space of ['base', 'tuned'] as const) {
      await page.getByTestId(`export-space-${space}`).check();
      const [file] = await downloadsOf(page, () => page.getByTestId('export-qdrant').click(), 1, folder);
      expect(path.basename(file)).toBe(`stanford-cars-40-${space}-validation-qdrant.zip`);
      exports[space] = qdrantVectors(file);
      expect(exports[space].payloads.length).toBe(galleryCount);
      expect(new Set(exports[space].payloads.map((p) => p.split))).toEqual(new Set(['validation']));
    }
    // the whole dataset: every image, each point naming its split; the validation rows are the same vectors
    await page.getByTestId('export-scope-all').check();
    const [allFile] = await downloadsOf(page, () => page.getByTestId('export-qdrant').click(), 1, folder);
    const all = qdrantVectors(allFile);
    expect(all.payloads.length).toBe(1619);
    expect(all.payloads.filter((p) => p.split === 'train').length).toBe(1619 - galleryCount);
    const firstValidation = all.payloads.findIndex((p) => p.split === 'validation');
    expect(all.payloads[firstValidation].file).toBe(exports.tuned.payloads[0].file);
    expect(all.vectors.subarray(firstValidation * DIM, (firstValidation + 1) * DIM)).toEqual(exports.tuned.vectors.subarray(0, DIM));
    await page.getByTestId('export-scope-validation').check();

    const row = 5;
    const k = 8;
    await page.locator(`[data-testid="search-pick"][data-row="${row}"]`).click();
    await page.locator(`[data-testid="search-results-tuned"][data-query="row:${row}"]`).waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await hits(page, 'search-results-base')).length).toBe(k);
    const queryClass = exports.base.payloads[row].classId;
    for (const space of ['base', 'tuned'] as const) {
      const got = await hits(page, `search-results-${space}`);
      const want = searchIndex(exports[space].vectors, DIM, 'cosine').search(exports[space].vectors.subarray(row * DIM, (row + 1) * DIM), k, [row]);
      expect(got.map((h) => h.row)).toEqual(Array.from(want.index));
      got.forEach((h, i) => {
        expect(h.distance).toBeCloseTo(want.distance[i], 5);
        if (i > 0) expect(h.distance).toBeGreaterThanOrEqual(got[i - 1].distance);
        expect(h.classId).toBe(exports[space].payloads[h.row].classId);
        expect(h.correct).toBe(String(h.classId === queryClass));
      });
    }
    const ms = Number(await page.getByTestId('search-ms').getAttribute('data-ms'));
    expect(ms).toBeLessThan(200);

    // a photo from disk (the query image's own file): embedded the same way, it finds itself first
    const rel = exports.base.payloads[row].file;
    const onDisk = [path.join(cars40, rel), path.join(path.dirname(cars40), rel)].find((p) => existsSync(p))!;
    const photo = path.join(folder, 'my-photo.jpg');
    writeFileSync(photo, readFileSync(onDisk));
    await searchByPhoto(page, photo);
    expect((await hits(page, 'search-results-base'))[0].correct).toBe(''); // a photo has no class: nothing is marked
    for (const space of ['base', 'tuned'] as const) {
      const top = (await hits(page, `search-results-${space}`))[0];
      expect(top.row).toBe(row);
      expect(top.distance).toBeLessThan(1e-5);
    }
    console.log(`[e2e] search over ${galleryCount} validation images: ${ms.toFixed(2)} ms (base + tuned, in the worker)`);

    // the same photo dropped (a real drag and drop) on "Drop a photo here": embedded as the
    // query, and the page-wide "drop a folder" overlay does not stay behind
    await page.getByTestId('search-pick').first().click();
    await expect.poll(() => page.getByTestId('search-query').innerText()).not.toContain('my-photo.jpg');
    const zone = (await page.getByTestId('search-photo-drop').boundingBox())!;
    const at = { x: zone.x + zone.width / 2, y: zone.y + zone.height / 2 };
    const cdp = await browser.context.newCDPSession(page);
    try {
      for (const type of ['dragEnter', 'dragOver', 'drop'] as const) {
        await cdp.send('Input.dispatchDragEvent', { type, ...at, data: { items: [], files: [photo], dragOperationsMask: 1 } });
      }
    } finally {
      await cdp.detach();
    }
    await expect.poll(() => page.getByTestId('search-query').innerText(), { timeout: 60_000 }).toContain('my-photo.jpg');
    expect(await page.locator('.drop-overlay').count()).toBe(0);
  });

  it('the whole model and the head load in a page with nothing but @tensorflow/tfjs, and embed a dataset image as the studio does', async () => {
    expect(headZipFiles).not.toBeNull();
    expect(exported.tuned).toBeDefined();
    await page.getByTestId('head-run-select').selectOption({ index: 1 });
    await waitMetricsReady(page, 'epoch');
    const [modelZip] = await downloadsOf(page, () => page.getByTestId('model-download').click(), 1, folder);
    expect(path.basename(modelZip)).toMatch(/^stanford-cars-40-.*-model\.zip$/);
    const entries = unzipSync(new Uint8Array(readFileSync(modelZip)));
    const stem = path.basename(modelZip, '.zip');
    expect(Object.keys(entries).sort()).toEqual(['README.md', 'model.json', 'weights.bin'].map((n) => `${stem}/${n}`));
    expect(new TextDecoder().decode(entries[`${stem}/README.md`])).toContain("tf.loadLayersModel('model.json')");
    await page.getByTestId('model-save').click();
    await page.getByTestId('model-done').filter({ hasText: 'indexeddb://' }).waitFor({ timeout: 60_000 });
    const savedTo = /indexeddb:\/\/[^\s:]+/.exec(await page.getByTestId('model-done').innerText())![0];

    // a dataset image of the validation set, its base vector as the studio stored it, its tuned vector as exported
    const row = 3;
    const item = exported.tuned.payloads[row];
    const onDisk = [path.join(cars40, item.file), path.join(path.dirname(cars40), item.file)].find((p) => existsSync(p))!;
    const stored = await storedEmbeddings(page);
    const baseKey = Object.keys(stored).find((k) => k.includes(item.file))!;
    expect(baseKey).toBeDefined();
    const tuned = Array.from(exported.tuned.vectors.subarray(row * DIM, (row + 1) * DIM));

    const plain = await browser.context.newPage();
    try {
      await plain.goto(`${server.url}tests/e2e/pages/plain-tfjs.html`);
      expect(await plain.evaluate(() => (window as unknown as { plainReady: Promise<string> }).plainReady)).toBe('cpu');
      const toList = (b: Uint8Array) => Array.from(b);
      const out = await plain.evaluate(
        async ({ modelJson, weights, headJson, headBin, jpeg, base, savedTo }) => {
          const tf = (window as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
          const files = (json: number[], bin: number[]) => [
            new File([new Uint8Array(json)], 'model.json', { type: 'application/json' }),
            new File([new Uint8Array(bin)], 'weights.bin'),
          ];
          const model = await tf.loadLayersModel(tf.io.browserFiles(files(modelJson, weights)));
          const head = await tf.loadLayersModel(tf.io.browserFiles(files(headJson, headBin)));
          const fromDb = await tf.loadLayersModel(savedTo);
          const [, h, w] = model.inputs[0].shape as number[];
          const bitmap = await createImageBitmap(new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
          const x = tf.tidy(() => tf.browser.fromPixels(bitmap).toFloat().div(127.5).sub(1).expandDims(0));
          const read = (m: import('@tensorflow/tfjs').LayersModel, input: import('@tensorflow/tfjs').Tensor) => Array.from((m.predict(input) as import('@tensorflow/tfjs').Tensor).dataSync());
          return {
            whole: read(model, x),
            saved: read(fromDb, x),
            head: read(head, tf.tensor2d([base])),
            layers: model.layers.length,
          };
        },
        {
          modelJson: toList(entries[`${stem}/model.json`]),
          weights: toList(entries[`${stem}/weights.bin`]),
          headJson: toList(headZipFiles!.json),
          headBin: toList(headZipFiles!.bin),
          jpeg: toList(readFileSync(onDisk)),
          base: stored[baseKey],
          savedTo,
        },
      );
      const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      expect(out.head.length).toBe(DIM);
      expect(maxDiff(out.head, tuned)).toBeLessThan(1e-5);
      expect(maxDiff(out.whole, tuned)).toBeLessThan(1e-4);
      expect(out.saved).toEqual(out.whole);
      console.log(
        `[e2e] plain tfjs page: head max diff ${maxDiff(out.head, tuned).toExponential(2)}, whole model (${out.layers} layers) ` +
          `${maxDiff(out.whole, tuned).toExponential(2)} from the studio's tuned vector; ${path.basename(modelZip)} ${readFileSync(modelZip).length} bytes`,
      );
    } finally {
      await plain.close();
    }
  });

  it('the map draws one point per validation image, base and tuned, PCA then UMAP; hover shows the image and class', async () => {
    for (const id of ['map-base', 'map-tuned']) {
      await expect.poll(async () => Number(await page.getByTestId(id).getAttribute('data-points')), { timeout: 60_000 }).toBe(galleryCount);
      expect(await page.getByTestId(id).getAttribute('data-method')).toBe('pca');
    }
    // hover: find a drawn point by scanning the canvas pixels, then move there
    const canvas = page.getByTestId('map-base');
    const point = await canvas.evaluate((c: HTMLCanvasElement) => {
      const ctx = c.getContext('2d')!;
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) if (data[(y * c.width + x) * 4 + 3] > 200) return { x: x + 2, y: y + 2 };
      return null;
    });
    expect(point).not.toBeNull();
    await canvas.hover({ position: point! });
    const tip = page.getByTestId('map-base-tip');
    await tip.waitFor({ timeout: 10_000 });
    expect((await tip.innerText()).length).toBeGreaterThan(3);
    expect(await tip.locator('img').count()).toBe(1);

    const started = Date.now();
    await page.getByTestId('map-method-umap').check();
    for (const id of ['map-base', 'map-tuned']) {
      await expect.poll(async () => page.getByTestId(id).getAttribute('data-method'), { timeout: 180_000 }).toBe('umap');
      expect(Number(await page.getByTestId(id).getAttribute('data-points'))).toBe(galleryCount);
    }
    console.log(`[e2e] UMAP of ${galleryCount} points, base + tuned: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('exports the Embedding Projector pair: vectors.tsv with one 256-d row per image, metadata.tsv with a header', async () => {
    await page.getByTestId('export-space-tuned').check();
    const files = await downloadsOf(page, () => page.getByTestId('export-projector').click(), 2, folder);
    const byName = Object.fromEntries(files.map((f) => [path.basename(f), f]));
    const vectors = readFileSync(byName['stanford-cars-40-tuned-validation-vectors.tsv'], 'utf8').trim().split('\n');
    const metadata = readFileSync(byName['stanford-cars-40-tuned-validation-metadata.tsv'], 'utf8').trim().split('\n');
    expect(vectors.length).toBe(galleryCount);
    expect(vectors[0].split('\t').length).toBe(DIM);
    expect(metadata[0]).toBe('file\tclass\tsplit');
    expect(metadata.length).toBe(galleryCount + 1);
    expect(zipPath).not.toBe('');
  });

  it('continues training from the downloaded head: the new run starts where that head is, not where a fresh head does, and records it', async () => {
    expect(zipPath).not.toBe('');
    await page.getByTestId('head-load-input').setInputFiles(zipPath);
    await waitMetricsReady(page, '.zip');
    const label = ((await page.getByTestId('head-active').textContent()) ?? '').trim();
    await page.getByTestId('train-from-head').check();
    await (await revealed(page, 'train-setting-maxEpochs')).fill('1');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(
      () =>
        ['done', 'failed'].includes(document.querySelector('[data-testid="train-stage"]')?.getAttribute('data-phase') ?? '') &&
        document.querySelector('[data-testid="train-epoch"]')?.textContent === '1 / 1',
      undefined,
      { timeout: 120_000, polling: 200 },
    );
    expect(await page.getByTestId('train-stage').getAttribute('data-phase')).toBe('done');
    expect(((await page.getByTestId('train-started-from').textContent()) ?? '').trim()).toBe(label);

    // the run history (IndexedDB, read in the page): the first run and the continued one
    type StoredRun = { about: { startedFrom?: string }; bestEpoch: number; history: { validationLoss: number }[] };
    const runs = await page.evaluate(
      () =>
        new Promise<StoredRun[]>((resolve, reject) => {
          const open = indexedDB.open('similarity-studio-runs');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const all = db.transaction('runs', 'readonly').objectStore('runs').getAll();
            all.onsuccess = () => {
              db.close();
              resolve(all.result as StoredRun[]);
            };
            all.onerror = () => reject(all.error);
          };
        }),
    );
    expect(runs).toHaveLength(2);
    const first = runs.find((r) => !r.about.startedFrom)!;
    const continued = runs.find((r) => r.about.startedFrom)!;
    expect(continued.about.startedFrom).toBe(label);
    // same settings and seed, so the same validation batches: the loaded head's loss is its run's best epoch's
    const loadedLoss = first.history[first.bestEpoch - 1].validationLoss;
    const freshLoss = first.history[0].validationLoss;
    const got = continued.history[0].validationLoss;
    expect(Math.abs(got - loadedLoss)).toBeLessThan(Math.abs(got - freshLoss));
    await expect
      .poll(() => page.locator(`[data-testid="run-row"][data-started-from="${label}"]`).count(), { timeout: 10_000 })
      .toBe(1);
    console.log(
      `[e2e] continued from ${label}: first epoch val loss ${got.toFixed(4)}; loaded head ${loadedLoss.toFixed(4)}, a fresh head's first epoch ${freshLoss.toFixed(4)}`,
    );
  });
});
