import path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import type { DatasetFile } from '../core/data/datasetFile';
import { BUILTIN_ENCODER, BUILTIN_ENCODER_FOLDER } from '../core/encoder/builtin';
import { catalogCard } from '../core/encoder/catalog';
import { filesIOHandler, findModelJson, readModelJson } from '../core/encoder/filesIOHandler';
import { inferModelCard } from '../core/encoder/inferModelCard';
import { loadEncoder, type ImageEncoder } from '../core/encoder/loadEncoder';
import { listFolderFiles } from './nodeFiles';
import { projectRoot } from './sharedFolder';

/** The files of a model folder on disk (model.json, weight shards …), as the browser sees it dropped. */
export async function modelFolderFiles(dir: string): Promise<DatasetFile[]> {
  try {
    return await listFolderFiles(dir);
  } catch (e) {
    throw new Error(`Cannot read the model folder ${path.resolve(dir)}: ${(e as Error).message}`);
  }
}

/** A model folder on disk as a tfjs IOHandler (model.json + the shards it names). */
export async function modelFolderIOHandler(dir: string): Promise<tf.io.IOHandler> {
  return filesIOHandler(await modelFolderFiles(dir));
}

/**
 * The runner's --encoder: a TF.js model folder on disk (its card inferred from model.json,
 * like a folder dropped on the studio), the built-in encoder's id (read from public/), or the id
 * of a catalog entry (downloaded from its URL).
 */
export async function openEncoder(spec: string): Promise<ImageEncoder> {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const files = await modelFolderFiles(spec);
    const modelJsonFile = findModelJson(files);
    if (!modelJsonFile) throw new Error(`No model.json in the model folder ${path.resolve(spec)}.`);
    const card = inferModelCard(await readModelJson(modelJsonFile), { id: `local-${path.basename(path.resolve(spec))}` });
    return loadEncoder(card, files);
  }
  if (spec === BUILTIN_ENCODER.id) return loadEncoder(BUILTIN_ENCODER, await modelFolderFiles(path.join(projectRoot, BUILTIN_ENCODER_FOLDER)));
  const card = catalogCard(spec);
  if (!card.url) throw new Error(`Catalog encoder "${spec}" has no URL.`);
  return loadEncoder(card, card.url);
}
