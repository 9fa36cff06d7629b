import type { DatasetFile } from './datasetFile';

/** The on-disk layouts the studio recognises. */
export type LayoutName = 'devkit' | 'class-folders' | 'csv';

/** Pixel box of the object, inclusive corners as in the devkit (1-based there; kept as given). */
export interface BoundingBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** The halves an image can come from, in a fixed order: packed columns store an image's half as its index here. */
export const IMAGE_HALVES: readonly ImageRecord['half'][] = ['train', 'test', 'all'];

/** One labelled image of the merged dataset. */
export interface ImageRecord {
  file: DatasetFile;
  /** 0-based index into `Dataset.classNames`. */
  classId: number;
  /** Which half of the original dataset it came from (the recipe merges them). */
  half: 'train' | 'test' | 'all';
  bbox?: BoundingBox;
  /** Where the box was read ('Annotation 7 of cars_train_annos.mat'), for notes about it. */
  boxSource?: string;
}

/**
 * What a problem means for the dataset: files left out of it, files ignored on purpose
 * (system files), or a note about data that is used (a distractor class, a box clamped).
 */
export type ProblemKind = 'left-out' | 'ignored' | 'note';

/** Something wrong with one file or entry, and what the studio did about it. */
export interface DatasetProblem {
  /** The file the problem is about (relative path), or the annotation file naming it. */
  path: string;
  message: string;
  /** Absent means 'left-out'. */
  kind?: ProblemKind;
  /** How many files this line accounts for, when more than one (a counted summary line). */
  files?: number;
  /** Found while embedding (an image's size is known only once decoded), not when the folder was read. */
  fromEmbedding?: true;
}

export function problemKind(p: DatasetProblem): ProblemKind {
  return p.kind ?? 'left-out';
}

/** A dataset folder after layout detection: train and test halves already merged. */
export interface Dataset {
  layout: LayoutName;
  /**
   * The classes that have at least one usable image, in the order of the layout's own class
   * list (cars_meta.mat, names.csv; class folders: sorted by name, code-unit order).
   */
  classNames: string[];
  images: ImageRecord[];
  problems: DatasetProblem[];
  /**
   * For each entry of `classNames`, its 0-based index in the layout's own class list
   * (`cars_meta.mat` / `names.csv`, which can name classes that have no images here, e.g. a
   * 40-class subset of the 196). Absent for class folders, whose list is the folders found.
   */
  sourceClassIds?: number[];
  /** The folder (relative path, '' for the dropped folder itself) the layout was found in. */
  root?: string;
}

/** Thrown when no known layout fits a folder; the message lists the layouts looked for. */
export class DatasetLayoutError extends Error {
  override name = 'DatasetLayoutError';
}

/**
 * The dataset with notes found while embedding added to its problems, each once (a note
 * already there is not repeated); the same dataset object when nothing is new.
 */
export function withEmbeddingNotes(dataset: Dataset, notes: readonly { path: string; message: string }[]): Dataset {
  const known = new Set(dataset.problems.map((p) => `${p.path}\n${p.message}`));
  const added: DatasetProblem[] = [];
  for (const n of notes) {
    const key = `${n.path}\n${n.message}`;
    if (known.has(key)) continue;
    known.add(key);
    added.push({ path: n.path, message: n.message, kind: 'note', fromEmbedding: true });
  }
  return added.length ? { ...dataset, problems: [...dataset.problems, ...added] } : dataset;
}
