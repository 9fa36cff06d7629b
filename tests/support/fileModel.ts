/**
 * Loads a TF.js layers model from a folder on disk with plain `tf.loadLayersModel`: the
 * IOHandler here reads model.json and the weight files it names, and nothing else — no
 * studio code, so a test proves the files load as tfjs itself reads them.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function fileIOHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      const folder = path.dirname(modelJsonPath);
      const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(folder, p))));
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

export function loadLayersModelFile(modelJsonPath: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileIOHandler(modelJsonPath));
}
