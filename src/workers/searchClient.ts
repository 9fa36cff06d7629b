/**
 * The page's typed handle on the search worker (started on first use). Each call sends one
 * request and resolves with its terminal event, forwarding progress on the way; aborting
 * the signal sends `cancel`.
 */
import type { SearchEvent, SearchEventOf, SearchRequest } from './searchProtocol';
import { isTerminalSearchEvent } from './searchProtocol';

export interface SearchWorkerLike {
  postMessage(message: SearchRequest): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<SearchEvent>) => void): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent) => void): void;
  terminate(): void;
}

export class SearchRequestError extends Error {
  override name = 'SearchRequestError';
  constructor(
    message: string,
    readonly cancelled = false,
  ) {
    super(message);
  }
}

type Pending = { onEvent?: (e: SearchEvent) => void; resolve: (e: SearchEvent) => void; reject: (e: Error) => void };
type Req = Exclude<SearchRequest, { type: 'cancel' }>;
type Without<T> = T extends unknown ? Omit<T, 'reqId'> : never;
type TerminalOf<T extends Req['type']> = SearchEventOf<
  { load: 'loaded'; 'set-head': 'head-set'; search: 'results'; project: 'projection'; export: 'exported' }[T]
>;

let next = 0;

export class SearchClient {
  private worker: SearchWorkerLike | null = null;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly createWorker: () => SearchWorkerLike = defaultWorker) {}

  request<R extends Without<Req>>(
    body: R,
    options: { signal?: AbortSignal; onEvent?: (e: SearchEvent) => void } = {},
  ): Promise<TerminalOf<R['type']>> {
    const reqId = `s${++next}`;
    const { signal, onEvent } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new SearchRequestError('Cancelled', true));
        return;
      }
      const worker = this.ensureWorker();
      const cancel = () => worker.postMessage({ type: 'cancel', reqId });
      signal?.addEventListener('abort', cancel, { once: true });
      const done = () => signal?.removeEventListener('abort', cancel);
      this.pending.set(reqId, {
        onEvent,
        resolve: (e) => (done(), resolve(e as TerminalOf<R['type']>)),
        reject: (e) => (done(), reject(e)),
      });
      worker.postMessage({ ...body, reqId } as SearchRequest);
    });
  }

  terminate(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new SearchRequestError('The search worker was stopped.'));
    this.pending.clear();
  }

  private ensureWorker(): SearchWorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker();
    worker.addEventListener('message', (e: MessageEvent<SearchEvent>) => {
      const event = e.data;
      const p = this.pending.get(event.reqId);
      if (!p) return;
      p.onEvent?.(event);
      if (!isTerminalSearchEvent(event)) return;
      this.pending.delete(event.reqId);
      if (event.type === 'error') p.reject(new SearchRequestError(event.message, event.cancelled));
      else p.resolve(event);
    });
    worker.addEventListener('error', (e: ErrorEvent) => {
      for (const p of this.pending.values()) p.reject(new SearchRequestError(`The search worker crashed: ${e.message || 'unknown error'}`));
      this.pending.clear();
      this.worker = null;
    });
    this.worker = worker;
    return worker;
  }
}

function defaultWorker(): SearchWorkerLike {
  return new Worker(new URL('./searchWorker.ts', import.meta.url), { type: 'module', name: 'search' }) as unknown as SearchWorkerLike;
}
