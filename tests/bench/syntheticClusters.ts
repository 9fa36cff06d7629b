import { seededRandom } from '../../src/core/random/randomSource';
import type { LabelledEmbeddings } from '../../src/core/train/trainer';

/**
 * Seeded Gaussian clusters of the shape for the training benchmarks: `classes`
 * centres drawn N(0, 1), each with `perClass` rows at the centre plus N(0, 1.5²) noise,
 * labelled from `firstLabel`. The Node and browser benchmarks draw the same data from it.
 */
export function syntheticClusters(classes: number, perClass: number, dim: number, firstLabel: number, seed: number): LabelledEmbeddings {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.nextFloat())) * Math.cos(2 * Math.PI * random.nextFloat());
  const embeddings = new Float32Array(classes * perClass * dim);
  const labels = new Int32Array(classes * perClass);
  for (let c = 0; c < classes; c++) {
    const centre = Float32Array.from({ length: dim }, () => normal());
    for (let j = 0; j < perClass; j++) {
      const row = c * perClass + j;
      labels[row] = firstLabel + c;
      for (let d = 0; d < dim; d++) embeddings[row * dim + d] = centre[d] + 1.5 * normal();
    }
  }
  return { embeddings, labels };
}
