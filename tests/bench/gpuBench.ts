/**
 * Real-GPU benchmark, JSON out: Chromium started with what a Linux machine with an NVIDIA GPU
 * needs for a hardware WebGPU adapter (Vulkan), refusing clearly when only a software adapter
 * (SwiftShader) is there. Measures, each on WebGPU and on WASM for the ratio:
 *
 * - embedding images/s per batch size (the bare encoder worker: decoded images, inference only),
 *   MobileNetV2 1.0/224 from ../shared/models served in place of its URL;
 * - head training seconds per epoch (the studio's HeadTrainer, 1,280-d, P16 x K8) on synthetic
 *   clusters of the 40-class set's size.
 *
 *   npm run bench:gpu -- [--images 256] [--batches 1,8,32,64] [--epochs 3] [--out bench-gpu.json]
 *   CHROMIUM_PATH=/path/to/chromium npm run bench:gpu   # another Chromium build
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { sharedPath } from '../support/shared';
import { bareEncoderRun } from './bareEncoder';
import { GPU_FLAGS, probeAdapter, refusalOf } from './gpuAdapter';
import { CHROMIUM, assertChromium, serveModelAt, startStudio } from '../e2e/support/studio';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const imageCount = Number(arg('images', '256'));
const batchSizes = arg('batches', '1,8,32,64').split(',').map(Number);
const epochs = Number(arg('epochs', '3'));
const out = arg('out', 'bench-gpu.json');
const MODEL_URL = 'https://models.studio.test/mobilenet-v2-1.0-224/model.json';

function embedRate(page: Page, folder: string, batchSize: number, backend: 'webgpu' | 'wasm') {
  return bareEncoderRun(page, folder, { modelUrl: MODEL_URL, batchSize, backend });
}

async function trainRate(page: Page, backend: 'webgpu' | 'wasm') {
  return page.evaluate(
    async ({ backend, epochs }) => {
      // (no named local functions in here: tsx's __name helper does not exist in the page)
      const backendsUrl = '/src/workers/backends.ts';
      const trainerUrl = '/src/core/train/trainer.ts';
      const backends = await import(/* @vite-ignore */ backendsUrl);
      if (!(await backends.activateBackend(backend))) throw new Error(`${backend} did not start`);
      const { HeadTrainer } = await import(/* @vite-ignore */ trainerUrl);
      const dim = 1280;
      const make = (classes: number, perClass: number, first: number, seed: number) => {
        let s = seed;
        const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
        const embeddings = new Float32Array(classes * perClass * dim);
        const labels = new Int32Array(classes * perClass);
        for (let c = 0; c < classes; c++) {
          const centre = Float32Array.from({ length: dim }, rnd);
          for (let j = 0; j < perClass; j++) {
            labels[c * perClass + j] = first + c;
            for (let d = 0; d < dim; d++) embeddings[(c * perClass + j) * dim + d] = centre[d] + 2 * rnd();
          }
        }
        return { embeddings, labels };
      };
      const trainer = new HeadTrainer({
        config: { maxEpochs: epochs + 1, patience: epochs + 1, validationQueries: 1 },
        train: make(20, 40, 0, 1),
        validation: make(20, 40, 20, 2),
        dim,
      });
      const seconds: number[] = [];
      for (let e = 0; e <= epochs; e++) {
        const r = await trainer.step();
        if (e > 0) seconds.push(r.seconds);
      }
      trainer.dispose();
      seconds.sort((a, b) => a - b);
      return { backend, secondsPerEpoch: seconds[Math.floor(seconds.length / 2)], stepsPerEpoch: trainer.stepsPerEpoch };
    },
    { backend, epochs },
  );
}

async function main(): Promise<void> {
  assertChromium();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'studio-gpu-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: GPU_FLAGS });
  let server: Awaited<ReturnType<typeof startStudio>> | null = null;
  let code = 0;
  try {
    // refused before the studio's server starts: a software adapter costs a second, not a build
    const adapter = await probeAdapter(context);
    const refusal = refusalOf(adapter);
    if (refusal) {
      console.log(JSON.stringify(refusal, null, 2));
      code = 2;
      return;
    }
    server = await startStudio();
    const page = context.pages()[0] ?? (await context.newPage());
    await serveModelAt(context, MODEL_URL, 'mobilenet-v2-1.0-224');
    await page.goto(server.url);
    // the first images of the 40-class set, in a folder of their own
    const source = sharedPath('data', 'stanford-cars-40', 'cars_train');
    const folder = mkdtempSync(path.join(os.tmpdir(), 'gpu-images-'));
    const { linkSync } = await import('node:fs');
    for (const f of readdirSync(source).filter((n) => n.endsWith('.jpg')).sort().slice(0, imageCount)) linkSync(path.join(source, f), path.join(folder, f));
    const embedding = [];
    for (const batchSize of batchSizes) {
      const gpu = await embedRate(page, folder, batchSize, 'webgpu');
      const wasm = await embedRate(page, folder, batchSize, 'wasm');
      embedding.push({ batchSize, webgpuImagesPerSecond: gpu.imagesPerSecond, wasmImagesPerSecond: wasm.imagesPerSecond, ratioToWasm: gpu.imagesPerSecond / wasm.imagesPerSecond });
    }
    rmSync(folder, { recursive: true, force: true });
    const gpuTrain = await trainRate(page, 'webgpu');
    const wasmTrain = await trainRate(page, 'wasm');
    const result = {
      benchmark: 'real-GPU WebGPU',
      adapter,
      model: 'mobilenet-v2-1.0-224',
      images: imageCount,
      embedding,
      training: {
        headOnly: { webgpuSecondsPerEpoch: gpuTrain.secondsPerEpoch, wasmSecondsPerEpoch: wasmTrain.secondsPerEpoch, ratioToWasm: gpuTrain.secondsPerEpoch / wasmTrain.secondsPerEpoch, stepsPerEpoch: gpuTrain.stepsPerEpoch },
      },
    };
    const text = JSON.stringify(result, null, 2);
    console.log(text);
    writeFileSync(out, text + '\n');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await server?.close();
    process.exitCode = code;
  }
}

await main();
