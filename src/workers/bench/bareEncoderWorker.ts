/// <reference lib="webworker" />
/**
 * Benchmark only (tests/bench/browserBench.ts; not part of the app's bundle): the bare
 * encoder's speed on the same backend and images as the embedding pipeline. All images are
 * decoded first (with the pipeline's own BitmapDecoder), then only inference is timed, batch
 * after batch, through the same `encoder.embed` the pipeline calls.
 */
import type { DecodedImage } from '../../core/encoder/imageDecoder';
import { activateBackend } from '../backends';
import { BitmapDecoder } from '../bitmapDecoder';
import { BrowserDatasetFile } from '../browserFile';
import type { BackendName } from '../embedProtocol';
import { loadResolved, resolveModel } from '../loadEncoderSource';

declare const self: DedicatedWorkerGlobalScope;

export interface BareRequest {
  modelUrl: string;
  files: File[];
  batchSize: number;
  backend: BackendName;
}

export interface BareResult {
  images: number;
  decodeMsPerImage: number;
  inferSeconds: number;
  imagesPerSecond: number;
  backend: string;
}

self.addEventListener('message', (e: MessageEvent<BareRequest>) => void handle(e));

async function handle(e: MessageEvent<BareRequest>): Promise<void> {
  try {
    const { modelUrl, files, batchSize, backend } = e.data;
    const model = await resolveModel({ kind: 'url', url: modelUrl }, () => undefined);
    if (!(await activateBackend(backend))) throw new Error(`${backend} did not start`);
    const encoder = await loadResolved(model);
    const decoder = new BitmapDecoder();
    const { width, height } = encoder.inputSize;
    const resize = encoder.card.resize ?? 'squash';
    const decoded: DecodedImage[] = [];
    for (let i = 0; i < files.length; i += batchSize) {
      const batch = files.slice(i, i + batchSize).map((f) => new BrowserDatasetFile(f.name, f));
      decoded.push(...(await Promise.all(batch.map((f) => decoder.decode(f, { width, height, resize })))));
    }
    const started = performance.now();
    for (let i = 0; i < decoded.length; i += batchSize) await encoder.embed(decoded.slice(i, i + batchSize));
    const inferSeconds = (performance.now() - started) / 1000;
    encoder.dispose();
    const result: BareResult = {
      images: decoded.length,
      decodeMsPerImage: decoder.decodeMs / decoder.decoded,
      inferSeconds,
      imagesPerSecond: decoded.length / inferSeconds,
      backend,
    };
    self.postMessage({ ok: true, result });
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
}
