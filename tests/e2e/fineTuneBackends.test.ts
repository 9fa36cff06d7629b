import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchIndex } from '../../src/core/eval/nearestNeighbours';
import { sharedPath } from '../support/shared';
import { addCarImages, tempFolder } from './support/datasets';
import {
  chooseTestEncoder,
  dropFolder,
  embedAndWait,
  launchBrowser,
  revealed,
  searchByPhoto,
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

  it('fine-tunes the top in the studio on WASM: cut maps cached while embedding (kept over a reload mid-way), a run that says what it tuned, a whole model and a head download that carry the tuned top, and metrics, search and exports of head(top(cut map)) computed once', async () => {
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

    // the head panel measures the tuned model: head(top(cut map)) on the never-seen classes, the run's own test numbers
    const gallery = Number(await page.getByTestId('search-grid').getAttribute('data-count'));
    expect(gallery).toBeGreaterThan(0);
    await waitMetricsReady(page);
    expect(await textOfTestId(page, 'head-fine-tuned')).toContain('use the fine-tuned top');
    const tunedNow = await metricValues(page, 'tuned');
    const recorded = await metricValues(page, 'recorded');
    tunedNow.forEach((v, i) => expect(Math.abs(v - recorded[i]), KEYS[i]).toBeLessThan(1e-6));
    for (const k of KEYS) expect(await textOfTestId(page, `head-metric-tuned-${k}`)).toBe(await textOfTestId(page, `train-summary-tuned-${k}`));
    const counted = page.getByTestId('head-tuned-features');
    expect(Number(await counted.getAttribute('data-computed')) + Number(await counted.getAttribute('data-cached'))).toBe(gallery);

    // the head download carries the tuned top; the tuned exports are head(top(cut map))
    const folderOut = tempFolder('finetune-downloads');
    const [headDl] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId('head-download').click()]);
    const headZipPath = path.join(folderOut, 'head.zip');
    writeFileSync(headZipPath, readFileSync((await headDl.path())!));
    const headZipFiles = unzipSync(new Uint8Array(readFileSync(headZipPath)));
    const headFile = (n: string) => Object.entries(headZipFiles).find(([k]) => k.endsWith(`/${n}`))?.[1];
    expect(headFile('top.safetensors'), Object.keys(headZipFiles).join(', ')).toBeTruthy();
    expect(new TextDecoder().decode(headFile('README.md'))).toContain("The head's input: the encoder's pooled feature **with the fine-tuned top**");
    await page.getByTestId('export-scope-validation').check();
    await page.getByTestId('export-space-tuned').check();
    const projector: Record<string, Uint8Array> = {};
    const onDownload = (d: import('playwright-core').Download) =>
      void d.path().then((p) => (projector[d.suggestedFilename().replace(/^.*-/, '')] = new Uint8Array(readFileSync(p!))));
    page.on('download', onDownload);
    await page.getByTestId('export-projector').click();
    await expect.poll(() => Object.keys(projector).sort().join(','), { timeout: 60_000 }).toBe('metadata.tsv,vectors.tsv');
    page.off('download', onDownload);
    const tunedRows = new TextDecoder().decode(projector['vectors.tsv']).trim().split('\n').map((l) => l.split('\t').map(Number));
    const files = new TextDecoder().decode(projector['metadata.tsv']).trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
    expect(tunedRows.length).toBe(gallery);
    const dim = tunedRows[0].length;

    // the search in tuned space ranks by those vectors
    const row = 3;
    await page.locator(`[data-testid="search-pick"][data-row="${row}"]`).click();
    await page.locator(`[data-testid="search-results-tuned"][data-query="row:${row}"]`).waitFor({ timeout: 30_000 });
    const hits = await page.getByTestId('search-results-tuned').getByTestId('search-hit').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-row'))));
    const flat = new Float32Array(tunedRows.flat());
    const want = searchIndex(flat, dim, 'cosine').search(flat.subarray(row * dim, (row + 1) * dim), hits.length, [row]);
    expect(hits).toEqual(Array.from(want.index));

    // a dropped photo (a gallery image's own file) goes through the tuned top too: it finds that image at distance 0 in both spaces
    const photo = path.join(folderOut, 'my-photo.jpg');
    writeFileSync(photo, readFileSync(path.join(folder, files[row])));
    await searchByPhoto(page, photo);
    for (const space of ['base', 'tuned']) {
      const first = page.getByTestId(`search-results-${space}`).getByTestId('search-hit').first();
      expect(Number(await first.getAttribute('data-row')), space).toBe(row);
      expect(Number(await first.getAttribute('data-distance')), space).toBeLessThan(1e-5);
    }

    // another tool: PyTorch reads top.safetensors and the head's model.safetensors, runs the top on the cached cut maps
    const cutShape = /\((\d+)×(\d+)×(\d+)\)/.exec(line)!.slice(1).map(Number);
    const [cuts, pooled] = await Promise.all([storedRows(page, 'cutMaps'), storedRows(page, 'embeddings')]);
    const byFile = (rows: Record<string, ArrayBuffer>, keep: (set: string) => boolean) => {
      const out = new Map<string, ArrayBuffer>();
      for (const [key, value] of Object.entries(rows)) {
        const [set, identity] = key.split('::');
        if (keep(set)) out.set(identity.split('|')[0], value);
      }
      return out;
    };
    const cutOf = byFile(cuts, () => true);
    const frozenOf = byFile(pooled, (set) => !set.includes('|tuned=') && !set.includes('|cut='));
    writeFileSync(path.join(folderOut, 'top.safetensors'), headFile('top.safetensors')!);
    writeFileSync(path.join(folderOut, 'model.safetensors'), headFile('model.safetensors')!);
    writeFileSync(path.join(folderOut, 'cuts.f16'), Buffer.concat(files.map((f) => Buffer.from(cutOf.get(f)!))));
    writeFileSync(path.join(folderOut, 'frozen.f32'), Buffer.concat(files.map((f) => Buffer.from(frozenOf.get(f)!))));
    writeFileSync(
      path.join(folderOut, 'info.json'),
      JSON.stringify({ n: gallery, cut: cutLayer, cutShape, modelJson: sharedPath('models', TEST_MODEL, 'model.json') }),
    );
    const python = torchPython();
    if (!python) console.warn('[e2e] PyTorch check of top.safetensors skipped: no python3 with torch (apt-get install python3-torch)');
    else {
      const out = execFileSync(python, ['-c', TORCH_TOP, folderOut], { encoding: 'utf8', timeout: 120_000 });
      const torch = JSON.parse(out) as { how: string; unused: string[]; tuned: number[]; frozenHead: number[] };
      expect(torch.unused).toEqual([]);
      let diff = 0;
      let fromFrozenHead = 0;
      let scale = 0;
      tunedRows.flat().forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - torch.tuned[i]));
        fromFrozenHead = Math.max(fromFrozenHead, Math.abs(v - torch.frozenHead[i]));
        scale = Math.max(scale, Math.abs(v));
      });
      console.info(`[e2e] torch (${torch.how}) head(top(cut)) vs the studio's tuned export: max |diff| ${diff.toExponential(2)} (scale ${scale.toFixed(2)}); head(frozen) is ${fromFrozenHead.toFixed(3)} away`);
      expect(diff).toBeLessThan(1e-4 * Math.max(1, scale));
      expect(fromFrozenHead).toBeGreaterThan(100 * diff + 1e-3); // not the head on the frozen embeddings
    }

    // a reload keeps the tuned features: read back, none computed again, the same numbers; the cache panel shows them
    await page.reload();
    await waitMetricsReady(page);
    expect(await page.getByTestId('head-tuned-features').getAttribute('data-computed')).toBe('0');
    expect(await page.getByTestId('head-tuned-features').getAttribute('data-cached')).toBe(String(gallery));
    expect(await metricValues(page, 'tuned')).toEqual(tunedNow);
    await expect.poll(() => textOfTestId(page, 'cache-tuned-count')).toBe(String(gallery + 1)); // and the dropped photo's
    // deleting the run deletes them
    await (await revealed(page, 'run-delete')).click();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('cache-tuned-row').count(), { timeout: 30_000 }).toBe(0);
    expect(Object.keys(await storedRows(page, 'embeddings')).filter((k) => k.includes('|tuned='))).toEqual([]);

    // the head zip loaded back brings its top: measured as its run measured it (tuned features computed, not kept: its run is gone)
    await page.getByTestId('head-load-input').setInputFiles(headZipPath);
    await page.waitForFunction(() => document.querySelector('[data-testid="head-active"]')?.getAttribute('data-key')?.startsWith('file:'), undefined, { timeout: 30_000 });
    await waitMetricsReady(page);
    expect(await page.getByTestId('head-tuned-features').getAttribute('data-computed')).toBe(String(gallery));
    (await metricValues(page, 'tuned')).forEach((v, i) => expect(Math.abs(v - recorded[i]), KEYS[i]).toBeLessThan(1e-6));
    expect(Object.keys(await storedRows(page, 'embeddings')).filter((k) => k.includes('|tuned='))).toEqual([]);

    // training continues from that head only with its top: head-only is refused, saying what to set; with the top it runs
    await (await revealed(page, 'train-setting-topBlocks')).fill('0');
    expect(await page.getByTestId('train-from-head').isDisabled()).toBe(true);
    expect(await textOfTestId(page, 'train-continue')).toMatch(/reads the encoder's top fine-tuned from \S+: set "Train the encoder's top blocks" to 1/);
    await (await revealed(page, 'train-setting-topBlocks')).fill('1');
    await page.getByTestId('train-from-head').check();
    const continued = await trainAndWait(page, { epochs: 1, timeoutMs: 300_000 });
    if (continued.phase === 'failed') throw new Error(`Continuing the fine-tuned head failed: ${continued.error}\n${browser.log.join('\n')}`);
    expect(await textOfTestId(page, 'train-fine-tuning')).toContain('from the chosen head');
    expect(await textOfTestId(page, 'train-started-from')).not.toBe('a fresh head');
  });
});

const KEYS = ['rPrecision', 'rPrecisionMacro', 'precisionAt1', 'mapAtR'] as const;

async function metricValues(page: Page, row: 'base' | 'tuned' | 'recorded'): Promise<number[]> {
  return Promise.all(KEYS.map(async (k) => Number(await page.getByTestId(`head-metric-${row}-${k}`).getAttribute('data-value'))));
}

/** The head in use measured on the gallery (its metrics are of it, not of an earlier head). */
async function waitMetricsReady(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const active = document.querySelector('[data-testid="head-active"]');
      const table = document.querySelector('[data-testid="head-metrics"]');
      return (
        table?.getAttribute('data-phase') === 'ready' &&
        table.getAttribute('data-head') === active?.getAttribute('data-key') &&
        Boolean(document.querySelector('[data-testid="head-metric-tuned-rPrecision"]')?.getAttribute('data-value'))
      );
    },
    undefined,
    { timeout: 120_000, polling: 100 },
  );
}

function torchPython(): string | null {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => Boolean(c))) {
    if (spawnSync(py, ['-c', 'import torch, numpy'], { timeout: 60_000 }).status === 0) return py;
  }
  return null;
}

/**
 * PyTorch, from the download's files alone: the top's layers (their kinds and activations from
 * the encoder's model.json, their weights from top.safetensors by TF.js name) on the cached cut
 * maps, pooled, then quaterion's SkipConnectionHead `fc(x)·sigmoid(gates) + x` from
 * model.safetensors; also the head on the frozen vectors. safetensors' own reader when
 * installed, else its header + bytes read into torch tensors (as tests/unit/export/torchLoad).
 */
const TORCH_TOP = String.raw`
import json, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

d = sys.argv[1]

def read_safetensors(p):
    try:
        from safetensors.torch import load_file
        return load_file(p), "safetensors package"
    except ImportError:
        pass
    raw = open(p, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    body = raw[8 + n :]
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", t["dtype"]
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(t["shape"])
    return out, "torch.frombuffer"

info = json.load(open(d + "/info.json"))
top, how = read_safetensors(d + "/top.safetensors")
head, _ = read_safetensors(d + "/model.safetensors")
topology = json.load(open(info["modelJson"]))["modelTopology"]
layers = (topology.get("model_config") or topology)["config"]["layers"]
names = [l["config"]["name"] for l in layers]
n, (h, w, c) = info["n"], info["cutShape"]
x = torch.from_numpy(np.fromfile(d + "/cuts.f16", dtype="<f2").astype(np.float32).reshape(n, h, w, c)).permute(0, 3, 1, 2)
act = {"linear": lambda t: t, "relu": F.relu, "relu6": lambda t: torch.clamp(t, 0, 6)}
used = set()
def weight(name):
    used.add(name)
    return top[name]
for layer in layers[names.index(info["cut"]) + 1 :]:
    kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
    if kind in ("Conv2D", "DepthwiseConv2D"):
        depthwise = kind == "DepthwiseConv2D"
        k = weight(name + ("/depthwise_kernel" if depthwise else "/kernel")).permute(2, 3, 0, 1) if depthwise else weight(name + "/kernel").permute(3, 2, 0, 1)
        b = weight(name + "/bias") if cfg.get("use_bias") else None
        assert tuple(cfg["strides"]) == (1, 1)
        x = act[cfg["activation"]](F.conv2d(x, k, b, padding=cfg["padding"], groups=x.shape[1] if depthwise else 1))
    elif kind in ("AveragePooling2D", "GlobalAveragePooling2D"):
        x = x.mean(dim=(2, 3))
        break
    else:
        raise SystemExit("layer kind not handled here: " + kind)

def skip_head(v):
    return F.linear(v, head["fc_0.weight"], head["fc_0.bias"]) * torch.sigmoid(head["gates_0"]) + v

frozen = torch.from_numpy(np.fromfile(d + "/frozen.f32", dtype="<f4").reshape(n, -1))
print(json.dumps({
    "how": how,
    "unused": sorted(set(top) - used),
    "tuned": skip_head(x).reshape(-1).tolist(),
    "frozenHead": skip_head(frozen).reshape(-1).tolist(),
}))
`;

/** Every record of one store of the studio's database (ArrayBuffers), by key, read in the page. */
async function storedRows(page: Page, store: string): Promise<Record<string, ArrayBuffer>> {
  const rows = await page.evaluate(
    (name) =>
      new Promise<[string, number[]][]>((resolve, reject) => {
        const open = indexedDB.open('similarity-studio');
        open.onsuccess = () => {
          const db = open.result;
          const s = db.transaction(name, 'readonly').objectStore(name);
          const keys = s.getAllKeys();
          const values = s.getAll();
          values.onsuccess = () => {
            resolve((keys.result as string[]).map((k, i) => [k, Array.from(new Uint8Array(values.result[i] as ArrayBuffer))]));
            db.close();
          };
          values.onerror = () => reject(values.error);
        };
        open.onerror = () => reject(open.error);
      }),
    store,
  );
  return Object.fromEntries(rows.map(([k, bytes]) => [k, new Uint8Array(bytes).buffer]));
}

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
