import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { augmentedEncoder, drawView } from '../../../src/core/encoder/augmentedViews';
import type { ImageEncoder } from '../../../src/core/encoder/loadEncoder';
import { seededRandom } from '../../../src/core/random/randomSource';

/** An "encoder" that returns its (float) pixels: what the views do to an image is then visible. */
function pixelsOut(width: number, height: number): ImageEncoder {
  const identity = { card: { id: 'pixels', inputSize: { width, height } }, featureSize: width * height * 3, inputSize: { width, height }, model: null, embedPixels: (rgb: tf.Tensor4D) => tf.reshape(tf.cast(rgb, 'float32'), [rgb.shape[0], -1]) };
  return identity as unknown as ImageEncoder;
}

describe('random views for fine-tuning the top', () => {
  it('draws crops inside the image, of at least half its area, mirrored about half the time, the same for the same seed', () => {
    const random = seededRandom(7);
    const views = Array.from({ length: 2000 }, () => drawView(random));
    for (const { box } of views) {
      const [y1, x1, y2, x2] = box;
      expect(y1).toBeGreaterThanOrEqual(0);
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(y2).toBeLessThanOrEqual(1 + 1e-12);
      expect(x2).toBeLessThanOrEqual(1 + 1e-12);
      expect((y2 - y1) * (x2 - x1)).toBeGreaterThanOrEqual(0.5 - 1e-9);
    }
    const mirrored = views.filter((v) => v.flip).length / views.length;
    expect(mirrored).toBeGreaterThan(0.45);
    expect(mirrored).toBeLessThan(0.55);
    const again = seededRandom(7);
    expect(Array.from({ length: 5 }, () => drawView(again))).toEqual(views.slice(0, 5));
  });

  it('feeds the encoder the crop resized back to the input size, mirrored when drawn so', () => {
    const [w, h] = [8, 6];
    // a horizontal ramp: column x has value 10·x in every channel
    const ramp = tf.tidy(() => tf.tile(tf.reshape(tf.range(0, w).mul(10), [1, 1, w, 1]), [2, h, 1, 3])) as tf.Tensor4D;
    const out = augmentedEncoder(pixelsOut(w, h), 3).embedPixels(ramp);
    const values = out.arraySync() as number[][];
    const random = seededRandom(3);
    for (let i = 0; i < 2; i++) {
      const { box, flip } = drawView(random);
      const row = values[i];
      const first = row[0];
      const last = row[(w - 1) * 3];
      // the crop's left and right edges, in the ramp's values
      const [left, right] = [box[1] * (w - 1) * 10, box[3] * (w - 1) * 10];
      expect(flip ? last : first).toBeCloseTo(left, 3);
      expect(flip ? first : last).toBeCloseTo(right, 3);
    }
    tf.dispose([ramp, out]);
  });
});
