/**
 * The saved session as IndexedDB keeps it: plain, versioned data. Everything here is pure
 * (no IndexedDB, no DOM), so saving, restoring, upgrading an older record and refusing a
 * corrupt one are tested in Node; `storage/sessionDb.ts` only reads and writes the record.
 */
import { IMAGE_HALVES, type Dataset, type DatasetProblem, type ImageRecord, type LayoutName } from '../../core/data/dataset';
import { detachedFile } from '../../core/data/datasetFile';
import type { BackendName, BaselineMetrics, EncoderSummary } from '../../workers/embedProtocol';
import type { TrainBackendChoice } from '../../workers/trainProtocol';
import type { LoadedDataset } from '../dataset/datasetState';
import type { EmbedSettings, SplitSettingsValue } from './settingsTypes';
import type { SettingsForm } from '../training/trainingSettings';

export const SESSION_SCHEMA_VERSION = 3;

/** The dataset without its files: enough to train, search and map from the caches. */
export interface DatasetManifest {
  folderName: string;
  fileCount: number;
  layout: LayoutName;
  root: string;
  classNames: string[];
  sourceClassIds: number[] | null;
  problems: DatasetProblem[];
  /** One entry per image, as parallel arrays (16,185 images stay one small record). */
  paths: string[];
  sizes: number[];
  dates: number[];
  classIds: number[];
  halves: ImageRecord['half'][];
  /** [x1, y1, x2, y2] or null. */
  boxes: ([number, number, number, number] | null)[];
}

/**
 * The manifest as IndexedDB keeps it (schema 3): the per-image columns as one string and a
 * few typed arrays. IndexedDB reads these back about ten times faster than 16,185-element
 * arrays (measured in Chromium here: 10-36 ms against 115-450 ms), which is most of a reload.
 */
export interface PackedManifest extends Omit<DatasetManifest, 'paths' | 'sizes' | 'dates' | 'classIds' | 'halves' | 'boxes'> {
  /** Every path, joined by NUL (which no file name holds). */
  paths: string;
  sizes: Float64Array;
  dates: Float64Array;
  classIds: Int32Array;
  /** Index into IMAGE_HALVES. */
  halves: Uint8Array;
  /** Four numbers per image, NaN for an image without a box. */
  boxes: Float64Array;
}

const PATH_SEPARATOR = '\u0000';

export function packManifest(m: DatasetManifest): PackedManifest {
  const { paths, sizes, dates, classIds, halves, boxes, ...rest } = m;
  const packedBoxes = new Float64Array(boxes.length * 4).fill(NaN);
  boxes.forEach((b, i) => b && packedBoxes.set(b, i * 4));
  return {
    ...rest,
    paths: paths.join(PATH_SEPARATOR),
    sizes: Float64Array.from(sizes),
    dates: Float64Array.from(dates),
    classIds: Int32Array.from(classIds),
    halves: Uint8Array.from(halves, (h) => IMAGE_HALVES.indexOf(h)),
    boxes: packedBoxes,
  };
}

export function unpackManifest(p: PackedManifest): DatasetManifest {
  const { paths, sizes, dates, classIds, halves, boxes, ...rest } = p;
  const n = sizes.length;
  const box = (i: number): [number, number, number, number] | null =>
    Number.isNaN(boxes[i * 4]) ? null : [boxes[i * 4], boxes[i * 4 + 1], boxes[i * 4 + 2], boxes[i * 4 + 3]];
  return {
    ...rest,
    paths: n === 0 ? [] : paths.split(PATH_SEPARATOR),
    sizes: Array.from(sizes),
    dates: Array.from(dates),
    classIds: Array.from(classIds),
    halves: Array.from(halves, (h) => IMAGE_HALVES[h]),
    boxes: Array.from({ length: n }, (_, i) => box(i)),
  };
}

/** The session as IndexedDB keeps it: the same record with its manifest packed. */
export type PackedSession = Omit<StoredSession, 'dataset'> & { dataset: PackedManifest | null };

/** The session as written to IndexedDB. */
export function toStoredRecord(s: StoredSession): PackedSession {
  return { ...s, dataset: s.dataset ? packManifest(s.dataset) : null };
}

/** A dropped model folder, its files kept (IndexedDB stores File objects). */
export interface StoredModelFolder {
  name: string;
  files: { path: string; file: File }[];
}

export type StoredEncoderChoice = { kind: 'catalog'; id: string } | { kind: 'url'; url: string } | { kind: 'files'; folder: StoredModelFolder };

/** What the last embedding of this dataset with this encoder gave (so a reload knows it is done). */
export interface EmbeddedState {
  encoder: EncoderSummary;
  metrics: BaselineMetrics | null;
  embedded: number;
  cached: number;
  failed: number;
  /** The decode failures, for the problem report. */
  problems: { path: string; message: string }[];
  /** The split the baseline was measured on (`splitKey`). */
  splitKey: string;
}

export interface SessionSettings {
  split: SplitSettingsValue;
  embed: EmbedSettings;
  backend: BackendName | 'auto';
  train: SettingsForm;
  trainBackend: TrainBackendChoice;
}

export interface StoredSession {
  version: typeof SESSION_SCHEMA_VERSION;
  savedAt: number;
  dataset: DatasetManifest | null;
  encoder: StoredEncoderChoice;
  settings: SessionSettings;
  embedded: EmbeddedState | null;
  chosenRunId: string | null;
  /** The dropped folder's FileSystemDirectoryHandle, for "Reconnect folder" (null when unknown). */
  folderHandle: unknown;
}

/** The saved record is not a session this version can read; the message says what is wrong. */
export class SessionFormatError extends Error {
  override name = 'SessionFormatError';
}

export function toManifest(loaded: LoadedDataset): DatasetManifest {
  const { dataset } = loaded;
  return {
    folderName: loaded.folderName,
    fileCount: loaded.fileCount,
    layout: dataset.layout,
    root: dataset.root ?? '',
    classNames: dataset.classNames,
    sourceClassIds: dataset.sourceClassIds ?? null,
    problems: dataset.problems,
    paths: dataset.images.map((i) => i.file.path),
    sizes: dataset.images.map((i) => i.file.size),
    dates: dataset.images.map((i) => i.file.lastModified),
    classIds: dataset.images.map((i) => i.classId),
    halves: dataset.images.map((i) => i.half),
    boxes: dataset.images.map((i) => (i.bbox ? [i.bbox.x1, i.bbox.y1, i.bbox.x2, i.bbox.y2] : null)),
  };
}

/** The dataset of a manifest; its files are detached (identities known, bytes not). */
export function fromManifest(m: DatasetManifest): LoadedDataset {
  const images: ImageRecord[] = m.paths.map((path, i) => {
    const rec: ImageRecord = { file: detachedFile(path, m.sizes[i], m.dates[i]), classId: m.classIds[i], half: m.halves[i] };
    const b = m.boxes[i];
    if (b) rec.bbox = { x1: b[0], y1: b[1], x2: b[2], y2: b[3] };
    return rec;
  });
  const dataset: Dataset = { layout: m.layout, classNames: m.classNames, images, problems: m.problems, root: m.root };
  if (m.sourceClassIds) dataset.sourceClassIds = m.sourceClassIds;
  return { folderName: m.folderName, fileCount: m.fileCount, dataset, loadMs: 0 };
}

/** Whether a freshly read dataset is the saved one: the same files by path, size and date, the same labels. */
export function sameDataset(m: DatasetManifest, d: Dataset): boolean {
  if (m.paths.length !== d.images.length || m.classNames.length !== d.classNames.length) return false;
  if (m.classNames.some((n, i) => n !== d.classNames[i])) return false;
  return d.images.every(
    (img, i) =>
      img.file.path === m.paths[i] && img.file.size === m.sizes[i] && img.file.lastModified === m.dates[i] && img.classId === m.classIds[i],
  );
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isArrayOf = (x: unknown, n: number, test: (v: unknown) => boolean) => Array.isArray(x) && x.length === n && x.every(test);

/** What is wrong with a manifest of schema 2 (plain arrays), or null. */
function arrayManifestProblem(m: Record<string, unknown>): string | null {
  if (!Array.isArray(m.paths)) return 'the dataset has no file list';
  const n = m.paths.length;
  if (!m.paths.every((p) => typeof p === 'string')) return 'a file path is not text';
  if (!isArrayOf(m.sizes, n, (v) => typeof v === 'number')) return 'the file sizes do not match the file list';
  if (!isArrayOf(m.dates, n, (v) => typeof v === 'number')) return 'the file dates do not match the file list';
  if (!Array.isArray(m.classNames)) return 'the dataset has no class list';
  const classes = m.classNames.length;
  if (!isArrayOf(m.classIds, n, (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < classes)) {
    return 'the labels do not match the file list and the class list';
  }
  if (!isArrayOf(m.halves, n, (v) => v === 'train' || v === 'test' || v === 'all')) return 'the halves do not match the file list';
  if (!isArrayOf(m.boxes, n, (v) => v === null || isArrayOf(v, 4, (c) => typeof c === 'number'))) return 'the boxes do not match the file list';
  return sharedManifestProblem(m);
}

/** What is wrong with a packed manifest (schema 3), or null. */
function packedManifestProblem(m: Record<string, unknown>): string | null {
  if (typeof m.paths !== 'string' || !(m.sizes instanceof Float64Array)) return 'the dataset has no file list';
  const n = m.sizes.length;
  if ((n === 0 ? 0 : m.paths.split(PATH_SEPARATOR).length) !== n) return 'the file sizes do not match the file list';
  if (!(m.dates instanceof Float64Array) || m.dates.length !== n) return 'the file dates do not match the file list';
  if (!Array.isArray(m.classNames)) return 'the dataset has no class list';
  const classes = m.classNames.length;
  if (!(m.classIds instanceof Int32Array) || m.classIds.length !== n || m.classIds.some((c) => c < 0 || c >= classes)) {
    return 'the labels do not match the file list and the class list';
  }
  if (!(m.halves instanceof Uint8Array) || m.halves.length !== n || m.halves.some((h) => h >= IMAGE_HALVES.length)) return 'the halves do not match the file list';
  if (!(m.boxes instanceof Float64Array) || m.boxes.length !== 4 * n) return 'the boxes do not match the file list';
  return sharedManifestProblem(m);
}

function sharedManifestProblem(m: Record<string, unknown>): string | null {
  if (!Array.isArray(m.problems)) return 'the problem report is missing';
  if (!['devkit', 'class-folders', 'csv'].includes(m.layout as string)) return `unknown layout ${JSON.stringify(m.layout)}`;
  return null;
}

function damaged(problem: string | null): void {
  if (problem) throw new SessionFormatError(`the saved session is damaged: ${problem}`);
}

function encoderProblem(e: unknown): string | null {
  if (!isObject(e)) return 'the encoder choice is missing';
  if (e.kind === 'catalog') return typeof e.id === 'string' ? null : 'the catalog encoder has no id';
  if (e.kind === 'url') return typeof e.url === 'string' ? null : 'the encoder URL is not text';
  if (e.kind === 'files') {
    const f = e.folder;
    return isObject(f) && Array.isArray(f.files) && f.files.every((x) => isObject(x) && typeof x.path === 'string' && x.file instanceof Blob)
      ? null
      : 'the dropped model folder is incomplete';
  }
  return `unknown encoder kind ${JSON.stringify(e.kind)}`;
}

function settingsProblem(s: unknown): string | null {
  if (!isObject(s)) return 'the settings are missing';
  const split = s.split;
  if (!isObject(split) || typeof split.seed !== 'number' || typeof split.trainFraction !== 'number' || (split.mode !== 'seeded' && split.mode !== 'numpy')) {
    return 'the class split settings are incomplete';
  }
  const embed = s.embed;
  if (!isObject(embed) || typeof embed.batchSize !== 'number' || typeof embed.cropToBox !== 'boolean') return 'the embedding settings are incomplete';
  if (typeof s.backend !== 'string' || typeof s.trainBackend !== 'string') return 'the backend choice is missing';
  if (!isObject(s.train) || !Object.values(s.train).every((v) => typeof v === 'string')) return 'the training settings are incomplete';
  return null;
}

/**
 * Upgrades of older records, one step each: `UPGRADES[v]` turns version v into v + 1.
 * Version 1 kept the settings at the top level (split, embed, backend, train, trainBackend).
 * Version 2 kept the manifest unpacked.
 */
const UPGRADES: Record<number, (old: Record<string, unknown>) => Record<string, unknown>> = {
  1: (old) => {
    const { split, embed, backend, train, trainBackend, ...rest } = old;
    return { ...rest, version: 2, settings: { split, embed, backend, train, trainBackend } };
  },
  // version 2 kept the manifest's columns as plain arrays
  2: (old) => {
    const dataset = old.dataset ?? null;
    if (dataset === null) return { ...old, version: 3 };
    if (!isObject(dataset)) throw new SessionFormatError('the saved session is damaged: the dataset is not an object');
    damaged(arrayManifestProblem(dataset));
    return { ...old, version: 3, dataset: packManifest(dataset as unknown as DatasetManifest) };
  },
};

/**
 * Reads a stored record: upgrades an older version, checks every field, and throws
 * SessionFormatError naming what is wrong (the caller then starts a fresh session).
 */
export function readSession(raw: unknown): StoredSession {
  return unpackSession(readPackedSession(raw));
}

/** A session read by `readPackedSession`, its manifest unpacked. */
export function unpackSession(record: PackedSession): StoredSession {
  return { ...record, dataset: record.dataset ? unpackManifest(record.dataset) : null };
}

/** The session as `readSession` reads it (checked, upgraded), its manifest still packed: the page unpacks it in a task of its own. */
export function readPackedSession(raw: unknown): PackedSession {
  if (!isObject(raw)) throw new SessionFormatError('the saved session is not a record');
  let record: Record<string, unknown> = raw;
  const stated = record.version;
  if (typeof stated !== 'number' || !Number.isInteger(stated) || stated < 1) {
    throw new SessionFormatError(`the saved session has no valid schema version (${JSON.stringify(stated)})`);
  }
  let version: number = stated;
  if (version > SESSION_SCHEMA_VERSION) {
    throw new SessionFormatError(`the saved session is from a newer version of the studio (schema ${version}, this one reads ${SESSION_SCHEMA_VERSION})`);
  }
  while (version < SESSION_SCHEMA_VERSION) {
    record = UPGRADES[version](record);
    version = record.version as number;
  }
  const packed = record.dataset ?? null;
  if (packed !== null && !isObject(packed)) damaged('the dataset is not an object');
  damaged((isObject(packed) ? packedManifestProblem(packed) : null) ?? encoderProblem(record.encoder) ?? settingsProblem(record.settings));
  if (record.chosenRunId !== null && record.chosenRunId !== undefined && typeof record.chosenRunId !== 'string') {
    throw new SessionFormatError('the saved session is damaged: the chosen run is not an id');
  }
  const embedded = record.embedded ?? null;
  if (embedded !== null && !(isObject(embedded) && isObject(embedded.encoder) && typeof embedded.encoder.preprocessingKey === 'string')) {
    throw new SessionFormatError('the saved session is damaged: the embedding summary is incomplete');
  }
  return {
    version: SESSION_SCHEMA_VERSION,
    savedAt: typeof record.savedAt === 'number' ? record.savedAt : 0,
    dataset: packed ? (packed as unknown as PackedManifest) : null,
    encoder: record.encoder as StoredEncoderChoice,
    settings: record.settings as SessionSettings,
    embedded: embedded as EmbeddedState | null,
    chosenRunId: (record.chosenRunId ?? null) as string | null,
    folderHandle: record.folderHandle ?? null,
  };
}
