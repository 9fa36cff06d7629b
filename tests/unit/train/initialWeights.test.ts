import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NamedWeights } from '../../../src/core/train/heads';
import { HeadTrainer, initialWeightsProblem } from '../../../src/core/train/trainer';
import { noisyClusters } from './noisyClusters';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DIM = 8;

/** As trainer.test.ts, smaller: classes apart in the first 2 dimensions, noise in the rest. */
const clusters = (classes: number, perClass: number, firstLabel: number, seed: number) =>
  noisyClusters({ classes, perClass, firstLabel, seed, dim: DIM, signal: 2 });

const train = clusters(8, 8, 0, 1);
const validation = clusters(6, 8, 100, 2);
const config = { classesPerBatch: 4, imagesPerClass: 4, learningRate: 0.03, validationQueries: null, seed: 7, maxEpochs: 50, patience: 50 };

function copy(w: NamedWeights): NamedWeights {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, { shape: [...v.shape], data: Float32Array.from(v.data) }]));
}

describe('HeadTrainer initialWeights (continue training a loaded head)', () => {
  it('starts from the given weights, and best-weights tracking starts from them too', async () => {
    const before = tf.memory().numTensors;
    // a head trained for 8 epochs: the "loaded" one
    const first = new HeadTrainer({ config: { ...config, maxEpochs: 8 }, train, validation, dim: DIM });
    const firstState = await first.fitAsync();
    const loaded = first.head.getWeights();
    const loadedLoss = (await first.evaluate()).validationLoss;
    first.dispose();

    // a fresh head's first epoch, for comparison
    const fresh = new HeadTrainer({ config, train, validation, dim: DIM });
    const freshStart = (await fresh.evaluate()).validationLoss;
    const freshEpoch1 = (await fresh.step()).validationLoss;
    fresh.dispose();

    const cont = new HeadTrainer({ config, train, validation, dim: DIM, initialWeights: copy(loaded) });
    expect(cont.head.getWeights()).toEqual(loaded);
    expect((await cont.evaluate()).validationLoss).toBeCloseTo(loadedLoss, 6);
    const epoch1 = (await cont.step()).validationLoss;
    // continuing lands near the loaded head, not where a fresh head's first epoch does
    expect(Math.abs(epoch1 - loadedLoss)).toBeLessThan(Math.abs(epoch1 - freshEpoch1));
    expect(loadedLoss).toBeLessThan(freshStart);
    cont.dispose();
    console.info(
      `continue: loaded head val loss ${loadedLoss.toFixed(4)} (best epoch ${firstState.bestEpoch}), ` +
        `its epoch 1 ${epoch1.toFixed(4)}; fresh: ${freshStart.toFixed(4)} -> epoch 1 ${freshEpoch1.toFixed(4)}`,
    );

    // stopped before any epoch: the head keeps the initial weights (a fresh head would keep its random init)
    const stopped = new HeadTrainer({ config, train, validation, dim: DIM, initialWeights: copy(loaded) });
    stopped.stop();
    expect(stopped.getState().stopReason).toBe('stopped');
    expect(stopped.head.getWeights()).toEqual(loaded);
    stopped.dispose();

    // a first epoch that ends non-finite restores the initial weights, and says so
    const broken = new HeadTrainer({ config, train, validation, dim: DIM, initialWeights: copy(loaded) });
    const nan = broken.head.getWeights();
    nan['fc_0.bias'].data.fill(NaN);
    broken.head.setWeights(nan);
    const report = await broken.step();
    expect(report.error).toMatch(/keeps its initial weights/);
    expect(broken.head.getWeights()).toEqual(loaded);
    broken.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses weights that do not fit the head, naming what is wrong', () => {
    const make = (initialWeights: unknown, extra: object = {}) => () =>
      new HeadTrainer({ config: { ...config, ...extra }, train, validation, dim: DIM, initialWeights: initialWeights as NamedWeights });
    const good = (): NamedWeights => ({
      gates_0: { shape: [DIM], data: new Float32Array(DIM) },
      'fc_0.weight': { shape: [DIM, DIM], data: new Float32Array(DIM * DIM) },
      'fc_0.bias': { shape: [DIM], data: new Float32Array(DIM) },
    });
    const before = tf.memory().numTensors;
    expect(initialWeightsProblem(good(), 'skip-connection', DIM)).toBeNull();
    const { gates_0: _g, ...noGates } = good();
    expect(make(noGates)).toThrow(/initialWeights must be exactly gates_0, fc_0\.weight, fc_0\.bias; missing gates_0/);
    expect(make({ ...good(), 'fc_1.bias': good()['fc_0.bias'] })).toThrow(/unexpected fc_1\.bias/);
    const wrongDim = good();
    wrongDim['fc_0.weight'] = { shape: [DIM + 1, DIM + 1], data: new Float32Array((DIM + 1) ** 2) };
    expect(make(wrongDim)).toThrow(/initialWeights\['fc_0\.weight'\] must have shape \[8, 8\] \(this head's\), got \[9, 9\]/);
    const short = good();
    short.gates_0 = { shape: [DIM], data: new Float32Array(3) };
    expect(make(short)).toThrow(/initialWeights\['gates_0'\] must hold 8 float32 values, got 3/);
    const notFloat = good();
    (notFloat.gates_0 as unknown as { data: number[] }).data = Array(DIM).fill(0);
    expect(make(notFloat)).toThrow(/gates_0'\] must hold 8 float32 values/);
    const nan = good();
    nan['fc_0.bias'].data[2] = NaN;
    expect(make(nan)).toThrow(/initialWeights\['fc_0\.bias'\] holds a non-finite value \(NaN at 2\)/);
    expect(make(good(), { head: { kind: 'identity' } })).toThrow(/the identity head has no weights to start from/);
    expect(make(null)).toThrow(/initialWeights must be an object/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
