import { describe, expect, it } from 'vitest';
import {
  projectorTsv,
  qdrantPoints,
  qdrantPointsChunks,
  type EmbeddingItem,
} from '../../../src/core/export/embeddingExport';

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const emb = Float32Array.from([0.1, -2.5, 3, 1e-7, 0, 0.3333333432674408]);
const items: EmbeddingItem[] = [
  { file: 'cars_train/00001.jpg', class: 'AM General Hummer SUV 2000', classId: 0, split: 'train' },
  { file: 'cars_train/00002.jpg', class: 'Ram C/V Cargo\tVan', classId: 5, split: 'validation' },
];

describe('embedding export', () => {
  it('writes Qdrant JSONL points with float32-exact vectors', () => {
    const lines = dec(qdrantPoints(emb, 3, items)).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const p = lines.map((l) => JSON.parse(l));
    expect(p[1].id).toBe(1);
    expect(p[1].vector).toHaveLength(3);
    expect(p[1].payload).toEqual( { file: items[1].file, class: items[1].class, classId: 5, split: 'validation' });
    expect(Float32Array.from(p.flatMap((x) => x.vector))).toEqual(emb);
  });

  it('writes the JSON form, identical across chunk sizes', () => {
    const a = dec(qdrantPoints(emb, 3, items, { format: 'json' }));
    const b = dec(qdrantPoints(emb, 3, items, { format: 'json', chunkRows: 1 }));
    expect(a).toBe(b);
    const doc = JSON.parse(a);
    expect(doc.points.map((x: { id: number }) => x.id)).toEqual([0, 1]);
    expect([...qdrantPointsChunks(emb, 3, items, { chunkRows: 1 })]).toHaveLength(2);
  });

  it('writes the Embedding Projector pair', () => {
    const { vectorsTsv, metadataTsv } = projectorTsv(emb, 3, items, { digits: 4 });
    const rows = dec(vectorsTsv).trimEnd().split('\n');
    expect(rows).toEqual(['0.1\t-2.5\t3', '1e-7\t0\t0.3333']);
    const meta = dec(metadataTsv).trimEnd().split('\n');
    expect(meta).toEqual(['file\tclass', 'cars_train/00001.jpg\tAM General Hummer SUV 2000', 'cars_train/00002.jpg\tRam C/V Cargo Van']);
  });

  it('rejects mismatched inputs', () => {
    expect(() => qdrantPoints(emb, 3, items.slice(0, 1))).toThrow(/2 vectors but 1 items/);
    expect(() => projectorTsv(Float32Array.from([NaN]), 1, items.slice(0, 1))).toThrow(/non-finite/);
  });
});
