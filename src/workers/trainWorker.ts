/// <reference lib="webworker" />
/**
 * The training worker: message handling only (the run itself is `TrainSession`, the loop the
 * engine's `HeadTrainer`). One run at a time. While a run lives it holds a Web Lock named
 * after it, so a page that reloads can tell a run cut short by a closed tab from a live one.
 */
import { EmbeddingCache } from '../storage/embeddingCache';
import { RunHistory, runLockName } from '../storage/runHistory';
import { isQuotaError } from '../storage/studioDb';
import { activateBackend, webgpuAdapter } from './backends';
import { loadEncoderTop } from './fineTuneTop';
import type { BackendName } from './embedProtocol';
import type { TrainBackendChoice, TrainEvent, TrainRequest } from './trainProtocol';
import { trainRequestProblem } from './trainProtocol';
import { TrainSession } from './trainSession';

declare const self: DedicatedWorkerGlobalScope;

function post(event: TrainEvent): void {
  self.postMessage(event);
}

let session: TrainSession | null = null;

self.addEventListener('message', (e: MessageEvent<TrainRequest>) => {
  const request = e.data;
  const problem = trainRequestProblem(request);
  const runId = (request as { runId?: unknown })?.runId;
  if (problem) {
    post({ type: 'error', runId: typeof runId === 'string' ? runId : '', code: 'input', message: problem, epochsKept: 0 });
    return;
  }
  if (request.type !== 'start') {
    if (session?.runId !== request.runId) return; // a command for a run that has ended
    if (request.type === 'pause') session.pause();
    else if (request.type === 'resume') session.resume();
    else session.stop();
    return;
  }
  if (session) {
    post({
      type: 'error',
      runId: request.runId,
      code: 'input',
      message: `Run ${session.runId} is still training: stop it before starting another.`,
      epochsKept: 0,
    });
    return;
  }
  void start(request);
});

async function start(request: Extract<TrainRequest, { type: 'start' }>): Promise<void> {
  let history: RunHistory | null = null;
  let cache: EmbeddingCache | null = null;
  const current = new TrainSession(request, {
    post,
    chooseBackend,
    readEmbeddings: async (key, dim, identities) => {
      cache ??= await EmbeddingCache.open();
      return cache.lookup(key, dim, identities);
    },
    loadTop: (blocks, backend) => {
      if (!request.encoder) throw new Error('the request names no encoder');
      return loadEncoderTop(request.encoder, request.data.preprocessingKey, blocks, backend);
    },
    readCuts: async (cutKey, size, identities) => {
      cache ??= await EmbeddingCache.open();
      return cache.lookupCuts(cutKey, size, identities);
    },
    store: {
      save: async (run, weights) => {
        history ??= await RunHistory.open();
        try {
          await history.save(run, weights);
        } catch (e) {
          throw isQuotaError(e) ? new Error('browser storage is full') : e;
        }
      },
    },
  });
  session = current;
  try {
    const locks = (self.navigator as Navigator & { locks?: LockManager }).locks;
    if (locks) await locks.request(runLockName(request.runId), () => current.run());
    else await current.run();
  } finally {
    session = null;
    (cache as EmbeddingCache | null)?.close();
    (history as RunHistory | null)?.close();
  }
}

/**
 * 'auto': WebGPU on a real adapter; otherwise WASM (a software WebGPU adapter is about
 * 100x slower than WASM, and WebGL's per-op overhead does not pay off on a small head).
 */
async function chooseBackend(choice: TrainBackendChoice): Promise<BackendName> {
  if (choice !== 'auto') {
    if (await activateBackend(choice)) return choice;
    throw new Error(`The ${choice} backend could not start in this browser; choose another (or auto).`);
  }
  const { adapter } = await webgpuAdapter();
  if (adapter && !adapter.isFallbackAdapter && (await activateBackend('webgpu'))) return 'webgpu';
  for (const name of ['wasm', 'cpu'] as const) if (await activateBackend(name)) return name;
  throw new Error('No tfjs backend could start in this browser.');
}
