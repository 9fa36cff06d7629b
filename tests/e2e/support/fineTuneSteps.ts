/// <reference types="vite/client" />
/**
 * Runs in the page (imported through the Vite dev server by tests/e2e/fineTuneBackends.test.ts):
 * a few joint top + head training steps of the engine on one backend, from a model URL.
 */
import * as tf from '@tensorflow/tfjs';
import { buildEncoderTop, topFormulationFor } from '../../../src/core/encoder/encoderTop';
import { inferModelCard } from '../../../src/core/encoder/inferModelCard';
import { seededRandom } from '../../../src/core/random/randomSource';
import { HeadTrainer } from '../../../src/core/train/trainer';
import { activateBackend } from '../../../src/workers/backends';
import type { BackendName } from '../../../src/workers/embedProtocol';

export async function fineTuneLosses(backend: BackendName, modelUrl: string): Promise<{ backend: string; formulation: string; losses: number[] }> {
  if (!(await activateBackend(backend))) throw new Error(`backend ${backend} did not start`);

  const card = inferModelCard(await (await fetch(modelUrl)).json());
  const model = await tf.loadLayersModel(modelUrl);
  const formulation = topFormulationFor(tf.getBackend());
  const top = buildEncoderTop(model, { cutLayer: card.cuts![0], featureLayer: card.featureOutput!, pooling: card.pooling, formulation });
  const size = top.cutShape.reduce((a, b) => a * b, 1);
  // the same seeded cut maps on every backend: 4 classes of 3, a class-specific offset
  const random = seededRandom(9);
  const maps = (classes: number, first: number) => {
    const embeddings = new Float32Array(classes * 3 * size);
    const labels = new Int32Array(classes * 3);
    for (let c = 0; c < classes; c++) {
      const offset = Array.from({ length: size }, () => random.nextFloat());
      for (let j = 0; j < 3; j++) {
        labels[c * 3 + j] = first + c;
        for (let k = 0; k < size; k++) embeddings[(c * 3 + j) * size + k] = Math.max(0, offset[k] + random.nextFloat() - 0.7);
      }
    }
    return { embeddings, labels };
  };
  const trainer = new HeadTrainer({
    config: {
      classesPerBatch: 2,
      imagesPerClass: 2,
      maxEpochs: 2,
      patience: 10,
      seed: 4,
      // no random augmentation: random kernels may differ between backends
      top: { blocks: 1, learningRate: 1e-3, l2sp: 0.01, clipNorm: 1, spatialDropout: 0, flip: false },
      head: { dropout: 0 },
    },
    train: maps(4, 0),
    validation: maps(3, 10),
    dim: top.featureSize,
    top,
  });
  const state = await trainer.fitAsync();
  trainer.dispose();
  model.dispose();
  return { backend: tf.getBackend(), formulation, losses: state.history.flatMap((r) => [r.trainLoss, r.validationLoss]) };
}
