/**
 * The whole similarity model as files: for a layers-model encoder one TF.js layers model
 * (image in, tuned embedding out) + README; for a graph-model encoder the head model + a
 * README with the two-call recipe (load the graph from its URL, then the head).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageEncoder } from '../encoder/loadEncoder';
import { decodeUtf8, encodeUtf8 } from '../textCodec';
import type { NamedWeights } from '../train/heads';
import { modelReadme, type RunReadmeInfo } from './modelReadme';
import { headLayersModel, layersModelFiles, similarityModel } from './similarityModel';

export const SIMILARITY_MODEL_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  headModel: 'head/model.json',
  headWeights: 'head/weights.bin',
  readme: 'README.md',
} as const;

/** What the model's metadata says (`model.getUserDefinedMetadata().similarityStudio`). */
function metadataOf(encoder: ImageEncoder, readme: RunReadmeInfo): Record<string, object> {
  return {
    similarityStudio: {
      format: 'similarity-studio-model',
      formatVersion: 1,
      studioVersion: readme.studioVersion,
      encoder: encoder.card,
      distance: readme.distance,
      input: {
        shape: [null, encoder.inputSize.height, encoder.inputSize.width, 3],
        normalisation: encoder.card.normalisation,
        resize: encoder.card.resize ?? 'squash',
      },
    },
  };
}

/** File name -> bytes of the whole similarity model (see the module comment). */
export async function similarityModelExport(
  encoder: ImageEncoder,
  weights: NamedWeights,
  readme: RunReadmeInfo,
): Promise<Record<string, Uint8Array>> {
  const generatedBy = `Similarity Studio ${readme.studioVersion}`;
  const json = (o: unknown) => encodeUtf8(JSON.stringify(o) + '\n');
  const metadata = metadataOf(encoder, readme);
  const isLayers = encoder.model instanceof tf.LayersModel;
  // the joined model shares the encoder's layers: dispose only what it added (the head's layer)
  const model = isLayers ? similarityModel(encoder, weights) : headLayersModel(weights);
  let files;
  try {
    files = await layersModelFiles(model, { generatedBy, metadata });
  } finally {
    if (isLayers) model.layers[model.layers.length - 1].dispose();
    else model.dispose();
  }
  const dim = encoder.featureSize;
  const text = modelReadme({
    ...readme,
    kind: isLayers ? 'similarity-model' : 'head',
    encoder: { ...encoder.card, ...readme.encoder },
    files: isLayers
      ? [
          { path: SIMILARITY_MODEL_FILES.model, what: `the similarity model (TF.js layers model): [n, ${encoder.inputSize.height}, ${encoder.inputSize.width}, 3] pixels in, [n, ${dim}] tuned embeddings out` },
          { path: SIMILARITY_MODEL_FILES.weights, what: 'its weights (the encoder, float32, and the head)' },
        ]
      : [
          { path: SIMILARITY_MODEL_FILES.headModel, what: `the head (TF.js layers model): [n, ${dim}] encoder features in, [n, ${dim}] tuned embeddings out` },
          { path: SIMILARITY_MODEL_FILES.headWeights, what: 'its weights' },
        ],
    tfjsModelPath: isLayers ? SIMILARITY_MODEL_FILES.model : SIMILARITY_MODEL_FILES.headModel,
    ...(isLayers ? {} : { graphEncoder: { url: encoder.card.url ?? null, featureNode: encoder.card.featureOutput ?? null } }),
  });
  return isLayers
    ? { [SIMILARITY_MODEL_FILES.model]: json(files.modelJson), [SIMILARITY_MODEL_FILES.weights]: files.weightsBin, [SIMILARITY_MODEL_FILES.readme]: encodeUtf8(text) }
    : { [SIMILARITY_MODEL_FILES.headModel]: json(files.modelJson), [SIMILARITY_MODEL_FILES.headWeights]: files.weightsBin, [SIMILARITY_MODEL_FILES.readme]: encodeUtf8(text) };
}

/** The model artifacts of exported files (`tf.io.fromMemory` takes them): model.json + its weights file. */
export function artifactsOfFiles(files: Record<string, Uint8Array>): tf.io.ModelArtifacts {
  const jsonPath = SIMILARITY_MODEL_FILES.model in files ? SIMILARITY_MODEL_FILES.model : SIMILARITY_MODEL_FILES.headModel;
  const weightsPath = jsonPath === SIMILARITY_MODEL_FILES.model ? SIMILARITY_MODEL_FILES.weights : SIMILARITY_MODEL_FILES.headWeights;
  const modelJson = JSON.parse(decodeUtf8(files[jsonPath])) as tf.io.ModelJSON;
  const bin = files[weightsPath];
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    userDefinedMetadata: modelJson.userDefinedMetadata,
  };
}
