import * as tf from '@tensorflow/tfjs';
import { sampleIndices } from '../random/randomSource';
import { l2NormalisedRows, squaredNorms } from './select';

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

/** Labelled embeddings as values (row-major) or as a [N, dim] tensor already on the backend. */
export type Embeddings = Float32Array | tf.Tensor;

/** Below every finite similarity but above the excluded query itself (-Infinity). */
const NAN_SIMILARITY = -3.4028234663852886e38;

/**
 * Retrieval metrics of labelled embeddings (`labels.length` rows of `dim`). Every item (or a
 * seeded sample of `queryCount` items) is a query against all other items; the R_q =
 * (items sharing its label) - 1 nearest are retrieved, ties broken by lower index.
 *
 * Everything heavy runs on the active tfjs backend, in blocks of queries: the similarities
 * (tf.matMul; cosine on L2-normalised rows, euclidean as 2 q.g - |g|^2, which orders like the
 * distance) and the nearest max R_q of each query (tf.topk, which breaks ties by lower
 * index). Only each block's nearest indices (queries x max R_q) are read back, asynchronously,
 * so this also works where a synchronous read cannot (WebGPU); their labels are compared here
 * (on WASM a broadcasting Equal and Less cost more than the read).
 *
 * Values are normalised here on the CPU exactly as before; a tensor is normalised on the
 * backend (float32, so a near-tie may order differently than from the same values).
 */
export async function retrievalMetrics(
  embeddings: Embeddings,
  dim: number,
  labels: Int32Array,
  opts: RetrievalMetricsOptions = {},
): Promise<RetrievalMetrics> {
  const distance = opts.distance ?? 'cosine';
  if (distance !== 'cosine' && distance !== 'euclidean') {
    throw new Error(`retrievalMetrics: unknown distance '${String(distance)}'`);
  }
  const n = labels.length;
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`retrievalMetrics: bad dim ${dim}`);
  if (embeddings instanceof Float32Array) {
    if (embeddings.length !== n * dim) {
      throw new Error(`retrievalMetrics: ${embeddings.length} values do not make ${n} rows of ${dim}`);
    }
  } else if (embeddings.rank !== 2 || embeddings.shape[0] !== n || embeddings.shape[1] !== dim) {
    throw new Error(`retrievalMetrics: a tensor of shape [${embeddings.shape.join(', ')}] is not ${n} rows of ${dim}`);
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
  let k = 0;
  const nCand = candidates ? candidates.length : n;
  for (let c = 0; c < nCand; c++) {
    const q = candidates ? candidates[c] : c;
    const size = classSize.get(labels[q]) ?? 0;
    if (size > 1) {
      queries.push(q);
      k = Math.max(k, size - 1);
    } else skipped++;
  }

  if (queries.length === 0) {
    return { rPrecision: NaN, rPrecisionMacro: NaN, precisionAt1: NaN, mapAtR: NaN, queryCount: 0, skippedQueries: skipped };
  }

  const blockSize = Math.max(1, Math.floor(opts.blockSize ?? queryBlockSize(n)));

  const prepared = prepareGallery(embeddings, n, dim, distance);
  // every item a query, in order (the exact evaluation): the similarity matrix is symmetric
  const symmetric = queries.length === n && halvesExactEvaluation(n) ? symmetricDots(prepared, blockSize) : null;
  const mayBeNaN = await similaritiesMayBeNaN(prepared);
  let sumHits = 0;
  let sumR = 0;
  let sumRatio = 0;
  let sumP1 = 0;
  let sumAp = 0;
  try {
    for (let start = 0; start < queries.length; start += blockSize) {
      const b = Math.min(blockSize, queries.length - start);
      const block = Int32Array.from(queries.slice(start, start + b));
      const ranks = Int32Array.from(block, (q) => (classSize.get(labels[q]) as number) - 1);
      const nearestT = blockNearest(prepared, block, k, mayBeNaN, symmetric ? () => symmetric.dots(start / blockSize) : null);
      let nearest: Int32Array;
      try {
        nearest = (await nearestT.data()) as Int32Array;
      } finally {
        nearestT.dispose();
      }
      for (let r = 0; r < b; r++) {
        const R = ranks[r];
        const o = r * k;
        const label = labels[block[r]];
        let hits = 0;
        let ap = 0;
        for (let i = 0; i < R; i++) {
          if (labels[nearest[o + i]] === label) {
            hits++;
            ap += hits / (i + 1);
          }
        }
        sumHits += hits;
        sumR += R;
        sumRatio += hits / R;
        sumAp += ap / R;
        if (labels[nearest[o]] === label) sumP1++;
      }
    }
  } finally {
    tf.dispose([prepared.rows, prepared.transposed]);
    symmetric?.dispose();
    if (prepared.squaredNorms) prepared.squaredNorms.dispose();
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

/** The default queries per block over `n` items: about 4M similarities held at a time. */
export function queryBlockSize(n: number): number {
  return Math.max(1, Math.min(2048, Math.floor(4_000_000 / n)));
}

interface PreparedGallery {
  /** N x dim: L2-normalised rows (cosine) or the embeddings (euclidean). */
  rows: tf.Tensor2D;
  /** dim x N: on WASM a plain matMul is ~10x faster than one with transposeB. */
  transposed: tf.Tensor2D;
  /** 1 x N squared norms (euclidean only). */
  squaredNorms: tf.Tensor2D | null;
}

function prepareGallery(embeddings: Embeddings, n: number, dim: number, distance: Distance): PreparedGallery {
  const [rows, transposed, squared] = tf.tidy(() => {
    let rows: tf.Tensor2D;
    let squared: tf.Tensor2D | null = null;
    if (embeddings instanceof Float32Array) {
      rows = tf.tensor2d(distance === 'cosine' ? l2NormalisedRows(embeddings, dim) : embeddings, [n, dim]);
      if (distance === 'euclidean') squared = tf.tensor2d(Float32Array.from(squaredNorms(embeddings, dim)), [1, n]);
    } else {
      const x = tf.cast(embeddings, 'float32') as tf.Tensor2D;
      const norms = tf.sum(tf.square(x), 1, true);
      if (distance === 'cosine') {
        // zero rows stay zero, as l2NormalisedRows does. The condition is spread to [N, dim] by
        // an Add (norms + 0, the same comparisons): tf.where would broadcast it with a Tile,
        // ~0.6 s for 4,116 x 1,280 on WASM
        const zeros = tf.zerosLike(x);
        rows = tf.where(tf.greater(tf.add(zeros, norms), 0), tf.div(x, tf.sqrt(norms)), zeros) as tf.Tensor2D;
      } else {
        rows = x;
        squared = tf.reshape(norms, [1, n]);
      }
    }
    return squared ? [rows, tf.transpose(rows), squared] : [rows, tf.transpose(rows)];
  });
  return { rows, transposed, squaredNorms: squared ?? null };
}

/**
 * For each query of the block, the indices of its k nearest other items, nearest first (b x k;
 * the caller counts the first R_q). Its rows are sliced when the block is a run of consecutive
 * items (every exact evaluation): WASM's gather takes ~75 ms for 971 rows of 1,280. `dots`,
 * when given, makes the block's dot products with the query itself already at -Infinity.
 */
function blockNearest(
  g: PreparedGallery,
  block: Int32Array,
  k: number,
  mayBeNaN: boolean,
  dots: (() => tf.Tensor2D) | null,
): tf.Tensor {
  return tf.tidy(() => {
    const n = g.rows.shape[0];
    const q = tf.tensor1d(block, 'int32');
    const consecutive = block.every((v, i) => v === block[0] + i);
    let sims = dots ? dots() : tf.matMul(consecutive ? tf.slice(g.rows, block[0], block.length) : tf.gather(g.rows, q), g.transposed);
    if (g.squaredNorms) sims = tf.sub(tf.mul(sims, 2), g.squaredNorms);
    // a NaN similarity ranks last; the query itself never (below everything). The two orders
    // agree: a query's own NaN ends at -Infinity either way
    if (mayBeNaN) sims = tf.where(tf.isNaN(sims), tf.fill(sims.shape, NAN_SIMILARITY), sims);
    if (!dots) sims = tf.where(tf.cast(tf.oneHot(q, n), 'bool'), tf.fill(sims.shape, -Infinity), sims);
    return tf.topk(sims, k, true).indices;
  });
}

/**
 * False when no similarity can be NaN, so that replacing NaNs changes nothing and is skipped
 * (a [block, N] select, ~24 ms a block on WASM): every gallery value finite, and for euclidean
 * every squared norm below 1e37, which bounds every 2 q·g − |g|² far below float32's max
 * (|q·g| ≤ max |x|²; cosine rows have norm 1 or 0). One value read back.
 */
async function similaritiesMayBeNaN(g: PreparedGallery): Promise<boolean> {
  // x · 0 is NaN exactly where x is not finite, and a sum with a NaN is NaN
  const check = tf.tidy(() => {
    const finite = tf.sum(tf.mul(g.rows, 0));
    return g.squaredNorms ? tf.stack([finite, tf.max(g.squaredNorms), tf.sum(tf.mul(g.squaredNorms, 0))]) : tf.reshape(finite, [1]);
  });
  try {
    const [rowsZero, maxSquaredNorm, normsZero] = Array.from((await check.data()) as Float32Array);
    if (rowsZero !== 0) return true;
    return g.squaredNorms !== null && !(normsZero === 0 && maxSquaredNorm < 1e37);
  } finally {
    check.dispose();
  }
}

/**
 * Whether an exact evaluation of `n` items computes only half the similarity matrix
 * (`symmetricDots`): the pieces it keeps for later blocks, about n²/2 floats, stay within
 * 64 MB (n up to about 5,600).
 */
export function halvesExactEvaluation(n: number): boolean {
  return n * n <= 32_000_000;
}

/**
 * The dot products of query block i (items i·blockSize onward, every item a query, in order)
 * with every item, computed only against its own and later blocks: the piece against an
 * earlier block j is the transpose of the one block j computed against block i, the same
 * products summed in the same order, so the same values. About halves an exact evaluation's
 * matMul work, which is most of its time (bench:train-vs-torch). The pieces for later blocks
 * are kept until those blocks take them. The queries' own entries come at -Infinity. Call
 * `dots` for each block in order, inside a tidy.
 */
function symmetricDots(g: PreparedGallery, blockSize: number): { dots(i: number): tf.Tensor2D; dispose(): void } {
  const n = g.rows.shape[0];
  const blocks = Math.ceil(n / blockSize);
  const size = (j: number) => Math.min(blockSize, n - j * blockSize);
  const rowBlocks = Array.from({ length: blocks }, (_, j) => tf.slice(g.rows, j * blockSize, size(j)) as tf.Tensor2D);
  // each block of gallery columns its own tensor, so the matMul packs each once
  const columns = rowBlocks.map((r) => tf.transpose(r));
  const waiting = new Map<number, tf.Tensor2D>();
  return {
    dots(i: number): tf.Tensor2D {
      const rows = rowBlocks[i];
      const pieces: tf.Tensor2D[] = [];
      for (let j = 0; j < blocks; j++) {
        if (j < i) {
          const earlier = waiting.get(j * blocks + i)!;
          waiting.delete(j * blocks + i);
          pieces.push(tf.transpose(earlier));
          earlier.dispose();
        } else {
          const piece = tf.matMul(rows, columns[j]) as tf.Tensor2D;
          if (j > i) waiting.set(i * blocks + j, tf.keep(piece));
          // the queries themselves, on this piece's diagonal, rank below everything
          const b = size(i);
          pieces.push(j > i ? piece : (tf.where(tf.cast(tf.eye(b), 'bool'), tf.fill([b, b], -Infinity), piece) as tf.Tensor2D));
        }
      }
      return pieces.length === 1 ? pieces[0] : (tf.concat(pieces, 1) as tf.Tensor2D);
    },
    dispose() {
      tf.dispose([...rowBlocks, ...columns, ...waiting.values()]);
    },
  };
}
