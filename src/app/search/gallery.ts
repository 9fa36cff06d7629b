import type { ClassSplit } from '../../core/data/classSplit';
import type { Dataset, ImageRecord } from '../../core/data/dataset';
import { imageIdentity } from '../../core/data/datasetFile';
import type { EmbeddingItem } from '../../core/export/embeddingExport';
import { BrowserDatasetFile } from '../../workers/browserFile';
import { nextTask } from '../../workers/nextTask';
import type { EncoderSummary } from '../../workers/embedProtocol';
import type { ExportImages, ExportScope, GallerySpec } from '../../workers/searchProtocol';

/** One validation image as the search, the map and the exports show it. */
export interface GalleryImage {
  path: string;
  /** `path|size|lastModified`: finds its embedding and its stored thumbnail. */
  identity: string;
  file: File | null;
  classId: number;
  className: string;
}

type ScopeRow = { image: ImageRecord; identity: string; className: string; item: EmbeddingItem };

/** Images read per task when the page builds a gallery or an export (16,185 at once: 20-45 ms). */
const ROWS_PER_TASK = 2000;

/** The images of the split's classes in dataset order, each with its identity, class name and side; `ROWS_PER_TASK` images a task. */
async function imagesOfScope(dataset: Dataset, split: ClassSplit, scope: ExportScope): Promise<ScopeRow[]> {
  const train = new Set(split.trainClasses);
  const validation = new Set(split.validationClasses);
  const rows: ScopeRow[] = [];
  for (let i = 0; i < dataset.images.length; i++) {
    if (i > 0 && i % ROWS_PER_TASK === 0) await nextTask();
    const image = dataset.images[i];
    const which = train.has(image.classId) ? 'train' : validation.has(image.classId) ? 'validation' : null;
    if (!which || (scope !== 'all' && scope !== which)) continue;
    const className = dataset.classNames[image.classId] ?? String(image.classId);
    const item: EmbeddingItem = { file: image.file.path, class: className, classId: image.classId, split: which };
    rows.push({ image, identity: imageIdentity(image.file), className, item });
  }
  return rows;
}

/**
 * The validation images of the split (in dataset order, as training reads them), as the
 * worker's gallery spec plus what the page needs to show each row.
 */
export async function validationGallery(dataset: Dataset, split: ClassSplit, encoder: EncoderSummary): Promise<{ spec: GallerySpec; images: GalleryImage[] }> {
  const rows = await imagesOfScope(dataset, split, 'validation');
  const images = rows.map(({ image, identity, className }) => ({
    path: image.file.path,
    identity,
    file: image.file instanceof BrowserDatasetFile ? image.file.file : null,
    classId: image.classId,
    className,
  }));
  return {
    spec: {
      preprocessingKey: encoder.preprocessingKey,
      featureSize: encoder.featureSize,
      identities: rows.map((r) => r.identity),
      labels: Int32Array.from(rows, (r) => r.image.classId),
      items: rows.map((r) => r.item),
    },
    images,
  };
}

/** How many images an export scope holds (what the export panel shows before anything is exported). */
export function scopeImageCount(dataset: Dataset, split: ClassSplit, scope: ExportScope): number {
  const classes = new Set(scope === 'train' ? split.trainClasses : scope === 'validation' ? split.validationClasses : [...split.trainClasses, ...split.validationClasses]);
  let n = 0;
  for (const image of dataset.images) if (classes.has(image.classId)) n += 1;
  return n;
}

/**
 * The images of an export scope, in dataset order: every image of the split's classes
 * ('all'), or those of its training or validation classes; each payload names its split.
 */
export async function exportImages(dataset: Dataset, split: ClassSplit, scope: ExportScope): Promise<ExportImages> {
  const rows = await imagesOfScope(dataset, split, scope);
  return { identities: rows.map((r) => r.identity), items: rows.map((r) => r.item) };
}

/** A stable colour per class (golden-angle hues). */
export function classColour(classId: number): string {
  const hue = (classId * 137.508) % 360;
  return `hsl(${hue.toFixed(1)} 70% 45%)`;
}

/** An object URL for a File, revoked by the caller (null when there is no file). */
export function thumbUrl(file: File | null): string | null {
  return file ? URL.createObjectURL(file) : null;
}
