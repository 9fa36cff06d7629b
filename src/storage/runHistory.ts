import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { NamedWeights } from '../core/train/heads';
import type { EpochReport, StopReason, TrainingConfig } from '../core/train/trainer';
import type { BackendName } from '../workers/embedProtocol';
import type { FineTuningInfo, RetrievalSummary, RunAbout, RunSummary } from '../workers/trainProtocol';

/**
 * - 'running': the worker is training it (or was, when the tab closed: see `isRunLive`).
 * - 'finished': ended normally (max epochs, early stopping, stopped by the person).
 * - 'failed': ended on an error (non-finite loss, worker crash); kept up to its last finished epoch.
 */
export type RunStatus = 'running' | 'finished' | 'failed';

/** One training run as the history keeps it (the head's weights are stored apart). */
export interface RunRecord {
  id: string;
  createdAt: number;
  updatedAt: number;
  status: RunStatus;
  stopReason: StopReason | null;
  /** Why it failed or ended early. */
  message: string | null;
  about: RunAbout;
  config: TrainingConfig;
  backend: BackendName;
  trainImages: number;
  validationImages: number;
  trainClasses: number;
  validationClasses: number;
  /** The frozen encoder on the validation classes. */
  baseline: RetrievalSummary;
  /** One report per finished epoch (finite losses only). */
  history: EpochReport[];
  bestEpoch: number;
  /** Training time so far, pauses excluded. */
  seconds: number;
  /** Set when the run has ended. */
  summary: RunSummary | null;
  /** Set when the run fine-tuned the encoder's top (cut, parameter counts, formulation). */
  fineTuning?: FineTuningInfo;
}

/** The head's weights of a run: those of its best epoch so far. */
export interface RunWeights {
  runId: string;
  epoch: number;
  weights: NamedWeights;
  /** A fine-tuned run's top at that epoch, under the encoder's weight names (the export builds them in). */
  top?: NamedWeights;
  /** The cut the top starts from. */
  cut?: string;
}

interface RunsSchema extends DBSchema {
  runs: { key: string; value: RunRecord };
  weights: { key: string; value: RunWeights };
}

export const RUNS_DB_NAME = 'similarity-studio-runs';
export const RUNS_DB_VERSION = 1;

/** The lock a live run holds (Web Locks); a tab close or worker crash releases it. */
export function runLockName(runId: string): string {
  return `similarity-studio-run:${runId}`;
}

/**
 * The run history in its own IndexedDB database (so it never needs the embedding cache's
 * schema to change). The training worker writes a run after every epoch; the page lists,
 * opens and deletes runs. Works the same in the page and in a worker.
 */
export class RunHistory {
  private constructor(private readonly db: IDBPDatabase<RunsSchema>) {}

  static async open(name = RUNS_DB_NAME): Promise<RunHistory> {
    const db: IDBPDatabase<RunsSchema> = await openDB<RunsSchema>(name, RUNS_DB_VERSION, {
      upgrade(database) {
        if (!database.objectStoreNames.contains('runs')) database.createObjectStore('runs', { keyPath: 'id' });
        if (!database.objectStoreNames.contains('weights')) database.createObjectStore('weights', { keyPath: 'runId' });
      },
      blocking() {
        db.close();
      },
    });
    return new RunHistory(db);
  }

  /** Writes the run, and its weights when given, in one transaction. */
  async save(run: RunRecord, weights?: RunWeights): Promise<void> {
    const tx = this.db.transaction(['runs', 'weights'], 'readwrite');
    void tx.objectStore('runs').put(run);
    if (weights) void tx.objectStore('weights').put(weights);
    await tx.done;
  }

  async get(id: string): Promise<RunRecord | undefined> {
    return this.db.get('runs', id);
  }

  async weights(id: string): Promise<RunWeights | undefined> {
    return this.db.get('weights', id);
  }

  /** Every run, newest first. */
  async list(): Promise<RunRecord[]> {
    const runs = await this.db.getAll('runs');
    return runs.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Marks a run failed (e.g. its worker crashed), keeping its epochs. */
  async markFailed(id: string, message: string): Promise<void> {
    const tx = this.db.transaction('runs', 'readwrite');
    const run = await tx.store.get(id);
    if (run && run.status === 'running') {
      await tx.store.put({ ...run, status: 'failed', message, updatedAt: Date.now() });
    }
    await tx.done;
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'weights'], 'readwrite');
    void tx.objectStore('runs').delete(id);
    void tx.objectStore('weights').delete(id);
    await tx.done;
  }

  close(): void {
    this.db.close();
  }
}

interface LockManagerLike {
  query(): Promise<{ held?: { name?: string }[] }>;
}

/**
 * Whether some tab's worker is training the run now (it holds the run's Web Lock). A run
 * still marked 'running' that is not live was cut short: tab closed or browser crashed.
 * Without the Web Locks API, only the caller's own active run counts as live.
 */
export async function liveRunIds(): Promise<Set<string> | null> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  if (!locks) return null;
  const { held = [] } = await locks.query();
  const prefix = runLockName('');
  return new Set(held.map((l) => l.name ?? '').filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length)));
}
