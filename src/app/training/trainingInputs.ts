import type { ClassSplit } from '../../core/data/classSplit';
import type { Dataset } from '../../core/data/dataset';
import { imageIdentity } from '../../core/data/datasetFile';
import type { EncoderSummary } from '../../workers/embedProtocol';
import type { TrainingData } from '../../workers/trainProtocol';

/**
 * Which cached embeddings a run uses: the identity and class of every image of the training
 * classes and of the validation classes. Only these small arrays go to the worker; it reads
 * the vectors from the embedding cache itself.
 */
export function trainingData(dataset: Dataset, split: ClassSplit, encoder: EncoderSummary): TrainingData {
  const trainClasses = new Set(split.trainClasses);
  const validationClasses = new Set(split.validationClasses);
  const train = { identities: [] as string[], labels: [] as number[] };
  const validation = { identities: [] as string[], labels: [] as number[] };
  for (const image of dataset.images) {
    const side = trainClasses.has(image.classId) ? train : validationClasses.has(image.classId) ? validation : null;
    if (!side) continue;
    side.identities.push(imageIdentity(image.file));
    side.labels.push(image.classId);
  }
  return {
    preprocessingKey: encoder.preprocessingKey,
    featureSize: encoder.featureSize,
    train: { identities: train.identities, labels: Int32Array.from(train.labels) },
    validation: { identities: validation.identities, labels: Int32Array.from(validation.labels) },
  };
}
