import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

/**
 * The page's session and the images' thumbnails, in their own IndexedDB database (so
 * neither the embedding cache's nor the run history's schema has to change).
 *
 * - `session`: one record under the key 'current' (its format and checks: app/session/sessionFormat.ts).
 * - `thumbnails`: key the image identity (`path|size|lastModified`), value a small JPEG Blob.
 */
interface SessionSchema extends DBSchema {
  session: { key: string; value: unknown };
  thumbnails: { key: string; value: Blob };
}

export const SESSION_DB_NAME = 'similarity-studio-session';
export const SESSION_DB_VERSION = 1;
const CURRENT = 'current';

let opened: Promise<IDBPDatabase<SessionSchema>> | null = null;

/** One connection per page or worker; it closes itself if a newer version needs to upgrade. */
function db(): Promise<IDBPDatabase<SessionSchema>> {
  opened ??= openDB<SessionSchema>(SESSION_DB_NAME, SESSION_DB_VERSION, {
    upgrade(database) {
      if (!database.objectStoreNames.contains('session')) database.createObjectStore('session');
      if (!database.objectStoreNames.contains('thumbnails')) database.createObjectStore('thumbnails');
    },
    blocking() {
      void opened?.then((d) => d.close());
      opened = null;
    },
  }).catch((e: unknown) => {
    opened = null;
    throw e;
  });
  return opened;
}

/** The saved session record as stored (unchecked), or undefined when there is none. */
export async function readSessionRecord(): Promise<unknown> {
  const opened = await db();
  performance.mark('studio:session-db-open');
  return opened.get('session', CURRENT);
}

export async function writeSessionRecord(record: unknown): Promise<void> {
  await (await db()).put('session', record, CURRENT);
}

export async function clearSessionRecord(): Promise<void> {
  await (await db()).delete('session', CURRENT);
}

export async function putThumbnails(entries: { identity: string; blob: Blob }[]): Promise<void> {
  if (entries.length === 0) return;
  const tx = (await db()).transaction('thumbnails', 'readwrite');
  for (const e of entries) void tx.store.put(e.blob, e.identity);
  await tx.done;
}

type ThumbnailRead = { identity: string; resolve: (blob: Blob | undefined) => void; reject: (e: unknown) => void };
let queued: ThumbnailRead[] | null = null;

/**
 * An image's stored thumbnail. The reads asked for in one task (a grid's thumbnails, each
 * mounting) share one transaction, not one transaction per picture (48 for a grid).
 */
export function getThumbnail(identity: string): Promise<Blob | undefined> {
  return new Promise((resolve, reject) => {
    if (!queued) {
      queued = [];
      queueMicrotask(() => void readQueued());
    }
    queued.push({ identity, resolve, reject });
  });
}

async function readQueued(): Promise<void> {
  const reads = queued ?? [];
  queued = null;
  try {
    const store = (await db()).transaction('thumbnails').store;
    const blobs = await Promise.all(reads.map((r) => store.get(r.identity)));
    reads.forEach((r, i) => r.resolve(blobs[i]));
  } catch (e) {
    for (const r of reads) r.reject(e);
  }
}

/** Which of these identities have a thumbnail already. */
export async function thumbnailKeys(): Promise<Set<string>> {
  return new Set(await (await db()).getAllKeys('thumbnails'));
}
