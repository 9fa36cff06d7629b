/**
 * Standard TF.js layers models of what the studio trained, loadable with plain
 * `tf.loadLayersModel` (no studio code, no custom layer class):
 *
 * - the head alone: at inference a SkipConnectionHead is one affine map,
 *   `fc(x)·σ(g) + x = x·(Wᵀ·diag(σ(g)) + I) + b∘σ(g)`, so it is one `Dense` layer;
 * - the whole similarity model: the encoder's own layers up to its feature output, the
 *   card's pooling, then that `Dense` layer — image in, tuned embedding out.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageEncoder } from '../encoder/loadEncoder';
import type { NamedWeights } from '../train/heads';

/** Layer and input names written into the models (the README refers to them). */
export { HEAD_LAYER } from './headLayer';
import { HEAD_LAYER } from './headLayer';
export const HEAD_INPUT = 'embedding';

/** One affine map `y = x·kernel + bias`; kernel is [in, out] row-major (Keras' Dense layout). */
export interface AffineHead {
  dim: number;
  kernel: Float32Array;
  bias: Float32Array;
}

function layerCount(weights: NamedWeights): number {
  let n = 0;
  while (`gates_${n}` in weights) n++;
  return n;
}

/**
 * Folds a SkipConnectionHead's (eval-mode) layers into one affine map, in float64.
 * Layer i maps x to `x·Kᵢ + cᵢ` with `Kᵢ[j][o] = W[o][j]·σ(g[o]) + δⱼₒ`, `cᵢ = b∘σ(g)`;
 * layers compose as `K = K₀·K₁…`, `c = (c₀·K₁ + c₁)…`.
 */
export function foldSkipConnectionHead(weights: NamedWeights): AffineHead {
  const layers = layerCount(weights);
  const dim = weights.gates_0?.data.length;
  if (!dim || layers === 0) throw new Error('These weights are not a SkipConnectionHead (no gates_0)');
  let kernel: Float64Array | null = null;
  let bias: Float64Array | null = null;
  for (let i = 0; i < layers; i++) {
    const g = weights[`gates_${i}`]?.data;
    const w = weights[`fc_${i}.weight`]?.data;
    const b = weights[`fc_${i}.bias`]?.data;
    if (!g || !w || !b || g.length !== dim || w.length !== dim * dim || b.length !== dim) {
      throw new Error(`SkipConnectionHead layer ${i}: gates_${i}, fc_${i}.weight and fc_${i}.bias must be [${dim}], [${dim}, ${dim}], [${dim}]`);
    }
    const s = Array.from(g, (v) => 1 / (1 + Math.exp(-v)));
    const k = new Float64Array(dim * dim);
    for (let j = 0; j < dim; j++) {
      for (let o = 0; o < dim; o++) k[j * dim + o] = w[o * dim + j] * s[o];
      k[j * dim + j] += 1;
    }
    const c = Float64Array.from(b, (v, o) => v * s[o]);
    if (!kernel || !bias) {
      kernel = k;
      bias = c;
      continue;
    }
    const nextKernel = new Float64Array(dim * dim);
    const nextBias = Float64Array.from(c);
    for (let r = 0; r < dim; r++) {
      for (let m = 0; m < dim; m++) {
        const a = kernel[r * dim + m];
        if (a !== 0) for (let o = 0; o < dim; o++) nextKernel[r * dim + o] += a * k[m * dim + o];
      }
    }
    for (let m = 0; m < dim; m++) for (let o = 0; o < dim; o++) nextBias[o] += bias[m] * k[m * dim + o];
    kernel = nextKernel;
    bias = nextBias;
  }
  return { dim, kernel: Float32Array.from(kernel!), bias: Float32Array.from(bias!) };
}

/**
 * The inverse direction, for loading a Dense head back: any affine map `x·K + c` is exactly a
 * SkipConnectionHead with gates 0 (σ = ½), `fc.weight = 2·(Kᵀ − I)` and `fc.bias = 2·c`.
 */
export function skipConnectionFromAffine(head: AffineHead): NamedWeights {
  const { dim, kernel, bias } = head;
  const w = new Float32Array(dim * dim);
  for (let o = 0; o < dim; o++) {
    for (let j = 0; j < dim; j++) w[o * dim + j] = 2 * (kernel[j * dim + o] - (j === o ? 1 : 0));
  }
  return {
    gates_0: { shape: [dim], data: new Float32Array(dim) },
    'fc_0.weight': { shape: [dim, dim], data: w },
    'fc_0.bias': { shape: [dim], data: Float32Array.from(bias, (v) => 2 * v) },
  };
}

/** Applies the head's Dense layer to `x` (building it, then setting its weights to the folded map). */
function applyDense(head: AffineHead, x: tf.SymbolicTensor): tf.SymbolicTensor {
  const dense = tf.layers.dense({ units: head.dim, useBias: true, name: HEAD_LAYER });
  const y = dense.apply(x) as tf.SymbolicTensor;
  tf.tidy(() => dense.setWeights([tf.tensor2d(head.kernel, [head.dim, head.dim]), tf.tensor1d(head.bias)]));
  return y;
}

/** The head as a layers model: `[n, dim]` embeddings in, `[n, dim]` tuned embeddings out. */
export function headLayersModel(weights: NamedWeights): tf.LayersModel {
  const head = foldSkipConnectionHead(weights);
  const input = tf.input({ shape: [head.dim], name: HEAD_INPUT });
  return tf.model({ inputs: input, outputs: applyDense(head, input), name: 'similarity_studio_head' });
}

/**
 * Image in, tuned embedding out: the encoder's layers (sharing its weights) up to the card's
 * feature output, its pooling, a flatten to `[n, featureSize]`, then the head's Dense layer.
 * The input is the encoder's own: `[n, H, W, 3]` pixels already normalised as its card says.
 * Only a layers-model encoder can be extended this way (a graph model is exported as the
 * graph plus the head model: see the README recipe).
 */
export function similarityModel(encoder: ImageEncoder, weights: NamedWeights): tf.LayersModel {
  const { card } = encoder;
  if (!(encoder.model instanceof tf.LayersModel)) {
    throw new Error(`The encoder "${card.id}" is a graph model; only a layers model can be joined with the head into one model`);
  }
  const head = foldSkipConnectionHead(weights);
  if (head.dim !== encoder.featureSize) {
    throw new Error(`This head is for ${head.dim}-d embeddings, but "${card.name}" gives ${encoder.featureSize}-d ones`);
  }
  const model = encoder.model;
  // node 0 is the layer in the encoder's own graph (a rebuilt fine-tuning top adds more nodes)
  let y = model.getLayer(card.featureOutput!).getOutputAt(0) as tf.SymbolicTensor;
  if (y.shape.length === 4 && card.pooling === 'global-average') {
    y = tf.layers.globalAveragePooling2d({ name: 'feature_pool' }).apply(y) as tf.SymbolicTensor;
  }
  if (y.shape.length !== 2) y = tf.layers.flatten({ name: 'feature_flatten' }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: applyDense(head, y), name: 'similarity_studio_model' });
}

/** A layers model as the two files `tf.loadLayersModel` reads: model.json and one weights file. */
export interface LayersModelFiles {
  modelJson: tf.io.ModelJSON;
  weightsBin: Uint8Array;
}

/** Serialises a layers model with tfjs's own saver (topology and weight specs are its). */
export async function layersModelFiles(
  model: tf.LayersModel,
  opts: { weightsFile?: string; generatedBy: string; metadata?: Record<string, object> },
): Promise<LayersModelFiles> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  // tfjs accepts plain JSON only: no undefined members, no class instances
  const metadata = opts.metadata ? (JSON.parse(JSON.stringify(opts.metadata)) as Record<string, object>) : undefined;
  if (metadata) model.setUserDefinedMetadata(metadata);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error('tfjs saved no topology or weights for this model');
  }
  const data = artifacts.weightData;
  const weightsBin = new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: opts.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: [opts.weightsFile ?? 'weights.bin'], weights: artifacts.weightSpecs }],
    ...(metadata ? { userDefinedMetadata: metadata } : {}),
  };
  return { modelJson, weightsBin };
}
