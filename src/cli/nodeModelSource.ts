import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { DatasetFile } from '../core/data/datasetFile';
import { filesIOHandler } from '../core/encoder/filesIOHandler';

/** A file on disk as a DatasetFile; `relPath` is its '/'-separated path inside the folder. */
function diskFile(absPath: string, relPath: string, size: number, lastModified: number): DatasetFile {
  return {
    path: relPath,
    size,
    lastModified,
    arrayBuffer: async () => {
      const buf = await readFile(absPath);
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    },
  };
}

/**
 * The files of a model folder on disk (model.json, weight shards, labels…), as the
 * browser would see the same folder dropped. Walks at most `maxDepth` levels: model
 * folders are flat. Hidden files are skipped.
 */
export async function modelFolderFiles(dir: string, maxDepth = 2): Promise<DatasetFile[]> {
  const root = path.resolve(dir);
  const out: DatasetFile[] = [];
  const walk = async (abs: string, rel: string, depth: number) => {
    const entries = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const childAbs = path.join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (depth < maxDepth) await walk(childAbs, childRel, depth + 1);
      } else if (e.isFile()) {
        const s = await stat(childAbs);
        out.push(diskFile(childAbs, childRel, s.size, s.mtimeMs));
      }
    }
  };
  try {
    await walk(root, '', 0);
  } catch (e) {
    throw new Error(`Cannot read the model folder ${root}: ${(e as Error).message}`);
  }
  return out;
}

/** A model folder on disk as a tfjs IOHandler (model.json + the shards it names). */
export async function modelFolderIOHandler(dir: string): Promise<tf.io.IOHandler> {
  return filesIOHandler(await modelFolderFiles(dir));
}

/** Reads a file on disk as a DatasetFile (for decoding single images in the CLI and tests). */
export async function diskDatasetFile(absPath: string, relPath = path.basename(absPath)): Promise<DatasetFile> {
  const s = await stat(absPath);
  return diskFile(absPath, relPath, s.size, s.mtimeMs);
}
