import * as tf from '@tensorflow/tfjs';
import { sampleIndices } from '../random/randomSource';
import { l2NormalisedRows, smallestK, squaredNorms } from './select';

export type Distance = 'cosine' | 'euclidean';

export interface RetrievalMetricsOptions {
  /** Default 'cosine' (the reference's). */
  distance?: Distance;
  /**
   * Evaluate only this many queries, drawn at random without replacement from all items
   * (like the reference's GroupSampler), each against the whole set with itself excluded.
   * Omit (or >= N) for the exact metric over every item.
   */
  queryCount?: number;
  /** Seed of the query sample (default 0). */
  seed?: number;
  /** Queries per block: blockSize x N similarities are held at a time (default ~4M floats). */
  blockSize?: number;
}

export interface RetrievalMetrics {
  /** Micro R-Precision, sum(r_q) / sum(R_q): the reference's RetrievalRPrecision. */
  rPrecision: number;
  /** Macro R-Precision, mean of r_q / R_q (pytorch-metric-learning's definition). */
  rPrecisionMacro: number;
  /** Fraction of queries whose nearest other item shares their label (= Recall@1). */
  precisionAt1: number;
  /** Mean average precision at R (MAP@R, Musgrave et al.). */
  mapAtR: number;
  /** Queries evaluated (R_q > 0). */
  queryCount: number;
  /** Queries skipped because no other item has their label (they stay in the gallery). */
  skippedQueries: number;
}

/**
 * Retrieval metrics of labelled embeddings (row-major `labels.length x dim`). Every item
 * (or a seeded sample of `queryCount` items) is a query against all other items; the
 * R_q = (items sharing its label) - 1 nearest are retrieved, ties broken by lower index.
 *
 * Similarities are computed with tf.matMul in blocks of queries (cosine: on L2-normalised
 * rows; euclidean: |g|^2 - 2 q.g, which orders like the distance), then each row's R_q
 * nearest are selected in O(N) and only those are sorted. Synchronous (uses dataSync) and
 * works on whichever tfjs backend is active.
 */
export function retrievalMetrics(
  embeddings: Float32Array,
  dim: number,
  labels: Int32Array,
  opts: RetrievalMetricsOptions = {},
): RetrievalMetrics {
  const distance = opts.distance ?? 'cosine';
  if (distance !== 'cosine' && distance !== 'euclidean') {
    throw new Error(`retrievalMetrics: unknown distance '${String(distance)}'`);
  }
  const n = labels.length;
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`retrievalMetrics: bad dim ${dim}`);
  if (embeddings.length !== n * dim) {
    throw new Error(
      `retrievalMetrics: ${embeddings.length} values do not make ${n} rows of ${dim}`,
    );
  }

  const classSize = new Map<number, number>();
  for (let i = 0; i < n; i++) classSize.set(labels[i], (classSize.get(labels[i]) ?? 0) + 1);

  // Queries: all items, or a seeded sample; then drop those without any positive.
  const candidates =
    opts.queryCount !== undefined && opts.queryCount < n
      ? sampleIndices(n, Math.max(0, Math.floor(opts.queryCount)), opts.seed ?? 0)
      : null;
  const queries: number[] = [];
  let skipped = 0;
  const nCand = candidates ? candidates.length : n;
  for (let c = 0; c < nCand; c++) {
    const q = candidates ? candidates[c] : c;
    if ((classSize.get(labels[q]) ?? 0) > 1) queries.push(q);
    else skipped++;
  }

  const empty: RetrievalMetrics = {
    rPrecision: NaN,
    rPrecisionMacro: NaN,
    precisionAt1: NaN,
    mapAtR: NaN,
    queryCount: 0,
    skippedQueries: skipped,
  };
  if (queries.length === 0) return empty;

  const gallery = distance === 'cosine' ? l2NormalisedRows(embeddings, dim) : embeddings;
  const sq = distance === 'euclidean' ? squaredNorms(embeddings, dim) : null;

  const blockSize = Math.max(
    1,
    Math.floor(opts.blockSize ?? Math.max(1, Math.min(2048, Math.floor(4_000_000 / n)))),
  );

  let sumHits = 0;
  let sumR = 0;
  let sumRatio = 0;
  let sumP1 = 0;
  let sumAp = 0;
  const keys = new Float64Array(n);
  const scratch = new Float64Array(n);

  // Gallery held transposed (dim x N): on WASM a plain matMul is ~10x faster than transposeB.
  const galleryT = tf.tidy(() => tf.transpose(tf.tensor2d(gallery, [n, dim])));
  try {
    for (let start = 0; start < queries.length; start += blockSize) {
      const b = Math.min(blockSize, queries.length - start);
      const qData = new Float32Array(b * dim);
      for (let r = 0; r < b; r++) {
        const q = queries[start + r];
        qData.set(gallery.subarray(q * dim, (q + 1) * dim), r * dim);
      }
      const sims = tf.tidy(() => tf.matMul(tf.tensor2d(qData, [b, dim]), galleryT));
      let s: Float32Array;
      try {
        s = sims.dataSync() as Float32Array;
      } finally {
        sims.dispose();
      }
      for (let r = 0; r < b; r++) {
        const q = queries[start + r];
        const o = r * n;
        if (sq) {
          for (let j = 0; j < n; j++) {
            const v = sq[j] - 2 * s[o + j];
            keys[j] = v === v ? v : Infinity;
          }
        } else {
          for (let j = 0; j < n; j++) {
            const v = -s[o + j];
            keys[j] = v === v ? v : Infinity;
          }
        }
        const label = labels[q];
        const R = (classSize.get(label) as number) - 1;
        const nearest = smallestK(keys, n, R, q, scratch);
        let hits = 0;
        let ap = 0;
        for (let i = 0; i < nearest.length; i++) {
          if (labels[nearest[i]] === label) {
            hits++;
            ap += hits / (i + 1);
          }
        }
        sumHits += hits;
        sumR += R;
        sumRatio += hits / R;
        sumAp += ap / R;
        if (labels[nearest[0]] === label) sumP1++;
      }
    }
  } finally {
    galleryT.dispose();
  }

  const m = queries.length;
  return {
    rPrecision: sumHits / sumR,
    rPrecisionMacro: sumRatio / m,
    precisionAt1: sumP1 / m,
    mapAtR: sumAp / m,
    queryCount: m,
    skippedQueries: skipped,
  };
}
