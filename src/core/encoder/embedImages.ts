import type { BoundingBox } from '../data/dataset';
import type { DatasetFile } from '../data/datasetFile';
import { boxPastEdge, type DecodedImage, type ImageDecoder } from './imageDecoder';
import type { ImageEncoder } from './loadEncoder';
import { DEFAULT_RESIZE } from './modelCard';

/** The part of AbortSignal we use (core compiles without the DOM lib). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export interface EmbedProblem {
  path: string;
  message: string;
}

export interface EmbedProgress {
  done: number;
  total: number;
  /** Images embedded or skipped per second of wall time since the start. */
  imagesPerSecond: number;
}

export interface EmbedImagesOptions {
  encoder: ImageEncoder;
  decoder: ImageDecoder;
  files: DatasetFile[];
  /** Per file: cut this box out before resizing; undefined = the whole image. */
  crops?: (BoundingBox | undefined)[];
  /** Per file: where its box was read ('Annotation 7 of cars_train_annos.mat'), for the notes. */
  cropSources?: (string | undefined)[];
  /** Images per inference batch. Default 32. */
  batchSize?: number;
  /**
   * Batches decoding while one is embedded. Default 1; a decoder with several threads keeps
   * them all busy across batch boundaries with 2. Memory holds at most this many decoded
   * batches besides the one being embedded.
   */
  decodeAhead?: number;
  /** Checked between batches; the run stops after the last stored batch. */
  signal?: AbortSignalLike;
  /**
   * Receives each batch: `indices` into `files` (skipped images left out) and their
   * embeddings, row-major. Awaited before the next batch is embedded, so a caller can
   * persist each batch; if it throws, the run stops with that error.
   */
  onBatch?: (batch: { indices: number[]; embeddings: Float32Array }) => void | Promise<void>;
  /** An image that could not be decoded; it is skipped and the run goes on. */
  onProblem?: (problem: EmbedProblem) => void;
  /** Something done to an image that is used (a box past its edge, clamped), with its annotation row. */
  onNote?: (note: EmbedProblem) => void;
  onProgress?: (progress: EmbedProgress) => void;
}

export interface EmbedImagesResult {
  /** Images embedded and handed to onBatch. */
  embedded: number;
  failed: EmbedProblem[];
  notes: EmbedProblem[];
  /** Wall time spent decoding (it overlaps inference). */
  decodeMs: number;
  /** Wall time spent in inference (including reading the result back). */
  inferMs: number;
}

/** Thrown when the signal aborts a run; everything before it was handed to onBatch. */
export class EmbeddingAbortedError extends Error {
  override name = 'AbortError';
  constructor(
    readonly embedded: number,
    readonly failed: EmbedProblem[],
  ) {
    super(`Embedding cancelled after ${embedded} images`);
  }
}

interface DecodedBatch {
  indices: number[];
  images: DecodedImage[];
  problems: EmbedProblem[];
  notes: EmbedProblem[];
  ms: number;
}

/** performance.now() where there is one (browser, worker, Node), else Date.now(). */
const clock = (globalThis as { performance?: { now(): number } }).performance;
const now = () => (clock ? clock.now() : Date.now());

/**
 * Embeds `files` in batches with a frozen encoder. Decoding of batches i+1 … i+decodeAhead
 * starts before inference of batch i, so the two overlap. Unreadable images are reported and skipped.
 */
export async function embedImages(options: EmbedImagesOptions): Promise<EmbedImagesResult> {
  const { encoder, decoder, files, crops, cropSources, signal, onBatch, onProblem, onNote, onProgress } = options;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer (got ${batchSize})`);
  }
  const decodeAhead = options.decodeAhead ?? 1;
  if (!Number.isInteger(decodeAhead) || decodeAhead < 1) {
    throw new RangeError(`decodeAhead must be a positive integer (got ${decodeAhead})`);
  }
  if (crops && crops.length !== files.length) {
    throw new RangeError(`crops has ${crops.length} entries for ${files.length} files`);
  }
  const { width, height } = encoder.inputSize;
  const resize = encoder.card.resize ?? DEFAULT_RESIZE;
  const total = files.length;
  const batchCount = Math.ceil(total / batchSize);
  const failed: EmbedProblem[] = [];
  const notes: EmbedProblem[] = [];
  let embedded = 0;
  let decodeMs = 0;
  let inferMs = 0;
  const started = now();

  const decodeBatch = async (b: number): Promise<DecodedBatch> => {
    const t0 = now();
    const from = b * batchSize;
    const to = Math.min(total, from + batchSize);
    const slots = await Promise.all(
      files.slice(from, to).map(async (file, k) => {
        const i = from + k;
        try {
          if (file.size === 0) throw new Error('empty file (0 bytes)');
          return { i, image: await decoder.decode(file, { width, height, resize, crop: crops?.[i] }) };
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          return { i, problem: { path: file.path, message } };
        }
      }),
    );
    const batch: DecodedBatch = { indices: [], images: [], problems: [], notes: [], ms: now() - t0 };
    for (const s of slots) {
      if (s.image) {
        batch.indices.push(s.i);
        batch.images.push(s.image);
        const note = clampNote(s.i, s.image);
        if (note) batch.notes.push(note);
      } else if (s.problem) {
        batch.problems.push(s.problem);
      }
    }
    return batch;
  };

  const clampNote = (i: number, image: DecodedImage): EmbedProblem | null => {
    const box = crops?.[i];
    const what = box && image.source ? boxPastEdge(box, image.source.width, image.source.height) : null;
    if (!what) return null;
    const path = files[i].path;
    return { path, message: `${cropSources?.[i] ?? path}: ${what}` };
  };

  const abortIfAsked = () => {
    if (signal?.aborted) throw new EmbeddingAbortedError(embedded, failed);
  };

  // Batches being decoded, in order: up to `decodeAhead` of them run while one is embedded.
  const pending: Promise<DecodedBatch>[] = [];
  let nextToDecode = 0;
  const decodeUpTo = (last: number) => {
    while (nextToDecode < batchCount && nextToDecode <= last) pending.push(decodeBatch(nextToDecode++));
  };
  try {
    abortIfAsked();
    decodeUpTo(decodeAhead - 1);
    for (let b = 0; b < batchCount; b++) {
      const batch = await pending.shift()!;
      decodeMs += batch.ms;
      // Start decoding the next batches now, so they run while this one is embedded.
      decodeUpTo(b + decodeAhead);
      for (const p of batch.problems) {
        failed.push(p);
        onProblem?.(p);
      }
      for (const n of batch.notes) {
        notes.push(n);
        onNote?.(n);
      }
      if (batch.images.length > 0) {
        const t0 = now();
        const embeddings = await encoder.embed(batch.images);
        inferMs += now() - t0;
        await onBatch?.({ indices: batch.indices, embeddings });
        embedded += batch.indices.length;
      }
      const done = Math.min(total, (b + 1) * batchSize);
      const seconds = (now() - started) / 1000;
      onProgress?.({ done, total, imagesPerSecond: seconds > 0 ? done / seconds : 0 });
      if (b + 1 < batchCount) abortIfAsked();
    }
  } catch (e) {
    // Nobody will await the batches being decoded: keep their failures from going unhandled.
    for (const p of pending) p.catch(() => undefined);
    throw e;
  }
  return { embedded, failed, notes, decodeMs, inferMs };
}
