/**
 * Runs in the page (served by Vite, imported by tests through page.evaluate): drives a
 * fresh embedding worker directly with the protocol's requests, so a test can embed the
 * same files twice with different options and compare what came out.
 */
import { EmbeddingCache } from '../../../src/storage/embeddingCache';
import { SESSION_DB_NAME } from '../../../src/storage/sessionDb';
import type { EmbedEvent, EmbedImage, EmbedOptions } from '../../../src/workers/embedProtocol';

let worker: Worker | null = null;

export interface InPageRun {
  /** Every event of the job but progress, in order. */
  events: EmbedEvent[];
  /** The last progress event. */
  progress: EmbedEvent | null;
  /** Stored embeddings: identity -> vector. */
  vectors: Record<string, number[]>;
  /** Identities with a stored thumbnail. */
  thumbnails: string[];
}

/** The files of the hidden folder input `inputId`, as the page would send them (paths inside the folder, sorted). */
export function imagesOf(inputId: string): EmbedImage[] {
  const input = document.getElementById(inputId) as HTMLInputElement;
  return Array.from(input.files ?? [])
    .map((file) => ({ path: file.webkitRelativePath.split('/').slice(1).join('/'), file, size: file.size, lastModified: file.lastModified, classId: 0 }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((img) => ({ ...img, classId: img.path.split('/')[0].length % 7 }));
}

/** Empties the embedding cache and the thumbnails, so the next run embeds everything. */
export async function clearStores(): Promise<void> {
  const cache = await EmbeddingCache.open();
  await cache.clearAll();
  cache.close();
  await new Promise<void>((resolve, reject) => {
    const open = indexedDB.open(SESSION_DB_NAME);
    // no database yet: leave it to the app to create (an empty one at its version would skip its upgrade)
    let absent = false;
    open.onupgradeneeded = () => ((absent = true), open.transaction?.abort());
    open.onerror = () => (absent ? resolve() : reject(open.error));
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('thumbnails')) return (db.close(), resolve());
      const tx = db.transaction('thumbnails', 'readwrite');
      tx.objectStore('thumbnails').clear();
      tx.oncomplete = () => (db.close(), resolve());
      tx.onerror = () => reject(tx.error);
    };
  });
}

function readAll(dbName: string, store: string): Promise<{ keys: string[]; values: unknown[] }> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    let absent = false;
    open.onupgradeneeded = () => ((absent = true), open.transaction?.abort());
    open.onerror = () => (absent ? resolve({ keys: [], values: [] }) : reject(open.error));
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(store)) return (db.close(), resolve({ keys: [], values: [] }));
      const s = db.transaction(store, 'readonly').objectStore(store);
      const keys = s.getAllKeys();
      const values = s.getAll();
      values.onsuccess = () => {
        db.close();
        resolve({ keys: keys.result as string[], values: values.result });
      };
      values.onerror = () => reject(values.error);
    };
  });
}

/**
 * Embeds `images` in a new embedding worker (kept alive afterwards, see `stopWorker`) and
 * returns its events and what it stored. With `cancelAfter`, cancels once that many images are done;
 * with `imagesPerMessage`, sends the images in slices of that many, as EmbedClient does.
 */
export async function embedInWorker(
  modelUrl: string,
  images: EmbedImage[],
  options: EmbedOptions,
  cancelAfter?: number,
  imagesPerMessage?: number,
): Promise<InPageRun> {
  await clearStores();
  stopWorker();
  const w = (worker = new Worker('/src/workers/embedWorker.ts', { type: 'module', name: 'embed-under-test' }));
  const jobId = `direct-${Date.now()}`;
  const events: EmbedEvent[] = [];
  let progress: EmbedEvent | null = null;
  await new Promise<void>((resolve, reject) => {
    w.onerror = (e) => reject(new Error(`embedding worker: ${e.message}`));
    w.onmessage = (e: MessageEvent<EmbedEvent>) => {
      const event = e.data;
      if (event.type === 'progress') {
        progress = event;
        if (cancelAfter !== undefined && event.done >= cancelAfter) w.postMessage({ type: 'cancel', jobId });
      } else {
        events.push(event);
      }
      if (event.type === 'embed-done') resolve();
      if (event.type === 'error') reject(new Error(`${event.code}: ${event.message}`));
    };
    // as EmbedClient sends a large job: slices ahead (`embed-images`), the last with the request
    const last = imagesPerMessage ? Math.max(0, Math.ceil(images.length / imagesPerMessage) - 1) * imagesPerMessage : 0;
    for (let i = 0; i < last; i += imagesPerMessage!) w.postMessage({ type: 'embed-images', jobId, images: images.slice(i, i + imagesPerMessage!) });
    w.postMessage({ type: 'embed', jobId, encoder: { kind: 'url', url: modelUrl }, images: images.slice(last), options });
  });
  const stored = await readAll('similarity-studio', 'embeddings');
  const vectors: Record<string, number[]> = {};
  stored.keys.forEach((k, i) => (vectors[k] = Array.from(new Float32Array(stored.values[i] as ArrayBuffer))));
  const thumbnails = (await readAll(SESSION_DB_NAME, 'thumbnails')).keys;
  return { events, progress, vectors, thumbnails };
}

export function stopWorker(): void {
  worker?.terminate();
  worker = null;
}
