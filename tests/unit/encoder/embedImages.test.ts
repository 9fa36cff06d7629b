import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeImageDecoder } from '../../../src/cli/nodeImageDecoder';
import { modelFolderFiles } from '../../../src/cli/nodeModelSource';
import { diskDatasetFile } from '../../../src/cli/nodeFiles';
import { type DatasetFile, memoryFile } from '../../../src/core/data/datasetFile';
import { embedImages, EmbeddingAbortedError } from '../../../src/core/encoder/embedImages';
import { DecodeError, type DecodedImage, type ImageDecoder } from '../../../src/core/encoder/imageDecoder';
import { type ImageEncoder, loadEncoder } from '../../../src/core/encoder/loadEncoder';
import { inferModelCard } from '../../../src/core/encoder/inferModelCard';
import { sharedPath } from '../../support/shared';

const modelDir = sharedPath('models', 'mobilenet-v1-0.25-128');
const carsDir = sharedPath('data', 'stanford-cars-40', 'cars_train');
const names = ['00002.jpg', '00004.jpg', '00007.jpg', '00014.jpg', '00019.jpg'];
let encoder: ImageEncoder;
let cars: DatasetFile[];
const decoder = new NodeImageDecoder();

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  const card = inferModelCard(JSON.parse(readFileSync(`${modelDir}/model.json`, 'utf8')));
  encoder = await loadEncoder(card, await modelFolderFiles(modelDir));
  cars = await Promise.all(names.map((n) => diskDatasetFile(`${carsDir}/${n}`, `cars_train/${n}`)));
});

afterAll(() => encoder?.dispose());

describe('NodeImageDecoder', () => {
  it('decodes to RGB at the requested size, squash or centre crop, with an optional box', async () => {
    const spec = { width: 128, height: 96, resize: 'squash' as const };
    const squash = await decoder.decode(cars[0], spec);
    expect(squash.width).toBe(128);
    expect(squash.height).toBe(96);
    expect(squash.data.length).toBe(128 * 96 * 3);
    const crop = await decoder.decode(cars[0], { ...spec, resize: 'center-crop' });
    expect(crop.data.length).toBe(128 * 96 * 3);
    expect(Buffer.from(crop.data).equals(Buffer.from(squash.data))).toBe(false);
    const boxed = await decoder.decode(cars[0], { ...spec, crop: { x1: 10, y1: 10, x2: 60, y2: 40 } });
    expect(Buffer.from(boxed.data).equals(Buffer.from(squash.data))).toBe(false);
    // A box beyond the image is clamped, not an error.
    const huge = await decoder.decode(cars[0], { ...spec, crop: { x1: -5, y1: -5, x2: 1e6, y2: 1e6 } });
    let diff = 0;
    for (let i = 0; i < huge.data.length; i++) diff += Math.abs(huge.data[i] - squash.data[i]);
    expect(diff / huge.data.length).toBeLessThan(2);
  });

  it('rejects corrupt and empty files with a DecodeError naming the file', async () => {
    // A copy: memoryFile of a Node Buffer view would hand back the whole pooled buffer.
    const bytes = Uint8Array.from(readFileSync(`${carsDir}/${names[0]}`));
    const truncated = memoryFile('cars_train/truncated.jpg', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const spec = { width: 64, height: 64, resize: 'squash' as const };
    await expect(decoder.decode(truncated, spec)).rejects.toThrow(DecodeError);
    await expect(decoder.decode(truncated, spec)).rejects.toThrow(/cars_train\/truncated.jpg/);
    await expect(decoder.decode(memoryFile('empty.jpg', new Uint8Array(0)), spec)).rejects.toThrow(
      /Cannot decode empty.jpg: empty file/,
    );
    await expect(decoder.decode(memoryFile('notes.jpg', 'hello'), spec)).rejects.toThrow(/notes.jpg/);
  });
});

/** A 2×2-input, 1-d encoder whose every batch takes `ms` (to see what decoding overlaps). */
function slowEncoder(ms: number, on: { before?: () => void; after?: () => void }): ImageEncoder {
  return {
    card: { ...encoder.card, inputSize: { width: 2, height: 2 } },
    featureSize: 1,
    inputSize: { width: 2, height: 2 },
    embedPixels: () => {
      throw new Error('unused');
    },
    embed: async (images: DecodedImage[]) => {
      on.before?.();
      await new Promise((r) => setTimeout(r, ms));
      on.after?.();
      return new Float32Array(images.length);
    },
    dispose: () => undefined,
    model: undefined as unknown as ImageEncoder['model'],
  };
}

describe('embedImages', () => {
  it('embeds every readable image, reports and skips corrupt and empty ones', async () => {
    const bytes = Uint8Array.from(readFileSync(`${carsDir}/${names[1]}`));
    const files = [
      cars[0],
      memoryFile('cars_train/corrupt.jpg', bytes.subarray(0, 2000)),
      cars[1],
      memoryFile('cars_train/empty.jpg', new Uint8Array(0)),
      cars[2],
    ];
    const batches: { indices: number[]; embeddings: Float32Array }[] = [];
    const problems: string[] = [];
    const progress: number[] = [];
    const before = tf.memory().numTensors;
    const result = await embedImages({
      encoder,
      decoder,
      files,
      batchSize: 2,
      onBatch: (b) => void batches.push(b),
      onProblem: (p) => problems.push(p.path),
      onProgress: (p) => progress.push(p.done),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.embedded).toBe(3);
    expect(result.failed.map((f) => f.path)).toEqual(['cars_train/corrupt.jpg', 'cars_train/empty.jpg']);
    expect(result.failed[1].message).toMatch(/empty file/);
    expect(problems).toEqual(['cars_train/corrupt.jpg', 'cars_train/empty.jpg']);
    expect(batches.map((b) => b.indices)).toEqual([[0], [2], [4]]);
    expect(batches.every((b) => b.embeddings.length === b.indices.length * 256)).toBe(true);
    expect(progress).toEqual([2, 4, 5]);
    expect(result.decodeMs).toBeGreaterThan(0);
    expect(result.inferMs).toBeGreaterThan(0);
    // Same image, same vector as a direct embed.
    const direct = await encoder.embed([await decoder.decode(cars[0], { width: 128, height: 128, resize: 'squash' })]);
    expect(Array.from(batches[0].embeddings)).toEqual(Array.from(direct));
  });

  it('stops between batches when aborted, after the last stored batch', async () => {
    const controller = new AbortController();
    const stored: number[] = [];
    const run = embedImages({
      encoder,
      decoder,
      files: cars,
      batchSize: 2,
      signal: controller.signal,
      onBatch: ({ indices }) => {
        stored.push(...indices);
        controller.abort();
      },
    });
    await expect(run).rejects.toThrow(EmbeddingAbortedError);
    await expect(run).rejects.toMatchObject({ name: 'AbortError', embedded: 2 });
    expect(stored).toEqual([0, 1]);
  });

  it('stops cleanly when storing a batch fails, keeping what was stored', async () => {
    const stored: number[] = [];
    let calls = 0;
    await expect(
      embedImages({
        encoder,
        decoder,
        files: cars,
        batchSize: 2,
        onBatch: async ({ indices }) => {
          if (++calls === 2) throw new Error('quota exceeded');
          stored.push(...indices);
        },
      }),
    ).rejects.toThrow('quota exceeded');
    expect(stored).toEqual([0, 1]);
  });

  it('starts decoding the next batch before inference of the current one ends', async () => {
    const events: string[] = [];
    const image: DecodedImage = { width: 2, height: 2, data: new Uint8Array(12) };
    const slowDecoder: ImageDecoder = {
      decode: async (file) => {
        events.push(`decode ${file.path}`);
        await new Promise((r) => setTimeout(r, 5));
        return image;
      },
    };
    const fakeEncoder = slowEncoder(20, {
      before: () => events.push('infer start'),
      after: () => events.push('infer end'),
    });
    const files = ['a', 'b', 'c', 'd'].map((n) => memoryFile(n, 'x'));
    await embedImages({ encoder: fakeEncoder, decoder: slowDecoder, files, batchSize: 2 });
    const firstInferEnd = events.indexOf('infer end');
    expect(events.indexOf('decode c')).toBeLessThan(firstInferEnd);
    expect(events.indexOf('decode d')).toBeLessThan(firstInferEnd);
  });

  it("notes a box past the image's right or bottom edge, with its annotation row, and keeps the image", async () => {
    const { width, height } = await sharp(`${carsDir}/${names[0]}`).metadata();
    const notes: { path: string; message: string }[] = [];
    const result = await embedImages({
      encoder,
      decoder,
      files: [cars[0], cars[1], cars[2]],
      // inside; past the right and bottom; exactly the devkit's 1-based last pixel (not a note)
      crops: [{ x1: 1, y1: 1, x2: 20, y2: 20 }, { x1: 3, y1: 4, x2: 5000, y2: 4000 }, undefined],
      cropSources: ['Annotation 1 of cars_train_annos.mat', 'Annotation 2 of cars_train_annos.mat', undefined],
      onNote: (n) => notes.push(n),
    });
    expect(result.embedded).toBe(3);
    const { width: w1, height: h1 } = await sharp(`${carsDir}/${names[1]}`).metadata();
    const expected = {
      path: `cars_train/${names[1]}`,
      message: `Annotation 2 of cars_train_annos.mat: the box (3, 4)–(5000, 4000) lies outside the ${w1}×${h1} image; clamped to (3, 4)–(${w1}, ${h1}).`,
    };
    expect(notes).toEqual([expected]);
    expect(result.notes).toEqual([expected]);
    const edge: { path: string; message: string }[] = [];
    await embedImages({ encoder, decoder, files: [cars[0]], crops: [{ x1: 1, y1: 1, x2: width!, y2: height! }], onNote: (n) => edge.push(n) });
    expect(edge).toEqual([]);
  });

  it('with decodeAhead 2 decodes two batches ahead of inference, never more', async () => {
    const events: string[] = [];
    const image: DecodedImage = { width: 2, height: 2, data: new Uint8Array(12) };
    let decoding = 0;
    let embedding = -1;
    const decoder: ImageDecoder = {
      decode: async (file) => {
        decoding += 1;
        events.push(`decode ${file.path}`);
        await new Promise((r) => setTimeout(r, 2));
        decoding -= 1;
        return image;
      },
    };
    const fakeEncoder = slowEncoder(20, { before: () => events.push(`infer ${++embedding}`) });
    const files = Array.from({ length: 10 }, (_, i) => memoryFile(String(i), 'x'));
    const seen: number[] = [];
    await embedImages({ encoder: fakeEncoder, decoder, files, batchSize: 2, decodeAhead: 2, onBatch: (b) => void seen.push(...b.indices) });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // while batch k is embedded, batches k+1 and k+2 are decoding (or decoded), and no further one
    expect(events).toEqual([
      'decode 0', 'decode 1', 'decode 2', 'decode 3',
      'decode 4', 'decode 5', 'infer 0',
      'decode 6', 'decode 7', 'infer 1',
      'decode 8', 'decode 9', 'infer 2',
      'infer 3',
      'infer 4',
    ]);
    expect(decoding).toBe(0);
    await expect(embedImages({ encoder: fakeEncoder, decoder, files, decodeAhead: 0 })).rejects.toThrow(/decodeAhead must be a positive integer/);
  });
});
