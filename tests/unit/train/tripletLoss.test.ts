import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { distanceMatrix } from '../../../src/core/train/distances';
import { batchAllWeights, semiHardTriplets, tripletLoss } from '../../../src/core/train/tripletLoss';
import { flat, loadOracle, maxError } from './oracle';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const oracle = loadOracle();

describe('distanceMatrix', () => {
  for (const c of oracle.cases) {
    for (const distance of ['cosine', 'euclidean'] as const) {
      it(`matches the reference ${distance} matrix (n=${c.n}, d=${c.d})`, () => {
        const before = tf.memory().numTensors;
        const x = tf.tensor2d(flat(c.embeddings), [c.n, c.d]);
        const dm = distanceMatrix(x, distance);
        const expected = flat(c[`distance_matrix_${distance}`]);
        const ours = dm.dataSync();
        // The reference's euclidean diagonal is cancellation noise (up to 0.007: its Gram
        // diagonal and norms round differently); ours is exactly 0. Compare off the diagonal.
        const offDiagonal = (v: ArrayLike<number>) => Array.from(v).filter((_, k) => k % (c.n + 1) !== 0);
        expect(maxError(offDiagonal(ours), offDiagonal(expected))).toBeLessThan(1e-5);
        if (distance === 'euclidean') {
          for (let i = 0; i < c.n; i++) expect(ours[i * (c.n + 1)]).toBe(0);
        } else {
          expect(maxError(ours, expected)).toBeLessThan(1e-5);
        }
        tf.dispose([x, dm]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }

  it('has finite gradients for duplicate rows and zero rows', () => {
    const x = tf.tensor2d([1, 2, 1, 2, 0, 0, 3, -1], [4, 2]);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const g = tf.grad((v: tf.Tensor) => tf.sum(distanceMatrix(v as tf.Tensor2D, distance)))(x);
      expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
      g.dispose();
    }
    x.dispose();
  });
});

describe('tripletLoss against the reference', () => {
  for (const [ci, c] of oracle.cases.entries()) {
    it(`matches hard and all losses for case ${ci} (n=${c.n})`, () => {
      const x = tf.tensor2d(flat(c.embeddings), [c.n, c.d]);
      const labels = Int32Array.from(c.groups);
      const before = tf.memory().numTensors;
      let worst = 0;
      for (const l of c.losses) {
        if (l.mining === 'semi_hard') continue;
        const loss = tripletLoss(x, labels, { distance: l.distance, mining: l.mining, margin: l.margin, soft: l.soft });
        const e = maxError([loss.dataSync()[0]], [l.loss]);
        if (e > 1e-4) throw new Error(`${JSON.stringify(l)}: got ${loss.dataSync()[0]}`);
        worst = Math.max(worst, e);
        loss.dispose();
      }
      expect(worst).toBeLessThan(1e-4);
      console.info(`case ${ci}: max error over hard/all losses ${worst.toExponential(2)}`);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });
  }

  it('semi_hard uses the per-anchor rule, which differs from the reference code', () => {
    const c = oracle.cases[1];
    const x = tf.tensor2d(flat(c.embeddings), [c.n, c.d]);
    const labels = Int32Array.from(c.groups);
    const rows: string[] = [];
    for (const l of c.losses.filter((l) => l.mining === 'semi_hard')) {
      const loss = tripletLoss(x, labels, { distance: l.distance, mining: 'semi_hard', margin: l.margin });
      const ours = loss.dataSync()[0];
      loss.dispose();
      rows.push(`${l.distance} m=${l.margin}: ours ${ours.toFixed(5)} reference-code ${l.loss.toFixed(5)}`);
      expect(Number.isFinite(ours)).toBe(true);
      expect(ours).toBeGreaterThanOrEqual(0);
    }
    console.info(`semi_hard, per-anchor rule vs the reference's all-pairs code:\n  ${rows.join('\n  ')}`);
    x.dispose();
  });

  it('semi_hard picks the smallest negative farther than the positive, else the farthest', () => {
    // 1-D points; anchor 0 at 0, positive 1 at 0.3; negatives at 0.2, 0.5, 0.9
    const x = tf.tensor2d([0, 0.3, 0.2, 0.5, 0.9], [5, 1]);
    const pad = tf.concat([x, tf.onesLike(x)], 1) as tf.Tensor2D; // avoid cosine degeneracy: use euclidean
    const labels = Int32Array.from([0, 0, 1, 2, 3]); // negatives have no positives of their own
    const loss = tripletLoss(pad, labels, { distance: 'euclidean', mining: 'semi_hard', margin: 0.5 });
    // (0,1): D_ap=.3 -> smallest neg > .3 is .5 -> relu(.3-.5+.5)=.3
    // (1,0): D_ap=.3, negatives from 1: .1,.2,.6 -> .6 -> relu(.3-.6+.5)=.2
    expect(loss.dataSync()[0]).toBeCloseTo((0.3 + 0.2) / 2, 5);
    tf.dispose([x, pad, loss]);
  });
});

describe('every mining mode trains on the WASM backend', () => {
  // tf.gather's gradient (UnsortedSegmentSum) does not exist on WASM: a loss built on it
  // fails at the first training step there. Gradients must match the CPU backend's.
  it.each(['hard', 'all', 'semi_hard'] as const)('%s: gradient on wasm equals the cpu gradient', async (mining) => {
    await import('@tensorflow/tfjs-backend-wasm');
    const c = oracle.cases[1];
    const labels = Int32Array.from(c.groups);
    const gradientOn = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor2d(flat(c.embeddings), [c.n, c.d]);
      const g = tf.grad((e: tf.Tensor) => tripletLoss(e as tf.Tensor2D, labels, { mining, margin: 0.5 }))(x);
      const values = g.dataSync().slice();
      tf.dispose([x, g]);
      return values;
    };
    try {
      const onWasm = await gradientOn('wasm');
      const onCpu = await gradientOn('cpu');
      expect(maxError(onWasm, onCpu)).toBeLessThan(1e-4);
      expect(onCpu.some((v) => v !== 0)).toBe(true);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('semi_hard: the weighted form has the gradient of the pairs gathered directly', () => {
    const c = oracle.cases[1];
    const labels = Int32Array.from(c.groups);
    const x = tf.tensor2d(flat(c.embeddings), [c.n, c.d]);
    const ours = tf.grad((e: tf.Tensor) => tripletLoss(e as tf.Tensor2D, labels, { mining: 'semi_hard', margin: 0.5 }))(x);
    const gathered = tf.grad((e: tf.Tensor) => {
      const d = distanceMatrix(e as tf.Tensor2D, 'cosine');
      const { positiveIndex, negativeIndex } = semiHardTriplets(d.dataSync() as Float32Array, labels);
      const flatD = tf.reshape(d, [-1]);
      const ap = tf.gather(flatD, tf.tensor1d(positiveIndex, 'int32'));
      const an = tf.gather(flatD, tf.tensor1d(negativeIndex, 'int32'));
      return tf.mean(tf.relu(tf.add(tf.sub(ap, an), 0.5)));
    })(x);
    expect(maxError(ours.dataSync(), gathered.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, ours, gathered]);
  });
});

/** The reference's batch-all, literally (n³), for small n. */
function bruteBatchAll(d: Float32Array, labels: Int32Array, margin: number): number {
  const n = labels.length;
  let sum = 0;
  let count = 0;
  for (let a = 0; a < n; a++)
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++) {
        if (a === p || labels[a] !== labels[p] || labels[a] === labels[q]) continue;
        const l = Math.max(0, Math.fround(Math.fround(d[a * n + p] - d[a * n + q]) + Math.fround(margin)));
        if (l > 1e-16) {
          sum += l;
          count++;
        }
      }
  return sum / (count + 1e-16);
}

describe('batch-all', () => {
  it('equals the brute-force n³ value and gradient', () => {
    const n = 40;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 5);
    const x = tf.randomNormal([n, 6], 0, 1, 'float32', 7) as tf.Tensor2D;
    const dm = distanceMatrix(x, 'cosine');
    const expected = bruteBatchAll(dm.dataSync() as Float32Array, labels, 0.2);
    const loss = tripletLoss(x, labels, { mining: 'all', margin: 0.2 });
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    // gradient: compare with the reference's own n³ formulation, differentiated by tf
    const mask = tf.tensor3d(
      Float32Array.from({ length: n * n * n }, (_, k) => {
        const a = Math.floor(k / (n * n));
        const p = Math.floor(k / n) % n;
        const q = k % n;
        return a !== p && labels[a] === labels[p] && labels[a] !== labels[q] ? 1 : 0;
      }),
      [n, n, n],
    );
    const cubic = (v: tf.Tensor) => {
      const dd = distanceMatrix(v as tf.Tensor2D, 'cosine');
      const t = tf.relu(tf.mul(mask, tf.add(tf.sub(tf.expandDims(dd, 2), tf.expandDims(dd, 1)), 0.2)));
      const count = tf.sum(tf.step(tf.sub(t, 1e-16)));
      return tf.div(tf.sum(t), tf.add(count, 1e-16)) as tf.Scalar;
    };
    const gRef = tf.grad(cubic)(x);
    const g = tf.grad((v: tf.Tensor) => tripletLoss(v as tf.Tensor2D, labels, { mining: 'all', margin: 0.2 }))(x);
    expect(tf.norm(g).dataSync()[0]).toBeGreaterThan(0);
    expect(maxError(g.dataSync(), gRef.dataSync())).toBeLessThan(1e-5);
    tf.dispose([x, dm, loss, g, gRef, mask]);
  });

  it('handles n = 1024 without an n³ tensor', () => {
    const n = 1024;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 64);
    const x = tf.randomNormal([n, 16], 0, 1, 'float32', 3) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const t0 = Date.now();
    const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tripletLoss(v as tf.Tensor2D, labels, { mining: 'all' }))(x));
    const value = tripletLoss(x, labels, { mining: 'all' });
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    // n³ float32 would be 4 GiB; the largest tensor we allow is a handful of n² ones
    expect(tf.memory().numBytes).toBeLessThan(64 * n * n);
    tf.dispose([g, value]);
    expect(tf.memory().numTensors).toBe(before);
    expect(Date.now() - t0).toBeLessThan(60_000);
    x.dispose();
  });

  it('counts active negatives and positives per pair', () => {
    // anchor 0 (label 0) with positive 1 and negatives 2,3
    const d = Float32Array.from([
      0, 0.4, 0.3, 1.5,
      0.4, 0, 0.2, 0.1,
      0.3, 0.2, 0, 0.5,
      1.5, 0.1, 0.5, 0,
    ]);
    const { weights, activeTriplets } = batchAllWeights(d, Int32Array.from([0, 0, 1, 1]), 0.5);
    // anchor 0: D_ap=.4; negatives .3 (active), 1.5 (not) -> c=1; neg 2 active with 1 positive
    expect(Array.from(weights.subarray(0, 4))).toEqual([0, 1, -1, -0]);
    expect(activeTriplets).toBeGreaterThan(0);
  });
});

describe('batch-hard gradient', () => {
  /** The loss as written before the row max got its own gradient: tf.max's autodiff. */
  function withTfMax(x: tf.Tensor2D, labels: Int32Array, margin: number): tf.Scalar {
    const n = labels.length;
    const pos = new Float32Array(n * n);
    const neg = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) labels[i] === labels[j] ? i !== j && (pos[i * n + j] = 1) : (neg[i * n + j] = 1);
    const d = distanceMatrix(x, 'cosine');
    const pick = (v: tf.Tensor2D, idx: tf.Tensor1D) => tf.sum(tf.mul(v, tf.cast(tf.oneHot(idx, n), 'float32')), 1);
    const positiveDists = tf.mul(tf.tensor2d(pos, [n, n]), d) as tf.Tensor2D;
    const hp = pick(positiveDists, tf.argMax(positiveDists, 1) as tf.Tensor1D);
    const negativeDists = tf.add(d, tf.mul(tf.max(d, 1, true), tf.sub(1, tf.tensor2d(neg, [n, n])))) as tf.Tensor2D;
    const hn = pick(negativeDists, tf.argMin(negativeDists, 1) as tf.Tensor1D);
    return tf.mean(tf.relu(tf.add(tf.div(tf.sub(hp, hn), tf.mean(hn)), margin))) as tf.Scalar;
  }

  it("is tf.max's gradient bit for bit, ties and one-class batches included", () => {
    const base = tf.randomNormal([12, 6], 0, 1, 'float32', 11);
    // rows 0 and 1 equal: tied maxima in their rows
    const x = tf.concat([tf.slice(base, 0, 1), tf.slice(base, 0, 11)]) as tf.Tensor2D;
    for (const labels of [Int32Array.from([0, 1, 0, 1, 2, 2, 0, 1, 2, 0, 1, 2]), new Int32Array(12)]) {
      const [ours] = tf.grads((e: tf.Tensor) => tripletLoss(e as tf.Tensor2D, labels, { margin: 0.5 }))([x]);
      const [expected] = tf.grads((e: tf.Tensor) => withTfMax(e as tf.Tensor2D, labels, 0.5))([x]);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(expected.dataSync()));
    }
  });
});
