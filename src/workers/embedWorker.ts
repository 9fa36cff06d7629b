/// <reference lib="webworker" />
/**
 * The embedding worker: message handling only. It owns the model and the tfjs backend;
 * jobs run one at a time (a backend switch must not happen under a running job), and a
 * `cancel` reaches the running job at once through its AbortController.
 */
import * as tf from '@tensorflow/tfjs';
import { detachedFile } from '../core/data/datasetFile';
import { imageIdentity } from '../core/data/datasetFile';
import { artifactsOfFiles, similarityModelExport } from '../core/export/similarityModelExport';
import { assignTopWeights } from '../core/encoder/encoderTop';
import { cutEncoder, type ImageEncoder } from '../core/encoder/loadEncoder';
import { cutForBlocks, preprocessingKey } from '../core/encoder/modelCard';
import { retrievalMetrics } from '../core/eval/retrievalMetrics';
import { EmbeddingCache } from '../storage/embeddingCache';
import { cutSetKey } from '../storage/embeddingKeys';
import { putThumbnails } from '../storage/sessionDb';
import { isQuotaError } from '../storage/studioDb';
import { activateBackend, probeBackends, wasmThreads } from './backends';
import { fastestBackend, timeBackend } from './benchmarkBackends';
import { BrowserDatasetFile } from './browserFile';
import { inThreadDecoder, openDecoder, type EmbedDecoder } from './decodePool';
import { embedWithWriteBehind } from './embedWriteBehind';
import type {
  BackendName,
  BackendTiming,
  BaselineMetrics,
  CutCacheSummary,
  EmbedEvent,
  EmbedRequest,
  EncoderSource,
  EncoderSummary,
  ErrorCode,
} from './embedProtocol';
import { ImagesSentAhead, requestProblem } from './embedProtocol';
import { EncoderDownloadError, resolveModel, loadResolved, type ResolvedModel } from './loadEncoderSource';
import { MODEL_FOLDER_HINT } from '../core/encoder/loadFailure';

declare const self: DedicatedWorkerGlobalScope;

function post(event: EmbedEvent): void {
  self.postMessage(event);
}

class JobError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Long side of the thumbnails made while embedding (shown when the image files are not connected). */
const THUMBNAIL_SIDE = 100;

const running = new Map<string, AbortController>();
let queue: Promise<void> = Promise.resolve();
/** Fastest backend measured per model card id, so 'auto' measures once per worker. */
const measured = new Map<string, BackendName>();

const sentAhead = new ImagesSentAhead();

self.addEventListener('message', (e: MessageEvent<EmbedRequest>) => {
  const request = e.data;
  const problem = requestProblem(request);
  if (problem) {
    post({ type: 'error', jobId: (request as { jobId?: string })?.jobId ?? '', code: 'input', message: problem });
    return;
  }
  if (request.type === 'cancel') {
    sentAhead.drop(request.jobId);
    running.get(request.jobId)?.abort(new DOMException('Cancelled', 'AbortError'));
    return;
  }
  if (request.type === 'embed-images') {
    sentAhead.add(request.jobId, request.images);
    return;
  }
  // the slices sent ahead join the request here, before anything queued after it can run
  if (request.type === 'embed') request.images = sentAhead.take(request.jobId, request.images);
  const controller = new AbortController();
  running.set(request.jobId, controller);
  queue = queue.then(async () => {
    try {
      await handle(request, controller.signal);
    } catch (err) {
      const code: ErrorCode = err instanceof JobError ? err.code : isQuotaError(err) ? 'quota' : 'failed';
      post({ type: 'error', jobId: request.jobId, code, message: err instanceof Error ? err.message : String(err) });
    } finally {
      running.delete(request.jobId);
    }
  });
});

async function handle(request: Exclude<EmbedRequest, { type: 'cancel' | 'embed-images' }>, signal: AbortSignal): Promise<void> {
  switch (request.type) {
    case 'probe-backends':
      post({ type: 'backends', jobId: request.jobId, backends: await probeBackends() });
      return;
    case 'benchmark': {
      const model = await resolve(request.jobId, request.encoder);
      const timings = await benchmark(request.jobId, model, request.batchSize, request.backends, signal);
      post({ type: 'benchmark-done', jobId: request.jobId, timings, fastest: fastestBackend(timings) });
      return;
    }
    case 'embed':
      await embed(request, signal);
      return;
    case 'export-model':
      await exportModel(request);
      return;
  }
}

/** Builds the whole similarity model (and saves it to IndexedDB when asked). */
async function exportModel(request: Extract<EmbedRequest, { type: 'export-model' }>): Promise<void> {
  const { jobId } = request;
  const model = await resolve(jobId, request.encoder);
  // building and saving only copies weights: WASM (or CPU) does it without compiling GPU kernels
  if (!(await activateBackend('wasm')) && !(await activateBackend('cpu'))) {
    throw new JobError('backend', 'No tfjs backend could start in this browser.');
  }
  let encoder: ImageEncoder;
  try {
    encoder = await loadResolved(model);
  } catch (e) {
    throw new JobError('model', `Could not load the encoder: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    if (request.topWeights) {
      if (!(encoder.model instanceof tf.LayersModel)) throw new JobError('model', 'A fine-tuned top needs a layers-model encoder; this one is a graph model.');
      assignTopWeights(encoder.model, request.topWeights);
    }
    const files = await similarityModelExport(encoder, request.weights, request.readme);
    let savedTo: string | null = null;
    if (request.saveTo) {
      // saved from the exported files, so what is stored is exactly what was downloaded
      const saved = await tf.loadLayersModel(tf.io.fromMemory(artifactsOfFiles(files)));
      try {
        await saved.save(request.saveTo);
      } finally {
        saved.dispose();
      }
      savedTo = request.saveTo;
    }
    post({ type: 'model-exported', jobId, files: Object.entries(files).map(([path, bytes]) => ({ path, bytes })), savedTo });
  } finally {
    encoder.dispose();
  }
}

async function resolve(jobId: string, source: EncoderSource): Promise<ResolvedModel> {
  try {
    return await resolveModel(source, (from, fraction, bytes) => post({ type: 'model-loading', jobId, from, fraction, ...(bytes ? { bytes } : {}) }));
  } catch (e) {
    if (e instanceof EncoderDownloadError) throw new JobError('model', e.message);
    throw new JobError('model', `Could not load the encoder: ${e instanceof Error ? e.message : String(e)}. ${MODEL_FOLDER_HINT}`);
  }
}

async function benchmark(
  jobId: string,
  model: ResolvedModel,
  batchSize: number,
  only: BackendName[] | undefined,
  signal: AbortSignal,
): Promise<BackendTiming[]> {
  const available = (await probeBackends()).filter((b) => b.available && (!only || only.includes(b.name)));
  const timings: BackendTiming[] = [];
  for (const backend of available) {
    if (signal.aborted) break;
    const timing = await timeBackend(model, backend.name, batchSize);
    timings.push(timing);
    post({ type: 'benchmark-figure', jobId, timing });
  }
  const fastest = fastestBackend(timings);
  if (fastest) measured.set(model.card.id, fastest);
  return timings;
}

async function chooseBackend(
  jobId: string,
  model: ResolvedModel,
  wanted: BackendName | 'auto',
  batchSize: number,
  signal: AbortSignal,
): Promise<BackendName> {
  const statuses = await probeBackends();
  let name: BackendName | null;
  let reason: string;
  if (wanted !== 'auto') {
    const status = statuses.find((s) => s.name === wanted);
    if (!status?.available) throw new JobError('backend', `${wanted} is not available here: ${status?.reason ?? 'unknown'}`);
    name = wanted;
    reason = 'chosen by you';
  } else if (measured.has(model.card.id)) {
    name = measured.get(model.card.id)!;
    reason = 'fastest when measured';
  } else {
    const timings = await benchmark(jobId, model, Math.min(batchSize, 8), undefined, signal);
    name = fastestBackend(timings);
    reason = 'fastest of the backends timed just now';
  }
  if (!name || !(await activateBackend(name))) throw new JobError('backend', 'No tfjs backend could start in this browser.');
  const threads = name === 'wasm' ? wasmThreads() : undefined;
  post({ type: 'backend-chosen', jobId, backend: name, adapter: statuses.find((s) => s.name === name)?.adapter, ...(threads ? { threads } : {}), reason });
  return name;
}

/** CPU threads inference runs on with this backend (0 for a GPU backend): the decode pool leaves them their cores. */
function cpuInferenceThreads(backend: BackendName): number {
  if (backend === 'wasm') return wasmThreads()?.count ?? 1;
  return backend === 'cpu' ? 1 : 0;
}

async function embed(request: Extract<EmbedRequest, { type: 'embed' }>, signal: AbortSignal): Promise<void> {
  const { jobId, images, options } = request;
  const started = performance.now();
  const model = await resolve(jobId, request.encoder);
  const card = model.card;
  const key = preprocessingKey(card, { cropToBox: options.cropToBox });
  const backend = await chooseBackend(jobId, model, options.backend, options.batchSize, signal);
  const cpuThreads = cpuInferenceThreads(backend);

  let encoder: ImageEncoder;
  try {
    encoder = await loadResolved(model);
  } catch (e) {
    throw new JobError('model', `Could not load the encoder: ${e instanceof Error ? e.message : String(e)}. ${MODEL_FOLDER_HINT}`);
  }
  const summary: EncoderSummary = {
    id: card.id,
    name: card.name,
    inputSize: card.inputSize,
    featureSize: encoder.featureSize,
    bytes: model.bytes ?? card.sizeBytes,
    preprocessingKey: key,
    from: model.from,
  };
  post({ type: 'model-ready', jobId, encoder: summary });

  const cache = await EmbeddingCache.open();
  let decoder: EmbedDecoder | undefined;
  try {
    const dim = encoder.featureSize;
    await cache.registerSet({ preprocessingKey: key, modelId: card.id, modelName: card.name, featureSize: dim });
    const files = images.map((img) => (img.file ? new BrowserDatasetFile(img.path, img.file) : detachedFile(img.path, img.size, img.lastModified)));
    const identities = files.map((f) => imageIdentity(f));

    const readStarted = performance.now();
    const lookup = await cache.lookup(key, dim, identities);
    const all = new Float32Array(images.length * dim);
    const has = new Uint8Array(images.length);
    for (let j = 0; j < lookup.found.length; j++) {
      const i = lookup.found[j];
      all.set(lookup.vectors.subarray(j * dim, (j + 1) * dim), i * dim);
      has[i] = 1;
    }
    post({
      type: 'cache-checked',
      jobId,
      total: images.length,
      cached: lookup.found.length,
      missing: lookup.missing.length,
      readMs: performance.now() - readStarted,
    });

    const missing = lookup.missing;
    const notConnected = missing.filter((i) => !images[i].file).length;
    if (notConnected > 0) {
      throw new JobError(
        'input',
        `${notConnected} image${notConnected === 1 ? ' is' : 's are'} not embedded yet and the dataset folder is not connected: ` +
          `reconnect the folder or drop it again, then embed (the ${lookup.found.length} already embedded are kept).`,
      );
    }
    // a pool decodes two batches ahead of inference (so its workers stay busy across batch ends), never more
    const decodeAhead = 2;
    // (no decode workers are started when everything is cached)
    const dec = (decoder =
      missing.length > 0 ? await openDecoder(options.decodeWorkers, THUMBNAIL_SIDE, decodeAhead * options.batchSize, cpuThreads) : inThreadDecoder(THUMBNAIL_SIDE));
    let embedded = 0;
    let failed = 0;
    let cancelled = false;
    const embedStarted = performance.now();
    const progress = progressPoster(jobId, missing.length, dec);
    if (missing.length > 0) {
      progress(0);
      // an embedding counts (and enters the baseline) once its write is done
      const store = async (indices: number[], embeddings: Float32Array) => {
        const batchIdentities = indices.map((k) => identities[missing[k]]);
        try {
          await cache.putBatch(key, batchIdentities, embeddings, dim);
          const thumbs = indices.flatMap((k, r) => {
            const blob = dec.takeThumbnail(files[missing[k]].path);
            return blob ? [{ identity: batchIdentities[r], blob }] : [];
          });
          // the thumbnails only spare the page the image files later: losing them is not an error
          await putThumbnails(thumbs).catch((e: unknown) => console.warn('Could not store thumbnails:', e));
        } catch (e) {
          if (isQuotaError(e)) {
            throw new JobError(
              'quota',
              `Browser storage is full: stopped after storing ${embedded} new embeddings ` +
                `(${lookup.found.length + embedded} in all for this encoder, all kept). ` +
                `Free space in the cache panel or in the browser's site settings, then embed again to finish.`,
            );
          }
          throw e;
        }
        indices.forEach((k, r) => {
          const i = missing[k];
          all.set(embeddings.subarray(r * dim, (r + 1) * dim), i * dim);
          has[i] = 1;
        });
        embedded += indices.length;
      };
      const result = await embedWithWriteBehind(
        {
          encoder,
          decoder: dec,
          files: missing.map((i) => files[i]),
          crops: options.cropToBox ? missing.map((i) => images[i].bbox) : undefined,
          cropSources: options.cropToBox ? missing.map((i) => images[i].boxSource) : undefined,
          batchSize: options.batchSize,
          decodeAhead: dec.workers > 0 ? decodeAhead : 1,
          signal,
          onProblem: (p) => {
            failed += 1;
            post({ type: 'problem', jobId, path: p.path, message: p.message });
          },
          onNote: (n) => post({ type: 'note', jobId, path: n.path, message: n.message }),
          onProgress: (p) => progress(p.done),
        },
        store,
      );
      if (result) failed = result.failed.length;
      else cancelled = true;
    }
    const embedSeconds = (performance.now() - embedStarted) / 1000;

    let cutMaps: CutCacheSummary | undefined;
    if (!cancelled && (options.topBlocks ?? 0) > 0) {
      const cut = await cacheCutMaps(jobId, encoder, key, options.topBlocks!, cache, files, images, options, signal, lookup.found.length + embedded, cpuThreads);
      cutMaps = cut.summary;
      cancelled = cut.cancelled;
    }

    if (!cancelled) {
      const metrics = await baseline(all, has, dim, images.map((i) => i.classId), options.validationClasses);
      if (metrics) post({ type: 'metrics', jobId, metrics, fromCacheOnly: missing.length === 0 });
    }
    post({
      type: 'embed-done',
      jobId,
      embedded,
      cached: lookup.found.length,
      failed,
      cancelled,
      seconds: (performance.now() - started) / 1000,
      imagesPerSecond: embedSeconds > 0 ? embedded / embedSeconds : 0,
      decodeMsPerImage: dec.decoded ? dec.decodeMs / dec.decoded : 0,
      decodeWorkers: dec.workers,
      ...(cutMaps ? { cutMaps } : {}),
    });
  } finally {
    decoder?.close();
    cache.close();
    encoder.dispose();
  }
}

/**
 * The second pass when fine-tuning is wanted: every image with a pooled vector but no cut map
 * yet is embedded again up to the card's cut and its map stored (float16) batch by batch, so
 * a reload mid-way keeps what was stored and the next embed finishes the rest.
 */
async function cacheCutMaps(
  jobId: string,
  encoder: ImageEncoder,
  key: string,
  blocks: number,
  cache: EmbeddingCache,
  files: (BrowserDatasetFile | ReturnType<typeof detachedFile>)[],
  images: Extract<EmbedRequest, { type: 'embed' }>['images'],
  options: Extract<EmbedRequest, { type: 'embed' }>['options'],
  signal: AbortSignal,
  pooledStored: number,
  cpuThreads: number,
): Promise<{ summary: CutCacheSummary; cancelled: boolean }> {
  const cut = cutForBlocks(encoder.card, blocks);
  if ('problem' in cut) {
    throw new JobError('input', `Cannot cache cut maps for ${cut.problem}. The ${pooledStored} embeddings are kept; set "Train the encoder's top blocks" to 0 to train the head only.`);
  }
  let toCut: ImageEncoder;
  try {
    toCut = cutEncoder(encoder, cut.layer);
  } catch (e) {
    throw new JobError('model', `${e instanceof Error ? e.message : String(e)}. Set "Train the encoder's top blocks" to 0 to train the head only.`);
  }
  const shape = (encoder.model as tf.LayersModel).getLayer(cut.layer).outputShape.slice(1) as [number, number, number];
  const size = toCut.featureSize;
  const cutKey = cutSetKey(key, cut.layer);
  await cache.registerSet({
    preprocessingKey: cutKey,
    modelId: encoder.card.id,
    modelName: encoder.card.name,
    featureSize: size,
    cut: { of: key, layer: cut.layer, shape, precision: 'float16' },
  });
  const identities = files.map((f) => imageIdentity(f));
  const have = await cache.cutIdentities(cutKey);
  const missing = identities.flatMap((id, i) => (have.has(id) ? [] : [i]));
  const notConnected = missing.filter((i) => !images[i].file).length;
  if (notConnected > 0) {
    throw new JobError(
      'input',
      `${notConnected} image${notConnected === 1 ? ' has' : 's have'} no cut map for fine-tuning yet and the dataset folder is not connected: ` +
        `reconnect the folder or drop it again, then embed (the ${have.size} cut maps already stored are kept).`,
    );
  }
  const summary: CutCacheSummary = { key: cutKey, layer: cut.layer, shape, stored: 0, cached: have.size, bytesPerImage: size * 2 };
  if (missing.length === 0) return { summary, cancelled: false };

  // no thumbnails this time (the pooled pass made them); the same decode pool as the pooled pass
  const decodeAhead = 2;
  const decoder = await openDecoder(options.decodeWorkers, 0, decodeAhead * options.batchSize, cpuThreads);
  const progress = progressPoster(jobId, missing.length, decoder, 'cut');
  progress(0);
  const store = async (indices: number[], maps: Float32Array) => {
    try {
      await cache.putCutBatch(cutKey, indices.map((k) => identities[missing[k]]), maps, size);
    } catch (e) {
      if (isQuotaError(e)) {
        throw new JobError(
          'quota',
          `Browser storage is full: stopped caching cut maps for fine-tuning after ${summary.stored} new ones ` +
            `(${summary.cached + summary.stored} in all, each ${Math.round((size * 2) / 1024)} KB; the embeddings are all kept). ` +
            `Free space in the cache panel or in the browser's site settings, then embed again to finish, or train the head only.`,
        );
      }
      throw e;
    }
    summary.stored += indices.length;
  };
  try {
    const result = await embedWithWriteBehind(
      {
        encoder: toCut,
        decoder,
        files: missing.map((i) => files[i]),
        crops: options.cropToBox ? missing.map((i) => images[i].bbox) : undefined,
        batchSize: options.batchSize,
        decodeAhead: decoder.workers > 0 ? decodeAhead : 1,
        signal,
        onProgress: (p) => progress(p.done),
      },
      store,
    );
    return { summary, cancelled: result === null };
  } finally {
    decoder.close();
  }
}

/** Posts a pass's progress: images done of `total` since now, rate, time left and the decoder's figures. */
function progressPoster(jobId: string, total: number, decoder: EmbedDecoder, pass?: 'cut'): (done: number) => void {
  const started = performance.now();
  return (done) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    post({
      type: 'progress',
      jobId,
      ...(pass ? { pass } : {}),
      done,
      total,
      imagesPerSecond: rate,
      etaSeconds: rate > 0 ? (total - done) / rate : Infinity,
      decodeMsPerImage: decoder.decoded ? decoder.decodeMs / decoder.decoded : 0,
      decodeWorkers: decoder.workers,
    });
  };
}

/** Retrieval metrics of the frozen encoder on the validation classes' embedded images. */
async function baseline(
  all: Float32Array,
  has: Uint8Array,
  dim: number,
  classIds: number[],
  validationClasses: number[],
): Promise<BaselineMetrics | null> {
  const validation = new Set(validationClasses);
  const rows: number[] = [];
  for (let i = 0; i < classIds.length; i++) if (has[i] && validation.has(classIds[i])) rows.push(i);
  if (rows.length < 2) return null;
  const started = performance.now();
  const embeddings = new Float32Array(rows.length * dim);
  const labels = new Int32Array(rows.length);
  rows.forEach((i, r) => {
    embeddings.set(all.subarray(i * dim, (i + 1) * dim), r * dim);
    labels[r] = classIds[i];
  });
  const m = await retrievalMetrics(embeddings, dim, labels);
  return {
    rPrecision: m.rPrecision,
    rPrecisionMacro: m.rPrecisionMacro,
    precisionAt1: m.precisionAt1,
    mapAtR: m.mapAtR,
    queryCount: m.queryCount,
    validationImages: rows.length,
    validationClasses: new Set(labels).size,
    ms: performance.now() - started,
  };
}
