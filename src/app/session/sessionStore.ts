/**
 * The studio's one session store: every step reads its state from here (useSession) and
 * changes it through `session.set` / the reducers' dispatchers. What a reload must find
 * again (dataset manifest, encoder choice, settings, the embedding summary, the chosen
 * run, the folder handle) is saved to IndexedDB shortly after each change.
 */
import { useSyncExternalStore } from 'react';
import { DEFAULT_SPLIT_SEED, DEFAULT_TRAIN_FRACTION } from '../../core/data/classSplit';
import { clearSessionRecord, readSessionRecord, writeSessionRecord } from '../../storage/sessionDb';
import { BrowserDatasetFile } from '../../workers/browserFile';
import { nextTask } from '../../workers/nextTask';
import type { BackendName, EncoderSummary } from '../../workers/embedProtocol';
import type { TrainBackendChoice } from '../../workers/trainProtocol';
import type { DatasetLoadState, LoadedDataset } from '../dataset/datasetState';
import type { EmbedSettings, SplitSettingsValue } from './settingsTypes';
import { embedJobReducer, IDLE_JOB, type EmbedJobAction, type EmbedJobView } from '../embedding/embedJobState';
import { DEFAULT_ENCODER, type EncoderChoice } from '../encoder/encoderChoice';
import type { BackendView } from '../encoder/EncoderPanel';
import type { ActiveHead } from '../export/HeadPanel';
import { defaultSettingsForm, type SettingsForm } from '../training/trainingSettings';
import { IDLE_RUN, trainRunReducer, type TrainRunAction, type TrainRunView } from '../training/trainRunState';
import {
  fromManifest,
  readPackedSession,
  unpackSession,
  SESSION_SCHEMA_VERSION,
  packManifest,
  toManifest,
  type DatasetManifest,
  type PackedManifest,
  type PackedSession,
  type EmbeddedState,
  type StoredEncoderChoice,
  type StoredSession,
} from './sessionFormat';

export interface SessionState {
  /** 'restoring' until the saved session has been read (or found missing or unreadable). */
  phase: 'restoring' | 'ready';
  /** Why the saved session could not be used (a fresh one was started), if so. */
  restoreProblem: string | null;
  /** The session came back from IndexedDB in this page (and when, ms after navigation start). */
  restoredAt: number | null;
  dataset: DatasetLoadState;
  /** Whether the dataset's image files are in this page (a drop or pick), or only its manifest. */
  filesConnected: boolean;
  /** The dropped folder's handle, kept to reconnect it after a reload. */
  folderHandle: FileSystemDirectoryHandle | null;
  split: SplitSettingsValue;
  encoder: EncoderChoice;
  backend: BackendName | 'auto';
  backends: BackendView;
  /** The encoder the embeddings were made with (from the last embedding, or the saved session). */
  loadedEncoder: EncoderSummary | null;
  embedSettings: EmbedSettings;
  job: EmbedJobView;
  /** The last complete embedding of this dataset with this encoder and split, kept across reloads. */
  embedded: EmbeddedState | null;
  cacheVersion: number;
  trainForm: SettingsForm;
  trainBackend: TrainBackendChoice;
  train: TrainRunView;
  runsVersion: number;
  head: ActiveHead | null;
  chosenRunId: string | null;
}

export const NO_BACKENDS: BackendView = { statuses: null, timings: [], measuring: false, running: null, error: null };

export function freshSession(): SessionState {
  return {
    phase: 'ready',
    restoreProblem: null,
    restoredAt: null,
    dataset: { phase: 'empty' },
    filesConnected: false,
    folderHandle: null,
    split: { seed: DEFAULT_SPLIT_SEED, trainFraction: DEFAULT_TRAIN_FRACTION, mode: 'seeded' },
    encoder: DEFAULT_ENCODER,
    backend: 'auto',
    backends: NO_BACKENDS,
    loadedEncoder: null,
    embedSettings: { batchSize: 32, cropToBox: false },
    job: IDLE_JOB,
    embedded: null,
    cacheVersion: 0,
    trainForm: defaultSettingsForm(),
    trainBackend: 'auto',
    train: IDLE_RUN,
    runsVersion: 0,
    head: null,
    chosenRunId: null,
  };
}

type Listener = () => void;
type Patch = Partial<SessionState> | ((s: SessionState) => Partial<SessionState>);

/** A key for the split, so a saved baseline is shown only for the split it was measured on. */
export function splitKey(s: SplitSettingsValue): string {
  return `${s.mode}:${s.seed}:${s.trainFraction}`;
}

export class SessionStore {
  private state: SessionState = { ...freshSession(), phase: 'restoring' };
  private readonly listeners = new Set<Listener>();
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private packing = false;
  private lastSaved: unknown[] = [];
  /** The saved dataset's manifest, and its packed form once a save has needed it (built once per dataset, not per save). */
  private manifestOf: { loaded: unknown; manifest: DatasetManifest | null; packed: PackedManifest | null } = { loaded: null, manifest: null, packed: null };

  get = (): SessionState => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set = (patch: Patch): void => {
    const next = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...next };
    this.listeners.forEach((l) => l());
    this.scheduleSave();
  };

  /** Sets the state as read back from the saved record: nothing to save (a save would write the same record again). */
  private setAsSaved(state: Partial<SessionState>): void {
    this.state = { ...this.state, ...state };
    this.lastSaved = this.persisted();
    this.listeners.forEach((l) => l());
  }

  dispatchJob = (action: EmbedJobAction): void => this.set((s) => ({ job: embedJobReducer(s.job, action) }));

  dispatchTrain = (action: TrainRunAction): void => this.set((s) => ({ train: trainRunReducer(s.train, action) }));

  /** Reads the saved session; an unreadable one is cleared and reported, and a fresh session starts. */
  async restore(): Promise<void> {
    let restoreProblem: string | null = null;
    let saved: StoredSession | null = null;
    let upgraded = false;
    let packed: PackedManifest | null = null;
    // marks for the reload benchmark: when the app's code ran, and when IndexedDB answered
    performance.mark('studio:restore-start');
    try {
      const raw = await readSessionRecord();
      performance.mark('studio:session-read');
      // the record's reading, its unpacking and the first render each in a task of their own (with 16,185 images each costs tens of ms)
      await nextTask();
      const packedRecord = raw !== undefined ? readPackedSession(raw) : null;
      await nextTask();
      if (packedRecord) saved = unpackSession(packedRecord);
      packed = packedRecord?.dataset ?? null;
      upgraded = saved !== null && (raw as { version?: unknown }).version !== SESSION_SCHEMA_VERSION;
    } catch (e) {
      restoreProblem =
        `Your last session could not be restored (${e instanceof Error ? e.message : String(e)}), so a fresh one was started. ` +
        'Embeddings and training runs are stored apart and are kept: drop the dataset folder again to carry on.';
      await clearSessionRecord().catch(() => undefined);
    }
    await nextTask();
    const loaded = saved?.dataset ? fromManifest(saved.dataset) : null;
    await nextTask();
    const fresh = freshSession();
    // a folder dropped while the saved session was being read wins over the saved dataset
    const dropped = this.state.dataset.phase !== 'empty';
    const keep = dropped
      ? { dataset: this.state.dataset, filesConnected: this.state.filesConnected, folderHandle: this.state.folderHandle, encoder: this.state.encoder }
      : {};
    if (!saved) {
      // a folder dropped meanwhile is saved (its own save waited for the restore)
      if (dropped) this.set({ ...fresh, restoreProblem, ...keep });
      else this.setAsSaved({ ...fresh, restoreProblem });
      return;
    }
    // the record's packed manifest, as read, serves the next saves of this dataset (packing 16,185 rows again costs 30-60 ms)
    this.manifestOf = { loaded, manifest: saved.dataset, packed };
    const embedded = saved.embedded;
    const restored: Partial<SessionState> = {
      ...fresh,
      restoredAt: performance.now(),
      dataset: loaded ? { phase: 'ready', loaded } : { phase: 'empty' },
      filesConnected: false,
      folderHandle: (saved.folderHandle as FileSystemDirectoryHandle | null) ?? null,
      split: saved.settings.split,
      embedSettings: saved.settings.embed,
      backend: saved.settings.backend,
      trainForm: { ...fresh.trainForm, ...saved.settings.train },
      trainBackend: saved.settings.trainBackend,
      encoder: fromStoredEncoder(saved.encoder),
      embedded,
      loadedEncoder: embedded?.encoder ?? null,
      job: embedded ? restoredJob(embedded, splitKey(saved.settings.split)) : IDLE_JOB,
      chosenRunId: saved.chosenRunId,
    };
    if (dropped) this.set({ ...restored, ...keep, embedded: null, loadedEncoder: null, job: IDLE_JOB, restoredAt: null });
    else this.setAsSaved(restored);
    // an older record is written back in this version's format, so the next reload reads it directly
    if (upgraded) void this.save();
  }

  /** The dataset a save keeps: the loaded one; while a new folder is read, still the last one saved. */
  private datasetToSave(): LoadedDataset | null {
    const d = this.state.dataset;
    if (d.phase === 'ready') return d.loaded;
    if (d.phase === 'reading' || d.phase === 'detecting') return this.manifestOf.loaded as LoadedDataset | null;
    return null;
  }

  /** The slices a save is about; a save happens only when one of them changed. */
  private persisted(): unknown[] {
    const s = this.state;
    return [this.datasetToSave(), s.folderHandle, s.split, s.encoder, s.backend, s.embedSettings, s.trainForm, s.trainBackend, s.embedded, s.chosenRunId];
  }

  private scheduleSave(): void {
    if (this.state.phase !== 'ready') return;
    const now = this.persisted();
    if (now.every((v, i) => v === this.lastSaved[i])) return;
    this.lastSaved = now;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.save(), 150);
  }

  /**
   * Writes the session now (also used by tests through `flush`). A new dataset's manifest
   * (16,185 rows: 100-200 ms) is built in one task and written in the next, unless `inTasks`
   * is false (the page is going: there is no next task).
   */
  async save(inTasks = true): Promise<void> {
    this.saveTimer = null;
    const loaded = this.datasetToSave();
    // listing the manifest, packing it and writing it each take a task of their own: 16,185
    // images cost ~25 ms to list and pack on a first save (Node), 73 ms of wall time in one task
    // beside the workers at the end of an embedding
    const between = async (): Promise<boolean> => {
      if (!inTasks) return true;
      this.packing = true;
      await nextTask();
      this.packing = false;
      // a newer dataset arrived meanwhile: its own save (scheduled by that change, or a flush) writes it
      return this.datasetToSave() === loaded;
    };
    if (this.manifestOf.loaded !== loaded) {
      this.manifestOf = { loaded, manifest: loaded ? toManifest(loaded) : null, packed: null };
      if (loaded && !(await between())) return;
    }
    const of = this.manifestOf;
    if (of.manifest && !of.packed) {
      of.packed = packManifest(of.manifest);
      if (!(await between())) return;
    }
    // the state as it is now, not as it was before the packing's task: nothing set meanwhile is lost
    const s = this.state;
    const record: PackedSession = {
      version: SESSION_SCHEMA_VERSION,
      savedAt: Date.now(),
      dataset: of.packed,
      encoder: toStoredEncoder(s.encoder),
      settings: { split: s.split, embed: s.embedSettings, backend: s.backend, train: s.trainForm, trainBackend: s.trainBackend },
      embedded: s.embedded,
      chosenRunId: s.chosenRunId,
      folderHandle: s.folderHandle,
    };
    try {
      await writeSessionRecord(record);
    } catch (e) {
      console.warn('Could not save the session:', e);
    }
  }

  /** Saves at once if a save is pending. */
  async flush(): Promise<void> {
    // a save between its two tasks is written now too
    if (this.saveTimer || this.packing) {
      if (this.saveTimer) clearTimeout(this.saveTimer);
      await this.save(false);
    }
  }
}

function toStoredEncoder(c: EncoderChoice): StoredEncoderChoice {
  if (c.kind !== 'files') return c;
  return { kind: 'files', folder: { name: c.folder.name, files: c.folder.files.map((f) => ({ path: f.path, file: f.file })) } };
}

function fromStoredEncoder(c: StoredEncoderChoice): EncoderChoice {
  if (c.kind !== 'files') return c;
  return { kind: 'files', folder: { name: c.folder.name, files: c.folder.files.map((f) => new BrowserDatasetFile(f.path, f.file as File)) } };
}

/** The Embedding step as the saved session left it: done, its baseline shown for the split it was measured on. */
export function restoredJob(e: EmbeddedState, currentSplit: string): EmbedJobView {
  return {
    ...IDLE_JOB,
    phase: 'done',
    stage: 'Done (in your last session).',
    restored: true,
    problems: e.problems,
    problemCount: e.problems.length,
    metrics: e.metrics && e.splitKey === currentSplit ? { ...e.metrics, fromCacheOnly: true } : null,
    cache: { type: 'cache-checked', jobId: '', total: e.embedded + e.cached + e.failed, cached: e.embedded + e.cached, missing: e.failed, readMs: 0 },
  };
}

export const session = new SessionStore();

/** A slice of the session; re-renders when that slice changes. */
export function useSession<T>(select: (s: SessionState) => T): T {
  return useSyncExternalStore(session.subscribe, () => select(session.get()));
}
