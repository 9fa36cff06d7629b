import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TRAINING_CONFIG,
  HeadTrainer,
  embedWithHead,
  resolveTrainingConfig,
  validateTrainingConfig,
  type LabelledEmbeddings,
} from '../../../src/core/train/trainer';
import { noisyClusters } from './noisyClusters';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DIM = 16;
const SIGNAL = 3;

const clusters = (classes: number, perClass: number, firstLabel: number, seed: number) =>
  noisyClusters({ classes, perClass, firstLabel, seed, dim: DIM, signal: SIGNAL });

const train = clusters(12, 10, 0, 1);
const validation = clusters(8, 10, 100, 2);
const small = { classesPerBatch: 4, imagesPerClass: 5, learningRate: 0.03, validationQueries: null, seed: 7 };

describe('HeadTrainer', () => {
  it('improves validation R-Precision on unseen classes and restores the best weights on early stopping', async () => {
    const before = tf.memory().numTensors;
    const trainer = new HeadTrainer({ config: { ...small, maxEpochs: 60, patience: 4 }, train, validation, dim: DIM });
    const baseline = await trainer.evaluate();
    const seen: number[] = [];
    const state = await trainer.fitAsync((r) => {
      seen.push(r.epoch);
      expect(Number.isFinite(r.trainLoss) && Number.isFinite(r.validationLoss)).toBe(true);
    });
    expect(seen).toEqual(state.history.map((r) => r.epoch));
    const best = state.history[state.bestEpoch - 1];
    expect(best.isBest).toBe(true);
    expect(best.validationLoss).toBe(Math.min(...state.history.map((r) => r.validationLoss)));
    expect(best.rPrecision).toBeGreaterThan(baseline.rPrecision + 0.1);
    expect(best.validationLoss).toBeLessThan(baseline.validationLoss);
    expect(state.stopReason === 'early-stopping' || state.stopReason === 'max-epochs').toBe(true);
    if (state.stopReason === 'early-stopping') expect(state.epoch - state.bestEpoch).toBe(4);
    // the head now holds the best epoch's weights
    const after = await trainer.evaluate();
    expect(after.validationLoss).toBeCloseTo(best.validationLoss, 6);
    expect(after.rPrecision).toBeCloseTo(best.rPrecision, 6);
    console.info(
      `synthetic: R-Precision ${baseline.rPrecision.toFixed(3)} -> ${best.rPrecision.toFixed(3)}, ` +
        `val loss ${baseline.validationLoss.toFixed(3)} -> ${best.validationLoss.toFixed(3)} ` +
        `(best epoch ${state.bestEpoch} of ${state.epoch}, ${state.stopReason})`,
    );
    await expect(trainer.step()).rejects.toThrow(/already done/);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('early-stops after `patience` epochs without improvement and restores that epoch', async () => {
    const trainer = new HeadTrainer({ config: { ...small, learningRate: 0.3, maxEpochs: 200, patience: 1 }, train, validation, dim: DIM });
    const state = await trainer.fitAsync();
    expect(state.stopReason).toBe('early-stopping');
    expect(state.epoch).toBe(state.bestEpoch + 1);
    expect(state.history.at(-1)!.isBest).toBe(false);
    expect((await trainer.evaluate()).validationLoss).toBeCloseTo(state.bestValidationLoss, 6);
    trainer.dispose();
  });

  it('stops from the callback or stop(), keeping the best weights', async () => {
    const a = new HeadTrainer({ config: { ...small, maxEpochs: 50 }, train, validation, dim: DIM });
    const sa = await a.fitAsync((r) => (r.epoch === 3 ? false : undefined));
    expect(sa.epoch).toBe(3);
    expect(sa.stopReason).toBe('stopped');
    expect((await a.evaluate()).validationLoss).toBeCloseTo(sa.bestValidationLoss, 6);
    a.dispose();

    const b = new HeadTrainer({ config: { ...small, maxEpochs: 50 }, train, validation, dim: DIM });
    const sb = await b.fitAsync(async (r) => {
      if (r.epoch === 2) b.stop();
    });
    expect(sb.epoch).toBe(2);
    expect(sb.stopReason).toBe('stopped');
    expect(b.isDone).toBe(true);
    b.dispose();
  });

  it('is reproducible for a seed', async () => {
    const run = async () => {
      const t = new HeadTrainer({ config: { ...small, maxEpochs: 2 }, train, validation, dim: DIM });
      const s = await t.fitAsync();
      const w = t.head.getWeights();
      t.dispose();
      return { losses: s.history.map((r) => [r.trainLoss, r.validationLoss]), w };
    };
    expect(await run()).toEqual(await run());
  });

  it('stops with a clear error on a non-finite loss, keeping the best weights so far', async () => {
    const trainer = new HeadTrainer({ config: { ...small, maxEpochs: 50 }, train, validation, dim: DIM });
    await trainer.step();
    await trainer.step();
    const best = trainer.getState().bestEpoch;
    const bestLoss = trainer.getState().bestValidationLoss;
    const w = trainer.head.getWeights();
    w['fc_0.bias'].data.fill(NaN);
    trainer.head.setWeights(w);
    const report = await trainer.step();
    expect(report.error).toMatch(/epoch 3: the training loss became NaN .*keeps the weights of epoch \d/);
    const state = trainer.getState();
    expect(state.stopReason).toBe('non-finite-loss');
    expect(state.error).toBe(report.error);
    expect(state.bestEpoch).toBe(best);
    expect(Array.from(trainer.head.getWeights()['fc_0.bias'].data).every(Number.isFinite)).toBe(true);
    expect((await trainer.evaluate()).validationLoss).toBeCloseTo(bestLoss, 6);
    trainer.dispose();
  });

  it('trains nothing with the identity head (the frozen-encoder baseline)', async () => {
    const trainer = new HeadTrainer({ config: { ...small, head: { kind: 'identity' }, maxEpochs: 2 }, train, validation, dim: DIM });
    const s = await trainer.fitAsync();
    expect(s.history[0].validationLoss).toBe(s.history[1].validationLoss);
    trainer.dispose();
  });

  it('rejects unusable data with clear errors', () => {
    const one: LabelledEmbeddings = { embeddings: train.embeddings.slice(0, 10 * DIM), labels: train.labels.slice(0, 10) };
    expect(() => new HeadTrainer({ train: one, validation, dim: DIM })).toThrow(/Training needs at least 2 classes with 2 or more images each, got 1/);
    const empty: LabelledEmbeddings = { embeddings: new Float32Array(0), labels: new Int32Array(0) };
    expect(() => new HeadTrainer({ train, validation: empty, dim: DIM })).toThrow(/No validation classes/);
    expect(() => new HeadTrainer({ train, validation, dim: DIM + 1 })).toThrow(/are not 120 rows of 17/);
    expect(() => new HeadTrainer({ config: { learningRate: 0 }, train, validation, dim: DIM })).toThrow(
      /learningRate must be > 0 and ≤ 1, got 0/,
    );
  });
});

describe('validateTrainingConfig', () => {
  it('accepts the defaults: the recipe, except batch composition and epochs (docs/tuning.md)', () => {
    expect(validateTrainingConfig({})).toEqual([]);
    const c = resolveTrainingConfig();
    expect(c).toEqual(DEFAULT_TRAINING_CONFIG);
    expect(c.head).toEqual({ kind: 'skip-connection', dropout: 0.1, gateInit: -4 });
    expect(c.loss).toEqual({ mining: 'hard', margin: 0.5, distance: 'cosine', soft: false });
    expect(c.learningRate).toBe(3e-3);
    expect([c.classesPerBatch, c.imagesPerClass, c.maxEpochs, c.patience]).toEqual([16, 8, 200, 20]);
  });

  it('names the valid range of every bad value', () => {
    const errors = validateTrainingConfig({
      learningRate: 0,
      classesPerBatch: 1,
      imagesPerClass: 2.5,
      maxEpochs: 0,
      patience: -1,
      seed: -3,
      validationQueries: 0,
      head: { kind: 'wide' as never, dropout: 1 },
      loss: { mining: 'easy' as never, margin: -0.1, distance: 'manhattan' as never, soft: true },
    });
    expect(errors).toEqual([
      "head.kind must be one of 'skip-connection', 'identity', got 'wide'",
      'head.dropout must be ≥ 0 and < 1, got 1',
      "loss.mining must be one of 'hard', 'all', 'semi_hard', got 'easy'",
      'loss.margin must be ≥ 0 and ≤ 10, got -0.1',
      "loss.distance must be one of 'cosine', 'euclidean', got 'manhattan'",
      "loss.soft applies to mining 'hard' only, got mining 'easy'",
      'learningRate must be > 0 and ≤ 1, got 0',
      'classesPerBatch must be an integer ≥ 2 and ≤ 4096, got 1',
      'imagesPerClass must be an integer ≥ 2 and ≤ 4096, got 2.5',
      'maxEpochs must be an integer ≥ 1 and ≤ 100000, got 0',
      'patience must be an integer ≥ 1 and ≤ 100000, got -1',
      'seed must be an integer ≥ 0 and ≤ 4294967295, got -3',
      'validationQueries must be an integer ≥ 1 and ≤ 2147483647, got 0',
    ]);
    expect(validateTrainingConfig({ classesPerBatch: 128, imagesPerClass: 128 })).toEqual([
      'classesPerBatch × imagesPerClass must be ≤ 8192, got 128 × 128 = 16384',
    ]);
    expect(validateTrainingConfig({ learningRate: NaN })).toEqual(['learningRate must be > 0 and ≤ 1, got NaN']);
  });
});

describe('embedWithHead', () => {
  it('equals one big apply, computed in chunks, without leaks', async () => {
    const trainer = new HeadTrainer({ config: { ...small, maxEpochs: 1 }, train, validation, dim: DIM });
    await trainer.step();
    const before = tf.memory().numTensors;
    const chunked = embedWithHead(trainer.head, validation.embeddings, DIM, 7);
    expect(tf.memory().numTensors).toBe(before);
    const x = tf.tensor2d(validation.embeddings, [validation.labels.length, DIM]);
    const whole = trainer.head.apply(x, false);
    const expected = whole.dataSync();
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - chunked[i]));
    expect(worst).toBeLessThan(1e-5);
    tf.dispose([x, whole]);
    trainer.dispose();
  });
});
