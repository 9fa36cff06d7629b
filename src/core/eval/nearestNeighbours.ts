import type { Distance } from './retrievalMetrics';
import { l2NormalisedRows, smallestK, squaredNorms } from './select';

export interface Neighbours {
  /** Gallery row indices, nearest first (ties: lower index first). m x k row-major for m queries. */
  index: Int32Array;
  /** Distances in the reference's scale: cosine (1 - cos) / 2 in [0, 1]; euclidean L2. */
  distance: Float32Array;
}

export interface SearchIndex {
  readonly size: number;
  readonly dim: number;
  readonly distance: Distance;
  /**
   * The k nearest gallery rows of each query. `query` holds one vector (length dim) or m
   * vectors (m x dim); results are m x min(k, size), row-major. `exclude` (optional, one per
   * query) leaves out one gallery row, e.g. the query's own item.
   */
  search(query: Float32Array, k: number, exclude?: ArrayLike<number>): Neighbours;
}

/**
 * Builds a brute-force index over `gallery` (size x dim, row-major). Cosine rows are
 * normalised once here, so a search is one pass of dot products plus an O(N) selection.
 */
export function searchIndex(gallery: Float32Array, dim: number, distance: Distance): SearchIndex {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`searchIndex: bad dim ${dim}`);
  if (gallery.length % dim !== 0) {
    throw new Error(`searchIndex: ${gallery.length} values are not rows of ${dim}`);
  }
  if (distance !== 'cosine' && distance !== 'euclidean') {
    throw new Error(`searchIndex: unknown distance '${String(distance)}'`);
  }
  const size = gallery.length / dim;
  const rows = distance === 'cosine' ? l2NormalisedRows(gallery, dim) : gallery;
  const sq = distance === 'euclidean' ? squaredNorms(gallery, dim) : null;
  const keys = new Float64Array(size);
  const scratch = new Float64Array(size);

  function search(query: Float32Array, k: number, exclude?: ArrayLike<number>): Neighbours {
    if (query.length === 0 || query.length % dim !== 0) {
      throw new Error(`search: query of length ${query.length} is not a multiple of dim ${dim}`);
    }
    const m = query.length / dim;
    const kk = Math.max(0, Math.min(Math.floor(k), size));
    const index = new Int32Array(m * kk).fill(-1);
    const dist = new Float32Array(m * kk).fill(NaN);
    const q = distance === 'cosine' ? l2NormalisedRows(query, dim) : query;
    for (let qi = 0; qi < m; qi++) {
      const qo = qi * dim;
      for (let j = 0; j < size; j++) {
        const o = j * dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let d = 0;
        for (; d + 3 < dim; d += 4) {
          s0 += q[qo + d] * rows[o + d];
          s1 += q[qo + d + 1] * rows[o + d + 1];
          s2 += q[qo + d + 2] * rows[o + d + 2];
          s3 += q[qo + d + 3] * rows[o + d + 3];
        }
        for (; d < dim; d++) s0 += q[qo + d] * rows[o + d];
        const dot = s0 + s1 + s2 + s3;
        const v = sq ? sq[j] - 2 * dot : -dot;
        keys[j] = v === v ? v : Infinity;
      }
      const ex = exclude ? exclude[qi] : -1;
      const nearest = smallestK(keys, size, kk, ex, scratch);
      const out = qi * kk;
      if (sq) {
        // Exact distances for the few picked, then order by them (index breaks ties).
        const exact = Array.from(nearest, (j) => {
          let s = 0;
          const o = j * dim;
          for (let d = 0; d < dim; d++) {
            const t = query[qo + d] - rows[o + d];
            s += t * t;
          }
          return { j, d: Math.sqrt(s) };
        });
        exact.sort((a, b) => a.d - b.d || a.j - b.j);
        exact.forEach((e, i) => {
          index[out + i] = e.j;
          dist[out + i] = e.d;
        });
      } else {
        for (let i = 0; i < nearest.length; i++) {
          index[out + i] = nearest[i];
          dist[out + i] = (1 + keys[nearest[i]]) / 2; // keys = -cos
        }
      }
    }
    return { index, distance: dist };
  }

  return { size, dim, distance, search };
}

/** One-off k-nearest search (builds a throwaway index; use searchIndex for repeated queries). */
export function nearestNeighbours(
  query: Float32Array,
  gallery: Float32Array,
  dim: number,
  k: number,
  distance: Distance = 'cosine',
): Neighbours {
  return searchIndex(gallery, dim, distance).search(query, k);
}
