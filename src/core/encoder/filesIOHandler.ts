import * as tf from '@tensorflow/tfjs';
import type { DatasetFile } from '../data/datasetFile';
import { decodeUtf8 } from '../textCodec';

/** Thrown when a dropped model folder cannot be read as a TF.js model. */
export class ModelFilesError extends Error {
  override name = 'ModelFilesError';
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Resolves `rel` (may hold `./` and `../`) against folder `dir`, '/'-separated. */
function joinPath(dir: string, rel: string): string {
  const parts = (dir ? dir.split('/') : []).concat(rel.split('/'));
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** The model.json of a dropped folder: the least deeply nested file named model.json. */
export function findModelJson(files: DatasetFile[]): DatasetFile | undefined {
  const candidates = files.filter((f) => basename(f.path).toLowerCase() === 'model.json');
  candidates.sort((a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path));
  return candidates[0];
}

/** Reads and parses a model.json, with an error that names the file. */
export async function readModelJson(file: DatasetFile): Promise<tf.io.ModelJSON> {
  let json: unknown;
  try {
    json = JSON.parse(decodeUtf8(new Uint8Array(await file.arrayBuffer())));
  } catch (e) {
    throw new ModelFilesError(`${file.path} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || !('modelTopology' in json)) {
    throw new ModelFilesError(`${file.path} is not a TF.js model.json (no modelTopology)`);
  }
  return json as tf.io.ModelJSON;
}

/**
 * An IOHandler over the files of a dropped model folder: `model.json` plus the weight
 * shards its manifest names, matched by path relative to model.json (or, failing that, by
 * unique file name). Works in core: no DOM, no Node APIs.
 */
export function filesIOHandler(files: DatasetFile[]): tf.io.IOHandler {
  return {
    load: async () => {
      const modelFile = findModelJson(files);
      if (!modelFile) {
        const names = files.slice(0, 10).map((f) => f.path);
        throw new ModelFilesError(
          `No model.json among the ${files.length} dropped files` +
            (names.length ? ` (${names.join(', ')}${files.length > 10 ? ', …' : ''})` : '') +
            '. Drop the folder that holds model.json and its weight files.',
        );
      }
      const modelJson = await readModelJson(modelFile);
      const folder = dirname(modelFile.path);
      const byPath = new Map(files.map((f) => [f.path, f]));
      const byName = new Map<string, DatasetFile[]>();
      for (const f of files) {
        const list = byName.get(basename(f.path)) ?? [];
        list.push(f);
        byName.set(basename(f.path), list);
      }
      const find = (p: string): DatasetFile | undefined => {
        const clean = p.split('?')[0];
        const exact = byPath.get(joinPath(folder, clean));
        if (exact) return exact;
        const same = byName.get(basename(clean));
        return same && same.length === 1 ? same[0] : undefined;
      };
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const wanted = manifest.flatMap((group) => group.paths);
        const missing = wanted.filter((p) => !find(p));
        if (missing.length > 0) {
          throw new ModelFilesError(
            `${modelFile.path} needs weight files that were not dropped: ${missing.join(', ')}`,
          );
        }
        const buffers = await Promise.all(wanted.map((p) => find(p)!.arrayBuffer()));
        const specs = manifest.flatMap((group) => group.weights);
        // Shards stay separate buffers: tfjs reads them as one composite buffer.
        return [specs, buffers];
      });
    },
  };
}
