import type { BoundingBox } from '../data/dataset';
import type { DatasetFile } from '../data/datasetFile';
import type { ResizeMode } from './modelCard';

/** An image decoded to RGB at the encoder's input size. */
export interface DecodedImage {
  width: number;
  height: number;
  /** RGB bytes, row-major, `width * height * 3` long. */
  data: Uint8Array;
  /** The file's own size, when a box was cut out of it (so a box past its edge can be reported). */
  source?: { width: number; height: number };
}

/** What the decoder must produce. */
export interface DecodeSpec {
  width: number;
  height: number;
  resize: ResizeMode;
  /** Cut this box out before resizing (pixel corners, inclusive, as in the dataset). */
  crop?: BoundingBox;
}

/**
 * Turns an image file into RGB pixels at a given size. Each shell brings its own:
 * the browser worker uses createImageBitmap, the Node CLI uses sharp. Core never decodes.
 */
export interface ImageDecoder {
  /** Rejects with a DecodeError when the file is not a readable image. */
  decode(file: DatasetFile, spec: DecodeSpec): Promise<DecodedImage>;
}

/** A file that could not be decoded; `path` names it so the run can report and skip it. */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`Cannot decode ${path}: ${reason}`);
  }
}

/**
 * The box to cut out, clamped to the image and made at least one pixel wide and high.
 * Boxes are inclusive pixel corners; the devkit's are 1-based, but whatever a box says is
 * clamped to [0, width-1] x [0, height-1] so a box touching the border still works.
 */
export function clampBox(
  box: BoundingBox,
  imageWidth: number,
  imageHeight: number,
): { left: number; top: number; width: number; height: number } {
  const clamp = (v: number, hi: number) => Math.min(Math.max(Math.round(v), 0), hi);
  const x1 = clamp(Math.min(box.x1, box.x2), imageWidth - 1);
  const x2 = clamp(Math.max(box.x1, box.x2), imageWidth - 1);
  const y1 = clamp(Math.min(box.y1, box.y2), imageHeight - 1);
  const y2 = clamp(Math.max(box.y1, box.y2), imageHeight - 1);
  return { left: x1, top: y1, width: x2 - x1 + 1, height: y2 - y1 + 1 };
}

/**
 * What clamping did to a box that reaches past the image's right or bottom edge, or null when
 * it fits. One pixel of slack: the devkit's boxes are 1-based, so x2 = width is the last pixel.
 * (Boxes past the top or left edge are reported when the dataset is read.)
 */
export function boxPastEdge(box: BoundingBox, imageWidth: number, imageHeight: number): string | null {
  const x2 = Math.max(box.x1, box.x2);
  const y2 = Math.max(box.y1, box.y2);
  if (x2 <= imageWidth && y2 <= imageHeight) return null;
  const x1 = Math.min(box.x1, box.x2);
  const y1 = Math.min(box.y1, box.y2);
  return (
    `the box (${box.x1}, ${box.y1})–(${box.x2}, ${box.y2}) lies outside the ${imageWidth}×${imageHeight} image; ` +
    `clamped to (${x1}, ${y1})–(${Math.min(x2, imageWidth)}, ${Math.min(y2, imageHeight)}).`
  );
}
