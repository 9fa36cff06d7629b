import { embedImages, EmbeddingAbortedError, type EmbedImagesOptions, type EmbedImagesResult } from '../core/encoder/embedImages';

/** Stores one embedded batch (rows `indices` of the run's files); throws if it could not. */
export type StoreBatch = (indices: number[], embeddings: Float32Array) => Promise<void>;

/**
 * `embedImages` with write-behind: each batch is stored while the next one is embedded, with at
 * most one write in flight (the next batch waits for it), so the store's commit latency stays
 * off the inference path. A failed write stops the run at the next batch, or at the end, and
 * is what the caller sees (not the error it caused downstream). Returns null when the run was
 * cancelled; every batch stored before that is kept.
 */
export async function embedWithWriteBehind(options: Omit<EmbedImagesOptions, 'onBatch'>, store: StoreBatch): Promise<EmbedImagesResult | null> {
  let writing: Promise<void> = Promise.resolve();
  try {
    const result = await embedImages({
      ...options,
      onBatch: async ({ indices, embeddings }) => {
        await writing;
        writing = store(indices, embeddings);
        writing.catch(() => undefined); // handled where it is awaited
      },
    });
    await writing;
    return result;
  } catch (e) {
    // settle the write in flight first: it is kept if it succeeds, and a storage error wins
    const writeError = await writing.then(
      () => null,
      (w: unknown) => w,
    );
    if (writeError !== null && writeError !== e) throw writeError;
    if (e instanceof EmbeddingAbortedError || (e instanceof DOMException && e.name === 'AbortError')) return null;
    throw e;
  }
}
