/**
 * Reading a dropped folder's labels off the main thread (the devkit's .mat files of 16,185
 * annotations took 300-600 ms there). The page sends every file's path, size and date, and
 * the File itself only for files that are not images (annotations, class lists); the worker
 * answers with the Dataset whose images name their file by its index in what was sent.
 */
import type { Dataset, ImageRecord } from '../core/data/dataset';

export interface DatasetRequest {
  paths: string[];
  sizes: Float64Array;
  lastModified: Float64Array;
  /** The File of each non-image path, null for images (never read while detecting). */
  files: (File | null)[];
  folders?: string[];
}

export type ImageAtIndex = Omit<ImageRecord, 'file'> & { fileIndex: number };

export type DatasetAnswer =
  | { ok: true; dataset: Omit<Dataset, 'images'> & { images: ImageAtIndex[] } }
  /** `name` keeps the error's kind (DatasetLayoutError, MatFileError) for its message; `bytesNeeded`: an image's bytes were read. */
  | { ok: false; name: string; message: string; bytesNeeded?: true };
