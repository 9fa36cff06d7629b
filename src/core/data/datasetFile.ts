import { decodeUtf8, encodeUtf8 } from '../textCodec';

/**
 * One file of a dataset folder, as both shells see it: a browser `File` from a folder drop
 * or picker, or a file on disk in Node. Layout detection and decoding read files only
 * through this interface.
 */
export interface DatasetFile {
  /** Path relative to the dropped/chosen folder, '/'-separated, e.g. `cars_train/00001.jpg`. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** Last-modified time in ms since the epoch (0 when unknown). */
  readonly lastModified: number;
  /** The whole content. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Reads a small text file (annotations, class names) as UTF-8. */
export async function readText(file: DatasetFile): Promise<string> {
  return decodeUtf8(new Uint8Array(await file.arrayBuffer()));
}

/** An in-memory DatasetFile, for tests and for data produced in the app. */
export function memoryFile(path: string, bytes: Uint8Array | string, lastModified = 0): DatasetFile {
  const data = typeof bytes === 'string' ? encodeUtf8(bytes) : bytes;
  return {
    path,
    size: data.byteLength,
    lastModified,
    // Copy through Uint8Array.prototype.slice: a Node Buffer's own slice() is a view
    // whose .buffer is the whole pooled allocation.
    arrayBuffer: async () => Uint8Array.prototype.slice.call(data).buffer as ArrayBuffer,
  };
}

/** Thrown when the bytes of a file whose folder is no longer connected are needed. */
export class FileNotConnectedError extends Error {
  override name = 'FileNotConnectedError';
}

/**
 * A file known from a saved dataset manifest (path, size, date) whose folder is not connected
 * in this page: its identity (and so its cached embedding) is known, its bytes are not.
 */
export function detachedFile(path: string, size: number, lastModified: number): DatasetFile {
  return {
    path,
    size,
    lastModified,
    arrayBuffer: () =>
      Promise.reject(new FileNotConnectedError(`${path} is not connected: reconnect the dataset folder or drop it again.`)),
  };
}

/** Stable identity of an image file's content, for cache keys: `${path}|${size}|${lastModified}`. */
export function imageIdentity(file: DatasetFile): string {
  return `${file.path}|${file.size}|${file.lastModified}`;
}
