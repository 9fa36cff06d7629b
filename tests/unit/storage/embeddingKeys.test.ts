import { describe, expect, it } from 'vitest';
import { imageIdentity } from '../../../src/core/data/loadDataset';
import { memoryFile } from '../../../src/core/data/datasetFile';
import { preprocessingKey } from '../../../src/core/encoder/modelCard';
import { ENCODER_CATALOG } from '../../../src/core/encoder/catalog';
import {
  bufferToVector,
  embeddingKey,
  embeddingKeyBounds,
  identityOfKey,
  tunedSetKey,
  vectorToBuffer,
} from '../../../src/storage/embeddingKeys';

const card = ENCODER_CATALOG[0];

describe('embedding cache keys', () => {
  it('joins preprocessing key and image identity, and splits them back', () => {
    const pk = preprocessingKey(card, { cropToBox: false });
    const id = imageIdentity(memoryFile('cars_train/00001.jpg', 'abc', 1700000000000));
    const key = embeddingKey(pk, id);
    expect(key).toBe(`${pk}::cars_train/00001.jpg|3|1700000000000`);
    expect(identityOfKey(pk, key)).toBe(id);
    expect(identityOfKey(preprocessingKey(card, { cropToBox: true }), key)).toBeUndefined();
  });

  it('gives a different key when the file, its size or date, the crop or the model change', () => {
    const pk = preprocessingKey(card, { cropToBox: false });
    const base = embeddingKey(pk, imageIdentity(memoryFile('a/1.jpg', 'abc', 5)));
    expect(embeddingKey(pk, imageIdentity(memoryFile('a/2.jpg', 'abc', 5)))).not.toBe(base);
    expect(embeddingKey(pk, imageIdentity(memoryFile('a/1.jpg', 'abcd', 5)))).not.toBe(base);
    expect(embeddingKey(pk, imageIdentity(memoryFile('a/1.jpg', 'abc', 6)))).not.toBe(base);
    expect(embeddingKey(preprocessingKey(card, { cropToBox: true }), imageIdentity(memoryFile('a/1.jpg', 'abc', 5)))).not.toBe(base);
    const other = ENCODER_CATALOG[1];
    expect(embeddingKey(preprocessingKey(other, { cropToBox: false }), imageIdentity(memoryFile('a/1.jpg', 'abc', 5)))).not.toBe(base);
  });

  it("puts every key of a set, and no key of another set, inside the set's range", () => {
    const pk = preprocessingKey(card, { cropToBox: false });
    const { lower, upper } = embeddingKeyBounds(pk);
    const inside = (k: string) => k >= lower && k <= upper;
    for (const path of ['a.jpg', 'zzz/ÿ.jpg', '日本/車.jpg', '~.png']) {
      expect(inside(embeddingKey(pk, imageIdentity(memoryFile(path, 'x'))))).toBe(true);
    }
    const cropped = preprocessingKey(card, { cropToBox: true });
    expect(inside(embeddingKey(cropped, 'a.jpg|1|0'))).toBe(false);
    // A set whose key extends this one's (e.g. "...none" vs "...none2") must not fall in the range.
    expect(inside(`${pk}2::a.jpg|1|0`)).toBe(false);
  });

  it('rejects a preprocessing key holding the separator', () => {
    expect(() => embeddingKey('model::x', 'a|1|0')).toThrow(/must not contain/);
  });

  it('stores a vector as exactly its own bytes, even when it views a larger batch', () => {
    const batch = new Float32Array([1, 2, 3, 4, 5, 6]);
    const row = batch.subarray(3, 6);
    const buffer = vectorToBuffer(row);
    expect(buffer.byteLength).toBe(12);
    expect(Array.from(bufferToVector(buffer, 3))).toEqual([4, 5, 6]);
    expect(() => bufferToVector(buffer, 4)).toThrow(/12 bytes, expected 16/);
  });

  it("a fine-tuned run's tuned features are a set of their own per run and epoch, outside the pooled set's key range", () => {
    const key = preprocessingKey(card, { cropToBox: false });
    const tuned = tunedSetKey(key, 'run-1', 3);
    expect(tuned).not.toBe(tunedSetKey(key, 'run-1', 4));
    expect(tuned).not.toBe(tunedSetKey(key, 'run-2', 3));
    const { lower, upper } = embeddingKeyBounds(key);
    const row = embeddingKey(tuned, 'a.jpg|1|2');
    expect(row >= lower && row <= upper).toBe(false);
    expect(identityOfKey(tuned, row)).toBe('a.jpg|1|2');
    expect(identityOfKey(key, row)).toBeUndefined();
  });
});
