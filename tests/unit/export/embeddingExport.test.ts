import { describe, expect, it } from 'vitest';
import {
  projectorTsv,
  qdrantPoints,
  qdrantExportFiles,
  qdrantPointsChunks,
  qdrantUpsertBodies,
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
    expect(meta).toEqual(['file\tclass\tsplit', 'cars_train/00001.jpg\tAM General Hummer SUV 2000\ttrain', 'cars_train/00002.jpg\tRam C/V Cargo Van\tvalidation']);
  });

  it('writes Qdrant request bodies: the collection settings and upserts that each stay under the size limit', () => {
    const n = 50;
    const dim = 8;
    const vectors = Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i) / 3);
    const many = Array.from({ length: n }, (_, i) => ({ file: `f${i}.jpg`, class: `c${i % 5}`, classId: i % 5, split: i < 25 ? 'train' : 'validation' }));
    const one = qdrantExportFiles(vectors, dim, many, { distance: 'cosine', collection: 'cars 40' });
    expect(Object.keys(one)).toEqual(['collection.json', 'points.json', 'README.md']);
    expect(JSON.parse(dec(one['collection.json']))).toEqual({ vectors: { size: 8, distance: 'Cosine' } });
    const body = JSON.parse(dec(one['points.json']));
    expect(body.points).toHaveLength(n);
    expect(body.points[30]).toMatchObject({ id: 30, payload: { file: 'f30.jpg', class: 'c0', classId: 0, split: 'validation' } });
    expect(Float32Array.from(body.points.flatMap((p: { vector: number[] }) => p.vector))).toEqual(vectors);
    expect(dec(one['README.md'])).toContain('collections/cars-40/points?wait=true');

    const maxBytes = 2_000;
    const split = qdrantExportFiles(vectors, dim, many, { distance: 'euclidean', collection: 'x', maxBytes });
    const names = Object.keys(split).filter((k) => k.startsWith('points-'));
    expect(names.length).toBeGreaterThan(2);
    expect(JSON.parse(dec(split['collection.json'])).vectors.distance).toBe('Euclid');
    const ids: number[] = [];
    for (const name of names) {
      expect(split[name].length).toBeLessThanOrEqual(maxBytes);
      ids.push(...JSON.parse(dec(split[name])).points.map((p: { id: number }) => p.id));
    }
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(qdrantUpsertBodies(vectors, dim, many, { maxBytes }).length).toBe(names.length);
  });

  it('rejects mismatched inputs', () => {
    expect(() => qdrantPoints(emb, 3, items.slice(0, 1))).toThrow(/2 vectors but 1 items/);
    expect(() => projectorTsv(Float32Array.from([NaN]), 1, items.slice(0, 1))).toThrow(/non-finite/);
  });
});
