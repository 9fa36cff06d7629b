/**
 * Embedding-cache keys. An embedding is valid for one encoder + preprocessing
 * (`preprocessingKey`) and one image file (`imageIdentity`: relative path, size,
 * last-modified). The key joins them with `::`, so all embeddings of one set share a
 * prefix and form one contiguous key range.
 */
export const KEY_SEPARATOR = '::';

/** The highest code unit; no identity starts with it, so it closes the set's key range. */
const RANGE_END = '\uffff';

export function embeddingKey(preprocessingKey: string, imageIdentity: string): string {
  if (preprocessingKey.includes(KEY_SEPARATOR)) {
    throw new Error(`A preprocessing key must not contain "${KEY_SEPARATOR}": ${preprocessingKey}`);
  }
  return `${preprocessingKey}${KEY_SEPARATOR}${imageIdentity}`;
}

/** The image identity part of a key of the given set, or undefined when the key is not of it. */
export function identityOfKey(preprocessingKey: string, key: string): string | undefined {
  const prefix = preprocessingKey + KEY_SEPARATOR;
  return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

/** Inclusive lower and upper bounds of every key of one set (for IDBKeyRange.bound). */
export function embeddingKeyBounds(preprocessingKey: string): { lower: string; upper: string } {
  const prefix = preprocessingKey + KEY_SEPARATOR;
  return { lower: prefix, upper: prefix + RANGE_END };
}

/** Copies a vector into a compact buffer of exactly its own bytes (no view onto a larger batch). */
export function vectorToBuffer(vector: Float32Array): ArrayBuffer {
  const copy = new Float32Array(vector.length);
  copy.set(vector);
  return copy.buffer;
}

/** Reads a stored vector back, checking its length. */
export function bufferToVector(buffer: ArrayBuffer, featureSize: number): Float32Array {
  if (buffer.byteLength !== featureSize * 4) {
    throw new Error(`Stored embedding has ${buffer.byteLength} bytes, expected ${featureSize * 4}.`);
  }
  return new Float32Array(buffer);
}

/** The key of the set of cut activations of a pooled set at `cutLayer` (as the runner's disk cache names it). */
export function cutSetKey(preprocessingKey: string, cutLayer: string): string {
  return `${preprocessingKey}|cut=${cutLayer}`;
}

/**
 * The key of the set of a fine-tuned run's tuned features (top(cut map) with the top of its
 * epoch `epoch`) for a pooled set: one set per run and epoch, deleted with the run.
 */
export function tunedSetKey(preprocessingKey: string, runId: string, epoch: number): string {
  return `${preprocessingKey}|tuned=${runId}@${epoch}`;
}
