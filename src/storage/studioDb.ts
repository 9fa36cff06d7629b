import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { io } from '@tensorflow/tfjs-core';

/** One encoder + preprocessing combination that has embeddings in the cache. */
export interface EmbeddingSetInfo {
  /** `preprocessingKey(card, { cropToBox })`: the prefix of every embedding key of the set. */
  preprocessingKey: string;
  modelId: string;
  modelName: string;
  featureSize: number;
  createdAt: number;
  /**
   * Set for a set of cut activations (fine-tuning the encoder's top): the pooled set it
   * belongs to, the cut layer, and the stored precision. Its rows live in `cutMaps`.
   */
  cut?: { of: string; layer: string; shape: [number, number, number]; precision: 'float16' };
  /**
   * Set for a fine-tuned run's tuned features (`tunedSetKey`): the pooled set they stand in
   * for, the run and epoch whose top computed them, and its cut. Rows live in `embeddings`.
   */
  tuned?: { of: string; runId: string; runName: string; epoch: number; cut: string };
}

/** What the model list shows, without loading any weights. */
export interface StoredModelInfo {
  /** The model.json URL it was downloaded from. */
  url: string;
  name: string;
  /** model.json + weights, in bytes. */
  bytes: number;
  savedAt: number;
}

export interface StoredModel extends StoredModelInfo {
  artifacts: io.ModelArtifacts;
}

/**
 * The studio's IndexedDB database. Named stores, each behind a small adapter class
 * (`EmbeddingCache`, `ModelStore`); nothing else touches the stores directly.
 *
 * - `embeddings`: key `${preprocessingKey}::${imageIdentity}`, value the vector's
 *   ArrayBuffer (featureSize float32, nothing else); a fine-tuned run's tuned features are
 *   a set of their own here (`tunedSetKey`). Keys of one set share a prefix, so a
 *   whole set is one key range: read with one getAllKeys + getAll, counted with count().
 * - `cutMaps`: the same keys (the set's key is `cutSetKey(preprocessingKey, cutLayer)`), value
 *   the image's cut activation as float16 (h·w·c half floats), for fine-tuning the top.
 * - `embeddingSets`: one small record per set (pooled or cut), for the cache panel.
 * - `models` / `modelInfo`: downloaded model artifacts by URL, and their light summaries.
 */
export interface StudioSchema extends DBSchema {
  embeddings: { key: string; value: ArrayBuffer };
  cutMaps: { key: string; value: ArrayBuffer };
  embeddingSets: { key: string; value: EmbeddingSetInfo };
  models: { key: string; value: StoredModel };
  modelInfo: { key: string; value: StoredModelInfo };
}

export type StudioDb = IDBPDatabase<StudioSchema>;

export const STUDIO_DB_NAME = 'similarity-studio';
/** 1: embeddings, sets, models. 2: + cutMaps (an upgrade from 1 keeps every stored vector). */
export const STUDIO_DB_VERSION = 2;

/**
 * Opens the database (creating the stores on first use). The page and the worker each
 * open their own connection; if a newer version of the app upgrades the schema, the old
 * connection closes itself instead of blocking the upgrade.
 */
export async function openStudioDb(name = STUDIO_DB_NAME): Promise<StudioDb> {
  const db = await openDB<StudioSchema>(name, STUDIO_DB_VERSION, {
    upgrade(database) {
      // only stores that are missing are created: an upgrade keeps what the older version stored
      if (!database.objectStoreNames.contains('embeddings')) database.createObjectStore('embeddings');
      if (!database.objectStoreNames.contains('cutMaps')) database.createObjectStore('cutMaps');
      if (!database.objectStoreNames.contains('embeddingSets')) {
        database.createObjectStore('embeddingSets', { keyPath: 'preprocessingKey' });
      }
      if (!database.objectStoreNames.contains('models')) database.createObjectStore('models', { keyPath: 'url' });
      if (!database.objectStoreNames.contains('modelInfo')) database.createObjectStore('modelInfo', { keyPath: 'url' });
    },
    blocking() {
      db.close();
    },
  });
  return db;
}

/** True for the error IndexedDB raises when the origin's storage quota is used up. */
export function isQuotaError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: string; message?: string; inner?: unknown };
  return (
    e.name === 'QuotaExceededError' ||
    (typeof e.message === 'string' && /quota/i.test(e.message)) ||
    (e.inner !== undefined && isQuotaError(e.inner))
  );
}

/** navigator.storage as both the page and a worker see it (persist() exists only in the page). */
interface StorageLike {
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
  estimate?: () => Promise<{ usage?: number; quota?: number; usageDetails?: Record<string, number> }>;
}

/** Asks the browser to keep the studio's data under storage pressure; returns whether it agreed. */
export async function requestPersistentStorage(): Promise<boolean> {
  try {
    const storage = (globalThis.navigator as { storage?: StorageLike } | undefined)?.storage;
    if (!storage?.persist) return false;
    if (await storage.persisted?.()) return true;
    return await storage.persist();
  } catch {
    return false;
  }
}

export interface StorageEstimate {
  /** Bytes this origin uses, as the browser counts them (all its storage). */
  usage: number;
  quota: number;
  /** Usage by kind ('indexedDB', 'caches', …) where the browser reports it (Chromium), else null. */
  usageDetails: Record<string, number> | null;
}

/** The origin's usage and quota in bytes, when the browser tells. */
export async function storageEstimate(): Promise<StorageEstimate | null> {
  try {
    const storage = (globalThis.navigator as { storage?: StorageLike } | undefined)?.storage;
    if (!storage?.estimate) return null;
    const e = await storage.estimate();
    return {
      usage: e.usage ?? 0,
      quota: e.quota ?? 0,
      usageDetails: e.usageDetails && typeof e.usageDetails === 'object' ? { ...e.usageDetails } : null,
    };
  } catch {
    return null;
  }
}
