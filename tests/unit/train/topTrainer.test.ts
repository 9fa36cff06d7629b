import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFolderFiles } from '../../../src/cli/nodeModelSource';
import { buildEncoderTop, type EncoderTop, type TopFormulation } from '../../../src/core/encoder/encoderTop';
import { findModelJson, readModelJson } from '../../../src/core/encoder/filesIOHandler';
import { inferModelCard } from '../../../src/core/encoder/inferModelCard';
import { cutEncoder, loadEncoder, type ImageEncoder } from '../../../src/core/encoder/loadEncoder';
import { seededRandom } from '../../../src/core/random/randomSource';
import { HeadTrainer, type LabelledEmbeddings } from '../../../src/core/train/trainer';
import { sharedPath } from '../../support/shared';

// The small shared MobileNetV1 0.25/128: cut 4x4x128 -> top (two depthwise + pointwise blocks) -> 256
let encoder: ImageEncoder;

async function openEncoder(): Promise<ImageEncoder> {
  const files = await modelFolderFiles(sharedPath('models', 'mobilenet-v1-0.25-128'));
  return loadEncoder(inferModelCard(await readModelJson(findModelJson(files)!)), files);
}

function topOf(e: ImageEncoder, formulation: TopFormulation, blocks = 1): EncoderTop {
  return buildEncoderTop(e.model as tf.LayersModel, {
    cutLayer: e.card.cuts![blocks - 1],
    featureLayer: e.card.featureOutput!,
    pooling: e.card.pooling,
    formulation,
  });
}

/** Cut maps of random pictures with a per-class colour cast: the classes differ, a little. */
function cutMaps(e: ImageEncoder, classes: number, perClass: number, firstLabel: number, seed: number): LabelledEmbeddings {
  const random = seededRandom(seed);
  const { width, height } = e.inputSize;
  const n = classes * perClass;
  const pixels = new Float32Array(n * width * height * 3);
  const labels = new Int32Array(n);
  for (let c = 0; c < classes; c++) {
    const cast = [random.nextFloat(), random.nextFloat(), random.nextFloat()].map((v) => 60 + 140 * v);
    for (let j = 0; j < perClass; j++) {
      const row = c * perClass + j;
      labels[row] = firstLabel + c;
      for (let p = 0; p < width * height; p++) {
        for (let k = 0; k < 3; k++) pixels[(row * width * height + p) * 3 + k] = cast[k] + 50 * (random.nextFloat() - 0.5);
      }
    }
  }
  const flat = tf.tidy(() => cutEncoder(e, e.card.cuts![0]).embedPixels(tf.tensor4d(pixels, [n, height, width, 3])));
  const embeddings = flat.dataSync() as Float32Array;
  flat.dispose();
  return { embeddings, labels };
}

const config = {
  classesPerBatch: 4,
  imagesPerClass: 3,
  learningRate: 3e-3,
  maxEpochs: 4,
  patience: 50,
  seed: 3,
  top: { blocks: 1, learningRate: 1e-3, l2sp: 0.01, clipNorm: 1, spatialDropout: 0.25, flip: true },
};

describe('fine-tuning the top with the head', () => {
  let train: LabelledEmbeddings;
  let validation: LabelledEmbeddings;

  beforeAll(async () => {
    // the cut maps are computed on WASM (fast forward); training runs where each test says
    await tf.setBackend('wasm');
    await tf.ready();
    encoder = await openEncoder();
    train = cutMaps(encoder, 6, 4, 0, 1);
    validation = cutMaps(encoder, 4, 4, 100, 2);
    await tf.setBackend('cpu');
  }, 60_000);
  afterAll(() => encoder.dispose());

  it('trains the shared encoder weights with the head, restores the best epoch, and leaks no tensor over several epochs', async () => {
    const top = topOf(encoder, 'layers');
    const initial = top.trainableVariables.map((v) => v.dataSync().slice());
    const baseline = tf.memory().numTensors;
    const trainer = new HeadTrainer({ config, train, validation, dim: top.featureSize, top });
    const counts: number[] = [];
    const reports = [];
    for (let i = 0; i < 4 && !trainer.isDone; i++) {
      reports.push(await trainer.step());
      counts.push(tf.memory().numTensors);
    }
    // epoch 1 creates Adam's moments and the best-weight copies; after that nothing accumulates
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(reports.every((r) => Number.isFinite(r.trainLoss) && Number.isFinite(r.validationLoss))).toBe(true);
    const state = trainer.getState();
    expect(state.stopReason).toBe('max-epochs');
    const moved = top.trainableVariables.some((v, i) => {
      const now = v.dataSync();
      return now.some((x, j) => Math.abs(x - initial[i][j]) > 1e-6);
    });
    expect(moved).toBe(true);
    // the top's weights are the encoder's: the rebuilt top still equals the encoder from the cut
    const rowSize = top.cutShape.reduce((a, b) => a * b, 1);
    const cut = tf.tensor4d(validation.embeddings.subarray(0, 2 * rowSize), [2, ...top.cutShape]);
    const viaTrainer = trainer.embed(validation.embeddings.subarray(0, 2 * rowSize));
    const viaTop = tf.tidy(() => trainer.head.apply(top.apply(cut), false).dataSync());
    viaTrainer.forEach((v, i) => expect(Math.abs(v - viaTop[i])).toBeLessThan(1e-5));
    const after = await trainer.evaluate();
    expect(after.validationLoss).toBeCloseTo(state.history[state.bestEpoch - 1].validationLoss, 5);
    trainer.dispose();
    cut.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    // put the encoder back for the next test
    top.trainableVariables.forEach((v, i) => v.assign(tf.tensor(initial[i], v.shape)));
  }, 120_000);

  it('draws training rows from their cached views: a view of NaNs makes the loss NaN; views must match the rows', async () => {
    const top = topOf(encoder, 'layers');
    const initial = top.trainableVariables.map((v) => v.dataSync().slice());
    const once = { ...config, maxEpochs: 1 };
    try {
      const without = new HeadTrainer({ config: once, train, validation, dim: top.featureSize, top });
      expect(Number.isFinite((await without.step()).trainLoss)).toBe(true);
      without.dispose();
      const views = [new Float32Array(train.embeddings.length).fill(Number.NaN)];
      const withViews = new HeadTrainer({ config: once, train, validation, dim: top.featureSize, top, trainViews: views });
      const report = await withViews.step();
      withViews.dispose();
      expect(Number.isNaN(report.trainLoss)).toBe(true);
      const short = [train.embeddings.subarray(1)];
      expect(() => new HeadTrainer({ config, train, validation, dim: top.featureSize, top, trainViews: short })).toThrow(/trainViews\[0\] has .* must match the training rows/);
      expect(() => new HeadTrainer({ config: { ...config, top: { ...config.top, blocks: 0 } }, train, validation, dim: top.featureSize, trainViews: views })).toThrow(/for fine-tuning the top/);
    } finally {
      // the top's weights are the encoder's (NaN after the second run): put them back for the next test
      top.trainableVariables.forEach((v, i) => v.assign(tf.tensor(initial[i], v.shape)));
    }
  }, 120_000);

  it('a few steps on WASM (primitive formulation) give the loss of the layers formulation on CPU', async () => {
    const initial = topOf(encoder, 'layers').trainableVariables.map((v) => v.dataSync().slice());
    const run = async (backend: string, formulation: TopFormulation) => {
      await tf.setBackend(backend);
      await tf.ready();
      const top = topOf(encoder, formulation);
      top.trainableVariables.forEach((v, i) => v.assign(tf.tensor(initial[i], v.shape)));
      const trainer = new HeadTrainer({ config: { ...config, maxEpochs: 2 }, train, validation, dim: top.featureSize, top });
      const state = await trainer.fitAsync();
      trainer.dispose();
      return state.history.map((r) => [r.trainLoss, r.validationLoss]).flat();
    };
    // the encoder's variables live on the backend they were made on; tfjs moves them on read
    const cpu = await run('cpu', 'layers');
    const wasm = await run('wasm', 'primitives');
    await tf.setBackend('cpu');
    console.info(`losses cpu/layers ${cpu.map((v) => v.toFixed(5)).join(' ')}; wasm/primitives ${wasm.map((v) => v.toFixed(5)).join(' ')}`);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]), `loss ${i}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(v))));
  }, 120_000);
});
