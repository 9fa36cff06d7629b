import * as tf from '@tensorflow/tfjs';
import { distanceMatrix, type DistanceName } from './distances';

/** Online triplet mining strategies (reference.md, "TripletLoss"). */
export type Mining = 'hard' | 'all' | 'semi_hard';

export interface TripletLossOptions {
  /** Margin. Default 0.5 (the recipe's). */
  margin?: number;
  /** Mining strategy. Default 'hard'. */
  mining?: Mining;
  /** Distance. Default 'cosine'. */
  distance?: DistanceName;
  /** Batch-hard only: softplus(dp - dn) instead of the scaled, margined ReLU. Default false. */
  soft?: boolean;
}

/**
 * Triplet loss with online mining over one batch, differentiable with respect to
 * `embeddings` (use it inside `optimizer.minimize` / `tf.grad`).
 *
 * - `hard` (batch-hard), as the reference code: for each anchor i, `dp_i` = the largest
 *   distance to a same-label item (0 if none), `dn_i` = the smallest distance to an
 *   other-label item (the reference's "add the row max to non-negatives, take the min"),
 *   `mean_i relu((dp_i - dn_i) / mean(dn) + margin)`; with `soft`, `mean_i softplus(dp_i - dn_i)`
 *   (the reference ignores margin and the mean(dn) scale there, and so do we).
 * - `all` (batch-all): the mean of `relu(D_ap - D_an + margin)` over the valid triplets
 *   (distinct a, p, n; label a = label p != label n) whose loss is > 1e-16. The reference
 *   builds the n×n×n tensor (34 GB at n = 2048). Here the distance matrix is read to the CPU,
 *   and for every anchor the negative and positive distances are sorted, so a binary search
 *   gives for each (a,p) the number c_ap of active negatives, and for each (a,n) the number c_an
 *   of active positives. Then, exactly,
 *     sum of active losses = Σ c_ap (D_ap + margin) − Σ c_an D_an,
 *   so the loss is `(Σ W ⊙ D + margin T) / (T + 1e-16)` with a constant integer matrix W
 *   (c_ap on positive pairs, −c_an on negative pairs) and T = Σ c_ap active triplets: the same
 *   value and gradient in O(n²) memory and O(n² log n) time. The activity test is done in
 *   float32 arithmetic (Math.fround), as the reference's.
 * - `semi_hard`: the per-anchor rule of reference.md (FaceNet / TF-Addons): for each positive
 *   pair (a,p), the negative with the smallest D_an greater than D_ap; if there is none, the
 *   negative with the largest D_an; loss `relu(D_ap - D_an + margin)` averaged over the positive
 *   pairs (of anchors that have a negative). Triplets are chosen on the CPU and the loss is
 *   built as constant weights times the distance matrix, so autodiff works on every backend. NOTE: this deliberately differs from the reference library's code,
 *   which pairs every positive distance of the batch with every negative distance of the batch
 *   (not per anchor) and clamps each term to [0, margin]; its values are not comparable.
 *
 * `labels[i]` is the class of row i. Returns a scalar the caller disposes; intermediate tensors
 * are freed. Cost: one n×n distance matrix plus a few n×n masks; `all` and `semi_hard` also read
 * the distance matrix back to the CPU (a synchronous `dataSync`).
 */
export function tripletLoss(
  embeddings: tf.Tensor2D,
  labels: Int32Array,
  opts: TripletLossOptions = {},
): tf.Scalar {
  const margin = opts.margin ?? 0.5;
  const mining = opts.mining ?? 'hard';
  const distance = opts.distance ?? 'cosine';
  const soft = opts.soft ?? false;
  const n = embeddings.shape[0];
  if (labels.length !== n) {
    throw new Error(`tripletLoss: ${n} embeddings but ${labels.length} labels`);
  }
  if (!Number.isFinite(margin) || margin < 0) {
    throw new Error(`tripletLoss: margin must be a finite number ≥ 0, got ${margin}`);
  }
  return tf.tidy(() => {
    const d = distanceMatrix(embeddings, distance);
    switch (mining) {
      case 'hard':
        return batchHard(d, labels, margin, soft);
      case 'all':
        return batchAll(d, labels, margin);
      case 'semi_hard':
        return semiHard(d, labels, margin);
      default:
        throw new Error(`tripletLoss: mining must be 'hard', 'all' or 'semi_hard', got ${String(mining)}`);
    }
  });
}

/** Anchor-positive (same label, i != j) and anchor-negative (other label) masks, n×n. */
function pairMasks(labels: Int32Array): { positive: Float32Array; negative: Float32Array } {
  const n = labels.length;
  const positive = new Float32Array(n * n);
  const negative = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const li = labels[i];
    const row = i * n;
    for (let j = 0; j < n; j++) {
      if (labels[j] === li) {
        if (j !== i) positive[row + j] = 1;
      } else {
        negative[row + j] = 1;
      }
    }
  }
  return { positive, negative };
}

/** Sum of `values` at the single index per row given by `indices` (gradient to that entry only). */
function pickPerRow(values: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor1D {
  const n = values.shape[1];
  const oneHot = tf.cast(tf.oneHot(indices, n), 'float32');
  return tf.sum(tf.mul(values, oneHot), 1) as tf.Tensor1D;
}

/**
 * `tf.max(d, 1, true)` with tf.max's own gradient (dy where an entry equals its row's max),
 * the equality taken between two [n, n] tensors: WASM's Equal broadcasts [n, n] against
 * [n, 1] element by element, ~25 ms a step at n = 256 against under 1 ms.
 */
const rowMaxKeepDims = tf.customGrad(((d: tf.Tensor, save: tf.GradSaveFunc) => {
  const y = tf.max(d, 1, true);
  save([d, y]);
  return {
    value: y,
    // y + 0 spread to [n, n] by an Add, which broadcasts fast (tf.tile is ~6 ms here); it
    // equals exactly where y does (-0 turning +0 changes no equality)
    gradFunc: (dy: tf.Tensor, [sd, sy]: tf.Tensor[]) => tf.mul(dy, tf.cast(tf.equal(sd, tf.add(tf.zerosLike(sd), sy)), dy.dtype)),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (d: tf.Tensor2D) => tf.Tensor2D;

function batchHard(d: tf.Tensor2D, labels: Int32Array, margin: number, soft: boolean): tf.Scalar {
  const n = labels.length;
  const masks = pairMasks(labels);
  const positiveMask = tf.tensor2d(masks.positive, [n, n]);
  const negativeMask = tf.tensor2d(masks.negative, [n, n]);
  // hardest positive: max over (mask * D); invalid pairs are 0, so 0 when there is none
  const positiveDists = tf.mul(positiveMask, d) as tf.Tensor2D;
  const hardestPositive = pickPerRow(positiveDists, tf.argMax(positiveDists, 1) as tf.Tensor1D);
  // hardest negative: the reference adds each row's max to the non-negatives, then takes the min
  const rowMax = rowMaxKeepDims(d);
  const negativeDists = tf.add(d, tf.mul(rowMax, tf.sub(1, negativeMask))) as tf.Tensor2D;
  const hardestNegative = pickPerRow(negativeDists, tf.argMin(negativeDists, 1) as tf.Tensor1D);
  const gap = tf.sub(hardestPositive, hardestNegative);
  const perAnchor = soft
    ? tf.softplus(gap)
    : tf.relu(tf.add(tf.div(gap, tf.mean(hardestNegative)), margin));
  return tf.mean(perAnchor) as tf.Scalar;
}

/** Classes' member lists: for each anchor, the indices with its label and those without. */
function groupIndices(labels: Int32Array): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups.get(labels[i]);
    if (g) g.push(i);
    else groups.set(labels[i], [i]);
  }
  return groups;
}

/**
 * For batch-all: the constant weight matrix W (c_ap on positive pairs, −c_an on negative pairs)
 * and T, the number of active triplets. Exposed for tests.
 */
export function batchAllWeights(
  dist: Float32Array,
  labels: Int32Array,
  margin: number,
): { weights: Float32Array; activeTriplets: number } {
  const n = labels.length;
  const m = Math.fround(margin);
  const weights = new Float32Array(n * n);
  const groups = groupIndices(labels);
  // active(ap, an): float32 relu(D_ap - D_an + margin) > 1e-16, as the reference computes it;
  // monotone decreasing in D_an and increasing in D_ap, so sorted lists + binary search work.
  const active = (ap: number, an: number): boolean => Math.fround(Math.fround(ap - an) + m) > 1e-16;
  let total = 0;
  const negValues = new Float32Array(n);
  const posValues = new Float32Array(n);
  for (let a = 0; a < n; a++) {
    const row = a * n;
    const members = groups.get(labels[a])!;
    let nc = 0;
    for (let j = 0; j < n; j++) if (labels[j] !== labels[a]) negValues[nc++] = dist[row + j];
    let pc = 0;
    for (const j of members) if (j !== a) posValues[pc++] = dist[row + j];
    if (nc === 0 || pc === 0) continue;
    const negSorted = negValues.subarray(0, nc).sort();
    const posSorted = posValues.subarray(0, pc).sort();
    for (const p of members) {
      if (p === a) continue;
      const ap = dist[row + p];
      // number of negatives (a prefix of the ascending list) that are active with ap
      let lo = 0;
      let hi = nc;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (active(ap, negSorted[mid])) lo = mid + 1;
        else hi = mid;
      }
      weights[row + p] = lo;
      total += lo;
    }
    for (let j = 0; j < n; j++) {
      if (labels[j] === labels[a]) continue;
      const an = dist[row + j];
      // number of positives (a suffix of the ascending list) that are active with an
      let lo = 0;
      let hi = pc;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (active(posSorted[mid], an)) hi = mid;
        else lo = mid + 1;
      }
      weights[row + j] = -(pc - lo);
    }
  }
  return { weights, activeTriplets: total };
}

function batchAll(d: tf.Tensor2D, labels: Int32Array, margin: number): tf.Scalar {
  const n = labels.length;
  const { weights, activeTriplets } = batchAllWeights(d.dataSync() as Float32Array, labels, margin);
  const w = tf.tensor2d(weights, [n, n]);
  const sum = tf.add(tf.sum(tf.mul(w, d)), margin * activeTriplets);
  return tf.div(sum, activeTriplets + 1e-16) as tf.Scalar;
}

/** For semi-hard: the chosen (anchor·n + positive, anchor·n + negative) flat index pairs. */
export function semiHardTriplets(
  dist: Float32Array,
  labels: Int32Array,
): { positiveIndex: Int32Array; negativeIndex: Int32Array } {
  const n = labels.length;
  const groups = groupIndices(labels);
  const pos: number[] = [];
  const neg: number[] = [];
  const order: number[] = [];
  for (let a = 0; a < n; a++) {
    const row = a * n;
    order.length = 0;
    for (let j = 0; j < n; j++) if (labels[j] !== labels[a]) order.push(j);
    if (order.length === 0) continue;
    order.sort((x, y) => dist[row + x] - dist[row + y]);
    for (const p of groups.get(labels[a])!) {
      if (p === a) continue;
      const ap = dist[row + p];
      // first negative with D_an > D_ap
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (dist[row + order[mid]] > ap) hi = mid;
        else lo = mid + 1;
      }
      const chosen = lo < order.length ? order[lo] : order[order.length - 1];
      pos.push(row + p);
      neg.push(row + chosen);
    }
  }
  return { positiveIndex: Int32Array.from(pos), negativeIndex: Int32Array.from(neg) };
}

function semiHard(d: tf.Tensor2D, labels: Int32Array, margin: number): tf.Scalar {
  const n = labels.length;
  const dist = d.dataSync() as Float32Array;
  const { positiveIndex, negativeIndex } = semiHardTriplets(dist, labels);
  // Like batch-all, the loss is written as a constant weight matrix times D: +1 on the
  // positive and -1 on the chosen negative of every active triplet. Same value and gradient
  // as gathering the pairs, without tf.gather, whose gradient (UnsortedSegmentSum) the WASM
  // backend lacks.
  const weights = new Float32Array(n * n);
  let active = 0;
  for (let t = 0; t < positiveIndex.length; t++) {
    if (dist[positiveIndex[t]] - dist[negativeIndex[t]] + margin > 0) {
      weights[positiveIndex[t]] += 1;
      weights[negativeIndex[t]] -= 1;
      active++;
    }
  }
  // Averaged over every chosen pair (inactive ones add 0); no pair at all gives 0, still
  // connected to the graph.
  const pairs = Math.max(positiveIndex.length, 1);
  const sum = tf.add(tf.sum(tf.mul(tf.tensor2d(weights, [n, n]), d)), margin * active);
  return tf.div(sum, pairs) as tf.Scalar;
}
