/// <reference lib="webworker" />
/**
 * One decode worker of the embedding worker's pool (src/workers/decodePool.ts): decodes
 * image files with the same BitmapDecoder the embedding worker used in-thread, so pixels,
 * thumbnails and error messages are the same, and hands the RGB bytes back as a transfer.
 */
import { BitmapDecoder } from './bitmapDecoder';
import { BrowserDatasetFile } from './browserFile';
import type { DecodeReply, DecodeRequest } from './decodeProtocol';

declare const self: DedicatedWorkerGlobalScope;

const decoders = new Map<number, BitmapDecoder>();
const decoderFor = (thumbnailSide: number) => {
  let d = decoders.get(thumbnailSide);
  if (!d) decoders.set(thumbnailSide, (d = new BitmapDecoder(thumbnailSide)));
  return d;
};

const busyMs = () => [...decoders.values()].reduce((s, d) => s + d.decodeMs, 0);
const reply = (message: DecodeReply, transfer: Transferable[] = []) => self.postMessage(message, transfer);

/**
 * Decodes running at once in this worker: enough to overlap reading one file with drawing
 * another, few enough that full-size bitmaps (several MB each) stay few; the rest wait here.
 */
const AT_ONCE = 4;
const waiting: DecodeRequest[] = [];
let running = 0;

function next(): void {
  while (running < AT_ONCE && waiting.length > 0) {
    running += 1;
    void decode(waiting.shift()!).finally(() => {
      running -= 1;
      next();
    });
  }
}

self.addEventListener('message', (e: MessageEvent<DecodeRequest>) => {
  waiting.push(e.data);
  next();
});

async function decode(request: DecodeRequest): Promise<void> {
  const { id, path, blob, spec, thumbnailSide } = request;
  const decoder = decoderFor(thumbnailSide);
  const file = new BrowserDatasetFile(path, blob instanceof File ? blob : new File([blob], path));
  try {
    const image = await decoder.decode(file, spec);
    const thumbnail = decoder.takeThumbnail(path);
    reply({ type: 'decoded', id, image, thumbnail, busyMs: busyMs() }, [image.data.buffer as ArrayBuffer]);
  } catch (err) {
    decoder.takeThumbnail(path);
    reply({ type: 'failed', id, message: err instanceof Error ? err.message : String(err), busyMs: busyMs() });
  }
}

reply({ type: 'ready' });
