/**
 * Reads a dropped folder's layout and labels in a worker (src/workers/datasetWorker.ts), so
 * parsing its annotations never blocks the page; the same `loadDataset` as on the main
 * thread and in Node, the same Dataset and errors.
 */
import type { Dataset } from '../core/data/dataset';
import { isImagePath } from '../core/data/layouts/common';
import { BrowserDatasetFile } from './browserFile';
import { nextTask } from './nextTask';
import { imagesFromColumns, type DatasetAnswer, type DatasetRequest } from './datasetProtocol';

/** The layouts on the page itself, only where the worker cannot (their parsers stay out of the page's first bundle). */
async function loadDataset(files: BrowserDatasetFile[], options: { folders?: readonly string[] }): Promise<Dataset> {
  return (await import('../core/data/loadDataset')).loadDataset(files, options);
}

/** An error with the worker's error name and message (the page shows the message). */
function rebuilt(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

export async function loadDatasetOffThread(files: BrowserDatasetFile[], options: { folders?: readonly string[] } = {}): Promise<Dataset> {
  if (typeof Worker === 'undefined') return loadDataset(files, options);
  const request: DatasetRequest = {
    paths: files.map((f) => f.path),
    sizes: Float64Array.from(files, (f) => f.size),
    lastModified: Float64Array.from(files, (f) => f.lastModified),
    files: files.map((f) => (isImagePath(f.path) ? null : f.file)),
    ...(options.folders ? { folders: [...options.folders] } : {}),
  };
  // sending is a task of its own: copying 16,185 paths into the message takes tens of ms
  await nextTask();
  const worker = new Worker(new URL('./datasetWorker.ts', import.meta.url), { type: 'module', name: 'dataset' });
  let answer: DatasetAnswer;
  try {
    answer = await new Promise<DatasetAnswer>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<DatasetAnswer>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`The folder-reading worker failed: ${e.message || 'it did not start'}.`));
      worker.postMessage(request);
    });
  } catch {
    // a worker that cannot start (blocked, crashed) costs only speed: read on the page
    return loadDataset(files, options);
  } finally {
    worker.terminate();
  }
  if (!answer.ok) {
    if (answer.bytesNeeded) return loadDataset(files, options);
    throw rebuilt(answer.name, answer.message);
  }
  const { images, ...rest } = answer.dataset;
  return { ...rest, images: await imagesFromColumns(images, files) };
}
