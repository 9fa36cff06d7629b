/**
 * The page's typed handle on the embedding worker. The worker starts on first use; each
 * call sends one request and resolves with its terminal event, forwarding every event of
 * the job to `onEvent` on the way. Aborting the signal sends `cancel`; the promise still
 * waits for the worker to finish the job (cooperative cancel), so nothing half-written
 * is left behind.
 */
import type {
  BackendName,
  EmbedEvent,
  EmbedImage,
  EmbedOptions,
  EmbedRequest,
  EncoderSource,
  EventOf,
} from './embedProtocol';
import type { RunReadmeInfo } from '../core/export/modelReadme';
import type { NamedWeights } from '../core/train/heads';
import { isTerminalEvent } from './embedProtocol';
import { nextTask } from './nextTask';

/** The part of Worker the client needs (a fake in unit tests). */
export interface WorkerLike {
  postMessage(message: EmbedRequest): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<EmbedEvent>) => void): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent) => void): void;
  terminate(): void;
}

export class EmbedJobError extends Error {
  override name = 'EmbedJobError';
  constructor(readonly event: EventOf<'error'>) {
    super(event.message);
  }
}

export interface JobOptions {
  signal?: AbortSignal;
  onEvent?: (event: EmbedEvent) => void;
}

type Pending = { onEvent?: (e: EmbedEvent) => void; resolve: (e: EmbedEvent) => void; reject: (e: Error) => void };

let nextJob = 0;

/** About 10-15 ms of the page's time to send, in Chromium on this machine (16,185 at once: 100 ms). */
const IMAGES_PER_MESSAGE = 2000;


export class EmbedClient {
  private worker: WorkerLike | null = null;
  private readonly jobs = new Map<string, Pending>();

  /** `imagesPerMessage`: an embed request's images go to the worker in slices of this many, one task each. */
  constructor(
    private readonly createWorker: () => WorkerLike = defaultWorker,
    private readonly imagesPerMessage = IMAGES_PER_MESSAGE,
  ) {}

  /** Which backends start in the worker, with the WebGPU adapter. */
  async probeBackends(options: JobOptions = {}): Promise<EventOf<'backends'>> {
    return this.run({ type: 'probe-backends', jobId: newJobId() }, options) as Promise<EventOf<'backends'>>;
  }

  /** Times the encoder on each available backend (or the given ones). */
  async benchmark(
    encoder: EncoderSource,
    batchSize: number,
    options: JobOptions & { backends?: BackendName[] } = {},
  ): Promise<EventOf<'benchmark-done'>> {
    return this.run(
      { type: 'benchmark', jobId: newJobId(), encoder, batchSize, backends: options.backends },
      options,
    ) as Promise<EventOf<'benchmark-done'>>;
  }

  /** Embeds what is missing from the cache, then computes the baseline. */
  async embed(
    encoder: EncoderSource,
    images: EmbedImage[],
    embedOptions: EmbedOptions,
    options: JobOptions = {},
  ): Promise<EventOf<'embed-done'>> {
    const jobId = newJobId();
    // all but the last slice sent ahead, each in a task of its own; the request carries the last
    const last = Math.max(0, Math.ceil(images.length / this.imagesPerMessage) - 1) * this.imagesPerMessage;
    for (let i = 0; i < last; i += this.imagesPerMessage) {
      if (options.signal?.aborted) break;
      this.ensureWorker().postMessage({ type: 'embed-images', jobId, images: images.slice(i, i + this.imagesPerMessage) });
      await nextTask();
    }
    if (options.signal?.aborted && last > 0) this.ensureWorker().postMessage({ type: 'cancel', jobId });
    return this.run({ type: 'embed', jobId, encoder, images: images.slice(last), options: embedOptions }, options) as Promise<EventOf<'embed-done'>>;
  }

  /** The encoder joined with a head into one TF.js model: its files (and, with `saveTo`, saved to IndexedDB). */
  async exportModel(
    encoder: EncoderSource,
    weights: NamedWeights,
    readme: RunReadmeInfo,
    options: JobOptions & { saveTo?: string; topWeights?: NamedWeights } = {},
  ): Promise<EventOf<'model-exported'>> {
    const { saveTo, topWeights, ...job } = options;
    return this.run(
      { type: 'export-model', jobId: newJobId(), encoder, weights, readme, ...(saveTo ? { saveTo } : {}), ...(topWeights ? { topWeights } : {}) },
      job,
    ) as Promise<EventOf<'model-exported'>>;
  }

  /** Stops the worker; running jobs reject. */
  terminate(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const job of this.jobs.values()) job.reject(new Error('The embedding worker was stopped.'));
    this.jobs.clear();
  }

  private run(request: Exclude<EmbedRequest, { type: 'cancel' }>, { signal, onEvent }: JobOptions): Promise<EmbedEvent> {
    return new Promise<EmbedEvent>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError'));
        return;
      }
      const worker = this.ensureWorker();
      const cancel = () => worker.postMessage({ type: 'cancel', jobId: request.jobId });
      signal?.addEventListener('abort', cancel, { once: true });
      this.jobs.set(request.jobId, {
        onEvent,
        resolve: (e) => {
          signal?.removeEventListener('abort', cancel);
          resolve(e);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', cancel);
          reject(e);
        },
      });
      worker.postMessage(request);
    });
  }

  private ensureWorker(): WorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker();
    worker.addEventListener('message', (e: MessageEvent<EmbedEvent>) => this.dispatch(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      const message = `The embedding worker crashed: ${e.message || 'unknown error'}`;
      for (const job of this.jobs.values()) job.reject(new Error(message));
      this.jobs.clear();
      this.worker = null;
    });
    this.worker = worker;
    return worker;
  }

  private dispatch(event: EmbedEvent): void {
    const job = this.jobs.get(event.jobId);
    if (!job) return;
    job.onEvent?.(event);
    if (!isTerminalEvent(event)) return;
    this.jobs.delete(event.jobId);
    if (event.type === 'error') job.reject(new EmbedJobError(event));
    else job.resolve(event);
  }
}

function newJobId(): string {
  nextJob += 1;
  return `job-${nextJob}-${Date.now().toString(36)}`;
}

function defaultWorker(): WorkerLike {
  return new Worker(new URL('./embedWorker.ts', import.meta.url), { type: 'module', name: 'embed' }) as unknown as WorkerLike;
}
