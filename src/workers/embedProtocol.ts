/**
 * The embedding worker's whole message protocol: ONE union of requests (page -> worker)
 * and ONE union of events (worker -> page), imported by both sides. Every message carries
 * the `jobId` of the request it belongs to; every job ends with exactly one terminal
 * event (see `isTerminalEvent`). Lifecycle of an embed job:
 *
 *   model-loading* -> model-ready -> [benchmark-figure* ->] backend-chosen -> cache-checked
 *   -> (progress | problem)* -> metrics? -> embed-done | error
 */
import type { BoundingBox } from '../core/data/dataset';
import type { ModelCard } from '../core/encoder/modelCard';
import type { RunReadmeInfo } from '../core/export/modelReadme';
import type { NamedWeights } from '../core/train/heads';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Preference order when nothing has been measured. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export function isBackendName(x: unknown): x is BackendName {
  return typeof x === 'string' && (BACKEND_ORDER as readonly string[]).includes(x);
}

/** The GPU adapter behind WebGPU, as `GPUAdapter.info` reports it. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software (CPU-emulated) adapter such as SwiftShader: usually much slower than WASM. */
  isFallbackAdapter: boolean;
}

/** The threads the WASM backend computes on. */
export interface WasmThreads {
  count: number;
  /** Why that many, e.g. no cross-origin isolation. */
  reason: string;
}

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** Why it is not available. */
  reason?: string;
  adapter?: AdapterInfo;
  /** WASM only. */
  threads?: WasmThreads;
}

/** Timing of the chosen encoder on one backend (after a warm-up batch). */
export interface BackendTiming {
  name: BackendName;
  /** 0 when the backend failed or was skipped. */
  imagesPerSecond: number;
  msPerBatch: number;
  batchSize: number;
  batches: number;
  error?: string;
}

/** A file handed to the worker: its path relative to the dataset or model folder. */
export interface FileRef {
  path: string;
  file: File;
}

/** Where the encoder comes from. A `card` is required for a catalog/URL model the studio knows. */
export type EncoderSource =
  /** A model.json URL (catalog or typed by the person); downloaded once, then read from the model store. */
  | { kind: 'url'; url: string; card?: ModelCard }
  /** The files of a dropped model folder (model.json + weight shards). */
  | { kind: 'files'; files: FileRef[]; card?: ModelCard };

/**
 * An image to embed. `file` is null when the page knows the image only from a saved
 * manifest (its folder is not connected): its identity (path, size, date) still finds its
 * cached embedding, and the job asks for the folder only if it is not embedded yet.
 */
export interface EmbedImage {
  path: string;
  file: File | null;
  size: number;
  lastModified: number;
  classId: number;
  bbox?: BoundingBox;
  /** Where the box was read, for a note when it is clamped. */
  boxSource?: string;
}

export interface EmbedOptions {
  /** 'auto' times a few batches on every available backend and keeps the fastest. */
  backend: BackendName | 'auto';
  batchSize: number;
  cropToBox: boolean;
  /** Classes the baseline metrics are computed on (the validation classes of the split). */
  validationClasses: number[];
  /**
   * Decode workers feeding inference. Omitted: with a GPU backend one per core but one
   * (navigator.hardwareConcurrency), at least one; with WASM or cpu, the cores its inference
   * threads leave free, possibly none (decodePoolSize); 0: decode in the embedding worker
   * itself, between inference batches.
   */
  decodeWorkers?: number;
  /**
   * Fine-tuning wanted ("Train the encoder's top blocks"): also cache each image's cut
   * activation (float16) at the card's cut number `topBlocks` (1 = its default cut). 0 or
   * absent: pooled vectors only.
   */
  topBlocks?: number;
}

/** The cut-map cache of an embed job (fine-tuning the top). */
export interface CutCacheSummary {
  /** The set's key in the cache (`cutSetKey`). */
  key: string;
  layer: string;
  shape: [number, number, number];
  /** Cut maps stored in this run, and those already stored. */
  stored: number;
  cached: number;
  /** Float16 map plus key, per image. */
  bytesPerImage: number;
}

/** Most decode workers a job may ask for. */
export const MAX_DECODE_WORKERS = 32;

export interface EncoderSummary {
  id: string;
  name: string;
  inputSize: { width: number; height: number };
  featureSize: number;
  /** Size of model.json + weights in bytes, when known. */
  bytes?: number;
  preprocessingKey: string;
  /** Where the weights came from this time. */
  from: 'network' | 'model-store' | 'files';
}

/** A download under way: bytes received so far, of `total` when the card says the size. */
export interface DownloadBytes {
  received: number;
  total: number | null;
  /** Since the download started. */
  seconds: number;
}

export interface BaselineMetrics {
  rPrecision: number;
  rPrecisionMacro: number;
  precisionAt1: number;
  mapAtR: number;
  queryCount: number;
  validationImages: number;
  validationClasses: number;
  ms: number;
}

export type ErrorCode = 'quota' | 'model' | 'backend' | 'input' | 'failed';

// ---------------------------------------------------------------- requests

export type EmbedRequest =
  /** Which backends can start here, and on what adapter. Ends with `backends`. */
  | { type: 'probe-backends'; jobId: string }
  /** Times the encoder on each backend. Ends with `benchmark-done`. */
  | { type: 'benchmark'; jobId: string; encoder: EncoderSource; backends?: BackendName[]; batchSize: number }
  /** Embeds every image not yet cached, then computes the baseline. Ends with `embed-done`. */
  | { type: 'embed'; jobId: string; encoder: EncoderSource; images: EmbedImage[]; options: EmbedOptions }
  /**
   * Images of the `embed` request with the same jobId, sent ahead of it in slices (16,185
   * File handles in one message cost the page a 100 ms task to send): the worker puts them,
   * in the order they came, before that request's own images. Answers nothing.
   */
  | { type: 'embed-images'; jobId: string; images: EmbedImage[] }
  /**
   * Joins the encoder and a head into one TF.js model (image in, tuned embedding out) and
   * returns its files; with `saveTo` (an `indexeddb://` URL) also saves it there. Ends with
   * `model-exported`.
   */
  | {
      type: 'export-model';
      jobId: string;
      encoder: EncoderSource;
      weights: NamedWeights;
      readme: RunReadmeInfo;
      saveTo?: string;
      /** A fine-tuned top's weights under the encoder's weight names: they replace the pretrained ones in the export. */
      topWeights?: NamedWeights;
    }
  /** Cooperative cancel of a running job; that job still ends with its terminal event. */
  | { type: 'cancel'; jobId: string };

// ---------------------------------------------------------------- events

export type EmbedEvent =
  | { type: 'backends'; jobId: string; backends: BackendStatus[] }
  | { type: 'model-loading'; jobId: string; from: EncoderSummary['from']; fraction: number; bytes?: DownloadBytes }
  | { type: 'model-ready'; jobId: string; encoder: EncoderSummary }
  | { type: 'benchmark-figure'; jobId: string; timing: BackendTiming }
  | { type: 'benchmark-done'; jobId: string; timings: BackendTiming[]; fastest: BackendName | null }
  | { type: 'backend-chosen'; jobId: string; backend: BackendName; adapter?: AdapterInfo; threads?: WasmThreads; reason: string }
  | { type: 'cache-checked'; jobId: string; total: number; cached: number; missing: number; readMs: number }
  | {
      type: 'progress';
      jobId: string;
      /** Images embedded (or failed) so far in this run, out of `total` missing ones. */
      done: number;
      total: number;
      imagesPerSecond: number;
      etaSeconds: number;
      decodeMsPerImage: number;
      /** Decode workers at work (0: decoding in the embedding worker). */
      decodeWorkers: number;
      /** 'cut': the second pass, caching the cut maps for fine-tuning (absent: the pooled vectors). */
      pass?: 'cut';
    }
  | { type: 'problem'; jobId: string; path: string; message: string }
  /** An image that is used, with something done to it (a box clamped to its edge): a line for the problem report. */
  | { type: 'note'; jobId: string; path: string; message: string }
  | { type: 'metrics'; jobId: string; metrics: BaselineMetrics; fromCacheOnly: boolean }
  | {
      type: 'embed-done';
      jobId: string;
      /** Images embedded in this run. */
      embedded: number;
      /** Images that were already in the cache. */
      cached: number;
      failed: number;
      cancelled: boolean;
      seconds: number;
      imagesPerSecond: number;
      decodeMsPerImage: number;
      /** Decode workers at work (0: decoding in the embedding worker). */
      decodeWorkers: number;
      /** Set when the job also cached cut maps (`options.topBlocks` > 0). */
      cutMaps?: CutCacheSummary;
    }
  | {
      type: 'model-exported';
      jobId: string;
      /** Path inside the download -> bytes. */
      files: { path: string; bytes: Uint8Array }[];
      /** The `indexeddb://` URL it was saved to, when asked. */
      savedTo: string | null;
    }
  | { type: 'error'; jobId: string; code: ErrorCode; message: string };

export type EmbedEventType = EmbedEvent['type'];

/** The event that ends each request type (besides `error`, which ends any). */
export const TERMINAL_EVENT = {
  'probe-backends': 'backends',
  benchmark: 'benchmark-done',
  embed: 'embed-done',
  'export-model': 'model-exported',
} as const satisfies Record<Exclude<EmbedRequest['type'], 'cancel' | 'embed-images'>, EmbedEventType>;

export function isTerminalEvent(event: EmbedEvent): boolean {
  return event.type === 'error' || (Object.values(TERMINAL_EVENT) as string[]).includes(event.type);
}

/** Narrowing helper: the event of a given type. */
export type EventOf<T extends EmbedEventType> = Extract<EmbedEvent, { type: T }>;

/** Checks a message that claims to be a request (the worker trusts nothing it receives). */
export function requestProblem(message: unknown): string | null {
  if (!message || typeof message !== 'object') return 'a request must be an object';
  const m = message as Partial<EmbedRequest> & Record<string, unknown>;
  if (typeof m.jobId !== 'string' || m.jobId === '') return 'a request needs a jobId';
  switch (m.type) {
    case 'probe-backends':
    case 'cancel':
      return null;
    case 'embed-images':
      return Array.isArray(m.images) ? null : 'embed-images needs images';
    case 'benchmark':
      if (!m.encoder) return 'benchmark needs an encoder';
      if (!Number.isInteger(m.batchSize) || (m.batchSize as number) < 1) return 'batchSize must be a positive integer';
      return null;
    case 'embed': {
      if (!m.encoder) return 'embed needs an encoder';
      if (!Array.isArray(m.images)) return 'embed needs images';
      const o = m.options as Partial<EmbedOptions> | undefined;
      if (!o) return 'embed needs options';
      if (o.backend !== 'auto' && !isBackendName(o.backend)) {
        return `backend must be 'auto' or one of ${BACKEND_ORDER.join(', ')} (got ${JSON.stringify(o.backend)})`;
      }
      if (!Number.isInteger(o.batchSize) || (o.batchSize as number) < 1) return 'batchSize must be a positive integer';
      if (!Array.isArray(o.validationClasses)) return 'validationClasses must be an array';
      if (o.decodeWorkers !== undefined && (!Number.isInteger(o.decodeWorkers) || o.decodeWorkers < 0 || o.decodeWorkers > MAX_DECODE_WORKERS)) {
        return `decodeWorkers must be an integer from 0 to ${MAX_DECODE_WORKERS}, or left out for one per core (got ${JSON.stringify(o.decodeWorkers)})`;
      }
      if (o.topBlocks !== undefined && (!Number.isInteger(o.topBlocks) || o.topBlocks < 0)) {
        return `topBlocks must be an integer ≥ 0 (got ${JSON.stringify(o.topBlocks)})`;
      }
      return null;
    }
    case 'export-model':
      if (!m.encoder) return 'export-model needs an encoder';
      if (!m.weights || typeof m.weights !== 'object') return 'export-model needs the head weights';
      if (!m.readme || typeof m.readme !== 'object') return 'export-model needs the readme information';
      if (m.topWeights !== undefined && (!m.topWeights || typeof m.topWeights !== 'object')) return 'topWeights must be named weights';
      if (m.saveTo !== undefined && (typeof m.saveTo !== 'string' || !m.saveTo.startsWith('indexeddb://'))) {
        return `saveTo must be an indexeddb:// URL (got ${JSON.stringify(m.saveTo)})`;
      }
      return null;
    default:
      return `unknown request type ${JSON.stringify(m.type)}; expected probe-backends, benchmark, embed, embed-images, export-model or cancel`;
  }
}

/**
 * The worker's side of `embed-images`: the slices sent ahead of each job, joined in order
 * with the embed request's own images when it comes.
 */
export class ImagesSentAhead {
  private readonly byJob = new Map<string, EmbedImage[][]>();

  add(jobId: string, images: EmbedImage[]): void {
    const slices = this.byJob.get(jobId);
    if (slices) slices.push(images);
    else this.byJob.set(jobId, [images]);
  }

  /** Every image of the job: the slices sent ahead, then `last` (the embed request's own). */
  take(jobId: string, last: EmbedImage[]): EmbedImage[] {
    const slices = this.byJob.get(jobId);
    this.byJob.delete(jobId);
    return slices ? [...slices.flat(), ...last] : last;
  }

  /** Forgets a job's slices (it was cancelled before its embed request came). */
  drop(jobId: string): void {
    this.byJob.delete(jobId);
  }
}
