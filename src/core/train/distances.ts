import * as tf from '@tensorflow/tfjs';
import { matMulPlain } from './matMul';

/** The distances the studio trains and evaluates with (reference.md, "Distance"). */
export type DistanceName = 'cosine' | 'euclidean';

/**
 * Pairwise distance matrix of the rows of `x`, exactly as the reference library computes it.
 *
 * - cosine: rows are L2-normalised inside the distance only (norm floored at 1e-12, as
 *   `F.normalize`), `dist = 1 - (cos + 1) / 2 = (1 - cos) / 2`, in [0, 1].
 * - euclidean: `sqrt(relu(|x_i|² - 2 x_i·x_j + |x_j|²))`, where the squared norms are the
 *   diagonal of the same Gram matrix (so the diagonal cancels exactly to 0), and exact zeros
 *   get 1e-16 added before the sqrt and are zeroed again after, so gradients stay finite.
 *
 * Differentiable. Returns a new tensor; the caller disposes it.
 */
export function distanceMatrix(x: tf.Tensor2D, distance: DistanceName): tf.Tensor2D {
  return tf.tidy(() => {
    if (distance === 'cosine') {
      // max(sqrt(s), 1e-12) == sqrt(max(s, 1e-24)); this form keeps the gradient finite
      // for an all-zero row (sqrt's derivative never sees 0).
      const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-24));
      const xn = tf.div(x, norm);
      const similarity = tf.div(tf.add(matMulPlain(xn, xn, { transposeB: true }), 1), 2);
      return tf.sub(1, similarity) as tf.Tensor2D;
    }
    if (distance === 'euclidean') {
      const n = x.shape[0];
      const dot = matMulPlain(x, x, { transposeB: true });
      // diagonal of the Gram matrix itself (not sum(x²)) so that D_ii cancels to exactly 0
      const squareNorm = tf.sum(tf.mul(dot, tf.eye(n)), 1);
      const squared = tf.relu(
        tf.add(tf.sub(tf.expandDims(squareNorm, 0), tf.mul(2, dot)), tf.expandDims(squareNorm, 1)),
      );
      // 1 where squared == 0 (squared ≥ 0 here); tf.step has a (zero) gradient, tf.equal has none
      const zeroMask = tf.sub(1, tf.step(squared));
      const d = tf.sqrt(tf.add(squared, tf.mul(zeroMask, 1e-16)));
      return tf.mul(d, tf.sub(1, zeroMask)) as tf.Tensor2D;
    }
    throw new Error(`distance must be 'cosine' or 'euclidean', got ${String(distance)}`);
  });
}
