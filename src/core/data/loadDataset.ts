/**
 * Turns the files of a dropped folder into a Dataset: finds the layout (devkit, then CSV,
 * then class folders), reads its labels and merges the train and test halves.
 */
import { DatasetLayoutError, type Dataset, type DatasetProblem } from './dataset';
import type { DatasetFile } from './datasetFile';
import { classFoldersLayout } from './layouts/classFolders';
import type { Layout } from './layouts/common';
import { csvLayout } from './layouts/csv';
import { devkitLayout } from './layouts/devkit';

/** The layouts, in the order they are tried. */
export const LAYOUTS: readonly Layout[] = [devkitLayout, csvLayout, classFoldersLayout];

// kept here too for its importers; it lives beside DatasetFile (the page imports it without the layouts' parsers)
export { imageIdentity } from './datasetFile';

/** The kinds of system file, in the order the report names them. */
const SYSTEM_KINDS = ['.DS_Store', 'Thumbs.db', 'desktop.ini', '__MACOSX/', 'other hidden files'] as const;

/** Which kind of system file (never data) a path is, or null for an ordinary file. */
export function systemKind(path: string): (typeof SYSTEM_KINDS)[number] | null {
  const segments = path.split('/');
  if (segments.slice(0, -1).includes('__MACOSX')) return '__MACOSX/';
  const name = segments[segments.length - 1];
  if (name === '.DS_Store') return '.DS_Store';
  if (name.toLowerCase() === 'thumbs.db') return 'Thumbs.db';
  if (name.toLowerCase() === 'desktop.ini') return 'desktop.ini';
  return segments.some((seg) => seg.startsWith('.')) ? 'other hidden files' : null;
}

/** One counted line for every system file of the drop: "`.DS_Store, __MACOSX/: 3 system files ignored.`" */
export function systemFilesProblem(files: readonly DatasetFile[]): DatasetProblem | null {
  const found = new Map<string, number>();
  for (const f of files) {
    const kind = systemKind(f.path);
    if (kind) found.set(kind, (found.get(kind) ?? 0) + 1);
  }
  const count = [...found.values()].reduce((a, b) => a + b, 0);
  if (count === 0) return null;
  const kinds = SYSTEM_KINDS.filter((k) => found.has(k)).join(', ');
  return { path: '', kind: 'ignored', files: count, message: `${kinds}: ${count} system file${count === 1 ? '' : 's'} ignored.` };
}

/** Normalises a path to the '/'-separated relative form layouts expect. */
function normalise(file: DatasetFile): DatasetFile {
  const path = file.path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
  if (path === file.path) return file;
  return { path, size: file.size, lastModified: file.lastModified, arrayBuffer: () => file.arrayBuffer() };
}

/**
 * Loads a dataset folder. Files that cannot be used are reported in `problems`; a folder
 * that fits no layout, or fits one but has no usable image, throws DatasetLayoutError
 * listing what each layout needs. Unreadable or corrupt annotation files throw their
 * own error (MatFileError for .mat files) naming the file.
 */
export async function loadDataset(files: DatasetFile[], options: { folders?: readonly string[] } = {}): Promise<Dataset> {
  const all = files.map(normalise);
  const visible = all.filter((f) => systemKind(f.path) === null);
  const folders = options.folders?.filter((d) => systemKind(d + '/') === null);
  const reasons: string[] = [];
  for (const layout of LAYOUTS) {
    const d = layout.detect(visible, folders);
    if (!d.fits) {
      reasons.push(`- ${layout.description}. Not found: ${d.why}.`);
      continue;
    }
    const dataset = await d.load();
    if (dataset.images.length === 0) {
      const shown = dataset.problems.slice(0, 5).map((p) => `\n  ${p.path}: ${p.message}`).join('');
      throw new DatasetLayoutError(
        `Found the ${layout.name} layout (${layout.description}), but no usable images in it.${shown}`,
      );
    }
    const system = systemFilesProblem(all);
    if (system) dataset.problems.unshift(system);
    return dataset;
  }
  throw new DatasetLayoutError(
    `No known dataset layout in this folder (${visible.length} file${visible.length === 1 ? '' : 's'}). Looked for:\n` +
      reasons.join('\n'),
  );
}
