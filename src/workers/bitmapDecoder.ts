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
 */
export class BitmapDecoder implements ImageDecoder {
  private canvas: OffscreenCanvas | null = null;
  private context: OffscreenCanvasRenderingContext2D | null = null;
  /**
   * Wall-clock milliseconds during which at least one decode was running (decodes of a
   * batch run concurrently, so per-image latencies would overlap), and images decoded.
   */
  decodeMs = 0;
  decoded = 0;
  private active = 0;
  private busySince = 0;

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
    try {
      if (spec.crop || spec.resize === 'center-crop') {
        const full = await createImageBitmap(blob);
        try {
          const rect = spec.crop ? clampBox(spec.crop, full.width, full.height) : centreSquare(full.width, full.height);
          bitmap = await createImageBitmap(full, rect.left, rect.top, rect.width, rect.height, resize);
        } finally {
          full.close();
        }
      } else {
        bitmap = await createImageBitmap(blob, resize);
      }
    } catch (e) {
      throw new DecodeError(file.path, e instanceof Error ? e.message : String(e));
    }
    try {
      const rgba = this.pixels(bitmap, spec.width, spec.height);
      const rgb = new Uint8Array(spec.width * spec.height * 3);
      for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
        rgb[j] = rgba[i];
        rgb[j + 1] = rgba[i + 1];
        rgb[j + 2] = rgba[i + 2];
      }
      return { width: spec.width, height: spec.height, data: rgb };
    } finally {
      bitmap.close();
    }
  }

  private pixels(bitmap: ImageBitmap, width: number, height: number): Uint8ClampedArray {
    if (!this.canvas || this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas = new OffscreenCanvas(width, height);
      this.context = this.canvas.getContext('2d', { willReadFrequently: true });
      if (!this.context) throw new Error('OffscreenCanvas 2D context is not available in this worker.');
    }
    const ctx = this.context!;
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height).data;
  }
}

function centreSquare(width: number, height: number): { left: number; top: number; width: number; height: number } {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
}
