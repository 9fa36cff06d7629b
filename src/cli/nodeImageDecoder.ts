import sharp from 'sharp';
import type { DatasetFile } from '../core/data/datasetFile';
import {
  clampBox,
  DecodeError,
  type DecodedImage,
  type DecodeSpec,
  type ImageDecoder,
} from '../core/encoder/imageDecoder';

/**
 * The Node ImageDecoder: sharp decodes (EXIF orientation applied, like the browser's
 * createImageBitmap), converts to sRGB without alpha, cuts the bounding box when given,
 * then resizes: 'squash' stretches to the input size, 'center-crop' covers it and cuts
 * the centre. Corrupt or truncated files reject with a DecodeError naming the file.
 */
export class NodeImageDecoder implements ImageDecoder {
  async decode(file: DatasetFile, spec: DecodeSpec): Promise<DecodedImage> {
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await file.arrayBuffer());
    } catch (e) {
      throw new DecodeError(file.path, `cannot read the file (${(e as Error).message})`);
    }
    if (bytes.length === 0) throw new DecodeError(file.path, 'empty file (0 bytes)');
    try {
      let img = sharp(bytes, { autoOrient: true, failOn: 'warning' });
      let source: DecodedImage['source'];
      if (spec.crop) {
        const meta = await img.metadata();
        const w = meta.autoOrient?.width ?? meta.width;
        const h = meta.autoOrient?.height ?? meta.height;
        if (!w || !h) throw new Error('image has no size');
        source = { width: w, height: h };
        img = img.extract(clampBox(spec.crop, w, h));
      }
      const { data, info } = await img
        .removeAlpha()
        .toColourspace('srgb')
        .resize(spec.width, spec.height, spec.resize === 'center-crop' ? { fit: 'cover', position: 'centre' } : { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3 || info.width !== spec.width || info.height !== spec.height) {
        throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${spec.width}x${spec.height}x3`);
      }
      const image: DecodedImage = {
        width: info.width,
        height: info.height,
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      };
      if (source) image.source = source;
      return image;
    } catch (e) {
      if (e instanceof DecodeError) throw e;
      throw new DecodeError(file.path, (e as Error).message);
    }
  }
}
