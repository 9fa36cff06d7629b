import { useCallback, useRef, useState } from 'react';
import type { Dataset } from '../../core/data/dataset';
import { loadDataset } from '../../core/data/loadDataset';
import type { PickedFolder } from './folderFiles';

export interface LoadedDataset {
  folderName: string;
  fileCount: number;
  dataset: Dataset;
  loadMs: number;
}

export type DatasetLoadState =
  | { phase: 'empty' }
  | { phase: 'reading'; filesFound: number }
  | { phase: 'detecting'; fileCount: number }
  | { phase: 'ready'; loaded: LoadedDataset }
  | { phase: 'failed'; message: string; folderName: string };

/**
 * Turns a dropped or picked folder into a Dataset. Only a summary lives in React state
 * (a count while reading, then the one Dataset object): no per-file state, so a
 * 16,185-image folder does not re-render anything per file.
 */
export function useDatasetLoader() {
  const [state, setState] = useState<DatasetLoadState>({ phase: 'empty' });
  const generation = useRef(0);
  const lastCount = useRef(0);

  const onReading = useCallback((filesFound: number) => {
    // Throttled: one render per ~500 files found.
    if (filesFound - lastCount.current < 500 && filesFound !== 0) return;
    lastCount.current = filesFound;
    setState({ phase: 'reading', filesFound });
  }, []);

  const settled = useRef<DatasetLoadState>({ phase: 'empty' });

  /**
   * Loads a folder. `divert` may claim it for something else (a dropped model folder):
   * the panel then goes back to what it showed before.
   */
  const load = useCallback(async (folder: Promise<PickedFolder> | PickedFolder, divert?: (f: PickedFolder) => boolean) => {
    const mine = ++generation.current;
    lastCount.current = 0;
    setState({ phase: 'reading', filesFound: 0 });
    let picked: PickedFolder | undefined;
    try {
      picked = await folder;
      if (mine !== generation.current) return;
      if (divert?.(picked)) {
        setState(settled.current);
        return;
      }
      setState({ phase: 'detecting', fileCount: picked.files.length });
      const started = performance.now();
      const dataset = await loadDataset(picked.files, { folders: picked.folders });
      if (mine !== generation.current) return;
      settled.current = {
        phase: 'ready',
        loaded: { folderName: picked.name, fileCount: picked.files.length, dataset, loadMs: performance.now() - started },
      };
      setState(settled.current);
    } catch (e) {
      if (mine !== generation.current) return;
      settled.current = { phase: 'failed', message: e instanceof Error ? e.message : String(e), folderName: picked?.name ?? '' };
      setState(settled.current);
    }
  }, []);

  return { state, load, onReading };
}
