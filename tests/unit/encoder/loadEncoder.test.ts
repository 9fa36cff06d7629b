import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeImageDecoder } from '../../../src/cli/nodeImageDecoder';
import { modelFolderFiles, modelFolderIOHandler } from '../../../src/cli/nodeModelSource';
import { diskDatasetFile } from '../../../src/cli/nodeFiles';
import { EncoderLoadError, type ImageEncoder, loadEncoder } from '../../../src/core/encoder/loadEncoder';
import type { ModelCard } from '../../../src/core/encoder/modelCard';
import { sharedPath } from '../../support/shared';

const modelDir = sharedPath('models', 'mobilenet-v1-0.25-128');
const card: ModelCard = {
  id: 'mobilenet-v1-0.25-128',
  name: 'MobileNetV1 0.25 (128)',
  description: 'shared test model',
  format: 'layers',
  inputSize: { width: 128, height: 128 },
  normalisation: { kind: 'range', min: -1, max: 1 },
  featureOutput: 'MobilenetV1_Logits_AvgPool_1a_AvgPool',
  pooling: 'global-average',
  featureSize: 256,
  licence: 'Apache-2.0',
};
const carImage = () => sharedPath('data', 'stanford-cars-40', 'cars_train', '00002.jpg');

let server: Server;
let baseUrl = '';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  // A tiny static server so the URL source kind is exercised over real HTTP.
  server = createServer((req, res) => {
    const urlPath = decodeURIComponent((req.url ?? '').split('?')[0]);
    const name = path.basename(urlPath);
    const served = urlPath === `/${name}` ? readFile(path.join(modelDir, name)) : Promise.reject(new Error('only the folder itself is served'));
    served.then(
      (bytes) => res.end(bytes),
      () => {
        res.statusCode = 404;
        res.end('not found');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function embedCar(encoder: ImageEncoder): Promise<Float32Array> {
  const image = await new NodeImageDecoder().decode(await diskDatasetFile(carImage()), {
    width: 128,
    height: 128,
    resize: 'squash',
  });
  return encoder.embed([image]);
}

describe('loadEncoder', () => {
  it('loads from dropped files, an IOHandler and a URL, all giving the same 256-d embedding', async () => {
    const fromFiles = await loadEncoder(card, await modelFolderFiles(modelDir));
    const fromHandler = await loadEncoder(card, await modelFolderIOHandler(modelDir));
    const fromUrl = await loadEncoder(card, `${baseUrl}/model.json`);
    try {
      expect(fromFiles.featureSize).toBe(256);
      expect(fromFiles.inputSize).toEqual({ width: 128, height: 128 });
      const a = await embedCar(fromFiles);
      const b = await embedCar(fromHandler);
      const c = await embedCar(fromUrl);
      expect(a.length).toBe(256);
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(Array.from(c)).toEqual(Array.from(a));
      // ReLU6 features, averaged: non-negative, not all zero.
      expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
      expect(a.reduce((s, v) => s + v, 0)).toBeGreaterThan(1);
    } finally {
      fromFiles.dispose();
      fromHandler.dispose();
      fromUrl.dispose();
    }
  });

  it('embeds the same image to the same vector, stable across runs, without leaking tensors', async () => {
    const encoder = await loadEncoder(card, await modelFolderFiles(modelDir));
    try {
      const first = await embedCar(encoder);
      const before = tf.memory().numTensors;
      const image = await new NodeImageDecoder().decode(await diskDatasetFile(carImage()), {
        width: 128,
        height: 128,
        resize: 'squash',
      });
      const twice = await encoder.embed([image, image]);
      const pixels = tf.tensor4d(image.data, [1, 128, 128, 3], 'int32');
      const direct = encoder.embedPixels(pixels);
      const directValues = await direct.data();
      direct.dispose();
      pixels.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(twice.subarray(0, 256))).toEqual(Array.from(first));
      expect(Array.from(twice.subarray(256))).toEqual(Array.from(first));
      for (let i = 0; i < 256; i++) expect(directValues[i]).toBeCloseTo(first[i], 5);
      // Pinned summary of this image's embedding (sharp squash to 128x128); a change means
      // decoding or preprocessing changed, so cached embeddings would no longer match.
      const norm = Math.hypot(...first);
      expect(norm).toBeCloseTo(PINNED_NORM, 1);
    } finally {
      encoder.dispose();
    }
  });

  it('frees its weights on dispose', async () => {
    const before = tf.memory().numTensors;
    const encoder = await loadEncoder(card, await modelFolderFiles(modelDir));
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    encoder.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says when the feature layer is missing, listing candidates', async () => {
    await expect(loadEncoder({ ...card, featureOutput: 'no_such_layer' }, await modelFolderFiles(modelDir))).rejects.toThrow(
      /feature layer "no_such_layer" not found .*candidates: .*MobilenetV1_Logits_AvgPool_1a_AvgPool \[null,1,1,256\]/,
    );
  });

  it('says when the card does not match the model', async () => {
    await expect(
      loadEncoder({ ...card, inputSize: { width: 224, height: 224 } }, await modelFolderFiles(modelDir)),
    ).rejects.toThrow(/model input is \[null,128,128,3\] but card "mobilenet-v1-0.25-128" says 224x224/);
    await expect(loadEncoder({ ...card, featureSize: 512 }, await modelFolderFiles(modelDir))).rejects.toThrow(
      /not 512 features per image/,
    );
  });

  it('refuses a model whose input is not an image', async () => {
    const dense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 4, name: 'logits' })] });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await dense.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    dense.dispose();
    const before = tf.memory().numTensors;
    const promise = loadEncoder({ ...card, featureOutput: 'logits' }, tf.io.fromMemory(artifacts!));
    await expect(promise).rejects.toThrow(EncoderLoadError);
    await expect(promise).rejects.toThrow('model input is [null,10]; an image encoder takes [null,H,W,3]');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports fetch failures with the URL and status, and missing weight files by name', async () => {
    await expect(loadEncoder(card, `${baseUrl}/missing/model.json`)).rejects.toThrow(
      new RegExp(`${baseUrl.replace(/[.:/]/g, '\\$&')}/missing/model.json.*404`),
    );
    const files = (await modelFolderFiles(modelDir)).filter((f) => f.path !== 'weights.bin');
    await expect(loadEncoder(card, files)).rejects.toThrow(/needs weight files that were not dropped: weights.bin/);
    await expect(loadEncoder(card, [])).rejects.toThrow(/No model.json among the 0 dropped files/);
  });
});

// Measured with sharp 0.35 + tfjs 4.22 wasm; the float network differs from the quantised original by ~3e-4.
const PINNED_NORM = 27.07;
