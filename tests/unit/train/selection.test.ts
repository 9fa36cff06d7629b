import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { holdOutClasses, splitClasses } from '../../../src/core/data/classSplit';
import { selectionSets } from '../../../src/core/train/selection';
import { HeadTrainer, resolveTrainingConfig, type ChartedMetrics } from '../../../src/core/train/trainer';
import { noisyClusters } from './noisyClusters';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DIM = 12;
const train = noisyClusters({ classes: 10, perClass: 8, firstLabel: 0, seed: 3, dim: DIM, signal: 3 });
const test = noisyClusters({ classes: 6, perClass: 8, firstLabel: 100, seed: 4, dim: DIM, signal: 3 });
const heldout = resolveTrainingConfig().selection;

describe('held-out model selection', () => {
  it('holds out a seeded fifth of the training classes (at least 2, leaving at least 2 to train)', () => {
    const trainClasses = splitClasses(40, { seed: 42 }).trainClasses;
    const a = holdOutClasses(trainClasses, 0.2, 42);
    expect(a.heldOutClasses).toHaveLength(4);
    expect(a.fitClasses).toHaveLength(16);
    expect([...a.fitClasses, ...a.heldOutClasses].sort((x, y) => x - y)).toEqual(trainClasses);
    expect(holdOutClasses(trainClasses, 0.2, 42)).toEqual(a);
    expect(holdOutClasses(trainClasses, 0.2, 1).heldOutClasses).not.toEqual(a.heldOutClasses);
    expect(holdOutClasses([1, 2, 3, 4, 5], 0.2, 1).heldOutClasses).toHaveLength(2);
    expect(holdOutClasses([1, 2, 3, 4], 0.9, 1).fitClasses).toHaveLength(2);
    expect(() => holdOutClasses([1, 2, 3], 0.2, 1)).toThrow(/at least 4 training classes/);
    expect(() => holdOutClasses([1, 2, 3, 4], 1, 1)).toThrow(/fraction/);
  });

  it('selection sets: held-out rows come from training classes only; the test set is only charted', () => {
    const sets = selectionSets(train, test, DIM, heldout, 42);
    const testLabels = new Set(test.labels);
    expect([...sets.selection.labels].some((l) => testLabels.has(l))).toBe(false);
    expect([...sets.fit.labels].some((l) => testLabels.has(l) || sets.heldOutClasses.includes(l))).toBe(false);
    expect(sets.fit.labels.length + sets.selection.labels.length).toBe(train.labels.length);
    expect(sets.charted).toBe(test);
    const recipe = selectionSets(train, test, DIM, { mode: 'recipe', heldOutFraction: 0.2, metric: 'loss' }, 42);
    expect(recipe).toMatchObject({ fit: train, selection: test, charted: null, heldOutClasses: [] });
  });

  it('the epoch is chosen without the test classes: what the chart returns changes nothing, and it sees only the embedding', async () => {
    const sets = selectionSets(train, test, DIM, heldout, 7);
    const config = { classesPerBatch: 4, imagesPerClass: 4, learningRate: 0.05, maxEpochs: 12, patience: 3, seed: 7 };
    const run = async (chart?: (embed: (x: Float32Array) => Float32Array) => ChartedMetrics) => {
      const trainer = new HeadTrainer({ config, train: sets.fit, validation: sets.selection, dim: DIM, chart });
      const state = await trainer.fitAsync();
      const weights = trainer.head.getWeights();
      trainer.dispose();
      return { state, weights };
    };
    const plain = await run();
    let calls = 0;
    // a chart that reports nonsense, different every epoch: if selection read it, the runs would differ
    const noisy = await run((embed) => {
      calls++;
      const out = embed(test.embeddings);
      expect(out).toHaveLength(test.embeddings.length);
      const v = calls % 2 ? 1 : 0;
      return { rPrecision: v, rPrecisionMacro: v, precisionAt1: v, mapAtR: v };
    });
    expect(calls).toBe(noisy.state.epoch);
    expect(noisy.state.bestEpoch).toBe(plain.state.bestEpoch);
    expect(noisy.state.stopReason).toBe(plain.state.stopReason);
    expect(noisy.state.history.map(({ test: _t, seconds: _s, ...r }) => r)).toEqual(plain.state.history.map(({ seconds: _s, ...r }) => r));
    expect(noisy.state.history.every((r, i) => r.test!.rPrecision === (i % 2 ? 0 : 1))).toBe(true);
    expect(noisy.weights).toEqual(plain.weights);
  });
});
