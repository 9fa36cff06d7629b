/// <reference lib="webworker" />
// Module worker for tests/bench/browserBench.ts: head epochs on WASM in the browser, on
// synthetic 1,280-d clusters of the shape (as tests/bench/trainVsTorch.ts), with the
// validation loss and exact retrieval metrics every epoch, as the studio trains.
import { HeadTrainer } from '../../src/core/train/trainer';
import { activateBackend, wasmThreads } from '../../src/workers/backends';
import { syntheticClusters } from './syntheticClusters';

self.onmessage = async (e: MessageEvent<{ epochs: number; dim: number; classes: number; perClass: number }>) => {
  try {
    const { epochs, dim, classes, perClass } = e.data;
    if (!(await activateBackend('wasm'))) throw new Error('wasm did not start');
    const config = { classesPerBatch: 32, imagesPerClass: 8, maxEpochs: epochs + 1, patience: epochs + 1 };
    const trainer = new HeadTrainer({ config, train: syntheticClusters(classes, perClass, dim, 0, 1), validation: syntheticClusters(classes, perClass, dim, classes, 2), dim });
    const seconds: number[] = [];
    for (let i = 0; i <= epochs; i++) {
      const t = performance.now();
      await trainer.step();
      if (i > 0) seconds.push((performance.now() - t) / 1000); // the first epoch warms up
    }
    const steps = trainer.stepsPerEpoch;
    trainer.dispose();
    self.postMessage({ ok: true, result: { threads: wasmThreads(), stepsPerEpoch: steps, secondsPerEpoch: seconds } });
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
