/**
 * Reading a dropped folder's labels off the main thread (the devkit's .mat files of 16,185
 * annotations took 300-600 ms there). The page sends every file's path, size and date, and
 * the File itself only for files that are not images (annotations, class lists); the worker
 * answers with the Dataset whose images name their file by its index in what was sent.
 */
import { IMAGE_HALVES, type Dataset, type ImageRecord } from '../core/data/dataset';
import type { DatasetFile } from '../core/data/datasetFile';
import { nextTask } from './nextTask';

export interface DatasetRequest {
  paths: string[];
  sizes: Float64Array;
  lastModified: Float64Array;
  /** The File of each non-image path, null for images (never read while detecting). */
  files: (File | null)[];
  folders?: string[];
}

/**
 * The dataset's images as columns, each naming its file by its index in what was sent: a
 * message of typed arrays is read back on the page at once, where 16,185 record objects took
 * the page ~100 ms to read in one task.
 */
export interface ImageColumns {
  fileIndex: Int32Array;
  classId: Int32Array;
  /** Index into IMAGE_HALVES. */
  half: Uint8Array;
  /** x1, y1, x2, y2 per image; NaN where the image has no box. */
  box: Float64Array;
  /** Where each box was read; null where there is none. */
  boxSource: (string | null)[];
}

export type DatasetAnswer =
  | { ok: true; dataset: Omit<Dataset, 'images'> & { images: ImageColumns } }
  /** `name` keeps the error's kind (DatasetLayoutError, MatFileError) for its message; `bytesNeeded`: an image's bytes were read. */
  | { ok: false; name: string; message: string; bytesNeeded?: true };

/** The images as columns; `fileIndex(image)` is the index of its file in the request. */
export function imageColumns(images: readonly ImageRecord[], fileIndex: (image: ImageRecord) => number): ImageColumns {
  const n = images.length;
  const c: ImageColumns = { fileIndex: new Int32Array(n), classId: new Int32Array(n), half: new Uint8Array(n), box: new Float64Array(4 * n).fill(NaN), boxSource: new Array<string | null>(n).fill(null) };
  images.forEach((image, i) => {
    c.fileIndex[i] = fileIndex(image);
    c.classId[i] = image.classId;
    c.half[i] = IMAGE_HALVES.indexOf(image.half);
    if (image.bbox) c.box.set([image.bbox.x1, image.bbox.y1, image.bbox.x2, image.bbox.y2], 4 * i);
    if (image.boxSource !== undefined) c.boxSource[i] = image.boxSource;
  });
  return c;
}

/** The image records back from their columns, `perTask` images a task (16,185 at once: 20-40 ms of the page's time). */
export async function imagesFromColumns<F extends DatasetFile>(c: ImageColumns, files: readonly F[], perTask = 4000): Promise<(ImageRecord & { file: F })[]> {
  const images: (ImageRecord & { file: F })[] = new Array(c.fileIndex.length);
  for (let i = 0; i < images.length; i++) {
    if (i > 0 && i % perTask === 0) await nextTask();
    const image: ImageRecord & { file: F } = { file: files[c.fileIndex[i]], classId: c.classId[i], half: IMAGE_HALVES[c.half[i]] };
    if (!Number.isNaN(c.box[4 * i])) image.bbox = { x1: c.box[4 * i], y1: c.box[4 * i + 1], x2: c.box[4 * i + 2], y2: c.box[4 * i + 3] };
    const source = c.boxSource[i];
    if (source !== null) image.boxSource = source;
    images[i] = image;
  }
  return images;
}
