import * as tf from '@tensorflow/tfjs';
import type { DatasetFile } from '../data/datasetFile';
import { filesIOHandler } from './filesIOHandler';
import type { DecodedImage } from './imageDecoder';
import { type ModelCard, validateModelCard } from './modelCard';

/** A loaded, warmed-up, frozen image encoder. */
export interface ImageEncoder {
  readonly card: ModelCard;
  readonly featureSize: number;
  readonly inputSize: { width: number; height: number };
  /** The loaded network itself (shared, not copied): models are built on it, and a fine-tuned top shares its weights. */
  readonly model: tf.LayersModel | tf.GraphModel;
  /**
   * Embeds a batch of RGB images already at the input size, values 0-255 (int32 or
   * float32), shape [N, height, width, 3]. Returns [N, featureSize]; the caller disposes
   * it. The input is not disposed.
   */
  embedPixels(rgb: tf.Tensor4D): tf.Tensor2D;
  /** Embeds decoded images; returns N * featureSize floats, row-major. */
  embed(images: DecodedImage[]): Promise<Float32Array>;
  /** Frees the weights. The encoder cannot be used afterwards. */
  dispose(): void;
}

/** Where the weights come from. */
export type EncoderSource = string | tf.io.IOHandler | DatasetFile[];

export interface LoadEncoderOptions {
  /** Passed to tf.loadLayersModel / tf.loadGraphModel (fetchFunc, onProgress, requestInit…). */
  loadOptions?: tf.io.LoadOptions;
}

/** The model cannot serve as the card's image encoder; the message says why. */
export class EncoderLoadError extends Error {
  override name = 'EncoderLoadError';
}

function describeShape(shape: readonly (number | null | undefined)[] | undefined): string {
  if (!shape) return '[unknown]';
  return `[${shape.map((d) => (d == null || d === -1 ? 'null' : String(d))).join(',')}]`;
}

/** Checks the model input is an NHWC RGB image matching the card's size. */
function checkImageInput(card: ModelCard, shape: readonly (number | null | undefined)[] | undefined): void {
  const isFree = (d: number | null | undefined) => d == null || d === -1;
  if (!shape || shape.length !== 4 || shape[3] !== 3) {
    throw new EncoderLoadError(
      `model input is ${describeShape(shape)}; an image encoder takes [null,H,W,3] (RGB, channels last)`,
    );
  }
  const [, h, w] = shape;
  if ((!isFree(h) && h !== card.inputSize.height) || (!isFree(w) && w !== card.inputSize.width)) {
    throw new EncoderLoadError(
      `model input is ${describeShape(shape)} but card "${card.id}" says ` +
        `${card.inputSize.width}x${card.inputSize.height}; fix the card's inputSize`,
    );
  }
}

function sourceLabel(source: EncoderSource): string {
  if (typeof source === 'string') return source;
  if (Array.isArray(source)) return `${source.length} dropped files`;
  return 'the given IOHandler';
}

async function loadModel(
  card: ModelCard,
  source: EncoderSource,
  options: LoadEncoderOptions,
): Promise<tf.LayersModel | tf.GraphModel> {
  const handler: string | tf.io.IOHandler = Array.isArray(source) ? filesIOHandler(source) : source;
  try {
    return card.format === 'layers'
      ? await tf.loadLayersModel(handler, options.loadOptions)
      : await tf.loadGraphModel(handler, options.loadOptions);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (e instanceof Error && e.name === 'ModelFilesError') throw e;
    throw new EncoderLoadError(`Failed to load ${card.format} model "${card.id}" from ${sourceLabel(source)}: ${msg}`);
  }
}

/** Layers that could serve as a feature output: pooled or flat outputs near the end. */
function featureLayerCandidates(model: tf.LayersModel): string[] {
  const out: string[] = [];
  for (const layer of model.layers) {
    const shape = layer.outputShape as (number | null)[];
    if (!Array.isArray(shape) || Array.isArray(shape[0])) continue;
    const cls = layer.getClassName();
    if (/Pool/.test(cls) || shape.length === 2) out.push(`${layer.name} ${describeShape(shape)}`);
  }
  return out.slice(-8);
}

type Runner = (x: tf.Tensor4D) => tf.Tensor;

function layersRunner(card: ModelCard, model: tf.LayersModel): Runner {
  checkImageInput(card, model.inputs[0]?.shape);
  if (model.inputs.length !== 1) {
    throw new EncoderLoadError(`model has ${model.inputs.length} inputs; an image encoder takes one image input`);
  }
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(card.featureOutput!);
  } catch {
    throw new EncoderLoadError(
      `feature layer "${card.featureOutput}" not found in model "${card.id}"; candidates: ` +
        featureLayerCandidates(model).join(', '),
    );
  }
  const featureModel = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  return (x) => featureModel.predictOnBatch(x) as tf.Tensor;
}

function graphRunner(card: ModelCard, model: tf.GraphModel): Runner {
  checkImageInput(card, model.inputs[0]?.shape);
  let node: string | undefined;
  if (card.featureOutput) {
    const signatureOutputs = (model.modelSignature as { outputs?: Record<string, { name?: string }> })?.outputs;
    const fromSignature = signatureOutputs?.[card.featureOutput]?.name;
    node = fromSignature ? fromSignature.replace(/:0$/, '') : card.featureOutput;
  }
  const inputName = model.inputs[0].name;
  return (x) => {
    try {
      const input = model.inputs.length === 1 ? x : { [inputName]: x };
      const out = node ? model.execute(input, node) : model.execute(input);
      return (Array.isArray(out) ? out[0] : out) as tf.Tensor;
    } catch (e) {
      if (node && /not found|not exist/i.test((e as Error).message)) {
        throw new EncoderLoadError(
          `feature node "${card.featureOutput}" not found in graph model "${card.id}"; outputs: ` +
            model.outputNodes.join(', ') +
            (signatureOutputsKeys(model).length ? `; signature keys: ${signatureOutputsKeys(model).join(', ')}` : ''),
        );
      }
      throw e;
    }
  };
}

function signatureOutputsKeys(model: tf.GraphModel): string[] {
  const outputs = (model.modelSignature as { outputs?: Record<string, unknown> })?.outputs;
  return outputs ? Object.keys(outputs) : [];
}

/** Float 0-255 pixels → the card's normalised range. */
function normalise(card: ModelCard, rgb: tf.Tensor4D): tf.Tensor4D {
  const x = rgb.dtype === 'float32' ? rgb : tf.cast(rgb, 'float32');
  const n = card.normalisation;
  if (n.kind === 'range') {
    return tf.add(tf.mul(x, (n.max - n.min) / 255), n.min);
  }
  const scale = tf.tensor1d(n.std.map((s) => 1 / (255 * s)));
  const offset = tf.tensor1d(n.mean.map((m, i) => -m / n.std[i]));
  return tf.add(tf.mul(x, scale), offset);
}

/**
 * Loads an image encoder described by `card` from a URL, an IOHandler or the files of a
 * dropped model folder, checks that it takes RGB images and yields `card.featureSize`
 * features, and runs one warm-up pass before resolving.
 */
export async function loadEncoder(
  card: ModelCard,
  source: EncoderSource,
  options: LoadEncoderOptions = {},
): Promise<ImageEncoder> {
  validateModelCard(card);
  const model = await loadModel(card, source, options);
  let run: Runner;
  try {
    run = model instanceof tf.GraphModel ? graphRunner(card, model) : layersRunner(card, model as tf.LayersModel);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const { width, height } = card.inputSize;
  const featureSize = card.featureSize;

  const embedPixels = (rgb: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      if (rgb.rank !== 4 || rgb.shape[1] !== height || rgb.shape[2] !== width || rgb.shape[3] !== 3) {
        throw new EncoderLoadError(
          `embedPixels takes [N,${height},${width},3] RGB pixels; got ${describeShape(rgb.shape)}`,
        );
      }
      let y = run(normalise(card, rgb));
      if (y.rank === 4 && card.pooling === 'global-average') y = tf.mean(y, [1, 2]);
      const n = rgb.shape[0];
      if (y.size !== n * featureSize) {
        throw new EncoderLoadError(
          `feature output of "${card.id}" has shape ${describeShape(y.shape)}, which is not ` +
            `${featureSize} features per image` +
            (y.rank === 4 && card.pooling === 'none' ? "; it is spatial: set pooling to 'global-average'" : ''),
        );
      }
      return tf.reshape(y, [n, featureSize]) as tf.Tensor2D;
    });

  // Warm-up: compiles kernels and checks the output size before the encoder is handed out.
  try {
    const warm = tf.tidy(() => embedPixels(tf.zeros([1, height, width, 3]) as tf.Tensor4D));
    await warm.data();
    warm.dispose();
  } catch (e) {
    model.dispose();
    throw e;
  }

  return wrapEncoder(card, featureSize, embedPixels, model);
}

/**
 * The encoder cut at `cutLayer` (a layers model's internal output, e.g. the card's cut):
 * embeds images to their cut maps, flattened [N, h·w·c], for the fine-tuning cache. Shares the
 * encoder's weights; disposing it frees nothing (dispose the encoder).
 */
export function cutEncoder(encoder: ImageEncoder, cutLayer: string): ImageEncoder {
  const model = encoder.model;
  if (!(model instanceof tf.LayersModel)) {
    throw new EncoderLoadError(`encoder "${encoder.card.id}" is not a layers model: it has no layers to cut at`);
  }
  const { card } = encoder;
  let toCut: tf.LayersModel;
  try {
    toCut = tf.model({ inputs: model.inputs, outputs: model.getLayer(cutLayer).output as tf.SymbolicTensor });
  } catch (e) {
    throw new EncoderLoadError(`cannot cut encoder "${card.id}" at "${cutLayer}": ${(e as Error).message}`);
  }
  const shape = toCut.outputs[0].shape.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  const cutCard: ModelCard = { ...card, featureOutput: cutLayer, pooling: 'none', featureSize: size };
  const { width, height } = card.inputSize;
  const embedPixels = (rgb: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      if (rgb.rank !== 4 || rgb.shape[1] !== height || rgb.shape[2] !== width || rgb.shape[3] !== 3) {
        throw new EncoderLoadError(`embedPixels takes [N,${height},${width},3] RGB pixels; got ${describeShape(rgb.shape)}`);
      }
      const y = toCut.predictOnBatch(normalise(card, rgb)) as tf.Tensor;
      return tf.reshape(y, [rgb.shape[0], size]) as tf.Tensor2D;
    });
  return { ...wrapEncoder(cutCard, size, embedPixels, model), dispose() {} };
}

/**
 * The same encoder applied to each image's horizontal mirror: cached flipped views, extra
 * training samples for fine-tuning the top. Shares the encoder; disposing it frees nothing.
 */
export function flippedEncoder(encoder: ImageEncoder): ImageEncoder {
  return viewEncoder(encoder, (rgb) => tf.reverse(rgb, 2) as tf.Tensor4D);
}

/** The same encoder applied to `view(pixels)` (same shape); shares the encoder. */
export function viewEncoder(encoder: ImageEncoder, view: (rgb: tf.Tensor4D) => tf.Tensor4D): ImageEncoder {
  const embedPixels = (rgb: tf.Tensor4D): tf.Tensor2D => tf.tidy(() => encoder.embedPixels(view(rgb)));
  return { ...wrapEncoder(encoder.card, encoder.featureSize, embedPixels, encoder.model), dispose() {} };
}

function wrapEncoder(
  card: ModelCard,
  featureSize: number,
  embedPixels: (rgb: tf.Tensor4D) => tf.Tensor2D,
  model: tf.LayersModel | tf.GraphModel,
): ImageEncoder {
  const { width, height } = card.inputSize;
  let disposed = false;
  return {
    card,
    featureSize,
    inputSize: { width, height },
    model,
    embedPixels(rgb) {
      if (disposed) throw new Error(`encoder "${card.id}" was disposed`);
      return embedPixels(rgb);
    },
    async embed(images) {
      if (disposed) throw new Error(`encoder "${card.id}" was disposed`);
      if (images.length === 0) return new Float32Array(0);
      const pixelCount = width * height * 3;
      const pixels = new Float32Array(images.length * pixelCount);
      images.forEach((img, i) => {
        if (img.width !== width || img.height !== height || img.data.length !== pixelCount) {
          throw new EncoderLoadError(
            `image ${i} is ${img.width}x${img.height} (${img.data.length} bytes); ` +
              `the encoder takes ${width}x${height} RGB (${pixelCount} bytes)`,
          );
        }
        pixels.set(img.data, i * pixelCount);
      });
      const input = tf.tensor4d(pixels, [images.length, height, width, 3], 'float32');
      let out: tf.Tensor2D | undefined;
      try {
        out = embedPixels(input);
        const data = (await out.data()) as Float32Array;
        return data.byteLength === data.buffer.byteLength ? data : data.slice();
      } finally {
        input.dispose();
        out?.dispose();
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
