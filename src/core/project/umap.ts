/**
 * UMAP for the embedding map, on umap-js (PAIR-code): the rows are first reduced by PCA
 * (`pcaDims`, default 32) — UMAP's neighbour search on 1,280-d rows is many times slower
 * and the map barely changes — then laid out epoch by epoch with `initializeFit` / `step`,
 * yielding to the event loop every few epochs so a worker can see a cancel, and reporting
 * progress. Seeded: the same rows and seed give the same map.
 */
import { UMAP } from 'umap-js';
import { randomFunction } from '../random/randomSource';
import { l2NormalisedRows } from '../eval/select';
import { pca } from './pca';

export interface UmapOptions {
  nNeighbors?: number;
  minDist?: number;
  /** Default: umap-js's (500 below 10,000 rows, else 200). */
  nEpochs?: number;
  seed?: number;
  /** PCA dimensions before UMAP (0 = none). Default 32. */
  pcaDims?: number;
  /** L2-normalise the rows first (cosine geometry). Default false. */
  normalise?: boolean;
  /** Called every `progressEvery` epochs (and at the end); return false to stop early. */
  onEpoch?: (epoch: number, total: number) => boolean | void;
  progressEvery?: number;
  signal?: AbortSignal;
}

export class UmapAbortedError extends Error {
  override name = 'AbortError';
}

/** 2-D UMAP coordinates (n x 2, row-major). */
export async function umapProject(data: Float32Array, dim: number, opts: UmapOptions = {}): Promise<Float32Array> {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`umap: bad dim ${dim}`);
  if (data.length % dim !== 0) throw new Error(`umap: ${data.length} values are not rows of ${dim}`);
  const n = data.length / dim;
  const nNeighbors = Math.min(opts.nNeighbors ?? 15, n - 1);
  if (n < 3 || nNeighbors < 2) throw new Error(`umap: needs at least 3 rows, got ${n}`);
  const seed = opts.seed ?? 42;
  let rows = opts.normalise ? l2NormalisedRows(data, dim) : data;
  let width = dim;
  const pcaDims = opts.pcaDims ?? 32;
  if (pcaDims > 0 && pcaDims < dim) {
    rows = pca(rows, dim, { components: Math.min(pcaDims, n - 1), seed, iterations: 3 }).coords;
    width = Math.min(pcaDims, n - 1);
  }
  const vectors: number[][] = new Array(n);
  for (let i = 0; i < n; i++) vectors[i] = Array.from(rows.subarray(i * width, (i + 1) * width));

  const umap = new UMAP({
    nComponents: 2,
    nNeighbors,
    minDist: opts.minDist ?? 0.1,
    nEpochs: opts.nEpochs,
    random: randomFunction(seed),
  });
  const check = () => {
    if (opts.signal?.aborted) throw new UmapAbortedError('UMAP was cancelled');
  };
  check();
  const total = umap.initializeFit(vectors);
  const every = Math.max(1, opts.progressEvery ?? 10);
  for (let epoch = 1; epoch <= total; epoch++) {
    umap.step();
    if (epoch % every === 0 || epoch === total) {
      if (opts.onEpoch?.(epoch, total) === false) break;
      await new Promise<void>((r) => setTimeout(r, 0));
      check();
    }
  }
  const embedding = umap.getEmbedding();
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[2 * i] = embedding[i][0];
    out[2 * i + 1] = embedding[i][1];
  }
  return out;
}
