import { describe, expect, it } from 'vitest';
import { memoryFile } from '../../../src/core/data/datasetFile';
import type { ImageDecoder } from '../../../src/core/encoder/imageDecoder';
import type { ImageEncoder } from '../../../src/core/encoder/loadEncoder';
import type { ModelCard } from '../../../src/core/encoder/modelCard';
import { embedWithWriteBehind } from '../../../src/workers/embedWriteBehind';

const files = Array.from({ length: 10 }, (_, i) => memoryFile(`cars/${i}.jpg`, new Uint8Array([i])));
// each image's pixel data is its file's byte, and its embedding is that byte: rows show their file
const decoder: ImageDecoder = { decode: async (f) => ({ width: 1, height: 1, data: new Uint8Array([new Uint8Array(await f.arrayBuffer())[0], 0, 0]) }) };
const encoder = {
  card: { inputSize: { width: 1, height: 1 } } as ModelCard,
  featureSize: 1,
  inputSize: { width: 1, height: 1 },
  embed: async (images) => Float32Array.from(images, (im) => im.data[0]),
  embedPixels: () => {
    throw new Error('unused');
  },
  dispose: () => undefined,
  model: undefined as unknown as ImageEncoder['model'],
} satisfies ImageEncoder;

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('embedding into a store with write-behind', () => {
  it('stores every batch in order with at most one write in flight', async () => {
    const stored: number[] = [];
    let inFlight = 0;
    let most = 0;
    const result = await embedWithWriteBehind({ encoder, decoder, files, batchSize: 3 }, async (indices, embeddings) => {
      most = Math.max(most, ++inFlight);
      await tick(5);
      stored.push(...embeddings);
      expect(indices.length).toBe(embeddings.length);
      inFlight -= 1;
    });
    expect(result?.embedded).toBe(10);
    expect(stored).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(1);
  });

  it("a failed write stops the run with the store's own error; what was stored before is kept", async () => {
    const stored: number[] = [];
    const run = embedWithWriteBehind({ encoder, decoder, files, batchSize: 2 }, async (indices, embeddings) => {
      await tick(2);
      if (indices[0] === 4) throw new Error('The disk is full');
      stored.push(...embeddings);
    });
    await expect(run).rejects.toThrow('The disk is full');
    expect(stored).toEqual([0, 1, 2, 3]);
  });

  it('a cancelled run returns null and keeps the batches stored before it stopped', async () => {
    const controller = new AbortController();
    const stored: number[] = [];
    const result = await embedWithWriteBehind({ encoder, decoder, files, batchSize: 2, signal: controller.signal }, async (_, embeddings) => {
      stored.push(...embeddings);
      if (stored.length === 4) controller.abort();
    });
    expect(result).toBeNull();
    expect(stored.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(stored.length).toBeLessThan(10);
  });
});
