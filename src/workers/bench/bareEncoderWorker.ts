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
  /** Make the pipeline's thumbnails while decoding (long side in px), as the embedding pipeline does; 0/undefined = none. */
  thumbnailSide?: number;
  /**
   * Post `{ phase: 'loaded' }` once the model is loaded and `{ phase: 'decoded' }` once every
   * image is decoded, each time waiting for a `'go'` message, so the caller can measure the
   * phases' CPU apart.
   */
  pauses?: boolean;
}

export interface BareResult {
  images: number;
  decodeMsPerImage: number;
  inferSeconds: number;
  imagesPerSecond: number;
  backend: string;
}

let go: (() => void) | null = null;
self.addEventListener('message', (e: MessageEvent<BareRequest | 'go'>) => {
  if (e.data === 'go') go?.();
  else void handle(e.data);
});

async function handle(request: BareRequest): Promise<void> {
  try {
    const { modelUrl, files, batchSize, backend, thumbnailSide, pauses } = request;
    const pause = (phase: string) =>
      pauses
        ? new Promise<void>((resolve) => {
            go = resolve;
            self.postMessage({ phase });
          })
        : Promise.resolve();
    const model = await resolveModel({ kind: 'url', url: modelUrl }, () => undefined);
    if (!(await activateBackend(backend))) throw new Error(`${backend} did not start`);
    const encoder = await loadResolved(model);
    await pause('loaded');
    const decoder = new BitmapDecoder(thumbnailSide ?? 0);
    const { width, height } = encoder.inputSize;
    const resize = encoder.card.resize ?? 'squash';
    const decoded: DecodedImage[] = [];
    for (let i = 0; i < files.length; i += batchSize) {
      const batch = files.slice(i, i + batchSize).map((f) => new BrowserDatasetFile(f.name, f));
      decoded.push(...(await Promise.all(batch.map((f) => decoder.decode(f, { width, height, resize })))));
      for (const f of batch) decoder.takeThumbnail(f.path);
    }
    await pause('decoded');
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
