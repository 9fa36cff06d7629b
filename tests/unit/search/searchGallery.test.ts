import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { searchIndex } from '../../../src/core/eval/nearestNeighbours';
import { retrievalMetrics } from '../../../src/core/eval/retrievalMetrics';
import { randomFunction } from '../../../src/core/random/randomSource';
import { createSkipConnectionHead } from '../../../src/core/train/heads';
import { embedWithHead } from '../../../src/core/train/trainer';
import { SearchGallery } from '../../../src/workers/searchGallery';
import { searchRequestProblem } from '../../../src/workers/searchProtocol';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function gallery(n = 60, dim = 16) {
  const rand = randomFunction(2);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  const vectors = Float32Array.from({ length: n * dim }, (_, j) => (Math.floor(j / dim) % 4 === j % 4 ? 3 : 0) + rand());
  const items = Array.from(labels, (c, i) => ({ file: `f${i}.jpg`, class: `c${c}`, classId: c, split: 'validation' }));
  return { g: new SearchGallery(dim, vectors, labels, items, 'cosine'), vectors, labels, dim, n };
}

describe('SearchGallery (what the search worker holds)', () => {
  it('searches base and tuned like the engine, leaving the query out; measures like retrievalMetrics', async () => {
    const { g, vectors, labels, dim } = gallery();
    const head = createSkipConnectionHead(dim, { seed: 1, gateInit: 1 });
    const weights = head.getWeights();
    const tuned = embedWithHead(head, vectors, dim);
    head.dispose();
    const before = tf.memory().numTensors;
    g.setHead(weights);
    const r = g.search(g.row('base', 3), 5, 3);
    expect(Array.from(r.base.index)).toEqual(Array.from(searchIndex(vectors, dim, 'cosine').search(vectors.subarray(3 * dim, 4 * dim), 5, [3]).index));
    expect(Array.from(r.tuned!.index)).toEqual(Array.from(searchIndex(tuned, dim, 'cosine').search(tuned.subarray(3 * dim, 4 * dim), 5, [3]).index));
    expect(r.base.index).not.toContain(3);
    // a vector that is not in the gallery goes through the head first
    const photo = g.search(vectors.subarray(3 * dim, 4 * dim), 1);
    expect(photo.base.index[0]).toBe(3);
    expect(photo.tuned!.index[0]).toBe(3);
    expect(photo.tuned!.distance[0]).toBeLessThan(1e-6);
    const m = await g.metrics({ distance: 'cosine', queryCount: null, seed: 42 });
    expect(m.tuned!.rPrecision).toBe((await retrievalMetrics(tuned, dim, labels)).rPrecision);
    expect(m.base.rPrecision).toBe((await retrievalMetrics(vectors, dim, labels)).rPrecision);
    g.setHead(null);
    expect(g.search(g.row('base', 0), 3, 0).tuned).toBeNull();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it("a fine-tuned run's head reads the tuned features given with it: metrics, rows, search and projections are of head(tuned features)", async () => {
    const { g, vectors, labels, dim, n } = gallery();
    const head = createSkipConnectionHead(dim, { seed: 1, gateInit: 1 });
    const weights = head.getWeights();
    const rand = randomFunction(9);
    // "top(cut map)": the frozen vectors, moved
    const features = Float32Array.from(vectors, (v) => v + 2 * rand() - 1);
    const tuned = embedWithHead(head, features, dim);
    const onFrozen = embedWithHead(head, vectors, dim);
    head.dispose();
    g.setHead(weights, features);
    expect(g.space('tuned')).toEqual(tuned);
    expect(g.space('base')).toBe(vectors);
    const m = await g.metrics({ distance: 'cosine', queryCount: null, seed: 42 });
    expect(m.tuned!.rPrecision).toBe((await retrievalMetrics(tuned, dim, labels)).rPrecision);
    const r = g.search(g.row('base', 5), 4, 5);
    expect(Array.from(r.tuned!.index)).toEqual(Array.from(searchIndex(tuned, dim, 'cosine').search(tuned.subarray(5 * dim, 6 * dim), 4, [5]).index));
    // a photo: its frozen vector ranks the base space, its tuned feature the tuned one
    const photo = g.search(vectors.subarray(7 * dim, 8 * dim), 1, undefined, features.subarray(7 * dim, 8 * dim));
    expect(photo.base.index[0]).toBe(7);
    expect(photo.tuned!.index[0]).toBe(7);
    expect(photo.tuned!.distance[0]).toBeLessThan(1e-6);
    expect(tuned).not.toEqual(onFrozen);
    const tunedMap = await g.project('tuned', 'pca');
    g.setHead(weights);
    expect(g.space('tuned')).toEqual(onFrozen);
    expect(await g.project('tuned', 'pca')).not.toBe(tunedMap);
    expect(() => g.setHead(weights, features.subarray(0, (n - 1) * dim))).toThrow(`for ${n} gallery rows`);
  });

  it('set-head checks the fine-tuned top it is given', () => {
    const evaluation = { distance: 'cosine', queryCount: null, seed: 42 };
    const top = { source: { kind: 'url', url: 'm/model.json' }, blocks: 1, cut: 'block_15_add', weights: {}, runId: 'r1', runName: 'run 1', epoch: 2 };
    const ask = (t: unknown, weights: unknown = {}) => searchRequestProblem({ type: 'set-head', reqId: 'x', weights, evaluation, top: t });
    expect(ask(top)).toBeNull();
    expect(ask(null)).toBeNull();
    expect(ask({ ...top, blocks: 0 })).toMatch(/top.blocks/);
    expect(ask({ ...top, source: undefined })).toMatch(/encoder source/);
    expect(ask({ ...top, runId: 'a::b' })).toMatch(/runId/);
    expect(ask(top, null)).toMatch(/needs its head/);
  });

  it('refuses a head of another size, and projects to n x 2 (cached until the head changes)', async () => {
    const { g, n } = gallery();
    const other = createSkipConnectionHead(8);
    expect(() => g.setHead(other.getWeights())).toThrow('This head is for 8-d embeddings, but the encoder gives 16-d ones');
    other.dispose();
    const a = await g.project('base', 'pca');
    expect(a.length).toBe(n * 2);
    expect(await g.project('base', 'pca')).toBe(a);
    await expect(g.project('tuned', 'pca')).rejects.toThrow('No head is loaded');
  });

  it('exports Qdrant request bodies and the projector pair for the given images, base or with the head', async () => {
    const { g, n, dim, vectors } = gallery();
    const items = Array.from({ length: n }, (_, i) => ({ file: `f${i}.jpg`, class: `c${i % 4}`, classId: i % 4, split: i < 30 ? 'train' : 'validation' }));
    const [zip] = g.exportFiles('base', 'qdrant', { vectors, items }, 'my cars');
    expect(zip.name).toBe('qdrant.zip');
    const files = unzipSync(new Uint8Array(await zip.blob.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(['README.md', 'collection.json', 'points.json']);
    expect(JSON.parse(new TextDecoder().decode(files['collection.json']))).toEqual({ vectors: { size: dim, distance: 'Cosine' } });
    const points = JSON.parse(new TextDecoder().decode(files['points.json'])).points;
    expect(points).toHaveLength(n);
    expect(points[7]).toMatchObject({ id: 7, payload: { file: 'f7.jpg', class: 'c3', classId: 3, split: 'train' } });
    expect(points[40].payload.split).toBe('validation');
    const [vectorsTsv, metadata] = g.exportFiles('base', 'projector', { vectors, items }, 'x');
    expect((await vectorsTsv.blob.text()).trim().split('\n')[0].split('\t').length).toBe(dim);
    expect((await metadata.blob.text()).split('\n')[0]).toBe('file\tclass\tsplit');
    expect(() => g.exportFiles('tuned', 'projector', { vectors, items }, 'x')).toThrow('No head is loaded');
    const head = createSkipConnectionHead(dim, { seed: 1, gateInit: 1 });
    g.setHead(head.getWeights());
    const tuned = embedWithHead(head, vectors, dim);
    head.dispose();
    const [tunedTsv] = g.exportFiles('tuned', 'projector', { vectors, items }, 'x');
    const firstRow = (await tunedTsv.blob.text()).split('\n')[0].split('\t').map(Number);
    expect(Float32Array.from(firstRow)).toEqual(tuned.subarray(0, dim));
    g.setHead(null);
  });
});

describe('searchRequestProblem', () => {
  it('names what is wrong with a request', () => {
    expect(searchRequestProblem(null)).toBe('a request must be an object');
    expect(searchRequestProblem({ type: 'search', reqId: '' })).toBe('a request needs a reqId');
    expect(searchRequestProblem({ type: 'nope', reqId: 'a' })).toContain('unknown request type "nope"');
    expect(searchRequestProblem({ type: 'search', reqId: 'a', query: { kind: 'row', row: 1 }, k: 0 })).toBe('k must be an integer ≥ 1');
    expect(searchRequestProblem({ type: 'project', reqId: 'a', space: 'x', method: 'pca' })).toContain("space must be 'base' or 'tuned'");
    expect(searchRequestProblem({ type: 'export', reqId: 'a', space: 'base', format: 'csv' })).toContain("format must be 'qdrant' or 'projector'");
    expect(searchRequestProblem({ type: 'export', reqId: 'a', space: 'base', format: 'qdrant', images: { identities: ['a'], items: [] }, name: 'x' })).toBe(
      'export needs images: identities and items of the same length',
    );
    expect(
      searchRequestProblem({
        type: 'load',
        reqId: 'a',
        distance: 'cosine',
        gallery: { preprocessingKey: 'k', featureSize: 4, identities: ['a'], labels: new Int32Array(2), items: [] },
      }),
    ).toBe('gallery has 1 identities, 2 labels and 0 items');
    expect(searchRequestProblem({ type: 'set-head', reqId: 'a', weights: null, evaluation: { distance: 'cosine', queryCount: 0, seed: 1 } })).toBe(
      'evaluation.queryCount must be null or a positive integer',
    );
    expect(searchRequestProblem({ type: 'search', reqId: 'a', query: { kind: 'row', row: 1 }, k: 3 })).toBeNull();
  });
});
