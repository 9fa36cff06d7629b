import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readdirSync } from 'node:fs';
import { NodeImageDecoder } from '../../../src/cli/nodeImageDecoder';
import { diskDatasetFile } from '../../../src/cli/nodeFiles';
import { openEncoder } from '../../../src/cli/nodeModelSource';
import { selectBackend } from '../../../src/cli/tfBackend';
import { importHead } from '../../../src/core/export/headExport';
import { decodeSafetensors } from '../../../src/core/export/safetensors';
import { createSkipConnectionHead } from '../../../src/core/train/heads';
import { embedWithHead } from '../../../src/core/train/trainer';
import { loadLayersModelFile } from '../../support/fileModel';
import { projectRoot, sharedPath } from '../../support/shared';

const run = promisify(execFile);
const TSX = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
const STUDIO = path.join(projectRoot, 'src', 'cli', 'studio.ts');

async function studio(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [STUDIO, ...args], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The first real images of the set, decoded as the runner decodes them, and their pixels as one array. */
async function carImages(count: number) {
  const dir = sharedPath('data', 'stanford-cars-40', 'cars_train');
  const jpgs = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, count);
  const decoder = new NodeImageDecoder();
  const decoded = await Promise.all(jpgs.map(async (f) => decoder.decode(await diskDatasetFile(path.join(dir, f)), { width: 128, height: 128, resize: 'squash' })));
  const pixels = new Float32Array(count * 128 * 128 * 3);
  decoded.forEach((d, i) => pixels.set(d.data, i * 128 * 128 * 3));
  return { decoded, pixels };
}

/** The engine's head, from the runner's model.safetensors. */
async function engineHeadOf(headFolder: string) {
  const imported = importHead({ 'model.safetensors': new Uint8Array(await readFile(path.join(headFolder, 'model.safetensors'))) });
  const head = createSkipConnectionHead(256, { dropout: 0 });
  head.setWeights(imported.weights);
  return head;
}

/** A whole similarity model's output for MobileNet-range pixels. */
function wholeOutput(model: tf.LayersModel, pixels: Float32Array, n: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor4d(pixels, [n, 128, 128, 3]).div(127.5).sub(1)) as tf.Tensor).dataSync() as Float32Array);
}

describe('the command-line runner, end to end', () => {
  let work: string;
  // Short but real training: enough epochs for the head to beat the frozen encoder.
  const training = ['--epochs', '25', '--patience', '25'];

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'studio-runner-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('trains on stanford-cars-40 with MobileNetV1 0.25, beats the baseline on never-seen classes, and re-runs from the cache', { timeout: 900_000 }, async () => {
    const args = [
      'run',
      '--data', sharedPath('data', 'stanford-cars-40'),
      '--encoder', sharedPath('models', 'mobilenet-v1-0.25-128'),
      '--cache', path.join(work, 'cache'),
      ...training,
    ];
    const first = await studio([...args, '--out', path.join(work, 'first')]);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(work, 'first', 'report.json'), 'utf8'));
    expect(report.dataset).toMatchObject({ layout: 'devkit', images: 1619, classes: 40 });
    expect(report.split.trainClassNames).toHaveLength(20);
    expect(report.split.validationClassNames).toHaveLength(20);
    expect(report.split.trainClassNames.some((n: string) => report.split.validationClassNames.includes(n))).toBe(false);
    expect(report.embedding.embeddedNow).toBe(1619);
    expect(report.embedding.imagesPerSecond).toBeGreaterThan(0);
    expect(report.training.epochs).toBeGreaterThan(0);
    expect(report.training.secondsPerEpoch).toBeGreaterThan(0);
    expect(report.training.history).toHaveLength(report.training.epochs);
    for (const key of ['rPrecision', 'rPrecisionMacro', 'precisionAt1', 'mapAtR']) {
      expect(report.tuned[key]).toBeGreaterThan(0);
    }
    expect(report.tuned.rPrecision).toBeGreaterThan(report.baseline.rPrecision);
    expect(report.config.training.loss.mining).toBeDefined();

    const head = path.join(work, 'first', 'head');
    for (const file of ['model.safetensors', 'config.json', 'studio.json', 'tfjs/model.json', 'tfjs/weights.bin']) {
      expect(existsSync(path.join(head, file)), file).toBe(true);
    }
    const { tensors } = decodeSafetensors(new Uint8Array(await readFile(path.join(head, 'model.safetensors'))));
    expect(tensors['fc_0.weight'].shape).toEqual([256, 256]);
    expect(tensors['gates_0'].shape).toEqual([256]);
    for (const file of ['model.json', 'weights.bin', 'README.md']) {
      expect(existsSync(path.join(work, 'first', 'model', file)), `model/${file}`).toBe(true);
    }
    expect(report.outputs.model).toBe(path.join(work, 'first', 'model'));

    const second = await studio([...args, '--out', path.join(work, 'second')]);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(await readFile(path.join(work, 'second', 'report.json'), 'utf8'));
    expect(again.embedding.embeddedNow).toBe(0);
    expect(again.embedding.fromCache).toBe(1619);
    expect(again.baseline.rPrecision).toBeCloseTo(report.baseline.rPrecision, 6);
  });

  it('writes head/tfjs and model/ that plain tf.loadLayersModel reads, giving the engine\'s head and embedding outputs on real images', { timeout: 300_000 }, async () => {
    await selectBackend('wasm');
    const out = path.join(work, 'first');
    const encoder = await openEncoder(sharedPath('models', 'mobilenet-v1-0.25-128'));
    const engineHead = await engineHeadOf(path.join(out, 'head'));
    const n = 4;
    const { decoded, pixels } = await carImages(n);
    const base = await encoder.embed(decoded);
    const tuned = embedWithHead(engineHead, base, 256);

    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
      return m;
    };
    const headModel = await loadLayersModelFile(path.join(out, 'head', 'tfjs', 'model.json'));
    const fromHead = tf.tidy(() => (headModel.predict(tf.tensor2d(base, [n, 256])) as tf.Tensor).dataSync());
    expect(maxDiff(fromHead, tuned)).toBeLessThan(1e-5);
    const whole = await loadLayersModelFile(path.join(out, 'model', 'model.json'));
    expect(maxDiff(wholeOutput(whole, pixels, n), tuned)).toBeLessThan(1e-4);

    const readme = await readFile(path.join(out, 'model', 'README.md'), 'utf8');
    expect(readme).toContain("tf.loadLayersModel('model.json')");
    expect(readme).toMatch(/R-Precision/);
    const headReadme = await readFile(path.join(out, 'head', 'README.md'), 'utf8');
    expect(headReadme).toContain('SkipConnectionHead(**json.load(open("config.json")))');
    headModel.dispose();
    whole.dispose();
    engineHead.dispose();
    encoder.dispose();
  });

  it('with --train-top-blocks 1 (and flipped and random views), writes the fine-tuned top (top.safetensors, by layer name) and builds it into model/', { timeout: 600_000 }, async () => {
    const out = path.join(work, 'top');
    const result = await studio([
      'run', '--data', sharedPath('data', 'stanford-cars-40'), '--encoder', sharedPath('models', 'mobilenet-v1-0.25-128'),
      '--cache', path.join(work, 'cache'), '--epochs', '2', '--patience', '2', '--train-top-blocks', '1',
      '--top-warm-start', 'off', '--top-epochs', '2', '--top-patience', '2', '--out', out,
      '--top-flipped-views', 'on', '--top-augmented-views', '1',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect(report.fineTuning.cut).toBeTruthy();
    // every training image's flipped view and random view cached; the fit classes' flipped views join the rows
    expect(report.fineTuning.flippedViews).toBeGreaterThan(0);
    expect(report.fineTuning.augmentedViews).toBe(1);
    expect(report.fineTuning.augmentedCaches[0].embeddedNow).toBe(report.fineTuning.flippedCache.embeddedNow);
    expect(result.stderr + result.stdout).toMatch(/Random views: each of the \d+ training rows is drawn as itself or one of its 1 cached views/);
    const top = decodeSafetensors(new Uint8Array(await readFile(path.join(out, 'head', 'top.safetensors'))));
    expect(top.metadata.cut).toBe(report.fineTuning.cut);
    expect(Object.keys(top.tensors).length).toBeGreaterThan(0);
    expect(await readFile(path.join(out, 'model', 'README.md'), 'utf8')).toContain(`after \`${report.fineTuning.cut}\` were trained with the head`);

    // the engine: the pretrained encoder with the exported top weights written into its layers, then the head
    await selectBackend('wasm');
    const encoder = await openEncoder(sharedPath('models', 'mobilenet-v1-0.25-128'));
    let moved = 0;
    let written = 0;
    for (const w of (encoder.model as tf.LayersModel).weights) {
      const t = top.tensors[w.originalName];
      if (!t) continue;
      const before = w.read().dataSync();
      moved = Math.max(moved, ...Array.from(t.data, (v, i) => Math.abs(v - before[i])));
      w.write(tf.tensor(t.data, t.shape));
      written++;
    }
    expect(written).toBe(Object.keys(top.tensors).length);
    expect(moved).toBeGreaterThan(0); // the top was trained: its weights are not the pretrained ones
    const engineHead = await engineHeadOf(path.join(out, 'head'));
    const { decoded, pixels } = await carImages(4);
    const tuned = embedWithHead(engineHead, await encoder.embed(decoded), 256);
    const whole = await loadLayersModelFile(path.join(out, 'model', 'model.json'));
    const fromWhole = wholeOutput(whole, pixels, 4);
    let maxDiff = 0;
    for (let i = 0; i < tuned.length; i++) maxDiff = Math.max(maxDiff, Math.abs(tuned[i] - fromWhole[i]));
    console.log(`[runner] fine-tuned top: ${written} weights moved by up to ${moved.toExponential(2)}; whole model vs engine ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(1e-4);
    whole.dispose();
    engineHead.dispose();
    encoder.dispose();
  });

  it('refuses a folder with no recognised layout, naming the layouts it looked for', async () => {
    const folder = path.join(work, 'not-a-dataset');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'notes.txt'), 'hello');
    const result = await studio(['run', '--data', folder, '--encoder', sharedPath('models', 'mobilenet-v1-0.25-128'), '--out', path.join(work, 'x')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/devkit/i);
    expect(result.stderr).toMatch(/class folders|class-folders/i);
    expect(result.stderr).toMatch(/csv/i);
  });

  it('refuses invalid training settings with the valid range', async () => {
    const result = await studio([
      'run', '--data', sharedPath('data', 'stanford-cars-40'), '--encoder', sharedPath('models', 'mobilenet-v1-0.25-128'),
      '--lr', '0', '--out', path.join(work, 'y'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/learningRate must be > 0/);
  });
});
