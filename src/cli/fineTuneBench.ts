#!/usr/bin/env node
// `npm run bench:finetune`: fine-tuning the encoder's top against head-only training, per
// split seed, with held-out selection for both; printed as JSON. Also times the two
// formulations of the top (the encoder's layers vs WASM-differentiable primitives).
import { parseArgs } from 'node:util';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildEncoderTop, type TopFormulation } from '../core/encoder/encoderTop';
import { runRecipe, type RecipeOptions, type RecipeReport } from './runRecipe';
import { openEncoder } from './nodeModelSource';
import { say } from './progress';
import { sharedPath } from './sharedFolder';
import { selectBackend } from './tfBackend';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn: () => Promise<void> | void, repeats: number): Promise<number> {
  await fn(); // warm-up: kernels compile, weights move
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/** Seconds for a forward pass and a training step (gradients of the top) of a batch of cut maps, per formulation. */
async function formulationTimes(encoderSpec: string, batch: number, repeats: number) {
  const encoder = await openEncoder(encoderSpec);
  const card = encoder.card;
  const top = buildEncoderTop(encoder.model as tf.LayersModel, { cutLayer: card.cuts![0], featureLayer: card.featureOutput!, pooling: card.pooling });
  const x = tf.tidy(() => tf.relu(tf.randomNormal([batch, ...top.cutShape], 0, 1, 'float32', 1))) as tf.Tensor4D;
  const forward = (f: TopFormulation) => async () => {
    const y = top.applyWith(x, f);
    await y.data();
    y.dispose();
  };
  const step = (f: TopFormulation) => async () => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(top.applyWith(x, f))) as tf.Scalar, top.trainableVariables);
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  };
  const backend = tf.getBackend();
  const out: Record<string, number | string | null> = { backend, batch };
  out.forwardLayersSeconds = await timed(forward('layers'), repeats);
  out.forwardPrimitivesSeconds = await timed(forward('primitives'), repeats);
  out.trainStepPrimitivesSeconds = await timed(step('primitives'), repeats);
  // on WASM this throws mid-gradient: the scope frees what the failed step left on the tape
  tf.engine().startScope();
  try {
    out.trainStepLayersSeconds = await timed(step('layers'), repeats);
  } catch (e) {
    out.trainStepLayersSeconds = null;
    out.trainStepLayersError = (e as Error).message.split('\n')[0];
  } finally {
    tf.engine().endScope();
  }
  x.dispose();
  encoder.dispose();
  top.dispose();
  return out;
}

function pick(r: RecipeReport) {
  return {
    test: { baseline: r.baseline, tuned: r.tuned },
    heldOut: { baseline: r.selection.baseline, tuned: r.selection.tuned },
    epochs: r.training.epochs,
    bestEpoch: r.training.bestEpoch,
    secondsPerEpoch: r.training.secondsPerEpoch,
    stopReason: r.training.stopReason,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      encoder: { type: 'string' },
      cache: { type: 'string' },
      seeds: { type: 'string' },
      blocks: { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      'top-lr': { type: 'string' },
      'top-l2sp': { type: 'string' },
      'top-spatial-dropout': { type: 'string' },
      'top-flip': { type: 'string' },
      'top-warm-start': { type: 'string' },
      'top-flipped-views': { type: 'string' },
      'top-augmented-views': { type: 'string' },
      'top-classes-per-batch': { type: 'string' },
      'selection-metric': { type: 'string' },
      'skip-formulations': { type: 'boolean' },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const backend = await selectBackend('wasm');
  const data = values.data ?? sharedPath('data', 'stanford-cars-40');
  const encoder = values.encoder ?? sharedPath('models', 'mobilenet-v2-1.0-224');
  const seeds = (values.seeds ?? '42,1,2').split(',').map(Number);
  const base: Omit<RecipeOptions, 'training' | 'split'> = {
    data,
    encoder,
    out: '',
    // the runner's own cache: embeddings and cut maps are computed once and reused
    cache: path.resolve(values.cache ?? '.studio-cache'),
    backend: 'wasm',
    cropToBox: false,
    embedBatchSize: 32,
    writeOutputs: false,
  };
  const formulations = values['skip-formulations'] ? null : { wasm: await formulationTimes(encoder, 32, 3) };
  const top = {
    topBlocks: num(values.blocks) ?? 1,
    topLearningRate: num(values['top-lr']),
    topL2sp: num(values['top-l2sp']),
    topSpatialDropout: num(values['top-spatial-dropout']),
    topFlip: values['top-flip'] === undefined ? undefined : values['top-flip'] === 'on',
    topWarmStart: values['top-warm-start'] === undefined ? undefined : values['top-warm-start'] === 'on',
    topFlippedViews: values['top-flipped-views'] === 'on',
    topAugmentedViews: num(values['top-augmented-views']),
    topClassesPerBatch: num(values['top-classes-per-batch']),
  };
  const runs = [];
  let fineTuning: RecipeReport['fineTuning'] = null;
  for (const seed of seeds) {
    const split = { mode: 'seeded' as const, seed, trainFraction: 0.5 };
    const training = { selectionMetric: values['selection-metric'] as 'loss' | 'r-precision' | undefined, topEpochs: num(values.epochs), topPatience: num(values.patience), ...top };
    say(`Seed ${seed}: top + head …`);
    const tuned = await runRecipe({ ...base, split, training });
    fineTuning = tuned.fineTuning;
    // with a warm start the first stage is the head-only run (same split, selection and seed)
    const stage = tuned.fineTuning?.headStage;
    const headOnly = stage
      ? { test: { baseline: tuned.baseline, tuned: stage.test }, heldOut: { baseline: tuned.selection.baseline, tuned: stage.heldOut }, epochs: stage.epochs, bestEpoch: stage.bestEpoch, secondsPerEpoch: stage.seconds / stage.epochs, stopReason: null }
      : pick(await runRecipe({ ...base, split, training: { selectionMetric: training.selectionMetric } }));
    runs.push({
      seed,
      baseline: tuned.baseline,
      headOnly,
      fineTuned: pick(tuned),
      rPrecisionOverHeadOnly: tuned.tuned.rPrecision - headOnly.test.tuned.rPrecision,
    });
  }
  const result = {
    benchmark: 'similarity-studio fine-tuning the top (held-out selection)',
    backend,
    dataset: data,
    encoder,
    fineTuning: fineTuning && {
      cut: fineTuning.cut,
      cutShape: fineTuning.cutShape,
      topLayers: fineTuning.topLayers,
      trainableParameters: fineTuning.trainableParameters,
      learningRates: fineTuning.learningRates,
      formulation: fineTuning.formulation,
      cacheBytesPerImage: fineTuning.cache.bytesPerEmbedding,
      flippedViews: fineTuning.flippedViews,
      augmentedViews: fineTuning.augmentedViews,
    },
    formulations,
    seeds: runs,
    goal: { rPrecisionOverHeadOnly: 0.03, reachedOnEverySeed: runs.every((r) => r.rPrecisionOverHeadOnly >= 0.03) },
    peakMemory: { rssBytes: process.resourceUsage().maxRSS * 1024, tfjsBytesAtEnd: tf.memory().numBytes },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Error: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
