import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFolderFiles } from '../../../src/cli/nodeModelSource';
import { buildEncoderTop } from '../../../src/core/encoder/encoderTop';
import { findModelJson, readModelJson } from '../../../src/core/encoder/filesIOHandler';
import { inferModelCard } from '../../../src/core/encoder/inferModelCard';
import { cutEncoder, loadEncoder, type ImageEncoder } from '../../../src/core/encoder/loadEncoder';
import { setTopWeights, tunedFeatures } from '../../../src/core/encoder/tunedFeatures';
import type { NamedWeights } from '../../../src/core/train/heads';
import { sharedPath } from '../../support/shared';

async function open(): Promise<ImageEncoder> {
  const files = await modelFolderFiles(sharedPath('models', 'mobilenet-v1-0.25-128'));
  return loadEncoder(inferModelCard(await readModelJson(findModelJson(files)!)), files);
}

describe("a fine-tuned run's tuned features: top(cut map) with the run's stored top weights", () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it('equal the tuned encoder on the image, in any batch size, cancellable between batches, no tensor left', { timeout: 120_000 }, async () => {
    const pretrained = await open();
    const tuned = await open();
    const card = pretrained.card;
    const cutLayer = card.cuts![0];
    const build = (e: ImageEncoder) => buildEncoderTop(e.model as tf.LayersModel, { cutLayer, featureLayer: card.featureOutput!, pooling: card.pooling });
    // the "run": every weight of its top nudged, stored as a run stores them
    const trained = build(tuned);
    for (const w of trained.weights) w.variable.assign(tf.tidy(() => tf.add(w.variable, tf.randomNormal(w.variable.shape, 0, 0.02, 'float32', 7))));
    const stored: NamedWeights = Object.fromEntries(trained.weights.map((w) => [w.name, { shape: w.variable.shape.slice(), data: w.variable.dataSync() as Float32Array }]));

    const pixels = tf.tidy(() => tf.randomUniform([5, 128, 128, 3], 0, 255, 'float32', 3)) as tf.Tensor4D;
    const maps = cutEncoder(pretrained, cutLayer).embedPixels(pixels);
    const mapValues = maps.dataSync() as Float32Array;
    const want = tuned.embedPixels(pixels);
    const wantValues = want.dataSync() as Float32Array;
    const frozen = pretrained.embedPixels(pixels).dataSync() as Float32Array;

    const top = build(pretrained);
    const before = tf.memory().numTensors;
    setTopWeights(top, stored);
    const batches: number[] = [];
    const whole = await tunedFeatures(top, mapValues, { batchSize: 2, onBatch: (start, rows, f) => void batches.push(start, rows, f.length) });
    expect(batches).toEqual([0, 2, 2 * top.featureSize, 2, 2, 2 * top.featureSize, 4, 1, top.featureSize]);
    const oneBatch = await tunedFeatures(top, mapValues);
    expect(tf.memory().numTensors).toBe(before);
    let diff = 0;
    let fromFrozen = 0;
    whole.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - wantValues[i]), Math.abs(v - oneBatch[i]));
      fromFrozen = Math.max(fromFrozen, Math.abs(v - frozen[i]));
    });
    expect(diff).toBeLessThan(1e-4);
    expect(fromFrozen).toBeGreaterThan(1e-3); // the tuned top is not the frozen encoder

    const controller = new AbortController();
    let seen = 0;
    await expect(
      tunedFeatures(top, mapValues, { batchSize: 2, signal: controller.signal, onBatch: () => void (++seen === 1 && controller.abort()) }),
    ).rejects.toThrow();
    expect(seen).toBe(1);
    expect(tf.memory().numTensors).toBe(before);

    // the whole set or nothing: a missing, unknown or misshapen weight is named
    const [first, ...rest] = Object.keys(stored);
    expect(() => setTopWeights(top, Object.fromEntries(rest.map((k) => [k, stored[k]])))).toThrow(new RegExp(`no weight ${first}`));
    expect(() => setTopWeights(top, { ...stored, 'other/kernel': stored[first] })).toThrow(/"other\/kernel"/);
    expect(() => setTopWeights(top, { ...stored, [first]: { shape: [1], data: new Float32Array(1) } })).toThrow(/is \[1\]/);
    await expect(tunedFeatures(top, new Float32Array(3))).rejects.toThrow(/cut maps/);

    tf.dispose([pixels, maps, want]);
    top.dispose();
    trained.dispose();
    pretrained.dispose();
    tuned.dispose();
  });
});
