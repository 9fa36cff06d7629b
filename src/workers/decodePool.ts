import type { DatasetFile } from '../core/data/datasetFile';
import type { DecodedImage, DecodeSpec, ImageDecoder } from '../core/encoder/imageDecoder';
import { BitmapDecoder } from './bitmapDecoder';
import { blobOf, BrowserDatasetFile } from './browserFile';
import type { DecodeReply, DecodeRequest } from './decodeProtocol';

/**
 * The embedding worker's decoder: an ImageDecoder that hands each image to one of several
 * decode workers (src/workers/decodeWorker.ts), so decoding runs on other cores while this
 * worker runs inference, and a fast GPU is not left waiting for pixels.
 *
 * Order and back-pressure: `embedImages` (core) asks for one batch ahead of the batch being
 * embedded and puts each image back at its own index, so answers may arrive in any order;
 * the pool also never has more than `capacity` images decoding (the rest wait here, in
 * order), so memory stays bounded whatever the caller asks. Every request of a batch is
 * posted at once, before inference starts: a worker blocked in inference could not hand out
 * more work until it is done.
 */

/** The part of a Worker the pool uses (a fake in the unit tests). */
export interface DecodeWorkerLike {
  postMessage(message: DecodeRequest): void;
  addEventListener(type: 'message', listener: (e: { data: DecodeReply }) => void): void;
  addEventListener(type: 'error', listener: (e: { message?: string }) => void): void;
  terminate(): void;
}

/** What the embedding worker needs of its decoder, in-thread or pooled. */
export interface EmbedDecoder extends ImageDecoder {
  /** The thumbnail made for this path (once), if any. */
  takeThumbnail(path: string): Blob | undefined;
  /** Milliseconds of decoder time (summed over the decode workers) and images decoded. */
  readonly decodeMs: number;
  readonly decoded: number;
  /** Decode workers at work; 0 = decoding in the inference worker itself. */
  readonly workers: number;
  /** Stops the decode workers; decodes still waiting reject. Safe to call twice. */
  close(): void;
}

/**
 * Decode workers for a machine and a backend.
 *
 * - Inference on the GPU (`cpuInferenceThreads` 0 or undefined): every core but one (that one
 *   feeds the GPU), at least one, so a fast GPU never waits for pixels.
 * - Inference on the CPU (WASM with its threads, or tfjs's cpu backend's one): only the cores
 *   inference leaves free, possibly none (then decoding runs in the embedding worker between
 *   batches). On 2 cores with WASM's 2 threads a decode worker only takes CPU from inference,
 *   and passing every image between threads costs more of it
 *   (docs/pipeline-bench-2026-12-01b.json).
 */
export function decodePoolSize(hardwareConcurrency: number | undefined, cpuInferenceThreads = 0): number {
  const cores = Number.isFinite(hardwareConcurrency) && hardwareConcurrency! > 0 ? Math.floor(hardwareConcurrency!) : 2;
  if (cpuInferenceThreads > 0) return Math.max(0, cores - Math.floor(cpuInferenceThreads));
  return Math.max(1, cores - 1);
}

interface Job {
  id: number;
  path: string;
  blob: Blob;
  spec: DecodeSpec;
  resolve: (image: DecodedImage) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: DecodeWorkerLike;
  jobs: Map<number, Job>;
  /** The worker's own busy time so far, as it last reported it. */
  busyMs: number;
}

/** A decode failure with the decoder's own message, so the problem report reads as before. */
function decodeFailure(message: string): Error {
  const e = new Error(message);
  e.name = 'DecodeError';
  return e;
}

export interface DecodePoolOptions {
  /** Long side of the thumbnails made with every decode; 0 = none. */
  thumbnailSide: number;
  /** Most images decoding at once, over all workers. */
  capacity: number;
  /** How long a worker may take to load before it is given up. */
  readyTimeoutMs?: number;
  /** Decodes here when no worker is left (none started, or all stopped). */
  fallback?: () => EmbedDecoder;
}

export class DecodePool implements EmbedDecoder {
  private slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private readonly thumbnails = new Map<string, Blob>();
  private nextId = 0;
  private inFlight = 0;
  private closed = false;
  private deadBusyMs = 0;
  private fallbackDecoder: EmbedDecoder | null = null;
  private decodedHere = 0;
  /** Most images that were decoding at once (for the tests of back-pressure). */
  peakInFlight = 0;

  private constructor(private readonly options: DecodePoolOptions) {}

  /**
   * Starts `size` workers and waits until each has loaded (or failed to); a worker that
   * fails is left out. With none, every decode runs on `options.fallback`.
   */
  static async start(createWorker: (index: number) => DecodeWorkerLike, size: number, options: DecodePoolOptions): Promise<DecodePool> {
    const pool = new DecodePool(options);
    const started = await Promise.all(Array.from({ length: size }, (_, i) => pool.startOne(createWorker, i)));
    pool.slots = started.filter((s): s is Slot => s !== null);
    return pool;
  }

  private startOne(createWorker: (index: number) => DecodeWorkerLike, index: number): Promise<Slot | null> {
    return new Promise((resolve) => {
      let worker: DecodeWorkerLike;
      try {
        worker = createWorker(index);
      } catch (e) {
        console.warn(`Decode worker ${index + 1} could not start:`, e);
        return resolve(null);
      }
      const slot: Slot = { worker, jobs: new Map(), busyMs: 0 };
      let ready = false;
      const timer = setTimeout(() => fail(`it did not load within ${this.options.readyTimeoutMs ?? 10_000} ms`), this.options.readyTimeoutMs ?? 10_000);
      const fail = (why: string) => {
        clearTimeout(timer);
        if (!ready) {
          console.warn(`Decode worker ${index + 1} could not start: ${why}`);
          worker.terminate();
          resolve(null);
        } else {
          this.lose(slot, why);
        }
      };
      worker.addEventListener('error', (e) => fail(e.message || 'its script failed'));
      worker.addEventListener('message', ({ data }) => {
        if (data.type === 'ready') {
          clearTimeout(timer);
          ready = true;
          resolve(slot);
        } else {
          this.answer(slot, data);
        }
      });
    });
  }

  get workers(): number {
    return this.slots.length;
  }

  get decodeMs(): number {
    return this.deadBusyMs + this.slots.reduce((s, w) => s + w.busyMs, 0) + (this.fallbackDecoder?.decodeMs ?? 0);
  }

  get decoded(): number {
    return this.decodedHere + (this.fallbackDecoder?.decoded ?? 0);
  }

  takeThumbnail(path: string): Blob | undefined {
    const t = this.thumbnails.get(path) ?? this.fallbackDecoder?.takeThumbnail(path);
    this.thumbnails.delete(path);
    return t;
  }

  decode(file: DatasetFile, spec: DecodeSpec): Promise<DecodedImage> {
    if (this.closed) return Promise.reject(new Error('Decoding stopped: the embedding run has ended.'));
    if (this.slots.length === 0) return this.fallback().decode(file, spec);
    // A browser file posts as it is, at once (see the class comment); other files are read first.
    if (file instanceof BrowserDatasetFile) return this.enqueue(file.path, file.file, spec);
    return blobOf(file).then((blob) => this.enqueue(file.path, blob, spec));
  }

  private enqueue(path: string, blob: Blob, spec: DecodeSpec): Promise<DecodedImage> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, path, blob, spec, resolve, reject });
      this.dispatch();
    });
  }

  /** Hands waiting images to the least busy workers, up to the capacity. */
  private dispatch(): void {
    while (this.waiting.length > 0 && this.inFlight < this.options.capacity && !this.closed) {
      if (this.slots.length === 0) {
        for (const job of this.waiting.splice(0)) this.fallback().decode(new BrowserDatasetFile(job.path, asFile(job.blob, job.path)), job.spec).then(job.resolve, job.reject);
        return;
      }
      const job = this.waiting.shift()!;
      const slot = this.slots.reduce((best, s) => (s.jobs.size < best.jobs.size ? s : best));
      slot.jobs.set(job.id, job);
      this.inFlight += 1;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      slot.worker.postMessage({ type: 'decode', id: job.id, path: job.path, blob: job.blob, spec: job.spec, thumbnailSide: this.options.thumbnailSide });
    }
  }

  private answer(slot: Slot, reply: Exclude<DecodeReply, { type: 'ready' }>): void {
    const job = slot.jobs.get(reply.id);
    if (!job) return;
    slot.jobs.delete(reply.id);
    this.inFlight -= 1;
    slot.busyMs = reply.busyMs;
    this.decodedHere += 1;
    if (reply.type === 'decoded') {
      if (reply.thumbnail) this.thumbnails.set(job.path, reply.thumbnail);
      job.resolve(reply.image);
    } else {
      job.reject(decodeFailure(reply.message));
    }
    this.dispatch();
  }

  /** A worker that stopped: its images fail with the reason, the others go on. */
  private lose(slot: Slot, why: string): void {
    if (!this.slots.includes(slot)) return;
    this.slots = this.slots.filter((s) => s !== slot);
    this.deadBusyMs += slot.busyMs;
    slot.worker.terminate();
    for (const job of slot.jobs.values()) {
      this.inFlight -= 1;
      job.reject(decodeFailure(`Cannot decode ${job.path}: its decode worker stopped (${why}); embed again to retry it`));
    }
    slot.jobs.clear();
    this.dispatch();
  }

  private fallback(): EmbedDecoder {
    if (!this.fallbackDecoder) {
      if (!this.options.fallback) throw new Error('No decode worker is running and there is no fallback decoder.');
      this.fallbackDecoder = this.options.fallback();
    }
    return this.fallbackDecoder;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Error('Decoding stopped: the embedding run has ended.');
    for (const slot of this.slots) {
      slot.worker.terminate();
      for (const job of slot.jobs.values()) job.reject(stopped);
      slot.jobs.clear();
    }
    for (const job of this.waiting.splice(0)) job.reject(stopped);
    this.inFlight = 0;
    this.fallbackDecoder?.close();
  }
}

function asFile(blob: Blob, path: string): File {
  return blob instanceof File ? blob : new File([blob], path);
}

/** The in-thread decoder (today's path) with the pool's interface. */
export function inThreadDecoder(thumbnailSide: number): EmbedDecoder {
  const d = new BitmapDecoder(thumbnailSide);
  return {
    decode: (file, spec) => d.decode(file, spec),
    takeThumbnail: (path) => d.takeThumbnail(path),
    get decodeMs() {
      return d.decodeMs;
    },
    get decoded() {
      return d.decoded;
    },
    workers: 0,
    close: () => undefined,
  };
}

/**
 * The embedding worker's decoder: `requested` decode workers (undefined = sized from the
 * machine's cores and the CPU threads inference runs on, see decodePoolSize; 0 = decode in
 * the inference worker, as before the pool). Workers are nested in the embedding worker, so
 * they live and die with its job, and the page and the protocol do not change.
 */
export async function openDecoder(requested: number | undefined, thumbnailSide: number, capacity: number, cpuInferenceThreads = 0): Promise<EmbedDecoder> {
  const size = requested ?? decodePoolSize(globalThis.navigator?.hardwareConcurrency, cpuInferenceThreads);
  if (size === 0) return inThreadDecoder(thumbnailSide);
  return DecodePool.start(
    (i) => new Worker(new URL('./decodeWorker.ts', import.meta.url), { type: 'module', name: `decode-${i + 1}` }) as unknown as DecodeWorkerLike,
    size,
    { thumbnailSide, capacity, fallback: () => inThreadDecoder(thumbnailSide) },
  );
}
