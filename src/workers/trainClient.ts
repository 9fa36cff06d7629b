/**
 * The page's typed handle on the training worker. The worker starts on the first run; `start`
 * resolves with the run's terminal event (`done` or `error`: a failed run resolves too, the
 * event says why) after forwarding every event to `onEvent`. A worker that crashes (its
 * `error` event) ends the run with an `error` event of code 'crashed'; the run history
 * still holds the run up to its last finished epoch.
 */
import type { TrainEvent, TrainEventOf, TrainRequest } from './trainProtocol';
import { isTerminalTrainEvent } from './trainProtocol';

/** The part of Worker the client needs (a fake in unit tests). */
export interface TrainWorkerLike {
  postMessage(message: TrainRequest): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<TrainEvent>) => void): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent) => void): void;
  terminate(): void;
}

export type StartRequest = Extract<TrainRequest, { type: 'start' }>;
export type TerminalTrainEvent = TrainEventOf<'done'> | TrainEventOf<'error'>;

interface ActiveRun {
  runId: string;
  epochs: number;
  onEvent?: (e: TrainEvent) => void;
  resolve: (e: TerminalTrainEvent) => void;
}

let nextRun = 0;

export function newRunId(): string {
  nextRun += 1;
  return `run-${Date.now().toString(36)}-${nextRun}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export class TrainClient {
  private worker: TrainWorkerLike | null = null;
  private active: ActiveRun | null = null;

  constructor(private readonly createWorker: () => TrainWorkerLike = defaultWorker) {}

  /** The run being trained now, if any. */
  get activeRunId(): string | null {
    return this.active?.runId ?? null;
  }

  /**
   * Starts a run; one at a time. With `request.initialWeights` (a loaded head's weights) the run
   * continues from them instead of a fresh head; they are copied to the worker, so the page's
   * head stays as it is.
   */
  start(request: StartRequest, onEvent?: (e: TrainEvent) => void): Promise<TerminalTrainEvent> {
    if (this.active) {
      return Promise.reject(new Error(`Run ${this.active.runId} is still training: stop it before starting another.`));
    }
    return new Promise<TerminalTrainEvent>((resolve) => {
      this.active = { runId: request.runId, epochs: 0, onEvent, resolve };
      this.ensureWorker().postMessage(request);
    });
  }

  pause(): void {
    this.command('pause');
  }

  resume(): void {
    this.command('resume');
  }

  stop(): void {
    this.command('stop');
  }

  /** Ends the worker; a running run ends with an error event (its epochs stay in the history). */
  terminate(): void {
    const worker = this.worker;
    this.worker = null;
    worker?.terminate();
    this.fail('crashed', 'The training worker was stopped.');
  }

  private command(type: 'pause' | 'resume' | 'stop'): void {
    if (this.active && this.worker) this.worker.postMessage({ type, runId: this.active.runId });
  }

  private ensureWorker(): TrainWorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker();
    worker.addEventListener('message', (e: MessageEvent<TrainEvent>) => this.dispatch(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      if (this.worker === worker) this.worker = null;
      worker.terminate();
      this.fail('crashed', `The training worker crashed: ${e.message || 'unknown error'}.`);
    });
    this.worker = worker;
    return worker;
  }

  private fail(code: 'crashed', what: string): void {
    const run = this.active;
    if (!run) return;
    const event: TrainEventOf<'error'> = {
      type: 'error',
      runId: run.runId,
      code,
      message: `${what} The run is kept up to its last finished epoch (${run.epochs}).`,
      epochsKept: run.epochs,
    };
    this.dispatch(event);
  }

  private dispatch(event: TrainEvent): void {
    const run = this.active;
    if (!run || event.runId !== run.runId) return;
    if (event.type === 'epoch' && !event.report.error) run.epochs = event.report.epoch;
    run.onEvent?.(event);
    if (!isTerminalTrainEvent(event)) return;
    this.active = null;
    run.resolve(event);
  }
}

function defaultWorker(): TrainWorkerLike {
  return new Worker(new URL('./trainWorker.ts', import.meta.url), { type: 'module', name: 'train' }) as unknown as TrainWorkerLike;
}
