import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFolderFiles } from '../../../src/cli/nodeModelSource';
import { catalogCard, ENCODER_CATALOG } from '../../../src/core/encoder/catalog';
import { assignTopWeights, buildEncoderTop, type EncoderTop } from '../../../src/core/encoder/encoderTop';
import { findModelJson, readModelJson } from '../../../src/core/encoder/filesIOHandler';
import { inferModelCard } from '../../../src/core/encoder/inferModelCard';
import { cutEncoder, flippedEncoder, loadEncoder, type ImageEncoder } from '../../../src/core/encoder/loadEncoder';
import type { ModelCard } from '../../../src/core/encoder/modelCard';
import { sharedPath } from '../../support/shared';

/** The three shared models with the cards the studio gives them (inferred, or the catalog's). */
async function open(folder: string, catalogId?: string): Promise<ImageEncoder> {
  const files = await modelFolderFiles(sharedPath('models', folder));
  const card: ModelCard = catalogId ? catalogCard(catalogId) : inferModelCard(await readModelJson(findModelJson(files)!));
  return loadEncoder(card, files);
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
/** 1e-5, relative to the feature's scale where it exceeds 1 (ReLU6 features reach 6; float32 sums differ in order). */
const tolerance = (feature: tf.Tensor) => 1e-5 * Math.max(1, tf.tidy(() => tf.max(tf.abs(feature)).dataSync()[0]));

const MODELS = [
  { folder: 'mobilenet-v2-1.0-224', cuts: ['MobilenetV2_expanded_conv_15_add', 'MobilenetV2_expanded_conv_14_add', 'MobilenetV2_expanded_conv_13_project_add_fold'] },
  { folder: 'mobilenet-v1-0.75-224', catalogId: 'tfjs-mobilenet-v1-0.75-224', cuts: ['conv_pw_12_relu', 'conv_pw_11_relu', 'conv_pw_10_relu'] },
  {
    folder: 'mobilenet-v1-0.25-128',
    cuts: ['MobilenetV1_MobilenetV1_Conv2d_12_pointwise_Relu6', 'MobilenetV1_MobilenetV1_Conv2d_11_pointwise_Relu6', 'MobilenetV1_MobilenetV1_Conv2d_10_pointwise_Relu6'],
  },
];

describe('the encoder top rebuilt from the cut', () => {
  // WASM: the encoder's own layers run forward there (fast); its missing kernels are gradients
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it('the cards name the cuts: inferred for the shared models (block boundaries), given in the catalog for layers models', async () => {
    for (const m of MODELS.filter((x) => !x.catalogId)) {
      const files = await modelFolderFiles(sharedPath('models', m.folder));
      expect(inferModelCard(await readModelJson(findModelJson(files)!)).cuts).toEqual(m.cuts);
    }
    for (const card of ENCODER_CATALOG) {
      if (card.format === 'layers') expect(card.cuts?.length).toBeGreaterThan(0);
      else expect(card.cutsUnavailable).toMatch(/graph model/);
    }
  });

  for (const m of MODELS) {
    it(`${m.folder}: every cut's top, both formulations, equals the encoder's own feature within 1e-5`, { timeout: 120_000 }, async () => {
      const atStart = tf.memory().numTensors;
      const encoder = await open(m.folder, m.catalogId);
      expect(encoder.card.cuts).toEqual(m.cuts);
      const { width, height } = encoder.inputSize;
      const pixels = tf.randomUniform([2, height, width, 3], 0, 255, 'float32', 5) as tf.Tensor4D;
      const feature = encoder.embedPixels(pixels);
      const within = tolerance(feature);
      const before = tf.memory().numTensors;
      const tops: EncoderTop[] = [];
      for (const cutLayer of m.cuts) {
        const flat = cutEncoder(encoder, cutLayer).embedPixels(pixels);
        const top: EncoderTop = buildEncoderTop(encoder.model as tf.LayersModel, {
          cutLayer,
          featureLayer: encoder.card.featureOutput!,
          pooling: encoder.card.pooling,
        });
        tops.push(top);
        const cut = tf.reshape(flat, [2, ...top.cutShape]) as tf.Tensor4D;
        expect(top.featureSize).toBe(encoder.featureSize);
        expect(top.parameterCount).toBeGreaterThan(0);
        for (const formulation of ['layers', 'primitives'] as const) {
          const out = top.applyWith(cut, formulation);
          expect(maxDiff(out, feature), `${cutLayer} ${formulation}`).toBeLessThan(within);
          out.dispose();
        }
        const viaModel = top.model.predict(cut) as tf.Tensor;
        expect(maxDiff(viaModel, feature)).toBeLessThan(within);
        tf.dispose([viaModel, cut, flat]);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([pixels, feature]);
      const held = tf.memory().numTensors;
      encoder.dispose();
      // the tops still hold the weights they share; the last of them frees them
      expect(tf.memory().numTensors).toBeLessThan(held);
      tops.forEach((t) => t.dispose());
      expect(tf.memory().numTensors).toBe(atStart);
    });
  }

  it('on WASM the primitive formulation has gradients and they match the layers formulation\'s on CPU', { timeout: 120_000 }, async () => {
    const encoder = await open('mobilenet-v2-1.0-224');
    const cutLayer = encoder.card.cuts![0];
    const top = buildEncoderTop(encoder.model as tf.LayersModel, { cutLayer, featureLayer: encoder.card.featureOutput!, pooling: encoder.card.pooling });
    const cutValues = tf.tidy(() => tf.relu(tf.randomNormal([2, ...top.cutShape], 0, 1, 'float32', 3))).dataSync() as Float32Array;
    const gradsOn = async (backend: string, formulation: 'layers' | 'primitives') => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(cutValues, [2, ...top.cutShape]);
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(top.applyWith(x, formulation))) as tf.Scalar, top.trainableVariables);
      const out = { loss: value.dataSync()[0], grads: top.trainableVariables.map((v) => grads[v.name].dataSync() as Float32Array) };
      tf.dispose([x, value, ...Object.values(grads)]);
      return out;
    };
    const reference = await gradsOn('cpu', 'layers');
    await tf.setBackend('wasm');
    await tf.ready();
    const wasm = await gradsOn('wasm', 'primitives');
    expect(Math.abs(wasm.loss - reference.loss) / reference.loss).toBeLessThan(1e-5);
    reference.grads.forEach((g, i) => {
      let scale = 0;
      let diff = 0;
      g.forEach((v, j) => {
        scale = Math.max(scale, Math.abs(v));
        diff = Math.max(diff, Math.abs(v - wasm.grads[i][j]));
      });
      expect(diff / scale, top.weights[i].name).toBeLessThan(1e-3);
    });
    await tf.setBackend('wasm');
    encoder.dispose();
  });

  it("a fine-tuned top's weights written into a fresh copy of the encoder give that copy the tuned feature; flipped views mirror the input", { timeout: 120_000 }, async () => {
    const tuned = await open('mobilenet-v1-0.25-128');
    const fresh = await open('mobilenet-v1-0.25-128');
    const card = tuned.card;
    const top = buildEncoderTop(tuned.model as tf.LayersModel, { cutLayer: card.cuts![0], featureLayer: card.featureOutput!, pooling: card.pooling });
    // "training": nudge every weight of the top
    for (const w of top.weights) w.variable.assign(tf.tidy(() => tf.add(w.variable, 0.01)));
    const weights = Object.fromEntries(top.weights.map((w) => [w.name, { shape: w.variable.shape.slice(), data: w.variable.dataSync() as Float32Array }]));
    const pixels = tf.tidy(() => tf.randomUniform([2, 128, 128, 3], 0, 255, 'float32', 3)) as tf.Tensor4D;
    const before = fresh.embedPixels(pixels);
    expect(assignTopWeights(fresh.model as tf.LayersModel, weights)).toBe(top.weights.length);
    const after = fresh.embedPixels(pixels);
    const want = tuned.embedPixels(pixels);
    expect(maxDiff(after, want)).toBeLessThan(tolerance(want));
    expect(maxDiff(before, want)).toBeGreaterThan(1e-3);
    expect(() => assignTopWeights(fresh.model as tf.LayersModel, { 'no_such_layer/kernel': { shape: [1], data: new Float32Array(1) } })).toThrow(/does not have/);

    const mirrored = tf.tidy(() => tf.reverse(pixels, 2)) as tf.Tensor4D;
    const flipped = flippedEncoder(fresh).embedPixels(pixels);
    const direct = fresh.embedPixels(mirrored);
    expect(maxDiff(flipped, direct)).toBe(0);
    tf.dispose([pixels, before, after, want, mirrored, flipped, direct]);
    top.dispose();
    tuned.dispose();
    fresh.dispose();
  });
});
