/// <reference lib="webworker" />
/**
 * The search worker: message handling only (the work is `SearchGallery` and the engine).
 * Requests are handled as they come, not queued, so a search stays instant while a UMAP
 * layout runs (the layout yields every few epochs); `cancel` aborts a running projection.
 */
import { EmbeddingCache } from '../storage/embeddingCache';
import { activateBackend } from './backends';
import type { BackendName } from './embedProtocol';
import { SearchGallery } from './searchGallery';
import { SearchTop } from './searchTop';
import type { SearchEvent, SearchRequest, TunedFeatureCount } from './searchProtocol';
import { searchRequestProblem } from './searchProtocol';

declare const self: DedicatedWorkerGlobalScope;

function post(event: SearchEvent, transfer: Transferable[] = []): void {
  self.postMessage(event, transfer);
}

let gallery: SearchGallery | null = null;
let galleryIdentities: string[] = [];
let preprocessingKey = '';
/** A fine-tuned run's top, while its head is the one set: the head then reads its tuned features. */
let top: SearchTop | null = null;
let backend: Promise<BackendName> | null = null;
/** `set-head` requests run one after another: each may load a top and compute tuned features. */
let headChain: Promise<unknown> = Promise.resolve();
const running = new Map<string, AbortController>();

function ensureBackend(): Promise<BackendName> {
  backend ??= (async () => {
    for (const name of ['wasm', 'cpu'] as const) if (await activateBackend(name)) return name;
    throw new Error('No tfjs backend could start in this browser.');
  })();
  return backend;
}

self.addEventListener('message', (e: MessageEvent<SearchRequest>) => {
  const request = e.data;
  const problem = searchRequestProblem(request);
  if (problem) {
    post({ type: 'error', reqId: (request as { reqId?: string })?.reqId ?? '', message: problem });
    return;
  }
  if (request.type === 'cancel') {
    running.get(request.reqId)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(request.reqId, controller);
  void handle(request, controller.signal)
    .catch((err: unknown) => {
      const cancelled = controller.signal.aborted;
      post({ type: 'error', reqId: request.reqId, message: cancelled ? 'Cancelled' : err instanceof Error ? err.message : String(err), cancelled });
    })
    .finally(() => running.delete(request.reqId));
});

function need(): SearchGallery {
  if (!gallery) throw new Error('The gallery is not loaded yet');
  return gallery;
}

async function handle(request: Exclude<SearchRequest, { type: 'cancel' }>, signal: AbortSignal): Promise<void> {
  const { reqId } = request;
  switch (request.type) {
    case 'load': {
      const started = performance.now();
      const name = await ensureBackend();
      const { gallery: spec } = request;
      const cache = await EmbeddingCache.open();
      let lookup;
      try {
        lookup = await cache.lookup(spec.preprocessingKey, spec.featureSize, spec.identities);
      } finally {
        cache.close();
      }
      const found = lookup.found;
      const labels = new Int32Array(found.length);
      const items = Array.from(found, (i, r) => ((labels[r] = spec.labels[i]), spec.items[i]));
      gallery = new SearchGallery(spec.featureSize, lookup.vectors, labels, items, request.distance);
      galleryIdentities = Array.from(found, (i) => spec.identities[i]);
      preprocessingKey = spec.preprocessingKey;
      post({ type: 'loaded', reqId, found, missing: lookup.missing.length, dim: spec.featureSize, backend: name, ms: performance.now() - started });
      return;
    }
    case 'set-head': {
      const turn = headChain.then(() => setHead(request, signal));
      headChain = turn.catch(() => undefined);
      await turn;
      return;
    }
    case 'search': {
      const g = need();
      const { query, k } = request;
      let vector: Float32Array;
      let headInput: Float32Array | undefined;
      let row: number | null = null;
      if (query.kind === 'row') {
        if (!Number.isInteger(query.row) || query.row < 0 || query.row >= g.size) throw new Error(`No gallery row ${query.row}`);
        row = query.row;
        vector = g.row('base', row);
      } else {
        const cache = await EmbeddingCache.open();
        try {
          const found = await cache.lookup(preprocessingKey, g.dim, [query.identity]);
          if (found.found.length === 0) throw new Error('That photo has no embedding yet');
          vector = found.vectors;
        } finally {
          cache.close();
        }
        if (top && g.hasHead) {
          const tuned = await top.features([query.identity], { signal });
          if (tuned.found.length === 0) throw new Error("That photo has no cut map for the run's fine-tuned top: drop it again to embed it with the top's cut");
          headInput = tuned.vectors;
        }
      }
      const started = performance.now();
      const r = g.search(vector, k, row ?? undefined, headInput);
      post({ type: 'results', reqId, queryRow: row, base: r.base, tuned: r.tuned, ms: performance.now() - started });
      return;
    }
    case 'project': {
      const g = need();
      const started = performance.now();
      const coords = await g.project(request.space, request.method, {
        signal,
        onProgress: (done, total) => post({ type: 'progress', reqId, stage: 'UMAP layout', done, total }),
      });
      post({ type: 'projection', reqId, space: request.space, method: request.method, coords: coords.slice(), ms: performance.now() - started });
      return;
    }
    case 'export': {
      const g = need();
      if (request.space === 'tuned' && !g.hasHead) throw new Error('No head is loaded: the tuned embeddings need one');
      const { identities, items } = request.images;
      if (request.space === 'tuned' && top) {
        // a fine-tuned run's head reads the tuned features of the same images
        const tuned = await top.features(identities, {
          signal,
          onProgress: (done, total) => post({ type: 'progress', reqId, stage: 'Tuned features', done, total }),
        });
        const found = Array.from(tuned.found, (i) => items[i]);
        const files = g.exportFiles('tuned', request.format, { vectors: tuned.vectors, items: found }, request.name);
        post({ type: 'exported', reqId, files, count: found.length, missing: tuned.missing.length, tunedFeatures: { cached: tuned.cached, computed: tuned.computed } });
        return;
      }
      const cache = await EmbeddingCache.open();
      let lookup;
      try {
        lookup = await cache.lookup(preprocessingKey, g.dim, identities);
      } finally {
        cache.close();
      }
      const found = Array.from(lookup.found, (i) => items[i]);
      const files = g.exportFiles(request.space, request.format, { vectors: lookup.vectors, items: found }, request.name);
      post({ type: 'exported', reqId, files, count: found.length, missing: lookup.missing.length });
      return;
    }
  }
}

async function setHead(request: Extract<SearchRequest, { type: 'set-head' }>, signal: AbortSignal): Promise<void> {
  const { reqId } = request;
  signal.throwIfAborted();
  const g = need();
  const identities = galleryIdentities;
  const started = performance.now();
  const name = await ensureBackend();
  g.setHead(null);
  const spec = request.top ?? null;
  if (top && (!spec || !top.isFor(spec, preprocessingKey))) {
    top.dispose();
    top = null;
  }
  let tunedFeatures: TunedFeatureCount | null = null;
  if (spec && request.weights) {
    if (!top) {
      post({ type: 'progress', reqId, stage: "Loading the run's fine-tuned encoder top", done: 0, total: 1 });
      top = await SearchTop.load(spec, preprocessingKey, name);
    }
    const features = await top.features(identities, {
      signal,
      onProgress: (done, total) => post({ type: 'progress', reqId, stage: 'Tuned features', done, total }),
    });
    if (features.missing.length) {
      throw new Error(
        `${features.missing.length} of the ${g.size} never-seen images have no cut map for the run's top (${spec.cut}): embed the dataset again with "Train the encoder's top blocks" set to ${spec.blocks}.`,
      );
    }
    signal.throwIfAborted();
    g.setHead(request.weights, features.vectors);
    tunedFeatures = { cached: features.cached, computed: features.computed };
  } else g.setHead(request.weights);
  const m = await g.metrics(request.evaluation);
  post({ type: 'head-set', reqId, base: m.base, tuned: m.tuned, tunedFeatures, ms: performance.now() - started });
}
