/// <reference lib="webworker" />
// Module worker for tests/e2e/fineTuneBackends.test.ts: the retrieval metrics on one backend, on
// tiny inputs with hand-computed answers and exact ties, as values and as a tensor.
import * as tf from '@tensorflow/tfjs';
import { retrievalMetrics } from '../../../src/core/eval/retrievalMetrics';
import { activateBackend } from '../../../src/workers/backends';
import type { BackendName } from '../../../src/workers/embedProtocol';

async function evaluateOn(backend: BackendName) {
  if (!(await activateBackend(backend))) throw new Error(`backend ${backend} did not start`);
  const before = tf.memory().numTensors;
  // 1-d points (the unit test's hand-computed case): point 5 is a singleton, skipped as a query
  const points = Float32Array.from([0, 1, 2, 10, 11, 30, 1.6]);
  const pointLabels = Int32Array.from([0, 0, 1, 1, 1, 2, 1]);
  const hand = await retrievalMetrics(points, 1, pointLabels, { distance: 'euclidean' });
  // identical vectors: every similarity ties, broken by the lower index
  const same = await retrievalMetrics(new Float32Array(8).fill(1), 2, Int32Array.from([0, 1, 0, 1]), { distance: 'cosine' });
  // a few clusters with duplicated rows under other labels, from a tensor, in blocks of 3
  const rows = 24;
  const values = Float32Array.from({ length: rows * 4 }, (_, j) => {
    const r = Math.floor(j / 4) % 12; // rows 12.. repeat rows 0..11
    return Math.sin(r * 7 + (j % 4) * 3) + (r % 3 === j % 4 ? 2 : 0);
  });
  const labels = Int32Array.from({ length: rows }, (_, i) => (i < 12 ? i % 3 : (i + 1) % 3));
  const x = tf.tensor2d(values, [rows, 4]);
  const fromTensor = await retrievalMetrics(x, 4, labels, { blockSize: 3 });
  x.dispose();
  const fromValues = await retrievalMetrics(values, 4, labels, { blockSize: 3 });
  return { backend: tf.getBackend(), hand, same, fromTensor, fromValues, leaked: tf.memory().numTensors - before };
}

self.onmessage = (e: MessageEvent<{ backend: BackendName }>) => {
  evaluateOn(e.data.backend).then(
    (result) => self.postMessage({ result }),
    (error: unknown) => self.postMessage({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) }),
  );
};
