/**
 * A fine-tuned run's "tuned features": the vector its head reads, top(cut map), computed from
 * cached cut maps with the run's stored top weights. The search, the map, the head's metrics
 * and the tuned exports of a fine-tuned run apply the head to these, not to the frozen pooled
 * embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '../train/heads';
import { assignTopWeights, EncoderTopError, type EncoderTop } from './encoderTop';

/**
 * Writes a run's top weights (under the encoder's names, `layer/weight`) into a rebuilt top.
 * Every weight of the top must be given, with its shape: a partial set would mix the
 * pretrained and the tuned model without saying so.
 */
export function setTopWeights(top: EncoderTop, weights: NamedWeights): void {
  const missing = top.weights.filter((w) => !weights[w.name]).map((w) => w.name);
  if (missing.length) throw new EncoderTopError(`the run's top has no weight ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` (and ${missing.length - 3} more)` : ''}`);
  const known = new Set(top.weights.map((w) => w.name));
  const extra = Object.keys(weights).filter((n) => !known.has(n));
  if (extra.length) throw new EncoderTopError(`the run's top has a weight "${extra[0]}" that this encoder's top (from ${top.cutLayer}) does not have`);
  // the top's layers are the encoder's: the encoder's writer checks each shape and writes
  assignTopWeights(top.model, weights);
}

export interface TunedFeatureOptions {
  /** Rows per forward pass (memory stays bounded). Default 64. */
  batchSize?: number;
  signal?: AbortSignal;
  /** After each batch: its first row, its row count, and its features (rows of featureSize). */
  onBatch?: (start: number, rows: number, features: Float32Array) => void | Promise<void>;
}

/**
 * top(cut map) in eval mode for rows of h·w·c values (`top.cutShape`), batch by batch; the
 * signal is checked between batches (what `onBatch` received is kept by its caller).
 */
export async function tunedFeatures(top: EncoderTop, maps: Float32Array, opts: TunedFeatureOptions = {}): Promise<Float32Array> {
  const size = top.cutShape.reduce((a, b) => a * b, 1);
  if (maps.length % size !== 0) throw new Error(`${maps.length} values do not make cut maps of ${top.cutShape.join('×')}`);
  const n = maps.length / size;
  const batch = Math.max(1, opts.batchSize ?? 64);
  const out = new Float32Array(n * top.featureSize);
  for (let start = 0; start < n; start += batch) {
    opts.signal?.throwIfAborted();
    const rows = Math.min(batch, n - start);
    const y = tf.tidy(() => top.apply(tf.tensor4d(maps.subarray(start * size, (start + rows) * size), [rows, ...top.cutShape]), false));
    let values: Float32Array;
    try {
      values = (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
    out.set(values, start * top.featureSize);
    await opts.onBatch?.(start, rows, values);
  }
  return out;
}
