import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nearestNeighbours, searchIndex } from '../../../src/core/eval/nearestNeighbours';
import { sharedPath } from '../../support/shared';
import { clustered, naiveDistances } from './naive';

describe('nearestNeighbours', () => {
  it('uses the reference distance scales (oracle distance matrices)', () => {
    const oracle = JSON.parse(readFileSync(sharedPath('fixtures', 'quaterion-oracle.json'), 'utf8'));
    const c = oracle.cases[0];
    const dim = c.embeddings[0].length;
    const n = c.embeddings.length;
    const emb = Float32Array.from(c.embeddings.flat() as number[]);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const matrix = c[`distance_matrix_${distance}`] as number[][];
      const res = searchIndex(emb, dim, distance).search(emb, n);
      for (let q = 0; q < n; q++) {
        for (let i = 0; i < n; i++) {
          const j = res.index[q * n + i];
          expect(Math.abs(res.distance[q * n + i] - matrix[q][j])).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('equals brute force (indices and distances), single and batched queries', () => {
    const { emb } = clustered(300, 16, 5, 11);
    const { emb: queries } = clustered(4, 16, 5, 12);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const index = searchIndex(emb, 16, distance);
      const batch = index.search(queries, 10);
      for (let q = 0; q < 4; q++) {
        const qv = queries.subarray(q * 16, (q + 1) * 16);
        const d = naiveDistances(emb, 16, -1, distance, qv);
        const order = Array.from({ length: 300 }, (_, j) => j).sort((a, b) => d[a] - d[b] || a - b);
        const single = nearestNeighbours(qv, emb, 16, 10, distance);
        expect(Array.from(single.index)).toEqual(order.slice(0, 10));
        expect(Array.from(batch.index.subarray(q * 10, q * 10 + 10))).toEqual(order.slice(0, 10));
        for (let i = 0; i < 10; i++) {
          expect(single.distance[i]).toBeCloseTo(d[order[i]], 5);
        }
      }
    }
  });

  it('clamps k, honours exclude, rejects bad input', () => {
    const g = Float32Array.from([0, 0, 1, 0, 2, 0]);
    const idx = searchIndex(g, 2, 'euclidean');
    const all = idx.search(Float32Array.from([0, 0]), 10);
    expect(Array.from(all.index)).toEqual([0, 1, 2]);
    expect(Array.from(all.distance)).toEqual([0, 1, 2]);
    const ex = idx.search(Float32Array.from([0, 0]), 2, [0]);
    expect(Array.from(ex.index)).toEqual([1, 2]);
    expect(() => idx.search(new Float32Array(3), 1)).toThrow(/multiple of dim/);
  });
});
