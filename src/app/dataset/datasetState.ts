import type { Dataset } from '../../core/data/dataset';

/** A dataset read from a folder (or restored from the saved manifest). */
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
