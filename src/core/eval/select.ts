/**
 * Selection helpers shared by the retrieval metrics and the nearest-neighbour search.
 * Everything here orders by (key ascending, index ascending), so ties are broken
 * deterministically by the lower item index.
 */

/**
 * The k-th smallest value (1-based k) of `values[0..n)`, found in O(n) on average by
 * quickselect. `values` is reordered in place (pass a scratch copy).
 */
export function kthSmallest(values: Float64Array, n: number, k: number): number {
  if (k < 1 || k > n) throw new RangeError(`kthSmallest: k=${k} outside 1..${n}`);
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (hi > lo) {
    // Median of three as pivot.
    const mid = (lo + hi) >>> 1;
    let a = values[lo];
    let b = values[mid];
    let c = values[hi];
    if (a > b) { const t = a; a = b; b = t; }
    if (b > c) { b = c; }
    if (a > b) { b = a; }
    const pivot = b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    // Now [lo..j] <= pivot, [i..hi] >= pivot, (j..i) == pivot.
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return pivot;
  }
  return values[target];
}

/**
 * Indices of the k smallest keys (excluding `exclude`, which may be -1), sorted by
 * (key, index). Keys must not be NaN (map NaN to +Infinity before calling).
 * `scratch` must have room for keys.length values.
 */
export function smallestK(
  keys: Float64Array,
  n: number,
  k: number,
  exclude: number,
  scratch: Float64Array,
): Int32Array {
  const available = exclude >= 0 && exclude < n ? n - 1 : n;
  const kk = Math.min(k, available);
  if (kk <= 0) return new Int32Array(0);
  let m = 0;
  for (let j = 0; j < n; j++) {
    if (j !== exclude) scratch[m++] = keys[j];
  }
  const t = kthSmallest(scratch, m, kk);
  // Everything strictly below the threshold is in; ties at the threshold go by index.
  const picked: number[] = [];
  for (let j = 0; j < n; j++) {
    if (j !== exclude && keys[j] < t) picked.push(j);
  }
  for (let j = 0; j < n && picked.length < kk; j++) {
    if (j !== exclude && keys[j] === t) picked.push(j);
  }
  picked.sort((a, b) => keys[a] - keys[b] || a - b);
  return Int32Array.from(picked);
}

/** Copies of the rows, each scaled to unit L2 norm (zero rows stay zero). */
export function l2NormalisedRows(data: Float32Array, dim: number): Float32Array {
  const n = data.length / dim;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[o + d] * data[o + d];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) out[o + d] = data[o + d] * inv;
  }
  return out;
}

/** Squared L2 norm of each row. */
export function squaredNorms(data: Float32Array, dim: number): Float64Array {
  const n = data.length / dim;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[o + d] * data[o + d];
    out[i] = s;
  }
  return out;
}
