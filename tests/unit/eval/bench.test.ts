import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { retrievalMetrics } from '../../../src/core/eval/retrievalMetrics';
import { searchIndex } from '../../../src/core/eval/nearestNeighbours';
import { clustered } from './naive';

// Timing only; run with BENCH_EVAL=1 (8,000 x 1,280 on the WASM backend).
describe.runIf(process.env.BENCH_EVAL === '1')('eval speed (BENCH_EVAL=1)', () => {
  it('8,000 x 1,280: metrics and search', async () => {
    await tf.setBackend(process.env.BENCH_BACKEND ?? 'wasm');
    await tf.ready();
    const n = Number(process.env.BENCH_N ?? 8000);
    const dim = 1280;
    const { emb, labels } = clustered(n, dim, 98, 1, 4);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const t0 = performance.now();
      const m = retrievalMetrics(emb, dim, labels, { distance });
      const t1 = performance.now();
      console.log(`${tf.getBackend()} ${distance} ${n}x${dim}: ${(t1 - t0).toFixed(0)} ms`, m);
    }
    const t2 = performance.now();
    const idx = searchIndex(emb, dim, 'cosine');
    const t3 = performance.now();
    const q = emb.subarray(0, dim);
    idx.search(q, 10);
    const t4 = performance.now();
    for (let i = 0; i < 20; i++) idx.search(emb.subarray(i * dim, (i + 1) * dim), 10);
    const t5 = performance.now();
    console.log(`searchIndex build ${(t3 - t2).toFixed(0)} ms, first query ${(t4 - t3).toFixed(1)} ms, mean of 20 ${((t5 - t4) / 20).toFixed(1)} ms`);
    expect(true).toBe(true);
  });
});
