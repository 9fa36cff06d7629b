/**
 * The whole similarity model (image in, tuned embedding out) for each shared encoder: its
 * files, written to disk and loaded back with plain `tf.loadLayersModel`, embed real
 * Stanford Cars images as the studio does (encoder, then head) within 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeImageDecoder } from '../../../src/cli/nodeImageDecoder';
import { diskDatasetFile } from '../../../src/cli/nodeFiles';
import { openEncoder } from '../../../src/cli/nodeModelSource';
import { selectBackend } from '../../../src/cli/tfBackend';
import { loadEncoder } from '../../../src/core/encoder/loadEncoder';
import { similarityModelExport } from '../../../src/core/export/similarityModelExport';
import { seededRandom } from '../../../src/core/random/randomSource';
import { createSkipConnectionHead } from '../../../src/core/train/heads';
import { embedWithHead } from '../../../src/core/train/trainer';
import { sharedPath } from '../../support/shared';
import { loadLayersModelFile } from '../../support/fileModel';

let work: string;
beforeAll(async () => {
  await selectBackend('wasm');
  work = mkdtempSync(path.join(tmpdir(), 'similarity-model-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function images(count: number): string[] {
  const dir = sharedPath('data', 'stanford-cars-40', 'cars_train');
  return readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, count).map((f) => path.join(dir, f));
}

const readme = {
  title: 'test',
  encoder: { name: 'test' },
  distance: 'cosine' as const,
  created: '2026-12-01T00:00:00.000Z',
  studioVersion: 'test',
};

describe('the whole similarity model', () => {
  for (const folder of ['mobilenet-v1-0.25-128', 'mobilenet-v2-1.0-224', 'mobilenet-v1-0.75-224']) {
    it(`${folder}: loads with plain tf.loadLayersModel and embeds like the studio`, { timeout: 120_000 }, async () => {
      const encoder = await openEncoder(sharedPath('models', folder));
      const dim = encoder.featureSize;
      const head = createSkipConnectionHead(dim, { seed: 5, dropout: 0 });
      // gates well away from their start, so the head is far from the identity
      const w = head.getWeights();
      const r = seededRandom(9);
      w.gates_0.data = Float32Array.from(w.gates_0.data, () => 4 * r.nextFloat() - 2);
      head.setWeights(w);

      const out = path.join(work, folder);
      const files = await similarityModelExport(encoder, head.getWeights(), readme);
      expect(Object.keys(files).sort()).toEqual(['README.md', 'model.json', 'weights.bin']);
      mkdirSync(out, { recursive: true });
      for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(out, name), bytes);

      const decoder = new NodeImageDecoder();
      const { width, height } = encoder.inputSize;
      const decoded = await Promise.all(images(3).map(async (p) => decoder.decode(await diskDatasetFile(p), { width, height, resize: 'squash' })));
      const pixels = new Float32Array(decoded.length * width * height * 3);
      decoded.forEach((d, i) => pixels.set(d.data, i * width * height * 3));
      const studio = embedWithHead(head, await encoder.embed(decoded), dim);

      const tensorsBefore = tf.memory().numTensors;
      const model = await loadLayersModelFile(path.join(out, 'model.json'));
      expect(model.inputs[0].shape).toEqual([null, height, width, 3]);
      expect(model.outputs[0].shape).toEqual([null, dim]);
      const meta = model.getUserDefinedMetadata() as { similarityStudio: { input: { normalisation: { kind: string; min: number; max: number } } } };
      const norm = meta.similarityStudio.input.normalisation;
      expect(norm).toEqual(encoder.card.normalisation);
      const ours = tf.tidy(() => {
        const x = tf.tensor4d(pixels, [decoded.length, height, width, 3]).mul((norm.max - norm.min) / 255).add(norm.min);
        return (model.predict(x) as tf.Tensor).dataSync();
      });
      let maxDiff = 0;
      for (let i = 0; i < studio.length; i++) maxDiff = Math.max(maxDiff, Math.abs(studio[i] - ours[i]));
      console.log(`[similarity model] ${folder}: max |studio - model| = ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThan(1e-4);
      model.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      head.dispose();
      encoder.dispose();
    });
  }
});

/**
 * A tiny graph model (the converter's JSON: Placeholder -> Mean over H, W -> Mul by a constant
 * -> Identity), so the graph-encoder path runs here without a network: the export is the head
 * model plus the README's two-call recipe, and that recipe gives the studio's vectors.
 */
function tinyGraphModel(): tf.io.ModelArtifacts {
  const scale = Float32Array.from([0.5, -1, 2]);
  const axes = Int32Array.from([1, 2]);
  const weightData = new Uint8Array(scale.byteLength + axes.byteLength);
  weightData.set(new Uint8Array(scale.buffer), 0);
  weightData.set(new Uint8Array(axes.buffer), scale.byteLength);
  const dtype = (t: string) => ({ type: t });
  return {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'images', op: 'Placeholder', attr: { dtype: dtype('DT_FLOAT'), shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } } },
        { name: 'scale', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }] } } }, dtype: dtype('DT_FLOAT') } },
        { name: 'axes', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } }, dtype: dtype('DT_INT32') } },
        { name: 'pooled', op: 'Mean', input: ['images', 'axes'], attr: { T: dtype('DT_FLOAT'), Tidx: dtype('DT_INT32'), keep_dims: { b: false } } },
        { name: 'scaled', op: 'Mul', input: ['pooled', 'scale'], attr: { T: dtype('DT_FLOAT') } },
        { name: 'features', op: 'Identity', input: ['scaled'], attr: { T: dtype('DT_FLOAT') } },
      ],
      versions: { producer: 1 },
    },
    weightSpecs: [
      { name: 'scale', shape: [3], dtype: 'float32' },
      { name: 'axes', shape: [2], dtype: 'int32' },
    ],
    weightData: weightData.buffer,
  };
}

describe('a graph-model encoder', () => {
  it('exports the head model and a README whose two-call recipe gives the studio vectors', async () => {
    const card = {
      id: 'tiny-graph',
      name: 'Tiny graph',
      description: 'test',
      url: 'https://example.test/tiny/model.json',
      format: 'graph' as const,
      inputSize: { width: 8, height: 8 },
      normalisation: { kind: 'range' as const, min: -1, max: 1 },
      featureOutput: 'features',
      pooling: 'none' as const,
      featureSize: 3,
      licence: 'test',
    };
    const encoder = await loadEncoder(card, tf.io.fromMemory(tinyGraphModel()));
    const head = createSkipConnectionHead(3, { seed: 2, dropout: 0, gateInit: 0.5 });
    const files = await similarityModelExport(encoder, head.getWeights(), readme);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'head/model.json', 'head/weights.bin']);
    const text = new TextDecoder().decode(files['README.md']);
    expect(text).toContain("tf.loadGraphModel('https://example.test/tiny/model.json')");
    expect(text).toContain("'features'); // call 1: the frozen encoder");
    expect(text).toContain("tf.loadLayersModel('head/model.json')");

    const out = path.join(work, 'graph');
    mkdirSync(path.join(out, 'head'), { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(out, name), bytes);
    const headModel = await loadLayersModelFile(path.join(out, 'head', 'model.json'));
    const graph = await tf.loadGraphModel(tf.io.fromMemory(tinyGraphModel()));
    const r = seededRandom(3);
    const pixels = Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => Math.floor(256 * r.nextFloat()));
    const recipe = tf.tidy(() => {
      const x = tf.tensor4d(pixels, [2, 8, 8, 3]).div(127.5).sub(1);
      const f = graph.execute(x, 'features') as tf.Tensor;
      return (headModel.predict(f.reshape([2, 3])) as tf.Tensor).dataSync();
    });
    const studio = tf.tidy(() => embedWithHead(head, encoder.embedPixels(tf.tensor4d(pixels, [2, 8, 8, 3])).dataSync() as Float32Array, 3));
    for (let i = 0; i < studio.length; i++) expect(Math.abs(recipe[i] - studio[i])).toBeLessThan(1e-5);
    headModel.dispose();
    graph.dispose();
    head.dispose();
    encoder.dispose();
  });
});
