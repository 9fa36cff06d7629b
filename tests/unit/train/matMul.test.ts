import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { matMulPlain } from '../../../src/core/train/matMul';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const close = (a: tf.Tensor, b: tf.Tensor) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i], 4);
};

describe('matMulPlain', () => {
  const a = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([4, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
  const w = tf.randomNormal([5, 4], 0, 1, 'float32', 3) as tf.Tensor2D;

  it('equals tf.matMul, with its gradients, for every transpose combination', () => {
    for (const [ta, tb, x, y] of [
      [false, true, a, b],
      [false, false, a, tf.transpose(b)],
      [true, false, tf.transpose(a), tf.transpose(b)],
      [true, true, tf.transpose(a), b],
    ] as [boolean, boolean, tf.Tensor2D, tf.Tensor2D][]) {
      close(matMulPlain(x, y, { transposeA: ta, transposeB: tb }), tf.matMul(x, y, ta, tb));
      const loss = (f: (p: tf.Tensor2D, q: tf.Tensor2D) => tf.Tensor2D) => (p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.mul(f(p as tf.Tensor2D, q as tf.Tensor2D), w));
      const [ga, gb] = tf.grads(loss((p, q) => matMulPlain(p, q, { transposeA: ta, transposeB: tb })))([x, y]);
      const [ea, eb] = tf.grads(loss((p, q) => tf.matMul(p, q, ta, tb)))([x, y]);
      close(ga, ea);
      close(gb, eb);
      // constantA: the same gradient for b
      const [gb2] = tf.grads((q: tf.Tensor) => tf.sum(tf.mul(matMulPlain(x, q as tf.Tensor2D, { transposeA: ta, transposeB: tb, constantA: true }), w)))([y]);
      close(gb2, eb);
    }
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(matMulPlain(p, q, { transposeB: true })))([a, b]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('matMulPlain on WASM', () => {
  it("computes the head's x·Wᵀ bit for bit as tf.matMul(x, transpose(W)) does", async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      // fewer rows than the weight has: the form that packs xᵀ rather than Wᵀ
      for (const [rows, inner, out] of [[37, 53, 71], [256, 96, 300], [90, 64, 40]]) {
        const x = tf.randomNormal([rows, inner], 0, 1, 'float32', rows) as tf.Tensor2D;
        const weight = tf.randomNormal([out, inner], 0, 1, 'float32', out) as tf.Tensor2D;
        const ours = tf.tidy(() => matMulPlain(x, weight, { transposeB: true, constantA: true }));
        const direct = tf.tidy(() => tf.matMul(x, tf.transpose(weight)));
        expect(Array.from(ours.dataSync())).toEqual(Array.from(direct.dataSync()));
        tf.dispose([x, weight, ours, direct]);
      }
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
