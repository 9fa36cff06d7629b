import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENCODER_CATALOG, catalogCard } from '../../../src/core/encoder/catalog';
import { inferModelCard, ModelInferenceError } from '../../../src/core/encoder/inferModelCard';
import {
  type ModelCard,
  ModelCardError,
  modelCardProblems,
  preprocessingKey,
  validateModelCard,
} from '../../../src/core/encoder/modelCard';
import { sharedPath } from '../../support/shared';

const base: ModelCard = {
  id: 'test-model',
  name: 'Test',
  description: '',
  format: 'layers',
  inputSize: { width: 128, height: 128 },
  normalisation: { kind: 'range', min: -1, max: 1 },
  featureOutput: 'pool',
  pooling: 'global-average',
  featureSize: 256,
  licence: 'Apache-2.0',
};

function modelJson(folder: string): unknown {
  return JSON.parse(readFileSync(sharedPath('models', folder, 'model.json'), 'utf8'));
}

describe('validateModelCard', () => {
  it('accepts a valid card and lists every problem of a broken one', () => {
    expect(validateModelCard(base)).toBe(base);
    const broken = {
      ...base,
      id: 'Bad Id',
      format: 'onnx',
      inputSize: { width: 0, height: 128 },
      normalisation: { kind: 'mean-std', mean: [0.5, 0.5], std: [0.2, 0.2, 0] },
      featureSize: 2.5,
      resize: 'letterbox',
    } as unknown as ModelCard;
    const problems = modelCardProblems(broken);
    expect(problems.join('\n')).toMatch(/id must be/);
    expect(problems.join('\n')).toMatch(/format must be one of layers, graph/);
    expect(problems.join('\n')).toMatch(/inputSize/);
    expect(problems.join('\n')).toMatch(/mean must be 3/);
    expect(problems.join('\n')).toMatch(/std must be 3 positive/);
    expect(problems.join('\n')).toMatch(/featureSize/);
    expect(problems.join('\n')).toMatch(/resize must be one of squash, center-crop/);
    expect(() => validateModelCard(broken)).toThrow(ModelCardError);
  });

  it('requires a feature layer name for layers models', () => {
    expect(modelCardProblems({ ...base, featureOutput: undefined })).toEqual([
      'a layers model needs featureOutput: the name of the feature layer',
    ]);
    expect(modelCardProblems({ ...base, format: 'graph', featureOutput: undefined })).toEqual([]);
  });
});

describe('preprocessingKey', () => {
  it('is stable and changes with everything that changes the embedding', () => {
    const key = preprocessingKey(base, { cropToBox: false });
    expect(preprocessingKey({ ...base }, { cropToBox: false })).toBe(key);
    // Default resize is squash: saying so explicitly gives the same key.
    expect(preprocessingKey({ ...base, resize: 'squash' }, { cropToBox: false })).toBe(key);
    const variants: string[] = [
      preprocessingKey(base, { cropToBox: true }),
      preprocessingKey({ ...base, id: 'other' }, { cropToBox: false }),
      preprocessingKey({ ...base, url: 'https://example.org/m/model.json' }, { cropToBox: false }),
      preprocessingKey({ ...base, inputSize: { width: 224, height: 224 } }, { cropToBox: false }),
      preprocessingKey({ ...base, normalisation: { kind: 'range', min: 0, max: 1 } }, { cropToBox: false }),
      preprocessingKey(
        { ...base, normalisation: { kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
        { cropToBox: false },
      ),
      preprocessingKey({ ...base, featureOutput: 'other' }, { cropToBox: false }),
      preprocessingKey({ ...base, pooling: 'none' }, { cropToBox: false }),
      preprocessingKey({ ...base, resize: 'center-crop' }, { cropToBox: false }),
    ];
    expect(new Set([key, ...variants]).size).toBe(variants.length + 1);
  });
});

describe('catalog', () => {
  it('holds only valid cards with unique ids, a URL and a cited source', () => {
    expect(ENCODER_CATALOG.length).toBeGreaterThan(0);
    for (const card of ENCODER_CATALOG) {
      expect(modelCardProblems(card), card.id).toEqual([]);
      expect(card.url).toMatch(/^https:\/\//);
      expect(card.source).toMatch(/^https:\/\//);
    }
    expect(new Set(ENCODER_CATALOG.map((c) => c.id)).size).toBe(ENCODER_CATALOG.length);
    expect(() => catalogCard('nope')).toThrow(/valid ids: tfjs-mobilenet-v1-0.25-224/);
  });
});

describe('inferModelCard', () => {
  it('recognises the three shared models (model.json only)', () => {
    const v2 = inferModelCard(modelJson('mobilenet-v2-1.0-224'));
    expect(v2).toMatchObject({
      id: 'mobilenet-v2-1.0-224',
      inputSize: { width: 224, height: 224 },
      featureOutput: 'MobilenetV2_Logits_AvgPool',
      featureSize: 1280,
      normalisation: { kind: 'range', min: -1, max: 1 },
    });
    const v1small = inferModelCard(modelJson('mobilenet-v1-0.25-128'));
    expect(v1small).toMatchObject({
      id: 'mobilenet-v1-0.25-128',
      inputSize: { width: 128, height: 128 },
      featureOutput: 'MobilenetV1_Logits_AvgPool_1a_AvgPool',
      featureSize: 256,
    });
    const v1 = inferModelCard(modelJson('mobilenet-v1-0.75-224'));
    expect(v1).toMatchObject({
      id: 'mobilenet-v1-0.75-224',
      inputSize: { width: 224, height: 224 },
      featureOutput: 'global_average_pooling2d_1',
      featureSize: 768,
      pooling: 'none',
    });
  });

  it('finds the pooled layer of an unknown model by structure, and honours hints', () => {
    const json = modelJson('mobilenet-v1-0.75-224') as { modelTopology: { model_config: { config: { layers: { name: string; config: { name: string } }[] } } } };
    // Rename the pooling layer so the known-name table does not apply.
    const copy = JSON.parse(JSON.stringify(json).replaceAll('global_average_pooling2d_1', 'gap'));
    const card = inferModelCard(copy);
    expect(card).toMatchObject({ featureOutput: 'gap', featureSize: 768, id: 'dropped-gap-768' });
    const hinted = inferModelCard(copy, {
      id: 'mine',
      featureOutput: 'conv_pw_13_relu',
      normalisation: { kind: 'range', min: 0, max: 1 },
    });
    expect(hinted).toMatchObject({
      id: 'mine',
      featureOutput: 'conv_pw_13_relu',
      featureSize: 768,
      pooling: 'global-average',
      normalisation: { kind: 'range', min: 0, max: 1 },
    });
    expect(() => inferModelCard(copy, { featureOutput: 'nope' })).toThrow(/"nope" not found; last layers: .*reshape_2/);
  });

  it('refuses a model whose input is not an image', () => {
    const json = {
      modelTopology: {
        class_name: 'Sequential',
        config: { layers: [{ class_name: 'Dense', config: { name: 'd', units: 4, batch_input_shape: [null, 10] } }] },
      },
    };
    expect(() => inferModelCard(json)).toThrow(ModelInferenceError);
    expect(() => inferModelCard(json)).toThrow('model input is [null,10]; an image encoder takes [null,H,W,3]');
    expect(() => inferModelCard({ foo: 1 })).toThrow(/not a TF.js model.json/);
  });
});
