/**
 * Turns the files of a dropped folder into a Dataset: finds the layout (devkit, then CSV,
 * then class folders), reads its labels and merges the train and test halves.
 */
import { DatasetLayoutError, type Dataset } from './dataset';
import type { DatasetFile } from './datasetFile';
import { classFoldersLayout } from './layouts/classFolders';
import type { Layout } from './layouts/common';
import { csvLayout } from './layouts/csv';
import { devkitLayout } from './layouts/devkit';

/** The layouts, in the order they are tried. */
export const LAYOUTS: readonly Layout[] = [devkitLayout, csvLayout, classFoldersLayout];

/** Stable identity of an image file's content, for cache keys: `${path}|${size}|${lastModified}`. */
export function imageIdentity(file: DatasetFile): string {
  return `${file.path}|${file.size}|${file.lastModified}`;
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
export async function loadDataset(files: DatasetFile[]): Promise<Dataset> {
  const visible = files
    .map(normalise)
    .filter((f) => !f.path.split('/').some((seg) => seg.startsWith('.') || seg === '__MACOSX'));
  const reasons: string[] = [];
  for (const layout of LAYOUTS) {
    const d = layout.detect(visible);
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
    return dataset;
  }
  throw new DatasetLayoutError(
    `No known dataset layout in this folder (${visible.length} file${visible.length === 1 ? '' : 's'}). Looked for:\n` +
      reasons.join('\n'),
  );
}
