/// <reference lib="webworker" />
import type { DatasetFile } from '../core/data/datasetFile';
import { clampBox, DecodeError, type DecodedImage, type DecodeSpec, type ImageDecoder } from '../core/encoder/imageDecoder';
import { blobOf } from './browserFile';

/**
 * Decodes image files in a worker with `createImageBitmap` (the browser's own JPEG/PNG/WebP
 * decoder, off the main thread) and reads RGB bytes through an OffscreenCanvas.
 *
 * - squash (default): one call decodes and resizes to the input size (`resizeQuality: 'high'`).
 * - crop to box: the box is cut out in the same call (source rectangle), then resized.
 * - center-crop: the image size is needed first, so the full image is decoded once and the
 *   centre square resized from that bitmap.
 * - with thumbnails, squash: the full image is decoded once; the thumbnail is drawn from it, and
 *   so is the input, straight into the input-size canvas with `imageSmoothingQuality: 'high'`
 *   (Skia's same high-quality resampler as `createImageBitmap`'s `resizeQuality: 'high'`: the
 *   same bytes, checked on Stanford Cars at 128 and 224 px; it spares a resized copy per image).
 */
export class BitmapDecoder implements ImageDecoder {
  private canvas: OffscreenCanvas | null = null;
  private context: OffscreenCanvasRenderingContext2D | null = null;
  private thumbnailCanvas: OffscreenCanvas | null = null;
  private thumbnailContext: OffscreenCanvasRenderingContext2D | null = null;
  /**
   * Wall-clock milliseconds during which at least one decode was running (decodes of a
   * batch run concurrently, so per-image latencies would overlap), and images decoded.
   */
  decodeMs = 0;
  decoded = 0;
  private active = 0;
  private busySince = 0;
  /** Thumbnails made while decoding (path -> small JPEG), taken by `takeThumbnail`. */
  private readonly thumbnails = new Map<string, Blob>();

  /** @param thumbnailSide when set, every decode also makes a JPEG thumbnail this many pixels on its long side. */
  constructor(private readonly thumbnailSide = 0) {}

  /** The thumbnail made for this path (once), if any. */
  takeThumbnail(path: string): Blob | undefined {
    const t = this.thumbnails.get(path);
    this.thumbnails.delete(path);
    return t;
  }

  async decode(file: DatasetFile, spec: DecodeSpec): Promise<DecodedImage> {
    if (this.active++ === 0) this.busySince = performance.now();
    try {
      return await this.decodeOne(file, spec);
    } finally {
      this.decoded += 1;
      if (--this.active === 0) this.decodeMs += performance.now() - this.busySince;
    }
  }

  private async decodeOne(file: DatasetFile, spec: DecodeSpec): Promise<DecodedImage> {
    const blob = await blobOf(file);
    const resize: ImageBitmapOptions = {
      resizeWidth: spec.width,
      resizeHeight: spec.height,
      resizeQuality: 'high',
    };
    let bitmap: ImageBitmap;
    let source: DecodedImage['source'];
    try {
      if (spec.crop || spec.resize === 'center-crop' || this.thumbnailSide > 0) {
        // one full decode serves the crop and the thumbnail
        const full = await createImageBitmap(blob);
        try {
          if (this.thumbnailSide > 0) this.thumbnails.set(file.path, await this.thumbnailOf(full));
          if (!spec.crop && spec.resize !== 'center-crop') {
            // drawn from the full bitmap here, while it is open (see the class comment)
            return { width: spec.width, height: spec.height, data: rgbOf(this.pixels(full, spec.width, spec.height)) };
          } else {
            if (spec.crop) source = { width: full.width, height: full.height };
            const rect = spec.crop ? clampBox(spec.crop, full.width, full.height) : centreSquare(full.width, full.height);
            bitmap = await createImageBitmap(full, rect.left, rect.top, rect.width, rect.height, resize);
          }
        } finally {
          full.close();
        }
      } else {
        bitmap = await createImageBitmap(blob, resize);
      }
    } catch (e) {
      throw new DecodeError(file.path, e instanceof Error ? e.message : String(e));
    }
    const image = this.rgb(bitmap, spec);
    if (source) image.source = source;
    return image;
  }

  private rgb(bitmap: ImageBitmap, spec: DecodeSpec): DecodedImage {
    try {
      return { width: spec.width, height: spec.height, data: rgbOf(this.pixels(bitmap, spec.width, spec.height)) };
    } finally {
      bitmap.close();
    }
  }

  /**
   * A small JPEG of the whole image, its long side `thumbnailSide` pixels, for the pages that
   * show images without their files. One canvas serves every thumbnail (a new canvas per image
   * costs a context each time); `willReadFrequently` keeps it in memory, so encoding it never
   * waits for a GPU readback.
   */
  private thumbnailOf(full: ImageBitmap): Promise<Blob> {
    const scale = Math.min(1, this.thumbnailSide / Math.max(full.width, full.height));
    const width = Math.max(1, Math.round(full.width * scale));
    const height = Math.max(1, Math.round(full.height * scale));
    if (!this.thumbnailCanvas) {
      this.thumbnailCanvas = new OffscreenCanvas(width, height);
      this.thumbnailContext = this.thumbnailCanvas.getContext('2d', { willReadFrequently: true });
      if (!this.thumbnailContext) throw new Error('OffscreenCanvas 2D context is not available in this worker.');
    }
    const canvas = this.thumbnailCanvas;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    this.thumbnailContext!.drawImage(full, 0, 0, width, height);
    return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  }

  private pixels(bitmap: ImageBitmap, width: number, height: number): Uint8ClampedArray {
    if (!this.canvas || this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas = new OffscreenCanvas(width, height);
      this.context = this.canvas.getContext('2d', { willReadFrequently: true });
      if (!this.context) throw new Error('OffscreenCanvas 2D context is not available in this worker.');
    }
    const ctx = this.context!;
    ctx.clearRect(0, 0, width, height);
    // 'high' matters only for a full bitmap drawn at the input size; a resized one is drawn 1:1
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height).data;
  }
}

function rgbOf(rgba: Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

function centreSquare(width: number, height: number): { left: number; top: number; width: number; height: number } {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
}
