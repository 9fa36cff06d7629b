import { describe, expect, it } from 'vitest';
import { randomFunction } from '../../../src/core/random/randomSource';
import { jacobiEigen, pca } from '../../../src/core/project/pca';
import { umapProject } from '../../../src/core/project/umap';

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** A random orthonormal basis (rows), by Gram–Schmidt on Gaussian vectors. */
function randomBasis(dim: number, rand: () => number): Float64Array[] {
  const basis: Float64Array[] = [];
  while (basis.length < dim) {
    const v = Float64Array.from({ length: dim }, () => gaussian(rand));
    for (const b of basis) {
      const dot = v.reduce((s, x, i) => s + x * b[i], 0);
      for (let i = 0; i < dim; i++) v[i] -= dot * b[i];
    }
    const norm = Math.hypot(...v);
    basis.push(v.map((x) => x / norm));
  }
  return basis;
}

/** n rows: mean + Σ_j scale_j · g · basis_j. */
function synthetic(n: number, dim: number, scales: number[], seed: number) {
  const rand = randomFunction(seed);
  const basis = randomBasis(dim, rand);
  const mean = Float64Array.from({ length: dim }, () => 5 * gaussian(rand));
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) data[i * dim + d] = mean[d];
    scales.forEach((s, j) => {
      const g = s * gaussian(rand);
      for (let d = 0; d < dim; d++) data[i * dim + d] += g * basis[j][d];
    });
  }
  return { data, basis, mean };
}

/** Exact covariance eigenvalues (descending) via Jacobi on the full covariance. */
function exactEigen(data: Float32Array, dim: number) {
  const n = data.length / dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += data[i * dim + d] / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      for (let b = 0; b < dim; b++) cov[a * dim + b] += (data[i * dim + a] - mean[a]) * (data[i * dim + b] - mean[b]);
    }
  }
  for (let i = 0; i < cov.length; i++) cov[i] /= n - 1;
  const { values, vectors } = jacobiEigen(cov, dim);
  const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
  return order.map((e) => ({ value: values[e], vector: Float64Array.from({ length: dim }, (_, d) => vectors[d * dim + e]) }));
}

describe('pca', () => {
  it('finds the planted directions and their variances', () => {
    const dim = 40;
    const scales = [10, 6, 3, 1, 0.5];
    const { data, basis } = synthetic(3000, dim, scales, 7);
    const r = pca(data, dim, { components: 3 });
    for (let c = 0; c < 3; c++) {
      const comp = r.components.subarray(c * dim, (c + 1) * dim);
      const dot = comp.reduce((s, x, i) => s + x * basis[c][i], 0);
      expect(Math.abs(dot)).toBeGreaterThan(0.995);
      expect(Math.hypot(...comp)).toBeCloseTo(1, 5);
      expect(Math.sqrt(r.variance[c]) / scales[c]).toBeGreaterThan(0.93);
      expect(Math.sqrt(r.variance[c]) / scales[c]).toBeLessThan(1.07);
    }
    expect(r.variance[0]).toBeGreaterThan(r.variance[1]);
    const totalPlanted = scales.reduce((s, x) => s + x * x, 0);
    expect(r.explainedRatio[0]).toBeCloseTo(100 / totalPlanted, 1);
  });

  it('matches the exact covariance eigen-decomposition, and the coordinates are the centred projections', () => {
    const dim = 12;
    const { data } = synthetic(500, dim, [4, 3, 2, 1.5, 1, 0.8, 0.5, 0.3], 3);
    const exact = exactEigen(data, dim);
    const r = pca(data, dim, { components: 2, iterations: 12 });
    for (let c = 0; c < 2; c++) {
      expect(r.variance[c]).toBeCloseTo(exact[c].value, 6);
      const comp = r.components.subarray(c * dim, (c + 1) * dim);
      const dot = comp.reduce((s, x, i) => s + x * exact[c].vector[i], 0);
      expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-6);
    }
    const n = data.length / dim;
    for (const i of [0, 17, n - 1]) {
      for (let c = 0; c < 2; c++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += (data[i * dim + d] - r.mean[d]) * r.components[c * dim + d];
        expect(r.coords[i * 2 + c]).toBeCloseTo(s, 3);
      }
    }
    // coordinates are centred, with the component's variance
    for (let c = 0; c < 2; c++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < n; i++) m += r.coords[i * 2 + c] / n;
      for (let i = 0; i < n; i++) v += (r.coords[i * 2 + c] - m) ** 2 / (n - 1);
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(v).toBeCloseTo(r.variance[c], 3);
    }
  });

  it('is deterministic, sign-fixed, and gives n x k coordinates', () => {
    const dim = 64;
    const { data } = synthetic(200, dim, [5, 2, 1], 11);
    const a = pca(data, dim, { components: 2 });
    const b = pca(data, dim, { components: 2 });
    expect(a.coords).toEqual(b.coords);
    expect(a.coords.length).toBe(200 * 2);
    expect(a.components.length).toBe(2 * dim);
    expect(pca(data, dim, { components: 5 }).coords.length).toBe(200 * 5);
    const big = Array.from(a.components.subarray(0, dim)).reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
    expect(big).toBeGreaterThan(0);
  });

  it('normalise: projects the unit-length rows (cosine geometry)', () => {
    const dim = 8;
    const { data } = synthetic(100, dim, [3, 1], 5);
    const scaled = data.map((x, i) => x * (1 + Math.floor(i / dim) % 7));
    const a = pca(data, dim, { normalise: true });
    const b = pca(scaled, dim, { normalise: true });
    for (let i = 0; i < a.coords.length; i++) expect(b.coords[i]).toBeCloseTo(a.coords[i], 4);
  });

  it('rejects bad shapes with clear messages', () => {
    expect(() => pca(new Float32Array(10), 3)).toThrow('10 values are not rows of 3');
    expect(() => pca(new Float32Array(4), 4)).toThrow('at least 2 rows');
    expect(() => pca(new Float32Array(8), 4, { components: 5 })).toThrow('components must be an integer in 1..4');
  });
});

describe('umapProject', () => {
  it('gives n x 2 finite coordinates, reports progress, keeps separated clusters apart, and is seeded', async () => {
    const rand = randomFunction(1);
    const dim = 20;
    const n = 150;
    const data = new Float32Array(n * dim);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      labels.push(c);
      for (let d = 0; d < dim; d++) data[i * dim + d] = (d === c * 5 ? 20 : 0) + gaussian(rand);
    }
    const seen: number[] = [];
    const run = () => umapProject(data, dim, { nEpochs: 60, seed: 3, pcaDims: 8, onEpoch: (e, total) => void seen.push(e, total) });
    const a = await run();
    expect(a.length).toBe(n * 2);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(seen.at(-2)).toBe(60);
    expect(seen.at(-1)).toBe(60);
    // each point's nearest 2-D neighbour is of its own cluster
    let same = 0;
    for (let i = 0; i < n; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const d = (a[2 * i] - a[2 * j]) ** 2 + (a[2 * i + 1] - a[2 * j + 1]) ** 2;
        if (d < bestD) [best, bestD] = [j, d];
      }
      if (labels[best] === labels[i]) same++;
    }
    expect(same / n).toBeGreaterThan(0.95);
    const b = await run();
    expect(b).toEqual(a);
  });

  it('stops on abort', async () => {
    const data = Float32Array.from({ length: 60 * 4 }, (_, i) => Math.sin(i));
    const controller = new AbortController();
    const p = umapProject(data, 4, {
      nEpochs: 200,
      pcaDims: 0,
      progressEvery: 5,
      signal: controller.signal,
      onEpoch: (e) => {
        if (e >= 20) controller.abort();
      },
    });
    await expect(p).rejects.toThrow('cancelled');
  });
});
