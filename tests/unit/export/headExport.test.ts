import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../../src/core/export/safetensors';
import { exportHead, importHead, type NamedWeights } from '../../../src/core/export/headExport';
import { sharedPath } from '../../support/shared';

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

const card = { name: 'mobilenet_v3_large_100_224', dim: 1280 };

describe('head export', () => {
  it('exports the reference names/layout and round-trips through both formats', async () => {
    const { weights, dim } = oracleWeights();
    const ex = exportHead(weights, { kind: 'skip-connection', dim, dropout: 0.1, encoderCard: card, studioVersion: '0.1.0', created: '2025-01-01T00:00:00.000Z' });
    expect(ex.config).toEqual({ input_embedding_size: dim, dropout: 0.1, skip_dropout: 0, n_layers: 1 });
    expect(ex.card.encoder).toEqual(card);
    const st = decodeSafetensors(ex.safetensors);
    expect(Object.keys(st.tensors)).toEqual(['gates_0', 'fc_0.weight', 'fc_0.bias']);
    expect(st.tensors['fc_0.weight'].shape).toEqual([dim, dim]);
    expect(st.metadata.format).toBe('pt');
    expect(JSON.parse(st.metadata.config)).toEqual(ex.config);

    // TF.js: the manifest decodes with tfjs' own reader
    const manifest = ex.tfjs.modelJson.weightsManifest[0];
    expect(manifest.paths).toEqual(['weights.bin']);
    const bin = ex.tfjs.weightsBin;
    const decoded = tf.io.decodeWeights(bin.slice().buffer as ArrayBuffer, manifest.weights);
    expect(Array.from(decoded['fc_0.weight'].dataSync())).toEqual(Array.from(weights['fc_0.weight'].data));
    tf.dispose(decoded);

    const fromSt = importHead({ 'model.safetensors': ex.files['model.safetensors'], 'config.json': ex.files['config.json'] });
    const fromTf = importHead({ 'model.json': ex.files['tfjs/model.json'], 'weights.bin': ex.files['tfjs/weights.bin'] });
    for (const imp of [fromSt, fromTf]) {
      expect(imp.config).toEqual(ex.config);
      expect(imp.card?.encoder).toEqual(card);
      for (const k of Object.keys(weights)) {
        expect(imp.weights[k].shape).toEqual(weights[k].shape);
        expect(Array.from(imp.weights[k].data)).toEqual(Array.from(weights[k].data));
      }
    }
    expect(fromSt.format).toBe('safetensors');
    expect(fromTf.format).toBe('tfjs');
    // metadata alone is enough for the safetensors file
    expect(importHead({ 'head/model.safetensors': ex.safetensors }).config).toEqual(ex.config);
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

  it('fails clearly on wrong shapes, missing tensors, wrong dtype, missing files', () => {
    const d = 3;
    const good = {
      gates_0: { shape: [d], data: new Float32Array(d) },
      'fc_0.weight': { shape: [d, d], data: new Float32Array(d * d) },
      'fc_0.bias': { shape: [d], data: new Float32Array(d) },
    };
    const opts = { kind: 'skip-connection' as const, dim: d, dropout: 0.1, encoderCard: {} };
    expect(() => exportHead({ ...good, 'fc_0.bias': { shape: [d + 1], data: new Float32Array(d + 1) } }, opts)).toThrow(/fc_0.bias.*shape \[4\], expected \[3\]/);
    const { 'fc_0.weight': _w, ...missing } = good;
    expect(() => exportHead(missing as typeof good, opts)).toThrow(/Missing tensor 'fc_0.weight'/);
    const ex = exportHead(good, opts);
    const mj = JSON.parse(new TextDecoder().decode(ex.files['tfjs/model.json']));
    mj.weightsManifest[0].weights[0].dtype = 'int32';
    expect(() => importHead({ 'model.json': mj, 'weights.bin': ex.tfjs.weightsBin })).toThrow(/only float32/);
    expect(() => importHead({ 'model.json': ex.tfjs.modelJson })).toThrow(/weights.bin.*missing/);
    expect(() => importHead({ 'model.safetensors': ex.safetensors, 'config.json': '{"input_embedding_size": 5}' })).toThrow(/gates_0.*expected \[5\]/);
    expect(() => importHead({ 'readme.txt': 'x' })).toThrow(/No head found/);
  });
});
