/**
 * One training run inside the training worker, free of worker globals so Node tests can
 * drive it: reads the cached embeddings, runs the engine's `HeadTrainer` epoch by epoch
 * (`step()`), posts each report, honours pause / resume / stop between epochs, and saves
 * the run (curves, metrics, best weights) after every epoch, so a crash or a closed tab
 * keeps it up to its last finished epoch.
 */
import { retrievalMetrics } from '../core/eval/retrievalMetrics';
import { HeadTrainer, resolveTrainingConfig, validateTrainingConfig, type LabelledEmbeddings } from '../core/train/trainer';
import { selectionSets } from '../core/train/selection';
import type { RunRecord, RunWeights } from '../storage/runHistory';
import type { BackendName } from './embedProtocol';
import type {
  RetrievalSummary,
  RunSummary,
  TrainBackendChoice,
  TrainErrorCode,
  TrainEvent,
  TrainRequest,
  TrainingImages,
} from './trainProtocol';

export class TrainRunError extends Error {
  constructor(
    readonly code: TrainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Cached vectors of the asked identities (as `EmbeddingCache.lookup` returns them). */
export interface EmbeddingLookup {
  found: Int32Array;
  vectors: Float32Array;
  missing: number[];
}

export interface TrainSessionDeps {
  post(event: TrainEvent): void;
  chooseBackend(choice: TrainBackendChoice): Promise<BackendName>;
  readEmbeddings(preprocessingKey: string, featureSize: number, identities: string[]): Promise<EmbeddingLookup>;
  /** Where the run is saved after every epoch; null keeps nothing (tests). */
  store: { save(run: RunRecord, weights?: RunWeights): Promise<void> } | null;
  now?: () => number;
}

type StartRequest = Extract<TrainRequest, { type: 'start' }>;

export class TrainSession {
  readonly runId: string;
  private trainer: HeadTrainer | null = null;
  private pauseRequested = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private record: RunRecord | null = null;

  constructor(
    private readonly request: StartRequest,
    private readonly deps: TrainSessionDeps,
  ) {
    this.runId = request.runId;
  }

  /** Pause after the epoch in progress. */
  pause(): void {
    if (!this.stopRequested) this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.wake?.();
  }

  /** End after the epoch in progress (at once when paused or not started); the best weights are kept. */
  stop(): void {
    this.stopRequested = true;
    this.trainer?.stop();
    this.wake?.();
  }

  /** Runs to the end; never throws: every outcome is posted as `done` or `error`. */
  async run(): Promise<void> {
    const { runId } = this;
    try {
      await this.train();
    } catch (e) {
      const code: TrainErrorCode = e instanceof TrainRunError ? e.code : 'failed';
      const message = e instanceof Error ? e.message : String(e);
      const epochsKept = this.record?.history.length ?? 0;
      if (this.record) {
        this.record = { ...this.record, status: 'failed', message, updatedAt: this.now() };
        await this.deps.store?.save(this.record).catch(() => undefined);
      }
      this.deps.post({ type: 'error', runId, code, message, epochsKept });
    } finally {
      this.trainer?.dispose();
      this.trainer = null;
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async train(): Promise<void> {
    const { runId, request, deps } = this;
    const problems = validateTrainingConfig(request.config);
    if (problems.length) throw new TrainRunError('input', `Invalid training settings: ${problems.join('; ')}`);
    const config = resolveTrainingConfig(request.config);
    if (config.top.blocks > 0) {
      // the worker has no cut cache nor encoder yet: say so rather than train the head alone
      throw new TrainRunError(
        'input',
        `Fine-tuning the encoder's top (top.blocks ${config.top.blocks}) runs in the command-line runner for now ` +
          '(npm run studio -- run --train-top-blocks N); the browser trains the head only: set top.blocks to 0.',
      );
    }

    deps.post({ type: 'loading', runId, stage: 'Starting the backend…' });
    let backend: BackendName;
    try {
      backend = await deps.chooseBackend(request.backend);
    } catch (e) {
      throw new TrainRunError('backend', e instanceof Error ? e.message : String(e));
    }

    deps.post({ type: 'loading', runId, stage: 'Reading the cached embeddings…' });
    const { data } = request;
    const dim = data.featureSize;
    const [train, trainMissing] = await this.read(data.train);
    const [validation, validationMissing] = await this.read(data.validation);
    const asked = data.train.identities.length + data.validation.identities.length;
    const missing = trainMissing + validationMissing;
    if (asked > 0 && missing === asked) {
      throw new TrainRunError('data', `None of the ${asked} images has a cached embedding for this encoder: embed the dataset first.`);
    }

    // `validation` holds the split's never-seen classes: in held-out selection they are the
    // charted test set, and a share of the training classes chooses the epoch instead
    let trainer: HeadTrainer;
    let sets: ReturnType<typeof selectionSets>;
    try {
      sets = selectionSets(train, validation, dim, config.selection, request.about.split.seed);
      const charted = sets.charted;
      const metricsOpts = { distance: config.loss.distance, queryCount: config.validationQueries ?? undefined, seed: config.seed };
      trainer = new HeadTrainer({
        config,
        train: sets.fit,
        validation: sets.selection,
        dim,
        initialWeights: request.initialWeights,
        // on the backend: a synchronous read-back fails on WebGPU
        chart: charted
          ? async (_embed, outputs) => {
              const tuned = outputs(charted.embeddings);
              try {
                return await retrievalMetrics(tuned, dim, charted.labels, metricsOpts);
              } finally {
                tuned.dispose();
              }
            }
          : undefined,
      });
    } catch (e) {
      throw new TrainRunError('data', e instanceof Error ? e.message : String(e));
    }
    this.trainer = trainer;
    if (this.stopRequested) trainer.stop();

    deps.post({ type: 'loading', runId, stage: 'Measuring the frozen encoder…' });
    const base = await retrievalMetrics(validation.embeddings, dim, validation.labels, {
      distance: config.loss.distance,
      queryCount: config.validationQueries ?? undefined,
      seed: config.seed,
    });
    const baseline = pickMetrics(base);
    const heldOutBaseline = sets.charted
      ? pickMetrics(
          await retrievalMetrics(sets.selection.embeddings, dim, sets.selection.labels, {
            distance: config.loss.distance,
            queryCount: config.validationQueries ?? undefined,
            seed: config.seed,
          }),
        )
      : null;
    const selection = {
      mode: config.selection.mode,
      heldOutClasses: sets.heldOutClasses.length,
      heldOutImages: sets.charted ? sets.selection.labels.length : 0,
      heldOutBaseline,
    };
    const now = this.now();
    this.record = {
      id: runId,
      createdAt: now,
      updatedAt: now,
      status: 'running',
      stopReason: null,
      message: null,
      about: request.about,
      config,
      backend,
      trainImages: sets.fit.labels.length,
      validationImages: validation.labels.length,
      trainClasses: new Set(sets.fit.labels).size,
      validationClasses: new Set(validation.labels).size,
      baseline,
      history: [],
      bestEpoch: 0,
      seconds: 0,
      summary: null,
    };
    await this.save();
    deps.post({
      type: 'ready',
      runId,
      backend,
      config,
      trainImages: this.record.trainImages,
      trainClasses: this.record.trainClasses,
      validationImages: this.record.validationImages,
      validationClasses: this.record.validationClasses,
      missing,
      stepsPerEpoch: trainer.stepsPerEpoch,
      baseline,
      selection,
    });

    while (!trainer.isDone) {
      if (this.pauseRequested) {
        const epoch = this.record.history.length;
        deps.post({ type: 'paused', runId, epoch });
        while (this.pauseRequested && !this.stopRequested) await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        if (trainer.isDone) break;
        deps.post({ type: 'resumed', runId, epoch });
      }
      const report = await trainer.step();
      const state = trainer.getState();
      if (!report.error) {
        this.record = {
          ...this.record,
          history: [...this.record.history, report],
          bestEpoch: state.bestEpoch,
          seconds: this.record.seconds + report.seconds,
          updatedAt: this.now(),
        };
        // the head holds this epoch's weights until training ends
        await this.save(report.isBest ? { runId, epoch: report.epoch, weights: trainer.head.getWeights() } : undefined);
      }
      deps.post({ type: 'epoch', runId, report, bestEpoch: state.bestEpoch });
    }

    const state = trainer.getState();
    const best = this.record.history.find((r) => r.epoch === state.bestEpoch);
    const summary: RunSummary = {
      stopReason: state.stopReason ?? 'stopped',
      epochsRun: this.record.history.length,
      bestEpoch: state.bestEpoch,
      seconds: this.record.seconds,
      baseline,
      // the test classes: charted in held-out selection, the chosen-on set itself in recipe selection
      tuned: best ? pickMetrics(best.test ?? best) : null,
      selection: { mode: config.selection.mode, heldOutTuned: best && best.test ? pickMetrics(best) : null },
      ...(state.error ? { error: state.error } : {}),
    };
    this.record = {
      ...this.record,
      status: state.error ? 'failed' : 'finished',
      stopReason: summary.stopReason,
      message: state.error,
      summary,
      updatedAt: this.now(),
    };
    await this.save();
    deps.post({ type: 'done', runId, summary });
  }

  private async read(images: TrainingImages): Promise<[LabelledEmbeddings, number]> {
    const dim = this.request.data.featureSize;
    const lookup = await this.deps.readEmbeddings(this.request.data.preprocessingKey, dim, images.identities);
    if (lookup.vectors.length !== lookup.found.length * dim) {
      throw new TrainRunError('data', `The embedding cache returned ${lookup.vectors.length} values for ${lookup.found.length} rows of ${dim}`);
    }
    const labels = new Int32Array(lookup.found.length);
    for (let j = 0; j < lookup.found.length; j++) labels[j] = images.labels[lookup.found[j]];
    return [{ embeddings: lookup.vectors, labels }, lookup.missing.length];
  }

  private async save(weights?: RunWeights): Promise<void> {
    if (!this.deps.store || !this.record) return;
    try {
      await this.deps.store.save(this.record, weights);
    } catch (e) {
      this.trainer?.stop();
      const why = e instanceof Error ? e.message : String(e);
      throw new TrainRunError('storage', `Could not save the run to browser storage (${why}); training stopped.`);
    }
  }
}

function pickMetrics(m: RetrievalSummary): RetrievalSummary {
  return { rPrecision: m.rPrecision, rPrecisionMacro: m.rPrecisionMacro, precisionAt1: m.precisionAt1, mapAtR: m.mapAtR };
}
