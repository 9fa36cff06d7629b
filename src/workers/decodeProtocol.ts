/**
 * Messages between the embedding worker and its decode workers (src/workers/decodeWorker.ts).
 * A decode worker answers `ready` once its module has loaded, then one `decoded` or `failed`
 * per `decode`, matched by `id` (answers may come in any order).
 */
import type { DecodedImage, DecodeSpec } from '../core/encoder/imageDecoder';

export type DecodeRequest = {
  type: 'decode';
  id: number;
  path: string;
  /** The image file itself: a File/Blob posts as a reference to its data, not a copy. */
  blob: Blob;
  spec: DecodeSpec;
  /** Long side of the JPEG thumbnail to make alongside; 0 = none. */
  thumbnailSide: number;
};

export type DecodeReply =
  | { type: 'ready' }
  /**
   * `image.data`'s buffer is transferred, not copied. `busyMs`: the worker's wall time so far
   * with at least one decode running (its decodes overlap, so per-image times would not add up).
   */
  | { type: 'decoded'; id: number; image: DecodedImage; thumbnail?: Blob; busyMs: number }
  /** `message` is the decoder's own error message, word for word (it goes into the problem report). */
  | { type: 'failed'; id: number; message: string; busyMs: number };
