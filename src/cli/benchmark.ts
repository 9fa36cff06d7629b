import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { listFolderFiles } from './nodeFiles';
import { NodeImageDecoder } from './nodeImageDecoder';
import { runRecipe, type RecipeOptions } from './runRecipe';
import { sharedPath } from './sharedFolder';
import { say } from './progress';
import { loadDataset } from '../core/data/loadDataset';
import { selectBackend } from './tfBackend';
import { buildFullScaleDevkit } from './fullScaleDataset';
import { openEncoder } from './nodeModelSource';

const FULL_SCALE_EPOCHS = 10;

/** How many images the bare-encoder and decode-only measurements use. */
const SAMPLE_IMAGES = 128;

/**
 * Decode alone and inference alone on the same sample, so the pipeline's images/s can be
 * read against what the bare encoder does on this backend.
 */
async function measureStages(options: RecipeOptions) {
  await selectBackend(options.backend);
  const dataset = await loadDataset(await listFolderFiles(options.data));
  const files = dataset.images.slice(0, SAMPLE_IMAGES).map((r) => r.file);
  const encoder = await openEncoder(options.encoder);
  const card = encoder.card;
  const decoder = new NodeImageDecoder();
  const spec = { ...encoder.inputSize, resize: card.resize ?? 'squash' } as const;

  let started = performance.now();
  const images = [];
  for (const file of files) images.push(await decoder.decode(file, spec));
  const decodeMsPerImage = (performance.now() - started) / files.length;

  started = performance.now();
  for (let i = 0; i < images.length; i += options.embedBatchSize) {
    await encoder.embed(images.slice(i, i + options.embedBatchSize));
  }
  const bareEncoderImagesPerSecond = images.length / ((performance.now() - started) / 1000);
  encoder.dispose();
  return { sampleImages: files.length, decodeMsPerImage, bareEncoderImagesPerSecond };
}

/**
 * `npm run bench`: the whole recipe on a fresh cache (so embedding is measured), plus the
 * encoder alone, printed as JSON. Defaults to the shared Stanford Cars subset and
 * MobileNetV2 1.0/224.
 */
export async function runBenchmark(options: RecipeOptions, { fullScale = false } = {}) {
  const cache = await mkdtemp(path.join(tmpdir(), 'studio-bench-'));
  let data = options.data || sharedPath('data', 'stanford-cars-40');
  if (fullScale) {
    data = path.join(cache, 'stanford-cars-full-scale');
    const { linked, sources } = await buildFullScaleDevkit(
      sharedPath('data', 'stanford-cars-devkit'),
      sharedPath('data', 'stanford-cars-40', 'cars_train'),
      data,
    );
    say(`Full-scale stand-in: ${linked} annotated images linked to the ${sources} real ones (quality numbers are meaningless; time and memory are real).`);
  }
  // MobileNetV2 embeds ~6 images/s on 2 cores: 16,185 images would take 45 minutes.
  const encoder = options.encoder || sharedPath('models', fullScale ? 'mobilenet-v1-0.25-128' : 'mobilenet-v2-1.0-224');
  // The stand-in's labels do not match its pictures, so early stopping would wait out its
  // patience for nothing; a few epochs measure the time per epoch at full size.
  const training = fullScale ? { ...options.training, maxEpochs: options.training.maxEpochs ?? FULL_SCALE_EPOCHS } : options.training;
  const benchOptions: RecipeOptions = { ...options, data, encoder, cache, training, writeOutputs: false };
  try {
    say('Benchmark: encoder alone …');
    const stages = await measureStages(benchOptions);
    say('Benchmark: the whole recipe on an empty cache …');
    const report = await runRecipe(benchOptions);
    return {
      benchmark: fullScale ? 'similarity-studio recipe, full-scale stand-in' : 'similarity-studio recipe',
      dataset: { folder: data, images: report.dataset.images, classes: report.dataset.classes },
      encoder: { folder: encoder, featureSize: report.encoder.card.featureSize, backend: report.encoder.backend },
      embedding: {
        pipelineImagesPerSecond: report.embedding.imagesPerSecond,
        bareEncoderImagesPerSecond: stages.bareEncoderImagesPerSecond,
        pipelineOverBareEncoder:
          report.embedding.imagesPerSecond === null ? null : report.embedding.imagesPerSecond / stages.bareEncoderImagesPerSecond,
        decodeMsPerImage: stages.decodeMsPerImage,
        pipelineDecodeMs: report.embedding.decodeMs,
        pipelineInferMs: report.embedding.inferMs,
        bytesPerCachedEmbedding: report.embedding.bytesPerEmbedding,
      },
      training: {
        config: report.config.training,
        epochs: report.training.epochs,
        bestEpoch: report.training.bestEpoch,
        secondsPerEpoch: report.training.secondsPerEpoch,
        stopReason: report.training.stopReason,
      },
      quality: {
        split: { mode: report.split.mode, seed: report.split.seed, trainClasses: report.split.trainClasses.length, validationClasses: report.split.validationClasses.length, validationImages: report.split.validationImages },
        baseline: report.baseline,
        tuned: report.tuned,
        rPrecisionGain: report.tuned.rPrecision / report.baseline.rPrecision,
      },
      peakMemory: { rssBytes: peakRss(), tfjsBytes: tf.memory().numBytes },
    };
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

function peakRss(): number {
  // maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS * 1024;
}
