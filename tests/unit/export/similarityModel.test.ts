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
