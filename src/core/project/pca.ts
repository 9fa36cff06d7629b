/**
 * Principal component analysis for the embedding map: the top `components` directions of
 * the (centred) data, by randomised subspace iteration — it never forms the dim x dim
 * covariance, so 8,000 x 1,280 embeddings project in well under a second. Each iteration
 * is two passes over the data (X·Q, then Xᵀ·(X·Q)) with a block of `components +
 * oversample` vectors; a Rayleigh–Ritz step (Jacobi eigen-solve of the small block matrix)
 * then gives the components, ordered by variance, with a fixed sign.
 */
import { randomFunction } from '../random/randomSource';
import { l2NormalisedRows } from '../eval/select';

export interface PcaOptions {
  /** Output dimensions. Default 2. */
  components?: number;
  /** Subspace iterations (more = closer to the exact eigenvectors; a map needs few). Default 4. */
  iterations?: number;
  /** Extra block vectors beyond `components` (faster convergence). Default 6. */
  oversample?: number;
  /** Seed of the random start block. Default 0. */
  seed?: number;
  /** L2-normalise each row first (the geometry a cosine distance sees). Default false. */
  normalise?: boolean;
}

export interface PcaResult {
  /** n x components, row-major: each row's coordinates along the components. */
  coords: Float32Array;
  /** components x dim, row-major, unit length, ordered by variance (descending). */
  components: Float32Array;
  /** Mean row (of the normalised rows when `normalise`). */
  mean: Float32Array;
  /** Variance along each component (sample variance, n - 1). */
  variance: Float64Array;
  /** Share of the total variance each component explains. */
  explainedRatio: Float64Array;
}

export function pca(data: Float32Array, dim: number, opts: PcaOptions = {}): PcaResult {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`pca: bad dim ${dim}`);
  if (data.length % dim !== 0) throw new Error(`pca: ${data.length} values are not rows of ${dim}`);
  const n = data.length / dim;
  const k = opts.components ?? 2;
  if (!Number.isInteger(k) || k < 1 || k > dim) throw new Error(`pca: components must be an integer in 1..${dim}, got ${k}`);
  if (n < 2) throw new Error(`pca: needs at least 2 rows, got ${n}`);
  const iterations = opts.iterations ?? 4;
  const l = Math.min(dim, k + (opts.oversample ?? 6));

  const x = opts.normalise ? l2NormalisedRows(data, dim) : data;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0, o = i * dim; d < dim; d++) mean[d] += x[o + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let d = 0, o = i * dim; d < dim; d++) {
      const t = x[o + d] - mean[d];
      total += t * t;
    }
  }
  total /= n - 1;

  // Q: l block vectors of length dim, orthonormal (q[j * dim + d]).
  const rand = randomFunction(opts.seed ?? 0);
  let q: Float64Array = new Float64Array(dim * l);
  for (let i = 0; i < q.length; i++) q[i] = rand() - 0.5;
  orthonormalise(q, dim, l);
  const y = new Float64Array(n * l);
  for (let it = 0; it < iterations; it++) {
    times(x, mean, n, dim, q, l, y);
    q = timesTransposed(x, mean, n, dim, y, l);
    orthonormalise(q, dim, l);
  }
  times(x, mean, n, dim, q, l, y);
  // B = Yᵀ Y / (n - 1): the covariance restricted to span(Q).
  const b = new Float64Array(l * l);
  for (let i = 0; i < n; i++) {
    const o = i * l;
    for (let a = 0; a < l; a++) {
      const ya = y[o + a];
      for (let c = a; c < l; c++) b[a * l + c] += ya * y[o + c];
    }
  }
  for (let a = 0; a < l; a++) {
    for (let c = a; c < l; c++) {
      b[a * l + c] /= n - 1;
      b[c * l + a] = b[a * l + c];
    }
  }
  const { values, vectors } = jacobiEigen(b, l);
  const order = Array.from({ length: l }, (_, i) => i).sort((a, c) => values[c] - values[a]);

  const components = new Float32Array(k * dim);
  const coords = new Float32Array(n * k);
  const variance = new Float64Array(k);
  const explainedRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const e = order[c];
    // component = Q · v_e
    const comp = new Float64Array(dim);
    let biggest = 0;
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let j = 0; j < l; j++) s += q[j * dim + d] * vectors[j * l + e];
      comp[d] = s;
      if (Math.abs(s) > Math.abs(biggest)) biggest = s;
    }
    const sign = biggest < 0 ? -1 : 1; // largest entry positive: a stable orientation
    for (let d = 0; d < dim; d++) components[c * dim + d] = sign * comp[d];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < l; j++) s += y[i * l + j] * vectors[j * l + e];
      coords[i * k + c] = sign * s;
    }
    variance[c] = Math.max(0, values[e]);
    explainedRatio[c] = total > 0 ? variance[c] / total : 0;
  }
  return { coords, components, mean: Float32Array.from(mean), variance, explainedRatio };
}

/** y (n x l) = (X - mean) · Qᵀ: long contiguous inner loops over dim. */
function times(x: Float32Array, mean: Float64Array, n: number, dim: number, q: Float64Array, l: number, y: Float64Array): void {
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let d = 0; d < dim; d++) row[d] = x[o + d] - mean[d];
    for (let j = 0; j < l; j++) {
      const qo = j * dim;
      let s0 = 0;
      let s1 = 0;
      let d = 0;
      for (; d + 1 < dim; d += 2) {
        s0 += row[d] * q[qo + d];
        s1 += row[d + 1] * q[qo + d + 1];
      }
      if (d < dim) s0 += row[d] * q[qo + d];
      y[i * l + j] = s0 + s1;
    }
  }
}

/** (X - mean)ᵀ · Y, as l vectors of length dim. */
function timesTransposed(x: Float32Array, mean: Float64Array, n: number, dim: number, y: Float64Array, l: number): Float64Array {
  const out = new Float64Array(dim * l);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let d = 0; d < dim; d++) row[d] = x[o + d] - mean[d];
    for (let j = 0; j < l; j++) {
      const w = y[i * l + j];
      const qo = j * dim;
      for (let d = 0; d < dim; d++) out[qo + d] += w * row[d];
    }
  }
  return out;
}

/** Modified Gram–Schmidt on l vectors of length dim (twice, for stability). */
function orthonormalise(q: Float64Array, dim: number, l: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < l; j++) {
      const jo = j * dim;
      for (let p = 0; p < j; p++) {
        const po = p * dim;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += q[jo + d] * q[po + d];
        for (let d = 0; d < dim; d++) q[jo + d] -= dot * q[po + d];
      }
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += q[jo + d] * q[jo + d];
      norm = Math.sqrt(norm);
      if (norm < 1e-300) {
        // a degenerate vector (rank-deficient data): any unit vector will do; the next pass orthogonalises it
        for (let d = 0; d < dim; d++) q[jo + d] = d === j % dim ? 1 : 0;
        continue;
      }
      for (let d = 0; d < dim; d++) q[jo + d] /= norm;
    }
  }
}

/**
 * Eigen-decomposition of a symmetric m x m matrix by cyclic Jacobi rotations. Returns the
 * eigenvalues and the eigenvectors as the columns of `vectors` (row-major m x m).
 */
export function jacobiEigen(matrix: Float64Array, m: number, sweeps = 60): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let r = p + 1; r < m; r++) off += a[p * m + r] * a[p * m + r];
    if (off < 1e-30) break;
    for (let p = 0; p < m; p++) {
      for (let r = p + 1; r < m; r++) {
        const apr = a[p * m + r];
        if (Math.abs(apr) < 1e-300) continue;
        const theta = (a[r * m + r] - a[p * m + p]) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let i = 0; i < m; i++) {
          const aip = a[i * m + p];
          const air = a[i * m + r];
          a[i * m + p] = c * aip - s * air;
          a[i * m + r] = s * aip + c * air;
        }
        for (let i = 0; i < m; i++) {
          const api = a[p * m + i];
          const ari = a[r * m + i];
          a[p * m + i] = c * api - s * ari;
          a[r * m + i] = s * api + c * ari;
        }
        for (let i = 0; i < m; i++) {
          const vip = v[i * m + p];
          const vir = v[i * m + r];
          v[i * m + p] = c * vip - s * vir;
          v[i * m + r] = s * vip + c * vir;
        }
      }
    }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = a[i * m + i];
  return { values, vectors: v };
}
