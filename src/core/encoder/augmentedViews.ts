import * as tf from '@tensorflow/tfjs';
import { type RandomSource, seededRandom } from '../random/randomSource';
import { type ImageEncoder, viewEncoder } from './loadEncoder';

/** How random crops are drawn (fractions of the input image). */
export interface CropRange {
  /** Smallest share of the image's area a crop keeps. Default 0.5. */
  minArea: number;
  /** Aspect ratios (width / height, drawn log-uniform) between 1/maxAspect and maxAspect. Default 4/3. */
  maxAspect: number;
}

const DEFAULT_CROPS: CropRange = { minArea: 0.5, maxAspect: 4 / 3 };

/** One random view: a crop box [y1, x1, y2, x2] in [0, 1] and whether it is mirrored. */
export interface RandomView {
  box: [number, number, number, number];
  flip: boolean;
}

/**
 * A random-resized-crop view as in Inception-style training: area share in [minArea, 1],
 * log-uniform aspect ratio, position uniform, mirrored half the time. Crops never leave the image.
 */
export function drawView(random: RandomSource, range: CropRange = DEFAULT_CROPS): RandomView {
  const area = range.minArea + (1 - range.minArea) * random.nextFloat();
  const logAspect = Math.log(range.maxAspect) * (2 * random.nextFloat() - 1);
  const aspect = Math.exp(logAspect);
  const w = Math.min(1, Math.sqrt(area * aspect));
  const h = Math.min(1, Math.sqrt(area / aspect));
  const x1 = (1 - w) * random.nextFloat();
  const y1 = (1 - h) * random.nextFloat();
  return { box: [y1, x1, y1 + h, x1 + w], flip: random.nextFloat() < 0.5 };
}

/**
 * The encoder applied to a random view of each image (crop, resized back to the input size,
 * mirrored half the time), drawn from its own seeded generator in the order images arrive:
 * cached augmented views at the cut, extra variety for fine-tuning the top. Shares the encoder.
 */
export function augmentedEncoder(encoder: ImageEncoder, seed: number, range: CropRange = DEFAULT_CROPS): ImageEncoder {
  const random = seededRandom(seed);
  const { width, height } = encoder.inputSize;
  return viewEncoder(encoder, (rgb) =>
    tf.tidy(() => {
      const n = rgb.shape[0];
      const views = Array.from({ length: n }, () => drawView(random, range));
      const boxes = tf.tensor2d(views.map((v) => v.box), [n, 4]);
      const cropped = tf.image.cropAndResize(rgb.toFloat(), boxes, tf.range(0, n, 1, 'int32') as tf.Tensor1D, [height, width], 'bilinear');
      const mirrored = tf.tensor4d(views.map((v) => (v.flip ? 1 : 0)), [n, 1, 1, 1]).greater(0.5);
      return tf.where(tf.broadcastTo(mirrored, cropped.shape), tf.reverse(cropped, 2), cropped) as tf.Tensor4D;
    }),
  );
}
