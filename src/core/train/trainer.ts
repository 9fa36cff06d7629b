import * as tf from '@tensorflow/tfjs';
import { retrievalMetrics } from '../eval/retrievalMetrics';
import { PKBatchSampler } from './batchSampler';
import type { DistanceName } from './distances';
import { createIdentityHead, createSkipConnectionHead, type Head, type NamedWeights } from './heads';
import { randomInt, seededRandom, type RandomSource } from '../random/randomSource';
import { tripletLoss } from './tripletLoss';

export {
  DEFAULT_TRAINING_CONFIG,
  MAX_BATCH_SIZE,
  resolveTrainingConfig,
  validateTrainingConfig,
  headWeightShapes,
  initialWeightsProblem,
  type SelectionMetric,
  type SelectionMode,
  type TopTrainingConfig,
  type TrainingConfig,
  type TrainingConfigInput,
} from './trainingConfig';
import { initialWeightsProblem, resolveTrainingConfig, validateTrainingConfig, type TrainingConfig, type TrainingConfigInput } from './trainingConfig';

/** Cached encoder outputs: `labels.length` rows of `dim` values, row-major. */
export interface LabelledEmbeddings {
  embeddings: Float32Array;
  labels: Int32Array;
}

export interface EpochReport {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean triplet loss over the epoch's training batches (dropout on). */
  trainLoss: number;
  /** Mean triplet loss over fixed P×K batches of the validation classes (eval mode). */
  validationLoss: number;
  /** Micro R-Precision (the reference's), self excluded. */
  rPrecision: number;
  /** Macro R-Precision (pytorch-metric-learning's). */
  rPrecisionMacro: number;
  precisionAt1: number;
  mapAtR: number;
  /** Wall time of the epoch, training and evaluation. */
  seconds: number;
  /** The lowest validation loss so far (its weights are kept). */
  isBest: boolean;
  /** Set when this epoch ended training with an error (e.g. a non-finite loss). */
  error?: string;
  /**
   * The never-seen test classes, charted (held-out selection): computed by the caller's
   * `chart` after the epoch was judged, never read by the selection.
   */
  test?: ChartedMetrics;
}

/** Retrieval quality on a charted set. */
export interface ChartedMetrics {
  rPrecision: number;
  rPrecisionMacro: number;
  precisionAt1: number;
  mapAtR: number;
}

/**
 * The encoder's trainable top (core/encoder's `EncoderTop`): cached cut activations
 * [n, h, w, c] in, pooled features [n, featureSize] out, its variables shared with the encoder.
 */
export interface TrainableTop {
  readonly cutShape: readonly [number, number, number];
  readonly featureSize: number;
  readonly trainableVariables: tf.Variable[];
  /**
   * The top's forward pass; with `training` it must be differentiable on the current backend
   * (it need not be otherwise: evaluation may take a faster path computing the same function).
   */
  apply(x: tf.Tensor4D, training?: boolean): tf.Tensor2D;
}

export interface Evaluation {
  validationLoss: number;
  rPrecision: number;
  rPrecisionMacro: number;
  precisionAt1: number;
  mapAtR: number;
  queryCount: number;
}

export type StopReason = 'max-epochs' | 'early-stopping' | 'stopped' | 'non-finite-loss';

export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Epoch with the lowest validation loss (0 = none yet). */
  bestEpoch: number;
  /** Its selection score: the validation loss, or 1 − R-Precision with `selection.metric` 'r-precision'. */
  bestValidationLoss: number;
  history: EpochReport[];
  isDone: boolean;
  stopReason: StopReason | null;
  /** A readable message when training ended on an error. */
  error: string | null;
}

/** Retrieval metrics of `labels.length` rows of `dim` (values, or a tensor on the backend). */
export type RetrievalMetricsFn = (
  embeddings: Float32Array | tf.Tensor,
  dim: number,
  labels: Int32Array,
  opts?: { distance?: DistanceName; queryCount?: number; seed?: number },
) => RetrievalScores | Promise<RetrievalScores>;

type RetrievalScores = { rPrecision: number; rPrecisionMacro: number; precisionAt1: number; mapAtR: number; queryCount: number };

export interface HeadTrainerOptions {
  config?: TrainingConfigInput;
  train: LabelledEmbeddings;
  validation: LabelledEmbeddings;
  dim: number;
  /** Generator for head init, dropout and batches; default seeded from `config.seed`. */
  random?: RandomSource;
  /** Retrieval metrics used for validation; default core/eval's `retrievalMetrics`. */
  metrics?: RetrievalMetricsFn;
  /**
   * Fine-tune this encoder top with the head: `train` and `validation` then hold cut
   * activations (rows of h·w·c, `top.cutShape`) and `dim` is the top's feature size. Its
   * learning rate, L2-SP, clipping and augmentation come from `config.top`.
   */
  top?: TrainableTop;
  /**
   * Fine-tuning only: other views of every training row (each the size and row order of
   * `train.embeddings`, e.g. cached cut maps of augmented copies of the same images). Each
   * sampled row is then drawn, per step, from the row itself or one of its views, uniformly:
   * more variety at the same number of steps per epoch.
   */
  trainViews?: Float32Array[];
  /**
   * Called after each epoch has been judged (best, stopping) with the model as it is now
   * (`embed`: input rows -> output rows, eval mode; `outputs`: the same as a tensor left on the
   * backend, which the caller disposes); what it returns is stored as the report's `test`. The
   * selection never reads it: pass the test classes here, not as `validation`.
   */
  chart?: (
    embed: (inputs: Float32Array) => Float32Array,
    outputs: (inputs: Float32Array) => tf.Tensor2D,
  ) => ChartedMetrics | Promise<ChartedMetrics>;
  /**
   * Start from these weights instead of a fresh head (continue training a loaded head). Names
   * and shapes must be the head's (`initialWeightsProblem`). Best-weights tracking starts from
   * them: a run stopped (or diverging) before an epoch finishes keeps them; the first finished
   * epoch then counts as best as in a fresh run (its loss is not compared with theirs). The fresh init is
   * still drawn first, so batches and dropout match a fresh run with the same seed; Adam's
   * moments start at zero.
   */
  initialWeights?: NamedWeights;
  /**
   * The starting weights (the given head and top) compete for the best epoch as "epoch 0":
   * they are evaluated before the first epoch, and kept unless an epoch beats their
   * validation loss (then `bestEpoch` stays 0). For a second stage that must not do worse than
   * its start, e.g. fine-tuning the top from a trained head. Default false.
   */
  initialIsCandidate?: boolean;
}

/**
 * Trains a head on cached embeddings with triplet loss and Adam, umap-js style:
 * `step()` runs one epoch and evaluates, `fitAsync(onEpoch)` loops until done (the callback
 * returning false stops it), `stop()` ends it after the current epoch, `getState()` reports.
 *
 * The weights with the lowest validation loss are kept; whenever training ends (max epochs,
 * early stopping, stop, non-finite loss) the head is restored to them. Call `dispose()` to free
 * the optimizer and the embeddings' tensors (and the head, unless you `detachHead()` first).
 */
export class HeadTrainer {
  readonly config: TrainingConfig;
  readonly dim: number;
  readonly head: Head;
  private readonly train: LabelledEmbeddings;
  private readonly validation: LabelledEmbeddings;
  /** The training rows, then each of their views (`trainViews`), on the backend. */
  private readonly trainX: tf.Tensor;
  private readonly viewCount: number;
  private readonly validationX: tf.Tensor;
  /** The encoder top being fine-tuned, or null (head only). */
  readonly top: TrainableTop | null;
  /** Values per input row: `dim`, or h·w·c of the top's cut. */
  readonly inputDim: number;
  private readonly topOptimizer: tf.Optimizer | null = null;
  /** The top's pretrained weights, for L2-SP. */
  private readonly topInitial: tf.Tensor[] = [];
  private readonly random: RandomSource;
  private readonly chart: HeadTrainerOptions['chart'];
  private initialPending: boolean;
  private readonly sampler: PKBatchSampler;
  private readonly optimizer: tf.Optimizer | null;
  private readonly metrics: RetrievalMetricsFn;
  private readonly history: EpochReport[] = [];
  /** Copies of the trainable variables at the best epoch (kept on the backend: no read-back). */
  private bestWeights: tf.Tensor[] | null = null;
  /** Fixed P×K batches of the validation set for the validation loss: row indices and labels. */
  private readonly validationBatches: { rows: Int32Array; indices: tf.Tensor1D; labels: Int32Array }[];
  private bestEpoch = 0;
  private bestValidationLoss = Infinity;
  private stopRequested = false;
  private stepping = false;
  private stopReason: StopReason | null = null;
  private error: string | null = null;
  private ownsHead = true;
  /** The head started from `initialWeights` (kept as the best until an epoch finishes). */
  private startedFromWeights = false;
  private disposed = false;

  constructor(opts: HeadTrainerOptions) {
    const problems = validateTrainingConfig(opts.config ?? {});
    if (problems.length) throw new Error(`Invalid training config:\n- ${problems.join('\n- ')}`);
    this.config = resolveTrainingConfig(opts.config);
    const { dim } = opts;
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be an integer ≥ 1, got ${dim}`);
    this.dim = dim;
    this.top = opts.top ?? null;
    if (opts.trainViews?.length && !this.top) throw new Error('trainViews are for fine-tuning the top (cut maps); a head-only run has none');
    if (this.top && this.top.featureSize !== dim) {
      throw new Error(`dim must be the top's feature size ${this.top.featureSize}, got ${dim}`);
    }
    this.inputDim = this.top ? this.top.cutShape.reduce((a, b) => a * b, 1) : dim;
    this.chart = opts.chart;
    this.initialPending = opts.initialIsCandidate ?? false;
    checkSet('train', opts.train, this.inputDim);
    checkSet('validation', opts.validation, this.inputDim);
    const trainClasses = eligibleClassCount(opts.train.labels);
    if (trainClasses < 2) {
      throw new Error(
        `Training needs at least 2 classes with 2 or more images each, got ${trainClasses} ` +
          `(${new Set(opts.train.labels).size} classes, ${opts.train.labels.length} images)`,
      );
    }
    if (opts.validation.labels.length === 0) {
      throw new Error('No validation classes: validation needs at least 2 classes with 2 or more images each');
    }
    const validationClasses = eligibleClassCount(opts.validation.labels);
    if (validationClasses < 2) {
      throw new Error(
        `Validation needs at least 2 classes with 2 or more images each, got ${validationClasses} ` +
          `(${new Set(opts.validation.labels).size} classes, ${opts.validation.labels.length} images)`,
      );
    }
    if (opts.initialWeights !== undefined) {
      const problem = initialWeightsProblem(opts.initialWeights, this.config.head.kind, dim);
      if (problem) throw new Error(problem);
    }
    this.train = opts.train;
    this.validation = opts.validation;
    this.metrics = opts.metrics ?? retrievalMetrics;
    const random = opts.random ?? seededRandom(this.config.seed);
    this.random = random;
    const { head: h } = this.config;
    this.head =
      h.kind === 'identity'
        ? createIdentityHead(dim)
        : createSkipConnectionHead(dim, { dropout: h.dropout, gateInit: h.gateInit, random });
    if (opts.initialWeights) {
      this.head.setWeights(opts.initialWeights);
      this.startedFromWeights = true;
      // best-weights tracking starts from the given weights: kept until an epoch finishes
      this.bestWeights = this.trainedVariables.map((v) => tf.clone(v));
    }
    this.sampler = new PKBatchSampler(opts.train.labels, {
      classesPerBatch: this.config.classesPerBatch,
      imagesPerClass: this.config.imagesPerClass,
      random,
    });
    const rowsShape = (n: number) => (this.top ? [n, ...this.top.cutShape] : [n, dim]);
    const views = opts.trainViews ?? [];
    views.forEach((v, i) => {
      if (v.length !== opts.train.embeddings.length) {
        throw new Error(`trainViews[${i}] has ${v.length} values; it must match the training rows (${opts.train.embeddings.length})`);
      }
    });
    this.viewCount = views.length;
    const n = opts.train.labels.length;
    this.trainX = views.length
      ? tf.tidy(() => tf.concat([opts.train.embeddings, ...views].map((v) => tf.tensor(v, rowsShape(n)))))
      : tf.tensor(opts.train.embeddings, rowsShape(n));
    this.validationX = tf.tensor(opts.validation.embeddings, rowsShape(opts.validation.labels.length));
    // the same validation batches every epoch (own fixed seed), so epochs compare on equal terms
    const validationSampler = new PKBatchSampler(opts.validation.labels, {
      classesPerBatch: this.config.classesPerBatch,
      imagesPerClass: this.config.imagesPerClass,
      random: seededRandom((this.config.seed ^ 0x5eed) >>> 0),
    });
    this.validationBatches = validationSampler.epoch().map((batch) => ({
      rows: batch,
      indices: tf.tensor1d(batch, 'int32'),
      labels: gatherLabels(opts.validation.labels, batch),
    }));
    // eps 1e-8 as PyTorch's default (tfjs's default is the backend's epsilon, up to 1e-4)
    this.optimizer = this.head.trainableVariables.length ? tf.train.adam(this.config.learningRate, 0.9, 0.999, 1e-8) : null;
    if (this.top) {
      this.topOptimizer = tf.train.adam(this.config.top.learningRate, 0.9, 0.999, 1e-8);
      if (this.config.top.l2sp > 0) this.topInitial = this.top.trainableVariables.map((v) => tf.clone(v));
    }
  }

  /** Lower is better: the validation loss, or 1 − R-Precision (`selection.metric`). */
  private selectionScore(e: Evaluation): number {
    return this.config.selection.metric === 'r-precision' ? 1 - e.rPrecision : e.validationLoss;
  }

  /** Everything that trains: the head's variables, then the top's. */
  private get trainedVariables(): tf.Variable[] {
    return [...this.head.trainableVariables, ...(this.top?.trainableVariables ?? [])];
  }

  get isDone(): boolean {
    return this.stopReason !== null;
  }

  /** Batches per training epoch. */
  get stepsPerEpoch(): number {
    return this.sampler.stepsPerEpoch;
  }

  /**
   * End training (restoring the best weights): at once between epochs, or at the end of the
   * epoch in progress.
   */
  stop(): void {
    this.stopRequested = true;
    if (!this.stepping && !this.isDone) this.finish('stopped');
  }

  getState(): TrainingState {
    return {
      epoch: this.history.length,
      bestEpoch: this.bestEpoch,
      bestValidationLoss: this.bestValidationLoss,
      history: this.history.slice(),
      isDone: this.isDone,
      stopReason: this.stopReason,
      error: this.error,
    };
  }

  /** Run one epoch, then evaluate on the validation set. */
  async step(): Promise<EpochReport> {
    this.checkUsable();
    if (this.isDone) throw new Error(`Training is already done (${this.stopReason}); create a new HeadTrainer to train again`);
    if (this.stepping) throw new Error('An epoch is already running; await it before calling step() again');
    if (this.initialPending) {
      this.initialPending = false;
      // epoch 0: the starting weights' validation loss is the one to beat
      this.bestValidationLoss = this.selectionScore(await this.evaluate());
      tf.dispose(this.bestWeights ?? []);
      this.bestWeights = this.trainedVariables.map((v) => tf.clone(v));
    }
    const started = Date.now();
    const epoch = this.history.length + 1;
    this.stepping = true;
    let trainLoss: number;
    let evaluation: Evaluation;
    try {
      trainLoss = await this.trainEpoch();
      evaluation = Number.isFinite(trainLoss)
        ? await this.evaluate()
        : { validationLoss: NaN, rPrecision: NaN, rPrecisionMacro: NaN, precisionAt1: NaN, mapAtR: NaN, queryCount: 0 };
    } finally {
      this.stepping = false;
    }
    const { queryCount: _unused, ...metrics } = evaluation;
    const report: EpochReport = { epoch, trainLoss, ...metrics, seconds: (Date.now() - started) / 1000, isBest: false };
    if (!Number.isFinite(trainLoss) || !Number.isFinite(evaluation.validationLoss)) {
      const which = Number.isFinite(trainLoss) ? 'validation' : 'training';
      report.error =
        `Training stopped at epoch ${epoch}: the ${which} loss became ${String(Number.isFinite(trainLoss) ? evaluation.validationLoss : trainLoss)}` +
        ` (try a lower learningRate). ` +
        (this.bestEpoch
          ? `The head keeps the weights of epoch ${this.bestEpoch}.`
          : this.startedFromWeights
            ? 'No epoch finished with a finite loss; the head keeps its initial weights.'
            : 'No epoch finished with a finite loss.');
      this.history.push(report);
      this.error = report.error;
      this.finish('non-finite-loss');
      return report;
    }
    if (this.selectionScore(evaluation) < this.bestValidationLoss) {
      report.isBest = true;
      this.bestValidationLoss = this.selectionScore(evaluation);
      this.bestEpoch = epoch;
      tf.dispose(this.bestWeights ?? []);
      this.bestWeights = this.trainedVariables.map((v) => tf.clone(v));
    }
    // charted with this epoch's weights, before finish() may restore the best ones
    if (this.chart) report.test = pickCharted(await this.chart((inputs) => this.embed(inputs), (inputs) => this.outputs(inputs)));
    this.history.push(report);
    if (this.stopRequested) this.finish('stopped');
    else if (epoch - this.bestEpoch >= this.config.patience) this.finish('early-stopping');
    else if (epoch >= this.config.maxEpochs) this.finish('max-epochs');
    return report;
  }

  /**
   * Train until done. `onEpoch` sees each report; returning false (or a promise of false)
   * stops training. Resolves with the final state; the head holds the best weights.
   */
  async fitAsync(onEpoch?: (report: EpochReport) => boolean | void | Promise<boolean | void>): Promise<TrainingState> {
    while (!this.isDone) {
      const report = await this.step();
      if (onEpoch && (await onEpoch(report)) === false && !this.isDone) this.finish('stopped');
    }
    return this.getState();
  }

  /**
   * Validation loss and retrieval metrics of the head as it is now (eval mode). The head runs
   * once over the validation set; the loss batches are rows of that output (in eval mode a row's
   * output does not depend on its batch), and the metrics take that output on the backend: only
   * the loss and the metrics' hit flags are read back.
   */
  async evaluate(): Promise<Evaluation> {
    this.checkUsable();
    const { labels } = this.validation;
    const outputs = this.top ? this.outputsOf(this.validationX) : this.head.apply(this.validationX as tf.Tensor2D, false);
    let lossSum: tf.Tensor | null = null;
    let total: number;
    let m: RetrievalScores;
    try {
      // where the backend's memory is the CPU's, reading the outputs is a copy (see batchRows)
      const host = rowsOnHost() ? ((await outputs.data()) as Float32Array) : null;
      lossSum = tf.tidy(() =>
        tf.addN(
          this.validationBatches.map((b) =>
            tripletLoss(batchRows(outputs, host, b.rows, b.indices) as tf.Tensor2D, b.labels, this.config.loss),
          ),
        ),
      );
      // both settle before `outputs` is freed, even when one of them fails
      const [loss, metrics] = await Promise.allSettled([
        lossSum.data(),
        (async () =>
          this.metrics(outputs, this.dim, labels, {
            distance: this.config.loss.distance,
            queryCount: this.config.validationQueries ?? undefined,
            seed: this.config.seed,
          }))(),
      ]);
      if (loss.status === 'rejected') throw loss.reason;
      if (metrics.status === 'rejected') throw metrics.reason;
      total = loss.value[0];
      m = metrics.value;
    } finally {
      tf.dispose([outputs, ...(lossSum ? [lossSum] : [])]);
    }
    return {
      validationLoss: total / this.validationBatches.length,
      rPrecision: m.rPrecision,
      rPrecisionMacro: m.rPrecisionMacro,
      precisionAt1: m.precisionAt1,
      mapAtR: m.mapAtR,
      queryCount: m.queryCount,
    };
  }

  /**
   * The model's eval-mode outputs (the top, when there is one, then the head) for input rows
   * of `inputDim` values, in chunks so memory stays bounded.
   */
  embed(inputs: Float32Array): Float32Array {
    this.checkUsable();
    if (!this.top) return embedWithHead(this.head, inputs, this.dim);
    if (inputs.length % this.inputDim !== 0) throw new Error(`${inputs.length} values do not make rows of ${this.inputDim}`);
    const n = inputs.length / this.inputDim;
    const x = tf.tensor(inputs, [n, ...this.top.cutShape]);
    try {
      const y = this.outputsOf(x);
      const out = y.dataSync() as Float32Array;
      y.dispose();
      return out;
    } finally {
      x.dispose();
    }
  }

  /** The model's eval-mode outputs for input rows of `inputDim` values, left on the backend. */
  outputs(inputs: Float32Array): tf.Tensor2D {
    this.checkUsable();
    if (inputs.length % this.inputDim !== 0) throw new Error(`${inputs.length} values do not make rows of ${this.inputDim}`);
    const n = inputs.length / this.inputDim;
    const x = tf.tensor(inputs, this.top ? [n, ...this.top.cutShape] : [n, this.dim]);
    try {
      return this.top ? this.outputsOf(x) : this.head.apply(x as tf.Tensor2D, false);
    } finally {
      x.dispose();
    }
  }

  /** Top then head in eval mode over all rows of `x` (cut maps), in chunks of TOP_CHUNK. */
  private outputsOf(x: tf.Tensor): tf.Tensor2D {
    const top = this.top!;
    const n = x.shape[0];
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < n; start += TOP_CHUNK) {
      const rows = Math.min(TOP_CHUNK, n - start);
      parts.push(
        tf.tidy(() => this.head.apply(top.apply(tf.slice(x, start, rows) as tf.Tensor4D), false)),
      );
    }
    if (parts.length === 1) return parts[0];
    const all = tf.concat(parts) as tf.Tensor2D;
    tf.dispose(parts);
    return all;
  }

  /** Keep the head alive after `dispose()` (the caller then owns it). */
  detachHead(): Head {
    this.ownsHead = false;
    return this.head;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer?.dispose();
    this.topOptimizer?.dispose();
    tf.dispose([this.trainX, this.validationX, ...this.validationBatches.map((b) => b.indices), ...(this.bestWeights ?? []), ...this.topInitial]);
    this.bestWeights = null;
    if (this.ownsHead) this.head.dispose();
  }

  /** One pass of training batches; the step losses are summed on the backend and read once. */
  private async trainEpoch(): Promise<number> {
    const { labels } = this.train;
    const variables = this.head.trainableVariables;
    const losses: tf.Scalar[] = [];
    const batches = this.sampler.epoch();
    try {
      for (const batch of batches) {
        const batchLabels = gatherLabels(labels, batch);
        if (this.top) {
          losses.push(this.topStep(batch, batchLabels));
          continue;
        }
        const x = tf.tidy(() => batchRows(this.trainX, rowsOnHost() ? this.train.embeddings : null, batch) as tf.Tensor2D);
        const loss = this.optimizer
          ? this.optimizer.minimize(() => tripletLoss(this.head.apply(x, true), batchLabels, this.config.loss), true, variables)!
          : tf.tidy(() => tripletLoss(this.head.apply(x, false), batchLabels, this.config.loss));
        x.dispose();
        losses.push(loss);
      }
      // a non-finite step makes the sum non-finite; the best weights are restored anyway
      const sum = tf.addN(losses);
      const total = (await sum.data())[0];
      sum.dispose();
      return total / batches.length;
    } finally {
      tf.dispose(losses);
    }
  }

  /** Each row of the batch as itself or one of its views, drawn uniformly (rows unchanged without views). */
  private pickViews(batch: Int32Array): Int32Array {
    if (this.viewCount === 0) return batch;
    const n = this.train.labels.length;
    return batch.map((row) => row + n * randomInt(this.random, this.viewCount + 1));
  }

  /**
   * One joint step of top and head: augment the cached maps (flip, spatial dropout), triplet
   * loss on head(top(x)), then Adam on each with its own learning rate; the top's gradient gets
   * L2-SP's 2λ(w − w₀) and is clipped to `clipNorm`. Returns the triplet loss (L2-SP left out).
   */
  private topStep(batch: Int32Array, batchLabels: Int32Array): tf.Scalar {
    const top = this.top!;
    const t = this.config.top;
    const headVars = this.head.trainableVariables;
    const topVars = top.trainableVariables;
    const flipSeed = randomInt(this.random, 2 ** 31);
    const dropSeed = randomInt(this.random, 2 ** 31);
    const x = tf.tidy(() => {
      let maps = tf.gather(this.trainX, tf.tensor1d(this.pickViews(batch), 'int32')) as tf.Tensor4D;
      const [n, h, w] = maps.shape;
      if (t.flip) {
        const flipped = tf.randomUniform([n, 1, 1, 1], 0, 1, 'float32', flipSeed).less(0.5);
        maps = tf.where(tf.broadcastTo(flipped, maps.shape), tf.reverse(maps, 2), maps);
      }
      if (t.spatialDropout > 0) {
        const keep = tf.randomUniform([n, h, w, 1], 0, 1, 'float32', dropSeed).greaterEqual(t.spatialDropout);
        maps = tf.mul(maps, tf.div(tf.cast(keep, 'float32'), 1 - t.spatialDropout));
      }
      return maps;
    });
    const { value, grads } = tf.variableGrads(
      () => tripletLoss(this.head.apply(top.apply(x, true), true, { trainedInput: true }), batchLabels, this.config.loss),
      [...headVars, ...topVars],
    );
    x.dispose();
    tf.tidy(() => {
      const topGrads = topVars.map((v, i) => {
        const g = grads[v.name];
        return t.l2sp > 0 ? tf.add(g, tf.mul(tf.sub(v, this.topInitial[i]), 2 * t.l2sp)) : g;
      });
      let scale: tf.Scalar | null = null;
      if (t.clipNorm > 0) {
        const norm = tf.sqrt(tf.addN(topGrads.map((g) => tf.sum(tf.square(g)))));
        scale = tf.minimum(tf.scalar(1), tf.div(t.clipNorm, tf.maximum(norm, 1e-12))) as tf.Scalar;
      }
      const named = (vars: tf.Variable[], gs: tf.Tensor[]) => Object.fromEntries(vars.map((v, i) => [v.name, gs[i]]));
      if (this.optimizer) this.optimizer.applyGradients(named(headVars, headVars.map((v) => grads[v.name])));
      this.topOptimizer!.applyGradients(named(topVars, scale ? topGrads.map((g) => tf.mul(g, scale)) : topGrads));
    });
    tf.dispose(Object.values(grads));
    return value;
  }

  private finish(reason: StopReason): void {
    this.stopReason = reason;
    if (this.bestWeights) {
      const best = this.bestWeights;
      this.trainedVariables.forEach((v, i) => v.assign(best[i]));
    }
  }

  private checkUsable(): void {
    if (this.disposed) throw new Error('This HeadTrainer was disposed');
  }
}

/**
 * The head's eval-mode outputs for `embeddings` (rows of `dim`), computed in chunks of
 * `batch` rows so memory stays bounded.
 */
export function embedWithHead(head: Head, embeddings: Float32Array, dim: number, batch = 4096): Float32Array {
  if (embeddings.length % dim !== 0) throw new Error(`${embeddings.length} values do not make rows of ${dim}`);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be an integer ≥ 1, got ${batch}`);
  const n = embeddings.length / dim;
  const out = new Float32Array(n * head.dim);
  for (let start = 0; start < n; start += batch) {
    const rows = Math.min(batch, n - start);
    const y = tf.tidy(() => head.apply(tf.tensor2d(embeddings.subarray(start * dim, (start + rows) * dim), [rows, dim]), false));
    out.set(y.dataSync() as Float32Array, start * head.dim);
    y.dispose();
  }
  return out;
}

/** Cut maps per forward chunk in evaluation (7×7×960 intermediates: ~24 MB at 128). */
const TOP_CHUNK = 128;

function pickCharted(m: ChartedMetrics): ChartedMetrics {
  return { rPrecision: m.rPrecision, rPrecisionMacro: m.rPrecisionMacro, precisionAt1: m.precisionAt1, mapAtR: m.mapAtR };
}

/** The backend keeps tensors in the CPU's memory (WASM's heap, or JS arrays), so a copy costs no device round trip. */
function rowsOnHost(): boolean {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu';
}

/**
 * Rows `rows` of the 2-D tensor `x` (whose values `host` holds, when given): copied on the CPU
 * and uploaded when `host` is given, else gathered on the backend (`indices`: the same rows as
 * a tensor, or made here). Same values either way. Why: WASM's gather computes every element's
 * position with a heap-allocated index vector, ~12x slower than copying 256 rows of 1,280 and
 * uploading them (56 ms against 4.5 ms, measured); on a GPU the gather avoids an upload.
 */
function batchRows(x: tf.Tensor, host: Float32Array | null, rows: Int32Array, indices?: tf.Tensor1D): tf.Tensor {
  if (!host) return tf.tidy(() => tf.gather(x, indices ?? tf.tensor1d(rows, 'int32')));
  const size = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(rows.length * size);
  for (let i = 0; i < rows.length; i++) out.set(host.subarray(rows[i] * size, (rows[i] + 1) * size), i * size);
  return tf.tensor(out, [rows.length, ...x.shape.slice(1)]);
}

function gatherLabels(labels: Int32Array, indices: Int32Array): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = labels[indices[i]];
  return out;
}

function eligibleClassCount(labels: Int32Array): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let eligible = 0;
  for (const c of counts.values()) if (c >= 2) eligible++;
  return eligible;
}

function checkSet(name: string, set: LabelledEmbeddings, dim: number): void {
  if (!(set.embeddings instanceof Float32Array) || !(set.labels instanceof Int32Array)) {
    throw new Error(`${name}: embeddings must be a Float32Array and labels an Int32Array`);
  }
  if (set.embeddings.length !== set.labels.length * dim) {
    throw new Error(`${name}: ${set.embeddings.length} values are not ${set.labels.length} rows of ${dim}`);
  }
}
