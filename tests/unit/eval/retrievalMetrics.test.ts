import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { retrievalMetrics } from '../../../src/core/eval/retrievalMetrics';
import { sampleIndices } from '../../../src/core/random/randomSource';
import { sharedPath } from '../../support/shared';
import { clustered, naiveMetrics } from './naive';

interface OracleRP {
  embeddings: number[][];
  groups: number[];
  micro_cosine: number;
  micro_euclidean: number;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function close(a: Awaited<ReturnType<typeof retrievalMetrics>>, b: ReturnType<typeof naiveMetrics>) {
  expect(a.queryCount).toBe(b.queryCount);
  expect(a.skippedQueries).toBe(b.skippedQueries);
  expect(a.rPrecision).toBeCloseTo(b.rPrecision, 10);
  expect(a.rPrecisionMacro).toBeCloseTo(b.rPrecisionMacro, 10);
  expect(a.precisionAt1).toBeCloseTo(b.precisionAt1, 10);
  expect(a.mapAtR).toBeCloseTo(b.mapAtR, 10);
}

describe('retrievalMetrics', () => {
  it('matches the reference R-Precision (oracle, micro, cosine and euclidean)', async () => {
    const oracle = JSON.parse(readFileSync(sharedPath('fixtures', 'quaterion-oracle.json'), 'utf8'));
    const sets = oracle.r_precision as OracleRP[];
    expect(sets.length).toBeGreaterThan(0);
    for (const set of sets) {
      const dim = set.embeddings[0].length;
      const emb = Float32Array.from(set.embeddings.flat());
      const labels = Int32Array.from(set.groups);
      const cos = await retrievalMetrics(emb, dim, labels, { distance: 'cosine' });
      const euc = await retrievalMetrics(emb, dim, labels, { distance: 'euclidean' });
      expect(Math.abs(cos.rPrecision - set.micro_cosine)).toBeLessThan(1e-4);
      expect(Math.abs(euc.rPrecision - set.micro_euclidean)).toBeLessThan(1e-4);
    }
  });

  it('hand-computed case: micro/macro R-Precision, P@1, MAP@R, singleton skipped, self excluded', async () => {
    // 1-d points, euclidean. Point 5 is the only one of class 2: skipped as a query,
    // still a distractor in the gallery.
    const emb = Float32Array.from([0, 1, 2, 10, 11, 30, 1.6]);
    const labels = Int32Array.from([0, 0, 1, 1, 1, 2, 1]);
    const m = await retrievalMetrics(emb, 1, labels, { distance: 'euclidean' });
    expect(m.queryCount).toBe(6);
    expect(m.skippedQueries).toBe(1);
    expect(m.rPrecision).toBeCloseTo(9 / 14, 12);
    expect(m.rPrecisionMacro).toBeCloseTo(11 / 18, 12);
    expect(m.precisionAt1).toBeCloseTo(5 / 6, 12);
    expect(m.mapAtR).toBeCloseTo(11 / 18, 12);
  });

  it('MAP@R rewards rank: hit at rank 2 of R=2 gives AP 1/4', async () => {
    const emb = Float32Array.from([0, 1, 2, 3.5]);
    const labels = Int32Array.from([0, 1, 0, 0]);
    // q0: R=2, order 1(miss),2(hit) -> r=1, AP=(1/2)/2=1/4, P@1=0
    // q2: R=2, order 1(d1, miss),3(d1.5, hit) -> r=1, AP=1/4, P@1=0
    // q3: R=2, order 2(hit),1(miss) -> r=1, AP=1/2, P@1=1 ; q1 skipped
    const m = await retrievalMetrics(emb, 1, labels, { distance: 'euclidean' });
    expect(m.skippedQueries).toBe(1);
    expect(m.rPrecision).toBeCloseTo(3 / 6, 12);
    expect(m.rPrecisionMacro).toBeCloseTo(0.5, 12);
    expect(m.precisionAt1).toBeCloseTo(1 / 3, 12);
    expect(m.mapAtR).toBeCloseTo((0.25 + 0.25 + 0.5) / 3, 12);
  });

  it('breaks distance ties by the lower index, deterministically', async () => {
    // q0 at 1: idx1 (class 0) and idx2 (class 1) both at distance 1 -> idx1 wins -> miss.
    const emb = Float32Array.from([1, 0, 2]);
    const labels = Int32Array.from([1, 0, 1]);
    const m = await retrievalMetrics(emb, 1, labels, { distance: 'euclidean' });
    expect(m.queryCount).toBe(2);
    expect(m.rPrecision).toBe(0.5);
    // identical vectors under cosine: all similarities tie
    const same = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1]);
    const r = await retrievalMetrics(same, 2, Int32Array.from([0, 1, 0, 1]), { distance: 'cosine' });
    // q0 -> R=1, nearest by index: 1 (miss); q1 -> 0 (miss); q2 -> 0 (hit); q3 -> 0 (miss)
    expect(r.rPrecision).toBe(0.25);
  });

  it('returns NaN metrics and counts when every class is a singleton', async () => {
    const m = await retrievalMetrics(Float32Array.from([1, 2, 3]), 1, Int32Array.from([0, 1, 2]));
    expect(m.queryCount).toBe(0);
    expect(m.skippedQueries).toBe(3);
    expect(m.rPrecision).toBeNaN();
  });

  it('equals a brute-force reference, blocked or not, both distances', async () => {
    const { emb, labels } = clustered(150, 12, 9, 7, 2.5);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const ref = naiveMetrics(emb, 12, labels, distance);
      const full = await retrievalMetrics(emb, 12, labels, { distance });
      close(full, ref);
      for (const blockSize of [1, 7, 1000]) {
        expect(await retrievalMetrics(emb, 12, labels, { distance, blockSize })).toEqual(full);
      }
    }
  });

  it('sampled mode is seeded, without replacement, self excluded', async () => {
    const { emb, labels } = clustered(120, 8, 6, 3, 2.5);
    const a = await retrievalMetrics(emb, 8, labels, { queryCount: 40, seed: 5 });
    const b = await retrievalMetrics(emb, 8, labels, { queryCount: 40, seed: 5, blockSize: 3 });
    expect(b).toEqual(a);
    expect(a.queryCount + a.skippedQueries).toBe(40);
    const picked = sampleIndices(120, 40, 5);
    expect(new Set(picked).size).toBe(40);
    close(a, naiveMetrics(emb, 8, labels, 'cosine', picked));
    const c = await retrievalMetrics(emb, 8, labels, { queryCount: 40, seed: 6 });
    expect(Array.from(sampleIndices(120, 40, 6))).not.toEqual(Array.from(picked));
    expect(c.queryCount + c.skippedQueries).toBe(40);
    // asking for at least N queries is the exact metric
    expect(await retrievalMetrics(emb, 8, labels, { queryCount: 500 })).toEqual(
      await retrievalMetrics(emb, 8, labels),
    );
  });

  it('takes the embeddings as a tensor on the backend: the same numbers, and leaves no tensor behind', async () => {
    const { emb, labels } = clustered(150, 12, 9, 7, 2.5);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const before = tf.memory().numTensors;
      const fromValues = await retrievalMetrics(emb, 12, labels, { distance, blockSize: 7 });
      expect(tf.memory().numTensors).toBe(before);
      const x = tf.tensor2d(emb, [150, 12]);
      close(await retrievalMetrics(x, 12, labels, { distance, blockSize: 7 }), naiveMetrics(emb, 12, labels, distance));
      expect(await retrievalMetrics(x, 12, labels, { distance, blockSize: 7 })).toEqual(fromValues);
      expect(tf.memory().numTensors).toBe(before + 1); // only the caller's tensor
      await expect(retrievalMetrics(x, 11, labels)).rejects.toThrow(/shape \[150, 12\] is not 150 rows of 11/);
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('gives identical numbers on the WASM backend, ties included (duplicated vectors of other classes)', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const { emb: base, labels: baseLabels } = clustered(120, 6, 8, 3, 2.5);
    // every 5th row repeated under the next class: exact similarity ties across labels
    const extra = Array.from({ length: 24 }, (_, i) => i * 5);
    const emb = new Float32Array((120 + extra.length) * 6);
    emb.set(base);
    const labels = new Int32Array(120 + extra.length);
    labels.set(baseLabels);
    extra.forEach((row, i) => {
      emb.set(base.subarray(row * 6, row * 6 + 6), (120 + i) * 6);
      labels[120 + i] = (baseLabels[row] + 1) % 8;
    });
    const onCpu = await Promise.all([
      retrievalMetrics(emb, 6, labels, { distance: 'cosine' }),
      retrievalMetrics(emb, 6, labels, { distance: 'euclidean', queryCount: 60, seed: 2 }),
    ]);
    close(onCpu[0], naiveMetrics(emb, 6, labels, 'cosine'));
    try {
      expect(await tf.setBackend('wasm')).toBe(true);
      await tf.ready();
      const before = tf.memory().numTensors;
      const onWasm = [
        await retrievalMetrics(emb, 6, labels, { distance: 'cosine' }),
        await retrievalMetrics(emb, 6, labels, { distance: 'euclidean', queryCount: 60, seed: 2 }),
      ];
      expect(tf.memory().numTensors).toBe(before);
      expect(onWasm).toEqual(onCpu);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('normalises a tensor as the values are normalised, a zero row included, in consecutive and sampled blocks', async () => {
    const { emb, labels } = clustered(90, 5, 6, 4, 2);
    emb.fill(0, 10 * 5, 11 * 5);
    const x = tf.tensor2d(emb, [90, 5]);
    for (const opts of [{ blockSize: 4 }, { blockSize: 90 }, { queryCount: 30, seed: 5, blockSize: 7 }]) {
      expect(await retrievalMetrics(x, 5, labels, opts)).toEqual(await retrievalMetrics(emb, 5, labels, opts));
    }
    x.dispose();
  });

  it('ranks a NaN similarity last, on CPU and WASM', async () => {
    // class 0: two close vectors and a NaN one; class 1: three close vectors
    const emb = Float32Array.from([1, 0, 0.9, 0.1, NaN, NaN, 0, 1, 0.1, 0.9, 0.2, 0.8]);
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1]);
    // the class-0 queries find each other, then a class-1 item before the NaN; the NaN query
    // sees only NaNs, tied, so the lowest indices (class 0); class 1 finds itself: 10 of 12
    const expected = 10 / 12;
    expect((await retrievalMetrics(emb, 2, labels)).rPrecision).toBeCloseTo(expected, 12);
    await import('@tensorflow/tfjs-backend-wasm');
    try {
      expect(await tf.setBackend('wasm')).toBe(true);
      expect((await retrievalMetrics(emb, 2, labels)).rPrecision).toBeCloseTo(expected, 12);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('rejects mismatched sizes', async () => {
    await expect(retrievalMetrics(new Float32Array(5), 2, new Int32Array(3))).rejects.toThrow(/rows/);
  });
});
