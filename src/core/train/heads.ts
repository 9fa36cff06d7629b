import * as tf from '@tensorflow/tfjs';
import { matMulPlain } from './matMul';
import { randomInt, seededRandom, type RandomSource } from '../random/randomSource';

/** A head's weights by name, in the reference's (PyTorch state_dict) names and layouts. */
export type NamedWeights = Record<string, { shape: number[]; data: Float32Array }>;

export type HeadKind = 'skip-connection' | 'identity';

/**
 * A trainable head on top of the frozen encoder's cached embeddings: `dim` in, `dim` out.
 * `apply` returns a new tensor (the caller disposes it); `getWeights` copies to the CPU.
 */
export interface Head {
  readonly kind: HeadKind;
  readonly dim: number;
  /**
   * Forward pass; `training` turns dropout on. `x` is treated as a constant (gradients reach
   * the head's variables only) unless `options.trainedInput` says something upstream trains.
   */
  apply(x: tf.Tensor2D, training: boolean, options?: HeadApplyOptions): tf.Tensor2D;
  readonly trainableVariables: tf.Variable[];
  getWeights(): NamedWeights;
  /** Replace the weights; names and shapes must match `getWeights()`'s. */
  setWeights(weights: NamedWeights): void;
  dispose(): void;
}

export interface HeadApplyOptions {
  /** `x` depends on trained variables (a fine-tuned encoder top): its gradient is computed too. Default false. */
  trainedInput?: boolean;
}

export interface SkipConnectionHeadOptions {
  /** Dropout rate on the head's input while training, in [0, 1). Default 0.1 (the recipe's). */
  dropout?: number;
  /** Initial value of every gate (sigmoid(-4) ≈ 0.018: the head starts near the identity). Default -4. */
  gateInit?: number;
  /** Seed of the fc init and of dropout masks. Default 0. Ignored when `random` is given. */
  seed?: number;
  /** Injectable generator for the fc init and dropout seeds. */
  random?: RandomSource;
}

/**
 * Quaterion's SkipConnectionHead(dim): `x = dropout(x)` (training only), then
 * `out = fc(x) * sigmoid(gates) + x`, with `fc` a dim×dim Linear with bias, initialised like
 * PyTorch's default (uniform(±1/sqrt(dim)) for weight and bias), and `gates` a learned
 * vector initialised to `gateInit`. Weights are named as the reference writes them:
 * `gates_0` [dim], `fc_0.weight` [out, in] (PyTorch layout; the forward multiplies by its
 * transpose), `fc_0.bias` [dim].
 */
export function createSkipConnectionHead(dim: number, opts: SkipConnectionHeadOptions = {}): Head {
  checkDim(dim);
  const rate = opts.dropout ?? 0.1;
  const gateInit = opts.gateInit ?? -4;
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout must be ≥ 0 and < 1, got ${rate}`);
  if (!Number.isFinite(gateInit)) throw new Error(`gateInit must be a finite number, got ${gateInit}`);
  const random = opts.random ?? seededRandom(opts.seed ?? 0);
  const bound = 1 / Math.sqrt(dim);
  const uniform = (count: number) => {
    const v = new Float32Array(count);
    for (let i = 0; i < count; i++) v[i] = (2 * random.nextFloat() - 1) * bound;
    return v;
  };
  const weightInit = uniform(dim * dim);
  const biasInit = uniform(dim);
  const gates = variableFrom(tf.fill([dim], gateInit), 'gates_0');
  const weight = variableFrom(tf.tensor2d(weightInit, [dim, dim]), 'fc_0.weight');
  const bias = variableFrom(tf.tensor1d(biasInit), 'fc_0.bias');
  const byName: Record<string, tf.Variable> = { gates_0: gates, 'fc_0.weight': weight, 'fc_0.bias': bias };
  let disposed = false;

  return {
    kind: 'skip-connection',
    dim,
    trainableVariables: [gates, weight, bias],
    apply(x: tf.Tensor2D, training: boolean, options?: HeadApplyOptions): tf.Tensor2D {
      if (disposed) throw new Error('This head was disposed');
      checkInput(x, dim);
      return tf.tidy(() => {
        // a fresh dropout seed per call, drawn from the head's generator: reproducible runs
        const dropped =
          training && rate > 0 ? (tf.dropout(x, rate, undefined, randomInt(random, 2 ** 31)) as tf.Tensor2D) : x;
        // the input is usually the frozen encoder's output: then no gradient flows to it (see matMulPlain)
        const fc = tf.add(matMulPlain(dropped, weight, { transposeB: true, constantA: !options?.trainedInput }), bias);
        return tf.add(tf.mul(fc, tf.sigmoid(gates)), dropped) as tf.Tensor2D;
      });
    },
    getWeights: () => readWeights(byName),
    setWeights: (w) => writeWeights(byName, w),
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([gates, weight, bias]);
    },
  };
}

/** Quaterion's EmptyHead: the frozen encoder's embeddings as they are (the baseline). */
export function createIdentityHead(dim: number): Head {
  checkDim(dim);
  return {
    kind: 'identity',
    dim,
    trainableVariables: [],
    apply(x: tf.Tensor2D): tf.Tensor2D {
      checkInput(x, dim);
      return tf.clone(x);
    },
    getWeights: () => ({}),
    setWeights(w: NamedWeights) {
      const names = Object.keys(w);
      if (names.length > 0) throw new Error(`The identity head has no weights, got ${names.join(', ')}`);
    },
    dispose() {},
  };
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be an integer ≥ 1, got ${dim}`);
}

function checkInput(x: tf.Tensor2D, dim: number): void {
  if (x.rank !== 2 || x.shape[1] !== dim) {
    throw new Error(`The head expects [n, ${dim}] inputs, got [${x.shape.join(', ')}]`);
  }
}

/** A trainable variable holding `initial`, which is disposed (tf.variable keeps its own handle). */
function variableFrom(initial: tf.Tensor, name: string): tf.Variable {
  const v = tf.variable(initial, true, uniqueName(name));
  initial.dispose();
  return v;
}

let nameCounter = 0;
/** tfjs variable names are global; keep ours unique so several heads can coexist. */
function uniqueName(name: string): string {
  return `head${++nameCounter}/${name}`;
}

function readWeights(byName: Record<string, tf.Variable>): NamedWeights {
  const out: NamedWeights = {};
  for (const [name, v] of Object.entries(byName)) {
    out[name] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as Float32Array) };
  }
  return out;
}

function writeWeights(byName: Record<string, tf.Variable>, weights: NamedWeights): void {
  const expected = Object.keys(byName);
  const missing = expected.filter((n) => !(n in weights));
  const extra = Object.keys(weights).filter((n) => !(n in byName));
  if (missing.length || extra.length) {
    throw new Error(
      `Head weights must be exactly ${expected.join(', ')}` +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (extra.length ? `; unexpected ${extra.join(', ')}` : ''),
    );
  }
  for (const name of expected) {
    const v = byName[name];
    const w = weights[name];
    const size = v.shape.reduce((a, b) => a * b, 1);
    if (w.shape.length !== v.shape.length || w.shape.some((s, i) => s !== v.shape[i]) || w.data.length !== size) {
      throw new Error(`${name} must have shape [${v.shape.join(', ')}], got [${w.shape.join(', ')}] with ${w.data.length} values`);
    }
  }
  for (const name of expected) {
    const v = byName[name];
    const t = tf.tensor(weights[name].data, v.shape);
    v.assign(t);
    t.dispose();
  }
}
