import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { readHeadFiles } from '../../../src/app/export/headZip';
import { decodeSafetensors, encodeSafetensors } from '../../../src/core/export/safetensors';
import { exportHead, importHead, type NamedWeights } from '../../../src/core/export/headExport';
import { foldSkipConnectionHead, skipConnectionFromAffine } from '../../../src/core/export/similarityModel';
import { seededRandom } from '../../../src/core/random/randomSource';
import { createSkipConnectionHead } from '../../../src/core/train/heads';
import { embedWithHead } from '../../../src/core/train/trainer';
import { projectRoot, sharedPath } from '../../support/shared';
import path from 'node:path';

const projectPath = (...parts: string[]) => path.join(projectRoot, ...parts);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function oracleWeights(): { weights: NamedWeights; dim: number } {
  const o = JSON.parse(readFileSync(sharedPath('fixtures', 'quaterion-oracle.json'), 'utf8'));
  const p = o.skip_connection_head.params as Record<string, number[] | number[][]>;
  const weights: NamedWeights = {};
  for (const [k, v] of Object.entries(p)) {
    const shape = Array.isArray(v[0]) ? [v.length, (v[0] as number[]).length] : [v.length];
    weights[k] = { shape, data: Float32Array.from((v as number[][]).flat() as number[]) };
  }
  return { weights, dim: weights.gates_0.data.length };
}

function randomRows(n: number, dim: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n * dim }, () => 2 * r.nextFloat() - 1);
}

/** The studio's head output (eval mode) for these rows. */
function headOutput(weights: NamedWeights, rows: Float32Array, dim: number): Float32Array {
  const head = createSkipConnectionHead(dim, { dropout: 0 });
  head.setWeights(weights);
  const out = embedWithHead(head, rows, dim);
  head.dispose();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const card = { name: 'mobilenet_v3_large_100_224', dim: 1280 };

describe('head export', () => {
  it('writes the reference names/layout in safetensors and a standard TF.js layers model (one Dense layer)', async () => {
    const { weights, dim } = oracleWeights();
    const ex = await exportHead(weights, { kind: 'skip-connection', dim, dropout: 0.1, encoderCard: card, studioVersion: '0.2.0', created: '2025-01-01T00:00:00.000Z' });
    expect(ex.config).toEqual({ input_embedding_size: dim, dropout: 0.1, skip_dropout: 0, n_layers: 1 });
    expect(ex.card.encoder).toEqual(card);
    const st = decodeSafetensors(ex.safetensors);
    expect(Object.keys(st.tensors)).toEqual(['gates_0', 'fc_0.weight', 'fc_0.bias']);
    expect(st.tensors['fc_0.weight'].shape).toEqual([dim, dim]);
    expect(st.metadata.format).toBe('pt');
    expect(JSON.parse(st.metadata.config)).toEqual(ex.config);

    // the TF.js files: plain tf.loadLayersModel, no studio code in between
    const modelJson = JSON.parse(new TextDecoder().decode(ex.files['tfjs/model.json'])) as tf.io.ModelJSON;
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
    const bin = ex.files['tfjs/weights.bin'];
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: bin.slice().buffer as ArrayBuffer,
      }),
    );
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense']);
    const rows = randomRows(16, dim, 3);
    const fromTfjs = tf.tidy(() => (model.predict(tf.tensor2d(rows, [16, dim])) as tf.Tensor).dataSync());
    expect(maxAbsDiff(fromTfjs, headOutput(weights, rows, dim))).toBeLessThan(1e-5);
    model.dispose();

    // read back: safetensors exactly; the Dense pair as a head computing the same map
    const fromSt = importHead({ 'model.safetensors': ex.files['model.safetensors'], 'config.json': ex.files['config.json'] });
    expect(fromSt.format).toBe('safetensors');
    expect(fromSt.config).toEqual(ex.config);
    expect(fromSt.card?.encoder).toEqual(card);
    for (const k of Object.keys(weights)) expect(Array.from(fromSt.weights[k].data)).toEqual(Array.from(weights[k].data));
    const fromTf = importHead({ 'model.json': ex.files['tfjs/model.json'], 'weights.bin': ex.files['tfjs/weights.bin'] });
    expect(fromTf.format).toBe('tfjs');
    expect(fromTf.config).toEqual(ex.config);
    expect(fromTf.card?.encoder).toEqual(card);
    expect(maxAbsDiff(headOutput(fromTf.weights, rows, dim), headOutput(weights, rows, dim))).toBeLessThan(1e-5);
    // both present: the unfolded safetensors win
    expect(importHead({ ...ex.files }).format).toBe('safetensors');
    // metadata alone is enough for the safetensors file
    expect(importHead({ 'head/model.safetensors': ex.safetensors }).config).toEqual(ex.config);
  });

  it('folds a two-layer head into one affine map, and any affine map back into a head', () => {
    const dim = 6;
    const r = seededRandom(11);
    const f = (n: number) => Float32Array.from({ length: n }, () => 2 * r.nextFloat() - 1);
    const weights: NamedWeights = {};
    for (let i = 0; i < 2; i++) {
      weights[`gates_${i}`] = { shape: [dim], data: f(dim) };
      weights[`fc_${i}.weight`] = { shape: [dim, dim], data: f(dim * dim) };
      weights[`fc_${i}.bias`] = { shape: [dim], data: f(dim) };
    }
    const rows = randomRows(5, dim, 4);
    const layer = (i: number, x: Float32Array) =>
      headOutput({ gates_0: weights[`gates_${i}`], 'fc_0.weight': weights[`fc_${i}.weight`], 'fc_0.bias': weights[`fc_${i}.bias`] }, x, dim);
    const expected = layer(1, layer(0, rows));
    const folded = foldSkipConnectionHead(weights);
    const affine = new Float32Array(rows.length);
    for (let n = 0; n < 5; n++) {
      for (let o = 0; o < dim; o++) {
        let s = folded.bias[o];
        for (let j = 0; j < dim; j++) s += rows[n * dim + j] * folded.kernel[j * dim + o];
        affine[n * dim + o] = s;
      }
    }
    expect(maxAbsDiff(affine, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(headOutput(skipConnectionFromAffine(folded), rows, dim), expected)).toBeLessThan(1e-5);
  });

  it('still reads a zip written by studio 0.1.0 (its weights-only tfjs/model.json too)', async () => {
    const zipBytes = readFileSync(projectPath('tests', 'fixtures', 'head-zip-v0.1.0.zip'));
    const expected = JSON.parse(readFileSync(projectPath('tests', 'fixtures', 'head-zip-v0.1.0.weights.json'), 'utf8')) as Record<string, { shape: number[]; data: number[] }>;
    const loaded = await readHeadFiles([new File([zipBytes], 'tiny-tiny-encoder-2026-11-20-120000-head.zip')]);
    expect(loaded.head.format).toBe('safetensors');
    expect(loaded.run?.bestEpoch).toBe(3);
    expect(loaded.head.card?.formatVersion).toBe(1);
    const entries = unzipSync(new Uint8Array(zipBytes));
    const file = (name: string) => entries[Object.keys(entries).find((k) => k.endsWith(name))!];
    const oldTfjs = importHead({ 'model.json': file('tfjs/model.json'), 'weights.bin': file('tfjs/weights.bin') });
    expect(oldTfjs.format).toBe('tfjs');
    for (const imp of [loaded.head, oldTfjs]) {
      for (const [k, v] of Object.entries(expected)) {
        expect(imp.weights[k].shape).toEqual(v.shape);
        expect(Array.from(imp.weights[k].data)).toEqual(Array.from(Float32Array.from(v.data)));
      }
    }
  });

  it('imports a plain PyTorch-style safetensors file, inferring the config', () => {
    const d = 4;
    const bytes = encodeSafetensors({
      'fc_0.bias': { shape: [d], data: new Float32Array(d) },
      'fc_0.weight': { shape: [d, d], data: new Float32Array(d * d) },
      gates_0: { shape: [d], data: new Float32Array(d).fill(-4) },
    });
    const imp = importHead({ 'model.safetensors': bytes });
    expect(imp.config.input_embedding_size).toBe(d);
    expect(Object.keys(imp.weights)).toEqual(['gates_0', 'fc_0.weight', 'fc_0.bias']);
  });

  it('fails clearly on wrong shapes, missing tensors, wrong dtype, missing files, a whole model', async () => {
    const d = 3;
    const good = {
      gates_0: { shape: [d], data: new Float32Array(d) },
      'fc_0.weight': { shape: [d, d], data: new Float32Array(d * d) },
      'fc_0.bias': { shape: [d], data: new Float32Array(d) },
    };
    const opts = { kind: 'skip-connection' as const, dim: d, dropout: 0.1, encoderCard: {} };
    await expect(exportHead({ ...good, 'fc_0.bias': { shape: [d + 1], data: new Float32Array(d + 1) } }, opts)).rejects.toThrow(/fc_0.bias.*shape \[4\], expected \[3\]/);
    const { 'fc_0.weight': _w, ...missing } = good;
    await expect(exportHead(missing as typeof good, opts)).rejects.toThrow(/Missing tensor 'fc_0.weight'/);
    const ex = await exportHead(good, opts);
    const mj = JSON.parse(new TextDecoder().decode(ex.files['tfjs/model.json']));
    mj.weightsManifest[0].weights[0].dtype = 'int32';
    expect(() => importHead({ 'model.json': mj, 'weights.bin': ex.tfjs.weightsBin })).toThrow(/only float32/);
    expect(() => importHead({ 'model.json': ex.tfjs.modelJson })).toThrow(/weights.bin.*missing/);
    expect(() => importHead({ 'model.safetensors': ex.safetensors, 'config.json': '{"input_embedding_size": 5}' })).toThrow(/gates_0.*expected \[5\]/);
    expect(() => importHead({ 'readme.txt': 'x' })).toThrow(/No head found/);
    const whole = JSON.parse(new TextDecoder().decode(ex.files['tfjs/model.json']));
    whole.weightsManifest[0].weights.unshift({ name: 'conv/kernel', shape: [1], dtype: 'float32' });
    const bin = new Uint8Array(ex.tfjs.weightsBin.length + 4);
    bin.set(ex.tfjs.weightsBin, 4);
    expect(() => importHead({ 'model.json': whole, 'weights.bin': bin })).toThrow(/whole similarity model.*load the head's zip/);
  });
});
