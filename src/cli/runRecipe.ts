import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { splitClasses, type ClassSplit, type ClassSplitMode } from '../core/data/classSplit';
import type { Dataset, ImageRecord } from '../core/data/dataset';
import { imageIdentity, loadDataset } from '../core/data/loadDataset';
import { embedImages } from '../core/encoder/embedImages';
import { buildEncoderTop, topFormulationFor, type EncoderTop, type TopFormulation } from '../core/encoder/encoderTop';
import { augmentedEncoder } from '../core/encoder/augmentedViews';
import { cutEncoder, flippedEncoder, type ImageEncoder } from '../core/encoder/loadEncoder';
import { preprocessingKey, type ModelCard } from '../core/encoder/modelCard';
import { retrievalMetrics, type RetrievalMetrics } from '../core/eval/retrievalMetrics';
import {
  HeadTrainer,
  resolveTrainingConfig,
  validateTrainingConfig,
  type EpochReport,
  type TrainingConfig,
  type TrainingConfigInput,
} from '../core/train/trainer';
import type { DistanceName } from '../core/train/distances';
import type { Mining } from '../core/train/tripletLoss';
import { selectionSets } from '../core/train/selection';
import type { SelectionMetric, SelectionMode } from '../core/train/trainer';
import type { NamedWeights } from '../core/train/heads';
import { STUDIO_VERSION } from '../core/version';
import { DiskEmbeddingCache } from './diskEmbeddingCache';
import type { RunReadmeInfo } from '../core/export/modelReadme';
import { writeHeadExport, writeSimilarityModel } from './headFiles';
import { listFolderFiles } from './nodeFiles';
import { NodeImageDecoder } from './nodeImageDecoder';
import { openEncoder } from './nodeModelSource';
import { formatSeconds, say, TerminalProgress } from './progress';
import { selectBackend, type NodeBackend } from './tfBackend';

export interface RecipeOptions {
  data: string;
  /** A model folder on disk, or a catalog id. */
  encoder: string;
  out: string;
  cache: string;
  backend: NodeBackend;
  split: { mode: ClassSplitMode; seed: number; trainFraction: number };
  cropToBox: boolean;
  embedBatchSize: number;
  /** Sample this many validation queries; undefined = exact over every validation image. */
  evalQueries?: number;
  training: {
    maxEpochs?: number;
    patience?: number;
    learningRate?: number;
    classesPerBatch?: number;
    imagesPerClass?: number;
    mining?: Mining;
    margin?: number;
    distance?: DistanceName;
    dropout?: number;
    selection?: SelectionMode;
    heldOutFraction?: number;
    selectionMetric?: SelectionMetric;
    topBlocks?: number;
    topLearningRate?: number;
    topL2sp?: number;
    topClipNorm?: number;
    topSpatialDropout?: number;
    topFlip?: boolean;
    topWarmStart?: boolean;
    topEpochs?: number;
    topPatience?: number;
    /** Classes per batch of the fine-tuning stage (default: the head's): fewer bound the top's memory on WASM. */
    topClassesPerBatch?: number;
    /** Cache each training image's horizontally flipped view at the cut too, as an extra training sample. */
    topFlippedViews?: boolean;
    /**
     * Cache this many random views (crop of ≥ half the area, resized back, mirrored half the time)
     * of each training image at the cut; each fine-tuning sample is drawn from the image's rows
     * or one of these views. 0 = none.
     */
    topAugmentedViews?: number;
  };
  /** Skip writing report and head (the benchmark only wants the numbers). */
  writeOutputs?: boolean;
}

export type MetricsSummary = Omit<RetrievalMetrics, 'skippedQueries'> & { skippedQueries: number };

export interface RecipeReport {
  studioVersion: string;
  createdAt: string;
  dataset: { folder: string; layout: string; images: number; classes: number; problems: { path: string; message: string }[] };
  split: ClassSplit & { trainClassNames: string[]; validationClassNames: string[]; trainImages: number; validationImages: number };
  encoder: { card: ModelCard; backend: string; preprocessingKey: string };
  embedding: {
    images: number;
    embeddedNow: number;
    fromCache: number;
    failed: { path: string; message: string }[];
    /** Images used with something done to them: a box past the image's edge, clamped. */
    notes: { path: string; message: string }[];
    imagesPerSecond: number | null;
    decodeMs: number;
    inferMs: number;
    seconds: number;
    bytesPerEmbedding: number;
  };
  config: { recipe: Omit<RecipeOptions, 'training'>; training: TrainingConfig };
  /** The frozen encoder on the never-seen test classes. */
  baseline: MetricsSummary;
  /** The tuned model (best epoch) on the never-seen test classes. */
  tuned: MetricsSummary;
  /**
   * How the epoch was chosen. 'heldout': on `heldOutClassNames` (training classes left out of
   * training), the test classes charted only. 'recipe': on the test classes themselves, as the
   * reference does: `tuned` is then chosen on the classes it reports, and flattered.
   */
  selection: {
    mode: SelectionMode;
    heldOutFraction: number | null;
    heldOutClassNames: string[];
    fitImages: number;
    heldOutImages: number;
    /** Metrics on the held-out validation classes (null in recipe selection). */
    baseline: MetricsSummary | null;
    tuned: MetricsSummary | null;
  };
  /** Fine-tuning the encoder's top (null: head only). */
  fineTuning: {
    blocks: number;
    cut: string;
    cutShape: readonly number[];
    topLayers: string[];
    trainableParameters: { top: number; head: number };
    learningRates: { head: number; top: number };
    /** How the top runs: the encoder's layers, or WASM-differentiable primitives. */
    formulation: TopFormulation;
    /** The cut-activation cache (float16). */
    cache: RecipeReport['embedding'] & { precision: 'float16' };
    /** Flipped views added to the training rows (0: none), and their cache. */
    flippedViews: number;
    flippedCache: (RecipeReport['embedding'] & { precision: 'float16' }) | null;
    /** Random augmented views per training image (0: none), and their caches. */
    augmentedViews: number;
    augmentedCaches: (RecipeReport['embedding'] & { precision: 'float16' })[];
    /**
     * The head-only first stage (warm start): the head trained on the pooled embeddings,
     * then fine-tuned with the top from its best weights. `training` below is the second stage.
     */
    headStage: {
      epochs: number;
      bestEpoch: number;
      seconds: number;
      test: MetricsSummary;
      heldOut: MetricsSummary | null;
      history: EpochReport[];
    } | null;
  } | null;
  training: {
    epochs: number;
    bestEpoch: number;
    stopReason: string | null;
    error: string | null;
    seconds: number;
    secondsPerEpoch: number;
    history: EpochReport[];
  };
  outputs: { report: string; head: string; model: string } | null;
}

/** What the downloads' READMEs say of this run. */
function readmeOf(report: RecipeReport): RunReadmeInfo {
  const { split, encoder, config } = report;
  return {
    title: `${path.basename(report.dataset.folder)} · ${encoder.card.name} · run of ${report.createdAt.slice(0, 19).replace('T', ' ')} UTC`,
    encoder: { ...encoder.card },
    distance: config.training.loss.distance,
    split: {
      mode: split.mode,
      seed: split.seed,
      trainFraction: split.trainFraction,
      trainClasses: split.trainClasses.length,
      validationClasses: split.validationClasses.length,
      trainImages: split.trainImages,
      validationImages: split.validationImages,
    },
    baseline: report.baseline,
    tuned: report.tuned,
    bestEpoch: report.training.bestEpoch,
    fineTunedTop: report.fineTuning ? { cut: report.fineTuning.cut, layers: report.fineTuning.topLayers.length } : null,
    created: report.createdAt,
    studioVersion: report.studioVersion,
  };
}

/** One view's rows for these records, in their order; every record must have its view cached. */
function viewRows(records: ImageRecord[], viewCache: DiskEmbeddingCache): Float32Array {
  const rows = new Float32Array(records.length * viewCache.dim);
  records.forEach((record, i) => {
    const row = viewCache.get(imageIdentity(record.file));
    if (!row) throw new Error(`${record.file.path}: no cached view (the view cache is incomplete; run again to finish it)`);
    rows.set(row, i * viewCache.dim);
  });
  return rows;
}

/** The records whose rows are in the cache (and, with `cutCache`, in both), in their order. */
function presentRecords(records: ImageRecord[], cache: DiskEmbeddingCache, cutCache?: DiskEmbeddingCache): ImageRecord[] {
  return records.filter((r) => cache.has(imageIdentity(r.file)) && (!cutCache || cutCache.has(imageIdentity(r.file))));
}

/**
 * Rows of the cache for these records, in order, as one matrix plus labels; with `cutCache`,
 * only records in both, and their cut maps as `cuts` (same rows).
 */
function gather(
  records: ImageRecord[],
  cache: DiskEmbeddingCache,
  cutCache?: DiskEmbeddingCache,
): { embeddings: Float32Array; labels: Int32Array; cuts: Float32Array | null } {
  const present = presentRecords(records, cache, cutCache);
  const embeddings = new Float32Array(present.length * cache.dim);
  const cuts = cutCache ? new Float32Array(present.length * cutCache.dim) : null;
  const labels = new Int32Array(present.length);
  present.forEach((record, i) => {
    embeddings.set(cache.get(imageIdentity(record.file))!, i * cache.dim);
    if (cuts) cuts.set(cutCache!.get(imageIdentity(record.file))!, i * cutCache!.dim);
    labels[i] = record.classId;
  });
  return { embeddings, labels, cuts };
}

async function embedMissing(
  dataset: Dataset,
  encoder: ImageEncoder,
  cache: DiskEmbeddingCache,
  options: RecipeOptions,
  what = 'Embedding',
): Promise<RecipeReport['embedding']> {
  const missing = dataset.images.filter((r) => !cache.has(imageIdentity(r.file)));
  const started = Date.now();
  say(`${what}: ${dataset.images.length - missing.length} of ${dataset.images.length} images already cached; ${missing.length} to embed.`);
  const progress = new TerminalProgress(what, missing.length);
  const failed: { path: string; message: string }[] = [];
  const notes: { path: string; message: string }[] = [];
  let result = { embedded: 0, decodeMs: 0, inferMs: 0 };
  if (missing.length > 0) {
    result = await embedImages({
      encoder,
      decoder: new NodeImageDecoder(),
      files: missing.map((r) => r.file),
      crops: options.cropToBox ? missing.map((r) => r.bbox) : undefined,
      cropSources: options.cropToBox ? missing.map((r) => r.boxSource) : undefined,
      batchSize: options.embedBatchSize,
      onBatch: ({ indices, embeddings }) => cache.append(indices.map((i) => imageIdentity(missing[i].file)), embeddings),
      onProblem: (problem) => {
        failed.push(problem);
        say(`  skipped ${problem.path}: ${problem.message}`);
      },
      onNote: (note) => {
        notes.push(note);
        say(`  note: ${note.message}`);
      },
      onProgress: ({ done }) => progress.update(done),
    });
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    images: dataset.images.length,
    embeddedNow: result.embedded,
    fromCache: dataset.images.length - missing.length,
    failed,
    notes,
    imagesPerSecond: result.embedded > 0 ? result.embedded / seconds : null,
    decodeMs: result.decodeMs,
    inferMs: result.inferMs,
    seconds,
    bytesPerEmbedding: cache.bytesPerEmbedding(),
  };
}

function metricsOf(set: { embeddings: Float32Array; labels: Int32Array }, dim: number, distance: DistanceName, options: RecipeOptions): Promise<MetricsSummary> {
  return retrievalMetrics(set.embeddings, dim, set.labels, { distance, queryCount: options.evalQueries, seed: options.split.seed });
}

function trainingInput(options: RecipeOptions): TrainingConfigInput {
  const t = options.training;
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...defined({
      maxEpochs: t.maxEpochs,
      patience: t.patience,
      learningRate: t.learningRate,
      classesPerBatch: t.classesPerBatch,
      imagesPerClass: t.imagesPerClass,
      seed: options.split.seed,
      validationQueries: options.evalQueries ?? null,
    }),
    loss: defined({ mining: t.mining, margin: t.margin, distance: t.distance }),
    head: defined({ dropout: t.dropout }),
    selection: defined({ mode: t.selection, heldOutFraction: t.heldOutFraction, metric: t.selectionMetric }),
    top: defined({
      blocks: t.topBlocks,
      learningRate: t.topLearningRate,
      l2sp: t.topL2sp,
      clipNorm: t.topClipNorm,
      spatialDropout: t.topSpatialDropout,
      flip: t.topFlip,
      warmStart: t.topWarmStart,
      maxEpochs: t.topEpochs,
      patience: t.topPatience,
    }),
  };
}

/**
 * The whole recipe, headless: detect the layout, split the classes, embed (cached on disk),
 * measure the frozen encoder, train the head, measure it again, export it.
 */
export async function runRecipe(options: RecipeOptions): Promise<RecipeReport> {
  const trainingConfigInput = trainingInput(options);
  const problems = validateTrainingConfig(trainingConfigInput);
  if (problems.length) throw new Error(`Invalid training settings:\n- ${problems.join('\n- ')}`);
  const trainingConfig = resolveTrainingConfig(trainingConfigInput);

  const backend = await selectBackend(options.backend);
  say(`tfjs backend: ${backend}`);

  if (!existsSync(options.data)) throw new Error(`The dataset folder ${options.data} does not exist.`);
  const dataset = await loadDataset(await listFolderFiles(options.data));
  say(`Dataset: ${dataset.layout} layout, ${dataset.images.length} images of ${dataset.classNames.length} classes, ${dataset.problems.length} problems.`);
  for (const problem of dataset.problems.slice(0, 20)) say(`  ${problem.path}: ${problem.message}`);
  if (dataset.problems.length > 20) say(`  … and ${dataset.problems.length - 20} more (all in report.json)`);

  const split = splitClasses(dataset.classNames.length, options.split);
  const isTrainClass = new Set(split.trainClasses);
  const trainRecords = dataset.images.filter((r) => isTrainClass.has(r.classId));
  const validationRecords = dataset.images.filter((r) => !isTrainClass.has(r.classId));
  say(`Split (${split.mode}, seed ${split.seed}): ${split.trainClasses.length} training classes (${trainRecords.length} images), ${split.validationClasses.length} validation classes (${validationRecords.length} images).`);

  const encoder = await openEncoder(options.encoder);
  const key = preprocessingKey(encoder.card, { cropToBox: options.cropToBox });
  say(`Encoder: ${encoder.card.name} (${encoder.card.inputSize.width}x${encoder.card.inputSize.height} -> ${encoder.featureSize})`);
  const cache = await DiskEmbeddingCache.open(options.cache, key, encoder.featureSize);
  let embedding: RecipeReport['embedding'];
  let cutCache: DiskEmbeddingCache | undefined;
  let cutEmbedding: RecipeReport['embedding'] | undefined;
  let flipCache: DiskEmbeddingCache | undefined;
  let flipEmbedding: RecipeReport['embedding'] | undefined;
  const viewCaches: DiskEmbeddingCache[] = [];
  const viewEmbeddings: RecipeReport['embedding'][] = [];
  let top: EncoderTop | null = null;
  try {
    embedding = await embedMissing(dataset, encoder, cache, options);
    if (trainingConfig.top.blocks > 0) {
      const { card } = encoder;
      const cuts = card.cuts ?? [];
      if (cuts.length < trainingConfig.top.blocks) {
        throw new Error(
          `--train-top-blocks ${trainingConfig.top.blocks}: encoder "${card.id}" ` +
            (cuts.length ? `has ${cuts.length} cuts (${cuts.join(', ')})` : `cannot be cut (${card.cutsUnavailable ?? 'its card names no cut'})`),
        );
      }
      const cutLayer = cuts[trainingConfig.top.blocks - 1];
      const toCut = cutEncoder(encoder, cutLayer);
      cutCache = await DiskEmbeddingCache.open(options.cache, `${key}|cut=${cutLayer}`, toCut.featureSize, 'float16');
      cutEmbedding = await embedMissing(dataset, toCut, cutCache, options, `Caching the cut ${cutLayer}`);
      if (options.training.topFlippedViews) {
        // training images only: the flipped views are extra training samples, never evaluated
        flipCache = await DiskEmbeddingCache.open(options.cache, `${key}|cut=${cutLayer}|flipped`, toCut.featureSize, 'float16');
        flipEmbedding = await embedMissing({ ...dataset, images: trainRecords }, flippedEncoder(toCut), flipCache, options, `Caching flipped views at ${cutLayer}`);
      }
      const viewCount = options.training.topAugmentedViews ?? 0;
      if (!Number.isInteger(viewCount) || viewCount < 0 || viewCount > 16) throw new Error(`--top-augmented-views must be a whole number from 0 to 16, got ${viewCount}`);
      for (let v = 1; v <= viewCount; v++) {
        // training images only, like the flipped views; view v is seeded by v, so a cache stays one draw
        const viewCache = await DiskEmbeddingCache.open(options.cache, `${key}|cut=${cutLayer}|view=crop${v}`, toCut.featureSize, 'float16');
        viewEmbeddings.push(await embedMissing({ ...dataset, images: trainRecords }, augmentedEncoder(toCut, v), viewCache, options, `Caching random view ${v} of ${viewCount} at ${cutLayer}`));
        viewCaches.push(viewCache);
      }
      top = buildEncoderTop(encoder.model as tf.LayersModel, {
        cutLayer,
        featureLayer: card.featureOutput!,
        pooling: card.pooling,
        formulation: topFormulationFor(backend),
      });
      say(`Fine-tuning the top from ${cutLayer} [${top.cutShape.join('x')}]: ${top.layerNames.length} layers, ${top.parameterCount} parameters, ${top.formulation} formulation, lr ${trainingConfig.top.learningRate} (head ${trainingConfig.learningRate}).`);
    }
  } catch (e) {
    top?.dispose();
    encoder.dispose();
    throw e;
  }
  // the encoder stays loaded for the similarity model export (<out>/model/)

  const dim = cache.dim;
  const train = gather(trainRecords, cache, cutCache);
  const validation = gather(validationRecords, cache, cutCache);
  const distance = trainingConfig.loss.distance;
  const baseline = await metricsOf(validation, dim, distance, options);
  say(`Baseline (frozen encoder) on ${validation.labels.length} test images: R-Precision ${baseline.rPrecision.toFixed(4)} (macro ${baseline.rPrecisionMacro.toFixed(4)}), P@1 ${baseline.precisionAt1.toFixed(4)}, MAP@R ${baseline.mapAtR.toFixed(4)}`);

  const sets = selectionSets(train, validation, dim, trainingConfig.selection, split.seed);
  const heldOutBaseline = sets.charted ? await metricsOf(sets.selection, dim, distance, options) : null;
  say(
    sets.charted
      ? `Model selection: held out ${sets.heldOutClasses.length} of ${split.trainClasses.length} training classes (${sets.selection.labels.length} images) to choose the epoch; the test classes are charted, never used to choose.`
      : 'Model selection: recipe (the epoch is chosen on the test classes, as the reference does; this flatters the result).',
  );
  // what the model reads: the pooled embeddings, or (fine-tuning) the cut maps of the same rows
  const inputSize = top ? top.cutShape.reduce((a, b) => a * b, 1) : dim;
  const inputsOf = (set: typeof train) => ({ embeddings: top ? set.cuts! : set.embeddings, labels: set.labels });
  const inputSets = top ? selectionSets(inputsOf(train), inputsOf(validation), inputSize, trainingConfig.selection, split.seed) : sets;
  let flippedViews = 0;
  const fitClasses = new Set(inputSets.fit.labels);
  // the records behind the fit rows, in their order (what gather kept, less the held-out classes)
  const fitRecords = cutCache ? presentRecords(trainRecords.filter((r) => fitClasses.has(r.classId)), cache, cutCache) : [];
  const viewRecords = [...fitRecords];
  if (top && flipCache) {
    // the fit classes' flipped views join their training rows (same labels; the held-out classes get none)
    const flippedRecords = presentRecords(fitRecords, flipCache);
    viewRecords.push(...flippedRecords);
    const flipped = gather(flippedRecords, flipCache);
    flippedViews = flipped.labels.length;
    const embeddings = new Float32Array(inputSets.fit.embeddings.length + flipped.embeddings.length);
    embeddings.set(inputSets.fit.embeddings);
    embeddings.set(flipped.embeddings, inputSets.fit.embeddings.length);
    const labels = new Int32Array(inputSets.fit.labels.length + flippedViews);
    labels.set(inputSets.fit.labels);
    labels.set(flipped.labels, inputSets.fit.labels.length);
    inputSets.fit = { embeddings, labels };
    say(`Flipped views: ${flippedViews} added to the ${labels.length - flippedViews} training rows.`);
  }
  const trainViews = viewCaches.map((viewCache) => viewRows(viewRecords, viewCache));
  if (trainViews.length) say(`Random views: each of the ${viewRecords.length} training rows is drawn as itself or one of its ${trainViews.length} cached views.`);
  const testInputs = inputsOf(validation);
  const charted = inputSets.charted;
  const logEpoch = (started: number) => (r: EpochReport) => {
    const elapsed = (Date.now() - started) / 1000;
    say(
      `  epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, val loss ${r.validationLoss.toFixed(4)}, R-Precision ${r.rPrecision.toFixed(4)}` +
        `${r.test ? ` (test ${r.test.rPrecision.toFixed(4)})` : ''}${r.isBest ? ' *' : ''} (${r.seconds.toFixed(2)}s; ${formatSeconds(elapsed)} so far)`,
    );
  };

  let headStage: NonNullable<RecipeReport['fineTuning']>['headStage'] = null;
  let initialWeights: NamedWeights | undefined;
  if (top && trainingConfig.top.warmStart) {
    say(`Stage 1 of 2: the head alone on the pooled embeddings (up to ${trainingConfig.maxEpochs} epochs, patience ${trainingConfig.patience}).`);
    const pooledCharted = sets.charted;
    const headTrainer = new HeadTrainer({
      config: { ...trainingConfig, top: { ...trainingConfig.top, blocks: 0 } },
      train: sets.fit,
      validation: sets.selection,
      dim,
      chart: pooledCharted
        ? (embed) => metricsOf({ embeddings: embed(pooledCharted.embeddings), labels: pooledCharted.labels }, dim, distance, options)
        : undefined,
    });
    const started = Date.now();
    const headState = await headTrainer.fitAsync(logEpoch(started));
    initialWeights = headTrainer.head.getWeights();
    headStage = {
      epochs: headState.epoch,
      bestEpoch: headState.bestEpoch,
      seconds: (Date.now() - started) / 1000,
      test: await metricsOf({ embeddings: headTrainer.embed(validation.embeddings), labels: validation.labels }, dim, distance, options),
      heldOut: sets.charted
        ? await metricsOf({ embeddings: headTrainer.embed(sets.selection.embeddings), labels: sets.selection.labels }, dim, distance, options)
        : null,
      history: headState.history,
    };
    headTrainer.dispose();
    say(`Head only (best epoch ${headStage.bestEpoch}): test R-Precision ${headStage.test.rPrecision.toFixed(4)}. Stage 2 of 2: top and head from it.`);
  }
  const trainer = new HeadTrainer({
    config: top
      ? {
          ...trainingConfig,
          maxEpochs: trainingConfig.top.maxEpochs,
          patience: trainingConfig.top.patience,
          classesPerBatch: options.training.topClassesPerBatch ?? trainingConfig.classesPerBatch,
        }
      : trainingConfig,
    train: inputSets.fit,
    validation: inputSets.selection,
    dim,
    top: top ?? undefined,
    trainViews: trainViews.length ? trainViews : undefined,
    initialWeights,
    initialIsCandidate: initialWeights !== undefined,
    chart: charted ? (embed) => metricsOf({ embeddings: embed(charted.embeddings), labels: charted.labels }, dim, distance, options) : undefined,
  });
  const trainingStarted = Date.now();
  say(`Training: up to ${trainer.config.maxEpochs} epochs of ${trainer.stepsPerEpoch} steps (P=${trainer.config.classesPerBatch} x K=${trainingConfig.imagesPerClass}, mining ${trainingConfig.loss.mining}), patience ${trainer.config.patience}.`);
  const state = await trainer.fitAsync(logEpoch(trainingStarted));
  const trainingSeconds = (Date.now() - trainingStarted) / 1000;
  if (state.error) say(`Training stopped: ${state.error}`);
  const tunedValidation = { embeddings: trainer.embed(testInputs.embeddings), labels: validation.labels };
  const tuned = await metricsOf(tunedValidation, dim, distance, options);
  const heldOutTuned = charted
    ? await metricsOf({ embeddings: trainer.embed(inputSets.selection.embeddings), labels: inputSets.selection.labels }, dim, distance, options)
    : null;
  say(`Tuned (best epoch ${state.bestEpoch}): R-Precision ${tuned.rPrecision.toFixed(4)} (macro ${tuned.rPrecisionMacro.toFixed(4)}), P@1 ${tuned.precisionAt1.toFixed(4)}, MAP@R ${tuned.mapAtR.toFixed(4)}`);

  const { training: _training, ...recipeConfig } = options;
  const report: RecipeReport = {
    studioVersion: STUDIO_VERSION,
    createdAt: new Date().toISOString(),
    dataset: {
      folder: options.data,
      layout: dataset.layout,
      images: dataset.images.length,
      classes: dataset.classNames.length,
      problems: dataset.problems,
    },
    split: {
      ...split,
      trainClassNames: split.trainClasses.map((c) => dataset.classNames[c]),
      validationClassNames: split.validationClasses.map((c) => dataset.classNames[c]),
      trainImages: train.labels.length,
      validationImages: validation.labels.length,
    },
    encoder: { card: encoder.card, backend, preprocessingKey: key },
    embedding,
    config: { recipe: recipeConfig, training: trainingConfig },
    baseline,
    tuned,
    selection: {
      mode: trainingConfig.selection.mode,
      heldOutFraction: charted ? trainingConfig.selection.heldOutFraction : null,
      heldOutClassNames: sets.heldOutClasses.map((c) => dataset.classNames[c]),
      fitImages: sets.fit.labels.length,
      heldOutImages: charted ? sets.selection.labels.length : 0,
      baseline: heldOutBaseline,
      tuned: heldOutTuned,
    },
    fineTuning: top
      ? {
          blocks: trainingConfig.top.blocks,
          cut: top.cutLayer,
          cutShape: top.cutShape,
          topLayers: top.layerNames,
          trainableParameters: { top: top.parameterCount, head: trainer.head.trainableVariables.reduce((a, v) => a + v.size, 0) },
          learningRates: { head: trainingConfig.learningRate, top: trainingConfig.top.learningRate },
          formulation: top.formulation,
          cache: { ...cutEmbedding!, precision: 'float16' },
          flippedViews,
          flippedCache: flipEmbedding ? { ...flipEmbedding, precision: 'float16' } : null,
          augmentedViews: trainViews.length,
          augmentedCaches: viewEmbeddings.map((e) => ({ ...e, precision: 'float16' as const })),
          headStage,
        }
      : null,
    training: {
      epochs: state.epoch,
      bestEpoch: state.bestEpoch,
      stopReason: state.stopReason,
      error: state.error,
      seconds: trainingSeconds,
      secondsPerEpoch: state.epoch > 0 ? trainingSeconds / state.epoch : 0,
      history: state.history,
    },
    outputs: null,
  };

  if (options.writeOutputs !== false) {
    await mkdir(options.out, { recursive: true });
    const headFolder = path.join(options.out, 'head');
    const modelFolder = path.join(options.out, 'model');
    const readme = readmeOf(report);
    await writeHeadExport(headFolder, trainer.head, { dropout: trainingConfig.head.dropout, readme, ...(top ? { top } : {}) });
    await writeSimilarityModel(modelFolder, encoder, trainer.head, readme);
    const reportPath = path.join(options.out, 'report.json');
    report.outputs = { report: reportPath, head: headFolder, model: modelFolder };
    await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  }
  trainer.dispose();
  top?.dispose();
  encoder.dispose();
  if (tf.memory().numTensors > 0) say(`(tfjs holds ${tf.memory().numTensors} tensors at the end)`);
  return report;
}

export { STUDIO_VERSION };
