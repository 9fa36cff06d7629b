import * as tf from '@tensorflow/tfjs';

export interface MatMulPlainOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  /**
   * `a` does not depend on any trainable variable (e.g. cached encoder outputs): no gradient
   * is computed for it, which saves one of the three matMuls of a training step. Wrong if
   * something upstream of `a` is trained. Default false.
   */
  constantA?: boolean;
}

/**
 * `a · b` (after optional transposes) computed with plain, untransposed matMuls only, in the
 * forward pass and in the gradient.
 *
 * Why: on the WASM backend, `tf.matMul` with `transposeA` or `transposeB` is about 10x slower
 * than an explicit `tf.transpose` followed by a plain matMul (measured, Node 20, tfjs 4.22,
 * XNNPACK: 1280×1280 by 1280×1280 takes ~2.0 s with transposeB, ~0.3 s transposed first).
 * tfjs's own gradient of `matMul(a, b)` uses exactly those transposed forms (`dy·bᵀ`, `aᵀ·dy`),
 * so most of a training step went there. Values equal tf.matMul's up to float32 rounding (the
 * summation order may differ). On other backends the explicit transposes cost little.
 */
export function matMulPlain(a: tf.Tensor, b: tf.Tensor, opts: MatMulPlainOptions = {}): tf.Tensor2D {
  if (opts.transposeB && !opts.transposeA) {
    return opts.constantA ? timesTransposedConstantLeft(a as tf.Tensor2D)(b as tf.Tensor2D) : timesTransposed(a as tf.Tensor2D, b as tf.Tensor2D);
  }
  return tf.tidy(() => {
    const left = (opts.transposeA ? tf.transpose(a) : a) as tf.Tensor2D;
    const right = (opts.transposeB ? tf.transpose(b) : b) as tf.Tensor2D;
    return opts.constantA ? plainConstantLeft(left)(right) : plain(left, right);
  });
}

/** Plain a·b whose gradient is also computed with plain matMuls (explicit transposes). */
const plain = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * a·bᵀ (the head's x·Wᵀ, the Gram matrix x·xᵀ) with its gradient written out: dy·b for `a` (no
 * transpose) and dyᵀ·a for `b`, rather than autodiff through an explicit transpose, which
 * costs a transpose of bᵀ's gradient back (1280×1280 for the head, ~40 ms each on WASM) and
 * a transposed copy of `a`. Each element is the same products summed in the same order as
 * (aᵀ·dy)ᵀ, so the values are those of the transposing form exactly.
 */
const timesTransposed = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: timesTransposedValue(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, sb), tf.matMul(tf.transpose(dy as tf.Tensor2D), sa)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * a·bᵀ's value. WASM's matMul (XNNPACK) repacks its right operand whenever that tensor is new,
 * and the head's weight is new after every Adam step: x·Wᵀ packed the 1280×1280 Wᵀ each step
 * (~35 ms of a 256-row step's ~100 ms matMul, plus ~8 ms transposing W). With fewer rows in
 * `a` than in `b`, (b·aᵀ)ᵀ packs the smaller aᵀ instead. Each element is the same products
 * summed in the same order, so the values are identical (tests/unit/train/matMul.test.ts).
 */
function timesTransposedValue(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() === 'wasm' && a.shape[0] < b.shape[0]) {
    return tf.tidy(() => tf.transpose(tf.matMul(b, tf.transpose(a))) as tf.Tensor2D);
  }
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
}

/** a·bᵀ with `a` a constant: only dyᵀ·a, for `b`. */
function timesTransposedConstantLeft(a: tf.Tensor2D): (b: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad(((b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a]);
    return {
      value: timesTransposedValue(a, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.matMul(tf.transpose(dy as tf.Tensor2D), saved[0] as tf.Tensor2D),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (b: tf.Tensor2D) => tf.Tensor2D;
}

/** a·b with `a` a constant (closed over, so autodiff sees only `b` as an input). */
function plainConstantLeft(a: tf.Tensor2D): (b: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad(((b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a]);
    return {
      value: tf.matMul(a, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), dy as tf.Tensor2D),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (b: tf.Tensor2D) => tf.Tensor2D;
}
