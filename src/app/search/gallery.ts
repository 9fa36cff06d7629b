import type { ClassSplit } from '../../core/data/classSplit';
import type { Dataset } from '../../core/data/dataset';
import { imageIdentity } from '../../core/data/loadDataset';
import type { EmbeddingItem } from '../../core/export/embeddingExport';
import { BrowserDatasetFile } from '../../workers/browserFile';
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

/**
 * The validation images of the split (in dataset order, as training reads them), as the
 * worker's gallery spec plus what the page needs to show each row.
 */
export function validationGallery(dataset: Dataset, split: ClassSplit, encoder: EncoderSummary): { spec: GallerySpec; images: GalleryImage[] } {
  const validation = new Set(split.validationClasses);
  const train = new Set(split.trainClasses);
  const identities: string[] = [];
  const labels: number[] = [];
  const items: EmbeddingItem[] = [];
  const images: GalleryImage[] = [];
  for (const image of dataset.images) {
    if (train.has(image.classId) || !validation.has(image.classId)) continue;
    const className = dataset.classNames[image.classId] ?? String(image.classId);
    const identity = imageIdentity(image.file);
    identities.push(identity);
    labels.push(image.classId);
    items.push({ file: image.file.path, class: className, classId: image.classId, split: 'validation' });
    images.push({
      path: image.file.path,
      identity,
      file: image.file instanceof BrowserDatasetFile ? image.file.file : null,
      classId: image.classId,
      className,
    });
  }
  return {
    spec: { preprocessingKey: encoder.preprocessingKey, featureSize: encoder.featureSize, identities, labels: Int32Array.from(labels), items },
    images,
  };
}

/**
 * The images of an export scope, in dataset order: every image of the split's classes
 * ('all'), or those of its training or validation classes; each payload names its split.
 */
export function exportImages(dataset: Dataset, split: ClassSplit, scope: ExportScope): ExportImages {
  const train = new Set(split.trainClasses);
  const validation = new Set(split.validationClasses);
  const identities: string[] = [];
  const items: EmbeddingItem[] = [];
  for (const image of dataset.images) {
    const which = train.has(image.classId) ? 'train' : validation.has(image.classId) ? 'validation' : null;
    if (!which || (scope !== 'all' && scope !== which)) continue;
    identities.push(imageIdentity(image.file));
    items.push({ file: image.file.path, class: dataset.classNames[image.classId] ?? String(image.classId), classId: image.classId, split: which });
  }
  return { identities, items };
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
