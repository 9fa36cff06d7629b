import { withEmbeddingNotes } from '../../core/data/dataset';
import { loadDatasetOffThread } from '../../workers/datasetClient';
import { nextTask } from '../../workers/nextTask';
import { IDLE_JOB } from '../embedding/embedJobState';
import { session } from '../session/sessionStore';
import { sameDataset, toManifest } from '../session/sessionFormat';
import type { DatasetLoadState, LoadedDataset } from './datasetState';
import type { PickedFolder } from './folderFiles';

export type { DatasetLoadState, LoadedDataset } from './datasetState';

let generation = 0;
let lastCount = 0;
/** What the Data step showed before a read began (a dropped model folder goes back to it). */
let settled: DatasetLoadState = { phase: 'empty' };

/** Folder reading progress; throttled to one update per ~500 files. */
export function onReading(filesFound: number): void {
  if (filesFound - lastCount < 500 && filesFound !== 0) return;
  lastCount = filesFound;
  session.set({ dataset: { phase: 'reading', filesFound } });
}

/**
 * Turns a dropped or picked folder into the session's dataset. Only a summary lives in the
 * store (a count while reading, then the one Dataset object). `divert` may claim the folder
 * for something else (a dropped model folder): the Data step then shows what it showed.
 * The same folder again (same files by path, size and date, same labels) keeps the step
 * states of the session: nothing is embedded again, and the page knows it.
 */
export async function loadFolder(folder: Promise<PickedFolder> | PickedFolder, divert?: (f: PickedFolder) => boolean): Promise<void> {
  const mine = ++generation;
  lastCount = 0;
  const before = session.get().dataset;
  if (before.phase === 'ready' || before.phase === 'failed' || before.phase === 'empty') settled = before;
  session.set({ dataset: { phase: 'reading', filesFound: 0 } });
  let picked: PickedFolder | undefined;
  try {
    picked = await folder;
    if (mine !== generation) return;
    if (divert?.(picked)) {
      session.set({ dataset: settled });
      return;
    }
    session.set({ dataset: { phase: 'detecting', fileCount: picked.files.length } });
    const started = performance.now();
    // the status render, the request to the worker, the comparison with the last dataset and
    // the dataset's first render: each a task of its own (with 16,185 files, 20-40 ms each)
    await nextTask();
    const read = await loadDatasetOffThread(picked.files, { folders: picked.folders });
    if (mine !== generation) return;
    await nextTask();
    const previous = settled.phase === 'ready' ? settled.loaded : null;
    const same = previous !== null && sameDataset(toManifest(previous), read);
    await nextTask();
    if (mine !== generation) return;
    // what embedding found out about these images stays true of the same files (nothing is decoded again)
    const dataset = same ? withEmbeddingNotes(read, previous.dataset.problems.filter((p) => p.fromEmbedding)) : read;
    const loaded: LoadedDataset = { folderName: picked.name, fileCount: picked.files.length, dataset, loadMs: performance.now() - started };
    settled = { phase: 'ready', loaded };
    session.set((s) => ({
      dataset: settled,
      filesConnected: true,
      folderHandle: picked?.handle ?? (same ? s.folderHandle : null),
      ...(same ? {} : { embedded: null, job: IDLE_JOB }),
    }));
  } catch (e) {
    if (mine !== generation) return;
    settled = { phase: 'failed', message: e instanceof Error ? e.message : String(e), folderName: picked?.name ?? '' };
    session.set({ dataset: settled });
  }
}
