/**
 * The encoder's trainable top: the layers from the cut (the internal output whose activations
 * are cached) to the pooled feature, rebuilt from the loaded layers model so that it shares
 * its weights (residual adds and all).
 *
 * Two formulations of the same function:
 * - 'layers': the encoder's own layers, applied to a new input (`model`, a tf.LayersModel
 *   from cut tensor to pooled feature). Training it needs conv gradients: WebGPU, WebGL, CPU.
 * - 'primitives': 1×1 convolutions as matMul; stride-1 depthwise convolutions on the backend's
 *   own depthwise kernel with their gradients written out as depthwise convolutions, strided
 *   ones as k² shifted slices of the padded input; batch norm with its frozen statistics as
 *   arithmetic: everything has gradients on WASM, which has no Conv2DBackpropFilter and no
 *   depthwise-conv gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { matMulPlain } from '../train/matMul';
import type { TrainableTop } from '../train/trainer';
import type { FeaturePooling } from './modelCard';

export type TopFormulation = 'layers' | 'primitives';

/** A trainable weight of the top with the name it has in the encoder (`layer/weight`). */
export interface TopWeight {
  name: string;
  variable: tf.Variable;
}

export interface EncoderTop extends TrainableTop {
  readonly cutLayer: string;
  readonly featureLayer: string;
  readonly cutShape: readonly [number, number, number];
  readonly featureSize: number;
  /** The top's layers in the order they run. */
  readonly layerNames: string[];
  /** Trainable weights, shared with the encoder (training the top changes the encoder). */
  readonly weights: TopWeight[];
  readonly trainableVariables: tf.Variable[];
  readonly parameterCount: number;
  /** The formulation `apply` trains with. */
  readonly formulation: TopFormulation;
  /**
   * Cut maps [n, h, w, c] -> pooled features [n, featureSize]: with `training`, in the
   * formulation; otherwise with the encoder's own layers (the same function, and on WASM a
   * faster forward pass than the primitives, see docs/tuning.md).
   */
  apply(x: tf.Tensor4D, training?: boolean): tf.Tensor2D;
  applyWith(x: tf.Tensor4D, formulation: TopFormulation): tf.Tensor2D;
  /** The encoder's own layers from a cut input to the pooled feature, flattened: composable into an export. */
  readonly model: tf.LayersModel;
  /**
   * Releases the rebuilt model's hold on the shared layers: their weights are freed once both
   * this and the encoder are disposed (tfjs counts the models using a layer).
   */
  dispose(): void;
}

/** The top cannot be rebuilt; the message says why. */
export class EncoderTopError extends Error {
  override name = 'EncoderTopError';
}

/** The formulation to train with on a backend: WASM lacks the conv gradients. */
export function topFormulationFor(backend: string): TopFormulation {
  return backend === 'wasm' ? 'primitives' : 'layers';
}

type Layer = tf.layers.Layer;

function inboundLayers(layer: Layer): Layer[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: Layer[] }[] }).inboundNodes;
  // a layer of the loaded model has its own node first; later nodes are our rebuilt tops
  return nodes[0]?.inboundLayers ?? [];
}

/**
 * The layers between `cutLayer` and `featureLayer` in run order, checking that the cut is
 * the top's only input (every path from the image to the feature passes through it).
 */
export function topLayers(model: tf.LayersModel, cutLayer: string, featureLayer: string): Layer[] {
  const get = (name: string) => {
    try {
      return model.getLayer(name);
    } catch {
      throw new EncoderTopError(`layer "${name}" is not in the model`);
    }
  };
  const cut = get(cutLayer);
  const feature = get(featureLayer);
  const inTop = new Set<Layer>();
  const visit = (layer: Layer) => {
    if (layer === cut || inTop.has(layer)) return;
    const inbound = inboundLayers(layer);
    if (inbound.length === 0) {
      throw new EncoderTopError(
        `"${cutLayer}" cannot be the cut for "${featureLayer}": "${layer.name}" reaches the feature without passing through it`,
      );
    }
    inTop.add(layer);
    inbound.forEach(visit);
  };
  if (feature === cut) throw new EncoderTopError(`the cut "${cutLayer}" is the feature layer itself: the top would be empty`);
  visit(feature);
  return model.layers.filter((l) => inTop.has(l));
}

function variableOf(layer: Layer, weight: string): tf.Variable | null {
  const found = layer.weights.find((w) => w.originalName === `${layer.name}/${weight}` || w.originalName.endsWith(`/${weight}`));
  if (!found) return null;
  const v = found.read();
  if (!(v instanceof tf.Variable)) throw new EncoderTopError(`${layer.name}/${weight} is not a variable`);
  return v;
}

function activate(x: tf.Tensor, activation: unknown, layer: Layer): tf.Tensor {
  switch (activation ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    default:
      throw new EncoderTopError(`${layer.name}: activation ${String(activation)} has no primitive formulation`);
  }
}

const pair = (v: unknown) => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

type Padding4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * A stride-1 depthwise convolution with explicit padding whose gradients are depthwise
 * convolutions too (WASM has the forward kernel but neither backprop kernel):
 * - input: the output gradient, padded by (k − 1 − pad) on each side, against the kernel
 *   flipped in both spatial axes;
 * - kernel: with the batch folded into the channels ([1, H+pads, W+pads, n·c]), the padded
 *   input correlated with the output gradient as a [oh, ow, n·c] kernel gives each tap's
 *   per-image sums, then summed over the images.
 */
function depthwiseStride1(x: tf.Tensor4D, kernel: tf.Tensor4D, pad: Padding4): tf.Tensor4D {
  const op = tf.customGrad(((input: tf.Tensor, k: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input, k]);
    return {
      value: tf.depthwiseConv2d(input as tf.Tensor4D, k as tf.Tensor4D, 1, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sk] = saved as tf.Tensor4D[];
        const [kh, kw, ch] = sk.shape;
        const [n, h, w] = sx.shape;
        const g = dy as tf.Tensor4D;
        const [, oh, ow] = g.shape;
        const dx = tf.depthwiseConv2d(g, tf.reverse(sk, [0, 1]), 1, [
          [0, 0],
          [kh - 1 - pad[1][0], kh - 1 - pad[1][1]],
          [kw - 1 - pad[2][0], kw - 1 - pad[2][1]],
          [0, 0],
        ]);
        const hp = h + pad[1][0] + pad[1][1];
        const wp = w + pad[2][0] + pad[2][1];
        const folded = tf.reshape(tf.transpose(tf.pad(sx, pad), [1, 2, 0, 3]), [1, hp, wp, n * ch]) as tf.Tensor4D;
        const gradKernel = tf.reshape(tf.transpose(g, [1, 2, 0, 3]), [oh, ow, n * ch, 1]) as tf.Tensor4D;
        const perImage = tf.depthwiseConv2d(folded, gradKernel, 1, 'valid'); // [1, kh, kw, n·c]
        const dk = tf.reshape(tf.sum(tf.reshape(perImage, [kh, kw, n, ch]), 2), [kh, kw, ch, 1]);
        return [dx, dk];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (input: tf.Tensor4D, k: tf.Tensor4D) => tf.Tensor4D;
  return op(x, kernel);
}

/**
 * One layer in WASM-differentiable ops. `fromCut`: its input is the cut map itself, a
 * constant (the encoder below the cut is frozen), so no gradient is computed for it.
 */
function primitiveLayer(layer: Layer, inputs: tf.Tensor[], fromCut: boolean): tf.Tensor {
  const c = layer.getConfig() as Record<string, unknown>;
  const cls = layer.getClassName();
  const x = inputs[0] as tf.Tensor4D;
  const unsupported = (why: string) => new EncoderTopError(`${layer.name} (${cls}): ${why} has no primitive formulation`);
  switch (cls) {
    case 'Conv2D': {
      const [kh, kw] = pair(c.kernelSize);
      const [sh, sw] = pair(c.strides);
      if (kh !== 1 || kw !== 1 || sh !== 1 || sw !== 1) throw unsupported(`a ${kh}x${kw} kernel with stride ${sh}x${sw}`);
      const kernel = variableOf(layer, 'kernel')!;
      const [n, h, w, cin] = x.shape;
      const cout = kernel.shape[3] as number;
      let y: tf.Tensor = matMulPlain(tf.reshape(x, [n * h * w, cin]), tf.reshape(kernel, [cin, cout]), { constantA: fromCut });
      const bias = variableOf(layer, 'bias');
      if (bias) y = tf.add(y, bias);
      return activate(tf.reshape(y, [n, h, w, cout]), c.activation, layer);
    }
    case 'DepthwiseConv2D': {
      const [kh, kw] = pair(c.kernelSize);
      const [sh, sw] = pair(c.strides);
      if ((c.depthMultiplier ?? 1) !== 1) throw unsupported(`depth multiplier ${String(c.depthMultiplier)}`);
      const kernel = variableOf(layer, 'depthwise_kernel')!; // [kh, kw, c, 1]
      const [n, h, w, ch] = x.shape as [number, number, number, number];
      // TensorFlow's padding: 'same' gives ceil(size / stride) outputs, the odd pixel padded after
      const same = c.padding === 'same';
      const oh = same ? Math.ceil(h / sh) : Math.floor((h - kh) / sh) + 1;
      const ow = same ? Math.ceil(w / sw) : Math.floor((w - kw) / sw) + 1;
      const padH = same ? Math.max((oh - 1) * sh + kh - h, 0) : 0;
      const padW = same ? Math.max((ow - 1) * sw + kw - w, 0) : 0;
      const top = Math.floor(padH / 2);
      const left = Math.floor(padW / 2);
      // a window of stride·out rows per tap; rows past the last used one are padding, discarded
      const bottom = Math.max(padH - top, kh - 1 + sh * oh - h - top);
      const right = Math.max(padW - left, kw - 1 + sw * ow - w - left);
      let y: tf.Tensor;
      if (sh === 1 && sw === 1) {
        // stride 1 (every depthwise conv of the default cuts): the backend's own depthwise
        // kernel, with the gradients written out in depthwise convs (~20x faster than the taps)
        y = depthwiseStride1(x, kernel as tf.Tensor4D, [[0, 0], [top, padH - top], [left, padW - left], [0, 0]]);
      } else {
        const padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
        const taps: tf.Tensor[] = [];
        for (let dy = 0; dy < kh; dy++) {
          for (let dx = 0; dx < kw; dx++) {
            const k = tf.reshape(tf.slice(kernel, [dy, dx, 0, 0], [1, 1, ch, 1]), [ch]);
            let window: tf.Tensor = tf.slice(padded, [0, dy, dx, 0], [n, sh * oh, sw * ow, ch]);
            // every stride-th row and column, by reshape and slice (both have gradients everywhere)
            window = tf.reshape(tf.slice(tf.reshape(window, [n, oh, sh, ow, sw, ch]), [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, ch]), [n, oh, ow, ch]);
            taps.push(tf.mul(window, k));
          }
        }
        y = tf.addN(taps);
      }
      const bias = variableOf(layer, 'bias');
      if (bias) y = tf.add(y, bias);
      return activate(y, c.activation, layer);
    }
    case 'BatchNormalization': {
      // inference mode: the frozen moving statistics, as the encoder was trained to use them
      const axis = c.axis as number;
      if (axis !== -1 && axis !== 3) throw unsupported(`axis ${axis}`);
      const mean = variableOf(layer, 'moving_mean')!;
      const variance = variableOf(layer, 'moving_variance')!;
      const gamma = variableOf(layer, 'gamma');
      const beta = variableOf(layer, 'beta');
      let scale: tf.Tensor = tf.rsqrt(tf.add(variance, c.epsilon as number));
      if (gamma) scale = tf.mul(scale, gamma);
      let y = tf.mul(tf.sub(x, mean), scale);
      if (beta) y = tf.add(y, beta);
      return y;
    }
    case 'Activation':
      return activate(x, c.activation, layer);
    case 'ReLU': {
      const max = c.maxValue as number | null | undefined;
      if (max == null) return tf.relu(x);
      if (max === 6) return tf.relu6(x);
      return tf.minimum(tf.relu(x), max);
    }
    case 'Add':
      return tf.addN(inputs);
    case 'ZeroPadding2D': {
      const p = c.padding as number[][];
      return tf.pad(x, [[0, 0], p[0] as [number, number], p[1] as [number, number], [0, 0]]);
    }
    case 'GlobalAveragePooling2D':
      return tf.mean(x, [1, 2]);
    case 'AveragePooling2D': {
      const [ph, pw] = pair(c.poolSize);
      if (ph !== x.shape[1] || pw !== x.shape[2]) throw unsupported(`a ${ph}x${pw} pool over ${x.shape[1]}x${x.shape[2]} (not global)`);
      return tf.mean(x, [1, 2], true);
    }
    case 'Dropout':
      return x;
    case 'Reshape':
    case 'Flatten':
      return tf.reshape(x, [x.shape[0], -1]);
    default:
      throw unsupported('this layer type');
  }
}

export interface BuildEncoderTopOptions {
  cutLayer: string;
  featureLayer: string;
  /** The card's pooling: 'global-average' averages a spatial feature output. */
  pooling: FeaturePooling;
  /** `apply`'s formulation. Default 'layers'. */
  formulation?: TopFormulation;
}

/** Rebuilds the top of a loaded layers model (sharing its weights) from the cut to the pooled feature. */
export function buildEncoderTop(model: tf.LayersModel, opts: BuildEncoderTopOptions): EncoderTop {
  const layers = topLayers(model, opts.cutLayer, opts.featureLayer);
  const cut = model.getLayer(opts.cutLayer);
  const cutOut = cut.outputShape as (number | null)[];
  if (!Array.isArray(cutOut) || cutOut.length !== 4 || cutOut.slice(1).some((d) => typeof d !== 'number')) {
    throw new EncoderTopError(`the cut "${opts.cutLayer}" must output a fixed-size map [h, w, c], got [${String(cutOut)}]`);
  }
  const cutShape = [cutOut[1], cutOut[2], cutOut[3]] as [number, number, number];

  // the 'layers' formulation: the same layer objects on a new input (Keras shares their weights)
  const input = tf.input({ shape: cutShape, name: `${opts.cutLayer}_cut` });
  const symbolic = new Map<Layer, tf.SymbolicTensor>([[cut, input]]);
  for (const layer of layers) {
    const ins = inboundLayers(layer).map((l) => symbolic.get(l)!);
    symbolic.set(layer, layer.apply(ins.length === 1 ? ins[0] : ins) as tf.SymbolicTensor);
  }
  let out = symbolic.get(layers[layers.length - 1])!;
  if (out.shape.length === 4 && opts.pooling === 'global-average') out = tf.layers.globalAveragePooling2d({}).apply(out) as tf.SymbolicTensor;
  if (out.shape.length !== 2) out = tf.layers.flatten().apply(out) as tf.SymbolicTensor;
  const topModel = tf.model({ inputs: input, outputs: out, name: `top_from_${opts.cutLayer}` });
  const featureSize = out.shape[1] as number;

  const weights: TopWeight[] = [];
  for (const layer of layers) {
    for (const w of layer.trainableWeights) {
      const v = w.read();
      if (v instanceof tf.Variable) weights.push({ name: w.originalName, variable: v });
    }
  }
  const trainableVariables = weights.map((w) => w.variable);
  const parameterCount = trainableVariables.reduce((a, v) => a + v.size, 0);

  const primitives = (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const values = new Map<Layer, tf.Tensor>([[cut, x]]);
      for (const layer of layers) {
        const inbound = inboundLayers(layer);
        values.set(layer, primitiveLayer(layer, inbound.map((l) => values.get(l)!), inbound.every((l) => l === cut)));
      }
      let y = values.get(layers[layers.length - 1])!;
      if (y.rank === 4 && opts.pooling === 'global-average') y = tf.mean(y, [1, 2]);
      return tf.reshape(y, [x.shape[0], featureSize]) as tf.Tensor2D;
    });
  const viaLayers = (x: tf.Tensor4D): tf.Tensor2D => topModel.apply(x, { training: false }) as tf.Tensor2D;
  const check = (x: tf.Tensor4D) => {
    if (x.rank !== 4 || x.shape.slice(1).some((d, i) => d !== cutShape[i])) {
      throw new EncoderTopError(`the top takes cut maps [n, ${cutShape.join(', ')}], got [${x.shape.join(', ')}]`);
    }
  };
  const applyWith = (x: tf.Tensor4D, formulation: TopFormulation) => {
    check(x);
    return formulation === 'primitives' ? primitives(x) : viaLayers(x);
  };
  const formulation = opts.formulation ?? 'layers';
  // a layer the primitives cannot express fails here, at build time, not mid-training
  if (formulation === 'primitives') tf.tidy(() => primitives(tf.zeros([1, ...cutShape]) as tf.Tensor4D));

  return {
    cutLayer: opts.cutLayer,
    featureLayer: opts.featureLayer,
    cutShape,
    featureSize,
    layerNames: layers.map((l) => l.name),
    weights,
    trainableVariables,
    parameterCount,
    formulation,
    apply: (x, training = false) => applyWith(x, training ? formulation : 'layers'),
    applyWith,
    model: topModel,
    dispose: () => topModel.dispose(),
  };
}

/**
 * The encoder up to the cut: a layers model from the image input to the cut layer's output
 * (sharing the encoder's weights), whose outputs are cached for fine-tuning.
 */
export function modelToCut(model: tf.LayersModel, cutLayer: string): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(cutLayer).output as tf.SymbolicTensor });
}

/**
 * Writes a fine-tuned top's weights (named as `EncoderTop.weights`, `layer/weight`) into a
 * loaded encoder, so that what is built from it (the whole similarity model) carries them.
 * Every name must be one of the model's weights, with the same shape.
 */
export function assignTopWeights(model: tf.LayersModel, weights: Record<string, { shape: number[]; data: Float32Array }>): number {
  const byName = new Map<string, tf.LayerVariable>();
  for (const layer of model.layers) for (const w of layer.weights) byName.set(w.originalName, w);
  let assigned = 0;
  for (const [name, { shape, data }] of Object.entries(weights)) {
    const target = byName.get(name);
    if (!target) throw new EncoderTopError(`the fine-tuned top has a weight "${name}" that the encoder does not have`);
    if (target.shape.join('x') !== shape.join('x')) {
      throw new EncoderTopError(`the fine-tuned weight "${name}" is [${shape.join(', ')}] but the encoder's is [${target.shape.join(', ')}]`);
    }
    const value = tf.tensor(data, shape);
    target.write(value); // the variable keeps its own reference to the data
    value.dispose();
    assigned += 1;
  }
  return assigned;
}
