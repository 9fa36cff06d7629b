import { holdOutClasses } from '../data/classSplit';
import type { LabelledEmbeddings, TrainingConfig } from './trainer';

/** What a run trains on, what chooses its epoch, and what is only charted. */
export interface SelectionSets {
  /** Rows that train. */
  fit: LabelledEmbeddings;
  /** Rows that choose the epoch: held-out training classes, or (recipe) the test classes. */
  selection: LabelledEmbeddings;
  /** The never-seen test classes, charted only; null in recipe selection (they are `selection`). */
  charted: LabelledEmbeddings | null;
  /** Class ids held out of training (empty in recipe selection). */
  heldOutClasses: number[];
}

/**
 * Divides a run's data by the config's selection mode. 'heldout': a seeded share of the
 * training classes leaves training and becomes the selection set; the test set is charted.
 * 'recipe': training and test sets as given, the test set choosing (as the reference does).
 * `rowSize` is the values per row (embedding size, or h·w·c of cut maps).
 */
export function selectionSets(
  train: LabelledEmbeddings,
  test: LabelledEmbeddings,
  rowSize: number,
  selection: TrainingConfig['selection'],
  seed: number,
): SelectionSets {
  if (selection.mode === 'recipe') return { fit: train, selection: test, charted: null, heldOutClasses: [] };
  const classes = [...new Set(train.labels)].sort((a, b) => a - b);
  const { heldOutClasses } = holdOutClasses(classes, selection.heldOutFraction, seed);
  const held = new Set(heldOutClasses);
  const fitRows: number[] = [];
  const heldRows: number[] = [];
  train.labels.forEach((label, row) => (held.has(label) ? heldRows : fitRows).push(row));
  return { fit: takeRows(train, fitRows, rowSize), selection: takeRows(train, heldRows, rowSize), charted: test, heldOutClasses };
}

function takeRows(set: LabelledEmbeddings, rows: number[], rowSize: number): LabelledEmbeddings {
  const embeddings = new Float32Array(rows.length * rowSize);
  const labels = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    embeddings.set(set.embeddings.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
    labels[i] = set.labels[row];
  });
  return { embeddings, labels };
}
