/// <reference lib="webworker" />
import type { DatasetFile } from '../core/data/datasetFile';
import { loadDataset } from '../core/data/loadDataset';
import { imageColumns, type DatasetAnswer, type DatasetRequest } from './datasetProtocol';

class ImageBytesNotSent extends Error {}

self.onmessage = async (e: MessageEvent<DatasetRequest>) => {
  const { paths, sizes, lastModified, files, folders } = e.data;
  const index = new Map<DatasetFile, number>();
  const all: DatasetFile[] = paths.map((path, i) => {
    const file = files[i];
    const f: DatasetFile = {
      path,
      size: sizes[i],
      lastModified: lastModified[i],
      arrayBuffer: () => (file ? file.arrayBuffer() : Promise.reject(new ImageBytesNotSent(path))),
    };
    index.set(f, i);
    return f;
  });
  let answer: DatasetAnswer;
  try {
    const dataset = await loadDataset(all, folders ? { folders } : {});
    const images = imageColumns(dataset.images, ({ file }) => {
      const i = index.get(file);
      if (i === undefined) throw new ImageBytesNotSent(file.path); // a path the loader rewrote: read it on the page instead
      return i;
    });
    answer = { ok: true, dataset: { ...dataset, images } };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    answer = { ok: false, name: error.name, message: error.message, ...(err instanceof ImageBytesNotSent ? { bytesNeeded: true as const } : {}) };
  }
  self.postMessage(answer, answer.ok ? [answer.dataset.images.fileIndex.buffer, answer.dataset.images.classId.buffer, answer.dataset.images.half.buffer, answer.dataset.images.box.buffer] : []);
};
