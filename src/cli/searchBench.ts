/**
 * Benchmark of the similarity views, printed as JSON (`npm run bench:search`): one query
 * over 8,000 gallery embeddings, base and tuned (synthetic 1,280-d clustered vectors, a
 * random skip-connection head applied through the engine), plus PCA and UMAP time for
 * 4,000 points, and exact R-Precision/P@1/MAP@R over the whole gallery. Options: --gallery N, --dim D, --points N, --out file.json, --backend wasm|cpu.
 */
import { writeFileSync } from 'node:fs';
import { randomFunction } from '../core/random/randomSource';
import { retrievalMetrics } from '../core/eval/retrievalMetrics';
import { pca } from '../core/project/pca';
import { umapProject } from '../core/project/umap';
import { createSkipConnectionHead } from '../core/train/heads';
import { SearchGallery } from '../workers/searchGallery';
import { selectBackend, type NodeBackend } from './tfBackend';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function clustered(n: number, dim: number, classes: number, seed: number): { data: Float32Array; labels: Int32Array } {
  const rand = randomFunction(seed);
  const centres = Float32Array.from({ length: classes * dim }, () => rand() * 2 - 1);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    // ReLU-like, non-negative features as a CNN's pooled output
    for (let d = 0; d < dim; d++) data[i * dim + d] = Math.max(0, centres[c * dim + d] + (rand() - 0.5) * 1.5);
  }
  return { data, labels };
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { medianMs: +q(0.5).toFixed(3), p95Ms: +q(0.95).toFixed(3), minMs: +s[0].toFixed(3), runs: s.length };
}

async function main() {
  const n = Number(arg('gallery', '8000'));
  const dim = Number(arg('dim', '1280'));
  const points = Number(arg('points', '4000'));
  const backend = await selectBackend(arg('backend', 'wasm') as NodeBackend);
  const { data, labels } = clustered(n, dim, 98, 1);
  const items = Array.from(labels, (c, i) => ({ file: `img-${i}.jpg`, class: `class ${c}`, classId: c, split: 'validation' }));
  const gallery = new SearchGallery(dim, data, labels, items, 'cosine');

  const head = createSkipConnectionHead(dim, { seed: 3, gateInit: 0 });
  const weights = head.getWeights();
  head.dispose();
  let t = performance.now();
  gallery.setHead(weights);
  const headMs = performance.now() - t;

  const k = 10;
  const rand = randomFunction(7);
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  // one space alone: the frozen encoder's gallery, and the head's outputs as a gallery
  const baseOnly = new SearchGallery(dim, data, labels, items, 'cosine');
  const tunedOnly = new SearchGallery(dim, gallery.space('tuned'), labels, items, 'cosine');
  const runs = { base: [] as number[], tuned: [] as number[], both: [] as number[], photo: [] as number[] };
  for (let r = 0; r < 3; r++) gallery.search(gallery.row('base', r), k, r); // warm-up
  for (let r = 0; r < 30; r++) {
    const row = Math.floor(rand() * n);
    runs.base.push(time(() => baseOnly.search(baseOnly.row('base', row), k, row)));
    runs.tuned.push(time(() => tunedOnly.search(tunedOnly.row('base', row), k, row)));
    runs.both.push(time(() => gallery.search(gallery.row('base', row), k, row)));
    // a dropped photo: not in the gallery, so the head runs on the query first
    const photo = Float32Array.from(gallery.row('base', row), (v) => v * (0.9 + 0.2 * rand()));
    runs.photo.push(time(() => gallery.search(photo, k)));
  }

  const sub = data.subarray(0, points * dim);
  t = performance.now();
  pca(sub, dim, { components: 2, normalise: true });
  const pcaMs = performance.now() - t;
  t = performance.now();
  pca(data, dim, { components: 2, normalise: true });
  const pcaFullMs = performance.now() - t;
  let epochs = 0;
  t = performance.now();
  await umapProject(sub, dim, { normalise: true, seed: 42, onEpoch: (_e, total) => void (epochs = total) });
  const umapMs = performance.now() - t;

  // exact retrieval metrics over the whole gallery: what one validation pass costs at full size
  t = performance.now();
  await retrievalMetrics(data, dim, labels, { distance: 'cosine' });
  const metricsMs = performance.now() - t;

  const report = {
    benchmark: 'similarity-search',
    node: process.version,
    backend,
    gallery: { images: n, dim, classes: 98, distance: 'cosine', k },
    search: {
      base: stats(runs.base),
      tuned: stats(runs.tuned),
      baseAndTunedGalleryQuery: stats(runs.both),
      baseAndTunedDroppedPhoto: stats(runs.photo),
    },
    headOnGalleryMs: +headMs.toFixed(1),
    exactRetrievalMetricsMs: +metricsMs.toFixed(1),
    projection: {
      points,
      dim,
      pcaMs: +pcaMs.toFixed(1),
      pcaOnWholeGalleryMs: +pcaFullMs.toFixed(1),
      umapMs: +umapMs.toFixed(1),
      umapEpochs: epochs,
      umapPcaDims: 32,
    },
  };
  const text = JSON.stringify(report, null, 2);
  const out = arg('out', '');
  if (out) writeFileSync(out, text + '\n');
  console.log(text);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
