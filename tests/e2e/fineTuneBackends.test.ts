import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCarImages, tempFolder } from './support/datasets';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  revealed,
  serveModelAt,
  startStudio,
  TEST_MODEL,
  TEST_MODEL_URL,
  type Browser,
  type StudioServer,
  trainAndWait,
} from './support/studio';

type Result = { backend: string; formulation: string; losses: number[] };

describe('training, evaluation and fine-tuning the top in the browser: WebGPU (SwiftShader) and WASM, and in the studio', () => {
  let server: StudioServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startStudio();
    browser = await launchBrowser();
    await serveModelAt(browser.context, TEST_MODEL_URL, TEST_MODEL);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('retrieval metrics run on webgpu (no synchronous read): the hand-computed numbers, ties by lower index, as on wasm, no tensor left', async () => {
    const { page } = browser;
    await page.goto(`${server.url}tests/e2e/support/fineTune.html`);
    const run = (backend: string) =>
      page.evaluate(`new Promise((resolve, reject) => {
        const worker = new Worker('/tests/e2e/support/evaluationWorker.ts', { type: 'module' });
        worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.result));
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ backend: ${JSON.stringify(backend)} });
      })`) as Promise<Record<string, unknown> & { backend: string; leaked: number }>;
    const webgpu = await run('webgpu');
    const wasm = await run('wasm');
    expect(webgpu.backend).toBe('webgpu');
    expect(webgpu).toMatchObject({
      hand: { queryCount: 6, skippedQueries: 1, precisionAt1: 5 / 6 },
      same: { rPrecision: 0.25 },
      leaked: 0,
    });
    const hand = webgpu.hand as { rPrecision: number; rPrecisionMacro: number; mapAtR: number };
    expect(hand.rPrecision).toBeCloseTo(9 / 14, 12);
    expect(hand.rPrecisionMacro).toBeCloseTo(11 / 18, 12);
    expect(hand.mapAtR).toBeCloseTo(11 / 18, 12);
    expect(webgpu.fromTensor).toEqual(webgpu.fromValues);
    expect({ ...webgpu, backend: 'wasm' }).toEqual(wasm);
  });

  it('a few joint steps (tiny batches) give the same losses on webgpu (the layers\' own conv gradients) and wasm (primitives)', async () => {
    const { page } = browser;
    // a bare page: the studio itself would start its own workers and WebGPU device
    await page.goto(`${server.url}tests/e2e/support/fineTune.html`);
    // in a module worker, as the studio trains; a string, so that vitest leaves the page's code alone
    const run = (backend: string) =>
      page.evaluate(`new Promise((resolve, reject) => {
        const worker = new Worker('/tests/e2e/support/fineTuneWorker.ts', { type: 'module' });
        worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.result));
        worker.onerror = (e) => reject(new Error(e.message));
        worker.postMessage({ backend: ${JSON.stringify(backend)}, url: ${JSON.stringify(TEST_MODEL_URL)} });
      })`) as Promise<Result>;
    const webgpu = await run('webgpu');
    const wasm = await run('wasm');
    console.info(`[e2e] fine-tune losses webgpu ${webgpu.losses.map((v) => v.toFixed(5)).join(' ')}; wasm ${wasm.losses.map((v) => v.toFixed(5)).join(' ')}`);
    expect(webgpu).toMatchObject({ backend: 'webgpu', formulation: 'layers' });
    expect(wasm).toMatchObject({ backend: 'wasm', formulation: 'primitives' });
    expect(webgpu.losses).toHaveLength(4);
    webgpu.losses.forEach((v, i) => {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.abs(v - wasm.losses[i]), `loss ${i}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(v)));
    });
  });

  it('fine-tunes the top in the studio on WASM: cut maps cached while embedding (kept over a reload mid-way), a run that says what it tuned, a whole model that carries the tuned top', async () => {
    const { page } = browser;
    const folder = addCarImages(tempFolder('finetune'), 12, 0, 8); // 12 classes x 8 images
    const images = 96;
    await page.goto(server.url);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    await (await revealed(page, 'train-setting-topBlocks')).fill('1');
    await (await revealed(page, 'embed-batch')).fill('8');

    // reload while the cut maps are being stored: what was stored stays, the next embed finishes the rest
    await page.getByTestId('embed-start').click();
    await expect.poll(() => storedCount(page, 'cutMaps'), { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
    await page.reload();
    await expect.poll(() => textOfTestId(page, 'cache-cut-count'), { timeout: 30_000 }).toMatch(/^\d+$/);
    const kept = Number(await textOfTestId(page, 'cache-cut-count'));
    expect(kept).toBeGreaterThan(0);
    await dropFolder(browser, folder);
    await page.getByTestId('dataset-images').waitFor({ timeout: 60_000 });
    await chooseTestEncoder(page, 'wasm');
    expect(await (await revealed(page, 'train-setting-topBlocks')).inputValue()).toBe('1'); // kept with the session
    await embedAndWait(page);
    const cut = page.getByTestId('embed-cut-result');
    const cachedNow = Number(await cut.getAttribute('data-cached'));
    expect(cachedNow).toBeGreaterThanOrEqual(kept);
    expect(cachedNow + Number(await cut.getAttribute('data-stored'))).toBe(images);
    await expect.poll(() => textOfTestId(page, 'cache-cut-count')).toBe(String(images));
    const perImage = Number(await page.getByTestId('cache-cut-bytes-per-image').getAttribute('data-bytes'));
    const mapBytes = await storedBytes(page, 'cutMaps');
    expect(mapBytes).toBe(images * (mapBytes / images)); // every map the same size
    expect(perImage).toBeGreaterThan(mapBytes / images); // float16 map plus its key
    expect(perImage).toBeLessThan(mapBytes / images + 2048); // keys name the encoder and preprocessing: a few hundred characters

    const trained = await trainAndWait(page, { epochs: 2, timeoutMs: 300_000 });
    if (trained.phase === 'failed') throw new Error(`Fine-tuning failed: ${trained.error}\n${browser.log.join('\n')}`);
    expect(await textOfTestId(page, 'train-backend-used')).toBe('wasm');
    const line = await textOfTestId(page, 'train-fine-tuning');
    expect(line).toMatch(/^fine-tuned from the cut \S+ \(\d+×\d+×\d+\): \d+ layers, [\d,]+ parameters/);
    expect(line).toContain('WebGPU');
    expect(Number(await page.getByTestId('train-summary').getAttribute('data-epochs'))).toBe(2);

    // the whole model: image in, tuned vector out, with the tuned top's weights in it
    await page.getByTestId('head-run-select').selectOption({ index: 1 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('model-download').click()]);
    const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
    const file = (n: string) => Object.entries(zip).find(([k]) => k.endsWith(`/${n}`))![1];
    expect(new TextDecoder().decode(file('README.md'))).toMatch(/Fine-tuned: the encoder's \d+ layers after `[^`]+`/);
    const cutLayer = /from the cut (\S+)/.exec(line)![1];
    const plain = await browser.context.newPage();
    try {
      await plain.goto(`${server.url}tests/e2e/pages/plain-tfjs.html`);
      await plain.evaluate(() => (window as unknown as { plainReady: Promise<string> }).plainReady);
      const diff = await plain.evaluate(
        async ({ modelJson, weights, url, cutLayer }) => {
          const tf = (window as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
          const exported = await tf.loadLayersModel(
            tf.io.browserFiles([new File([new Uint8Array(modelJson)], 'model.json'), new File([new Uint8Array(weights)], 'weights.bin')]),
          );
          const pretrained = await tf.loadLayersModel(url);
          const values = new Map<string, Float32Array>();
          for (const w of pretrained.weights) values.set(w.originalName, w.read().dataSync() as Float32Array);
          const changed: string[] = [];
          let same = 0;
          let belowCut = 0;
          const cutAt = exported.layers.findIndex((l) => l.name === cutLayer);
          exported.layers.forEach((layer, i) => {
            for (const w of layer.weights) {
              const before = values.get(w.originalName);
              if (!before) continue; // the head's
              const after = w.read().dataSync();
              if (after.some((v, k) => v !== before[k])) {
                changed.push(w.originalName);
                if (i <= cutAt) belowCut += 1;
              } else same += 1;
            }
          });
          return { changed, same, belowCut, cutAt };
        },
        { modelJson: Array.from(file('model.json')), weights: Array.from(file('weights.bin')), url: TEST_MODEL_URL, cutLayer },
      );
      console.info(`[e2e] fine-tuned whole model: ${diff.changed.length} encoder weights changed (${diff.changed.join(', ')}), ${diff.same} as pretrained`);
      expect(diff.cutAt).toBeGreaterThan(0);
      expect(diff.changed.length).toBeGreaterThan(0);
      expect(diff.belowCut).toBe(0); // only the top changed: the layers up to the cut are the pretrained ones
      expect(diff.same).toBeGreaterThan(0);
    } finally {
      await plain.close();
    }
  });
});

async function textOfTestId(page: Page, testId: string): Promise<string> {
  return ((await page.getByTestId(testId).first().textContent()) ?? '').trim();
}

/** Records in one store of the studio's database, read in the page. */
function storedCount(page: Page, store: string): Promise<number> {
  return page.evaluate(
    (name) =>
      new Promise<number>((resolve) => {
        const open = indexedDB.open('similarity-studio');
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains(name)) return resolve(0), db.close();
          const count = db.transaction(name, 'readonly').objectStore(name).count();
          count.onsuccess = () => (resolve(count.result), db.close());
        };
        open.onerror = () => resolve(0);
      }),
    store,
  );
}

/** Bytes of every value in one store (ArrayBuffers), read in the page. */
function storedBytes(page: Page, store: string): Promise<number> {
  return page.evaluate(
    (name) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('similarity-studio');
        open.onsuccess = () => {
          const db = open.result;
          const all = db.transaction(name, 'readonly').objectStore(name).getAll();
          all.onsuccess = () => (resolve((all.result as ArrayBuffer[]).reduce((a, b) => a + b.byteLength, 0)), db.close());
          all.onerror = () => reject(all.error);
        };
        open.onerror = () => reject(open.error);
      }),
    store,
  );
}
