import { fromFloat16, toFloat16 } from '../core/float16';
import { bufferToVector, embeddingKey, embeddingKeyBounds, identityOfKey, vectorToBuffer } from './embeddingKeys';
import { openStudioDb, type EmbeddingSetInfo, type StudioDb } from './studioDb';

/** What the cache panel shows for one encoder + preprocessing. */
export interface EmbeddingSetStats extends EmbeddingSetInfo {
  count: number;
  /** Stored bytes per image (vector, float32 or float16 for cut maps, plus its key). */
  bytesPerImage: number;
  /**
   * Payload bytes, measured: the stored vectors (float32; cut maps float16) plus their keys (UTF-16). What the
   * browser writes to disk differs (IndexedDB's own overhead and compression); no browser
   * reports a per-store size, so this is the closest honest per-encoder figure.
   */
  bytes: number;
}

/** Cached vectors of one set, for the images that were asked about. */
export interface CacheLookup {
  /** Index (into the asked identities) of every image found, in order. */
  found: Int32Array;
  /** found.length rows of featureSize floats. */
  vectors: Float32Array;
  /** Index of every image not in the cache. */
  missing: number[];
}

/**
 * The embedding cache in IndexedDB: one record per image, written batch by batch, read per
 * set in one key-range request. Works the same in the page and in a worker.
 */
/** Keys read back per request by `stats`. */
const KEYS_PER_READ = 1000;

export class EmbeddingCache {
  constructor(private readonly db: StudioDb) {}

  static async open(): Promise<EmbeddingCache> {
    return new EmbeddingCache(await openStudioDb());
  }

  /** Records that a set exists (idempotent), so the cache panel can name it. */
  async registerSet(info: Omit<EmbeddingSetInfo, 'createdAt'>): Promise<void> {
    const existing = await this.db.get('embeddingSets', info.preprocessingKey);
    if (existing) return;
    await this.db.put('embeddingSets', { ...info, createdAt: Date.now() });
  }

  /** The record of one set, if it is registered. */
  async setInfo(preprocessingKey: string): Promise<EmbeddingSetInfo | undefined> {
    return this.db.get('embeddingSets', preprocessingKey);
  }

  /**
   * Writes one batch in one transaction and resolves when it is durable. Rejects with the
   * browser's QuotaExceededError when storage is full (the batch is then not stored; earlier
   * batches are).
   */
  async putBatch(preprocessingKey: string, identities: readonly string[], vectors: Float32Array, featureSize: number): Promise<void> {
    if (vectors.length !== identities.length * featureSize) {
      throw new Error(`Expected ${identities.length} x ${featureSize} floats, got ${vectors.length}.`);
    }
    const tx = this.db.transaction('embeddings', 'readwrite', { durability: 'relaxed' });
    for (let i = 0; i < identities.length; i++) {
      const row = vectors.subarray(i * featureSize, (i + 1) * featureSize);
      void tx.store.put(vectorToBuffer(row), embeddingKey(preprocessingKey, identities[i]));
    }
    await tx.done;
  }

  /** Every vector of a set: identities in key order and the packed rows. */
  async readSet(preprocessingKey: string, featureSize: number): Promise<{ identities: string[]; vectors: Float32Array }> {
    const { lower, upper } = embeddingKeyBounds(preprocessingKey);
    const range = IDBKeyRange.bound(lower, upper);
    const tx = this.db.transaction('embeddings', 'readonly');
    const [keys, values] = await Promise.all([tx.store.getAllKeys(range), tx.store.getAll(range)]);
    await tx.done;
    const vectors = new Float32Array(values.length * featureSize);
    const identities: string[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      identities[i] = identityOfKey(preprocessingKey, keys[i]) ?? '';
      vectors.set(bufferToVector(values[i], featureSize), i * featureSize);
    }
    return { identities, vectors };
  }

  /**
   * Writes one batch of cut activations (rows of `size` floats) as float16, in one
   * transaction; rejects with QuotaExceededError like `putBatch` (earlier batches are kept).
   */
  async putCutBatch(cutKey: string, identities: readonly string[], maps: Float32Array, size: number): Promise<void> {
    if (maps.length !== identities.length * size) throw new Error(`Expected ${identities.length} x ${size} floats, got ${maps.length}.`);
    const tx = this.db.transaction('cutMaps', 'readwrite', { durability: 'relaxed' });
    for (let i = 0; i < identities.length; i++) {
      void tx.store.put(toFloat16(maps.subarray(i * size, (i + 1) * size)).buffer as ArrayBuffer, embeddingKey(cutKey, identities[i]));
    }
    await tx.done;
  }

  /** Identities that have a stored cut map in the set (keys only: no map is read). */
  async cutIdentities(cutKey: string): Promise<Set<string>> {
    const { lower, upper } = embeddingKeyBounds(cutKey);
    const keys = await this.db.getAllKeys('cutMaps', IDBKeyRange.bound(lower, upper));
    return new Set(keys.map((k) => identityOfKey(cutKey, k) ?? ''));
  }

  /** The given images' cut maps as float32 rows (decoded from float16): which are cached and which are missing. */
  async lookupCuts(cutKey: string, size: number, identities: readonly string[]): Promise<CacheLookup> {
    const found: number[] = [];
    const missing: number[] = [];
    const rows: ArrayBuffer[] = [];
    const tx = this.db.transaction('cutMaps', 'readonly');
    // one get per image, all in one transaction: only the asked maps are read
    const values = await Promise.all(identities.map((id) => tx.store.get(embeddingKey(cutKey, id))));
    await tx.done;
    values.forEach((v, i) => {
      if (v) {
        if (v.byteLength !== size * 2) throw new Error(`Stored cut map has ${v.byteLength} bytes, expected ${size * 2}.`);
        found.push(i);
        rows.push(v);
      } else missing.push(i);
    });
    const vectors = new Float32Array(found.length * size);
    rows.forEach((buffer, j) => fromFloat16(new Uint16Array(buffer), vectors.subarray(j * size, (j + 1) * size)));
    return { found: Int32Array.from(found), vectors, missing };
  }

  /** Looks up the given images: which are cached (with their vectors) and which are missing. */
  async lookup(preprocessingKey: string, featureSize: number, identities: readonly string[]): Promise<CacheLookup> {
    const stored = await this.readSet(preprocessingKey, featureSize);
    const rowOf = new Map<string, number>();
    for (let i = 0; i < stored.identities.length; i++) rowOf.set(stored.identities[i], i);
    const found: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < identities.length; i++) (rowOf.has(identities[i]) ? found : missing).push(i);
    const vectors = new Float32Array(found.length * featureSize);
    for (let j = 0; j < found.length; j++) {
      const row = rowOf.get(identities[found[j]])!;
      vectors.set(stored.vectors.subarray(row * featureSize, (row + 1) * featureSize), j * featureSize);
    }
    return { found: Int32Array.from(found), vectors, missing };
  }

  async count(preprocessingKey: string): Promise<number> {
    const { lower, upper } = embeddingKeyBounds(preprocessingKey);
    return this.db.count('embeddings', IDBKeyRange.bound(lower, upper));
  }

  /** Count and size of every set, for the cache panel. */
  async stats(): Promise<EmbeddingSetStats[]> {
    const sets = await this.db.getAll('embeddingSets');
    const out: EmbeddingSetStats[] = [];
    for (const set of sets) {
      const { lower, upper } = embeddingKeyBounds(set.preprocessingKey);
      // the keys only (no vectors are read): every stored vector is featureSize float32 values
      // (float16 for cut maps)
      // in pages: 16,185 keys read back at once cost the page one 80-100 ms task (their deserialisation)
      let count = 0;
      let keyChars = 0;
      let from: IDBValidKey = lower;
      let open = false;
      for (;;) {
        const keys: IDBValidKey[] = await this.db.getAllKeys(set.cut ? 'cutMaps' : 'embeddings', IDBKeyRange.bound(from, upper, open, false), KEYS_PER_READ);
        count += keys.length;
        for (const k of keys) keyChars += String(k).length;
        if (keys.length < KEYS_PER_READ) break;
        from = keys[keys.length - 1];
        open = true;
      }
      const bytes = count * set.featureSize * (set.cut ? 2 : 4) + keyChars * 2;
      out.push({ ...set, count, bytes, bytesPerImage: count ? bytes / count : set.featureSize * (set.cut ? 2 : 4) });
    }
    // code-unit order: localeCompare would load ICU's collation data on the page's main thread
    return out.sort((a, b) => (a.modelName < b.modelName ? -1 : a.modelName > b.modelName ? 1 : 0));
  }

  /** Deletes one set's embeddings (or cut maps) and its record. */
  async clearSet(preprocessingKey: string): Promise<void> {
    const { lower, upper } = embeddingKeyBounds(preprocessingKey);
    const tx = this.db.transaction(['embeddings', 'cutMaps', 'embeddingSets'], 'readwrite');
    void tx.objectStore('embeddings').delete(IDBKeyRange.bound(lower, upper));
    void tx.objectStore('cutMaps').delete(IDBKeyRange.bound(lower, upper));
    void tx.objectStore('embeddingSets').delete(preprocessingKey);
    await tx.done;
  }

  /** Deletes every set of tuned features of a run (when the run is deleted); returns how many. */
  async clearRunSets(runId: string): Promise<number> {
    const sets = (await this.db.getAll('embeddingSets')).filter((s) => s.tuned?.runId === runId);
    for (const set of sets) await this.clearSet(set.preprocessingKey);
    return sets.length;
  }

  async clearAll(): Promise<void> {
    const tx = this.db.transaction(['embeddings', 'cutMaps', 'embeddingSets'], 'readwrite');
    void tx.objectStore('embeddings').clear();
    void tx.objectStore('cutMaps').clear();
    void tx.objectStore('embeddingSets').clear();
    await tx.done;
  }

  close(): void {
    this.db.close();
  }
}
