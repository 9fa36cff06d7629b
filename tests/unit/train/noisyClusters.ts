import { seededRandom } from '../../../src/core/random/randomSource';
import type { LabelledEmbeddings } from '../../../src/core/train/trainer';

/**
 * Synthetic embeddings for training tests: classes differ only in the first `signal`
 * dimensions (centres ~ N(0, 2²), items ±0.3); the other dimensions carry large per-item
 * noise (σ 1.5). Cosine retrieval on the raw vectors is poor; a head that learns to damp the
 * noisy dimensions helps classes it has never seen.
 */
export function noisyClusters(opts: {
  classes: number;
  perClass: number;
  firstLabel: number;
  seed: number;
  dim: number;
  signal: number;
}): LabelledEmbeddings {
  const { classes, perClass, firstLabel, dim, signal } = opts;
  const random = seededRandom(opts.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
  const embeddings = new Float32Array(classes * perClass * dim);
  const labels = new Int32Array(classes * perClass);
  for (let c = 0; c < classes; c++) {
    const centre = Array.from({ length: signal }, () => 2 * normal());
    for (let j = 0; j < perClass; j++) {
      const row = c * perClass + j;
      labels[row] = firstLabel + c;
      for (let d = 0; d < dim; d++) {
        embeddings[row * dim + d] = d < signal ? centre[d] + 0.3 * normal() : 1.5 * normal();
      }
    }
  }
  return { embeddings, labels };
}
