/**
 * One training run inside the training worker, free of worker globals so Node tests can
 * drive it: reads the cached embeddings, runs the engine's `HeadTrainer` epoch by epoch
 * (`step()`), posts each report, honours pause / resume / stop between epochs, and saves
 * the run (curves, metrics, best weights) after every epoch, so a crash or a closed tab
 * keeps it up to its last finished epoch.
 */
import type { EncoderTop } from '../core/encoder/encoderTop';
import { setTopWeights } from '../core/encoder/tunedFeatures';
import { retrievalMetrics } from '../core/eval/retrievalMetrics';
import type { NamedWeights } from '../core/train/heads';
import { HeadTrainer, resolveTrainingConfig, validateTrainingConfig, type LabelledEmbeddings } from '../core/train/trainer';
import { selectionSets } from '../core/train/selection';
import type { RunRecord, RunWeights } from '../storage/runHistory';
import type { BackendName } from './embedProtocol';
import type {
  FineTuningInfo,
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

/** The encoder's trainable top, rebuilt from the encoder loaded on the active backend. */
export interface LoadedTop {
  top: EncoderTop;
  /** The cut-map set in the cache (`cutSetKey`). */
  cutKey: string;
  /** Frees the top and the encoder it shares its weights with. */
  dispose(): void;
}

export interface TrainSessionDeps {
  post(event: TrainEvent): void;
  chooseBackend(choice: TrainBackendChoice): Promise<BackendName>;
  readEmbeddings(preprocessingKey: string, featureSize: number, identities: string[]): Promise<EmbeddingLookup>;
  /** Fine-tuning (`top.blocks` > 0): loads the encoder and rebuilds its top, formulated for `backend`. */
  loadTop?(blocks: number, backend: BackendName): Promise<LoadedTop>;
  /** Fine-tuning: cached cut maps (float32 rows of h·w·c) of the asked identities. */
  readCuts?(cutKey: string, size: number, identities: string[]): Promise<EmbeddingLookup>;
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
  private loadedTop: LoadedTop | null = null;

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
      this.loadedTop?.dispose();
      this.loadedTop = null;
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
    const blocks = config.top.blocks;
    if (blocks > 0 && (!deps.loadTop || !deps.readCuts)) {
      throw new TrainRunError('input', `Fine-tuning the encoder's top (top.blocks ${blocks}) needs the encoder in the training worker: set top.blocks to 0.`);
    }

    deps.post({ type: 'loading', runId, stage: 'Starting the backend…' });
    let backend: BackendName;
    try {
      backend = await deps.chooseBackend(request.backend);
    } catch (e) {
      throw new TrainRunError('backend', e instanceof Error ? e.message : String(e));
    }

    let top: EncoderTop | null = null;
    let fineTuning: FineTuningInfo | null = null;
    if (blocks > 0) {
      deps.post({ type: 'loading', runId, stage: "Loading the encoder to fine-tune its top…" });
      try {
        this.loadedTop = await deps.loadTop!(blocks, backend);
      } catch (e) {
        throw new TrainRunError('input', `Cannot fine-tune the encoder's top: ${e instanceof Error ? e.message : String(e)}`);
      }
      top = this.loadedTop.top;
      if (request.initialTopWeights) {
        try {
          setTopWeights(top, request.initialTopWeights);
        } catch (e) {
          throw new TrainRunError('input', `Cannot continue from that head's fine-tuned top: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      fineTuning = {
        blocks,
        cut: top.cutLayer,
        cutShape: [...top.cutShape],
        topLayers: top.layerNames.length,
        parameters: { top: top.parameterCount, head: 0 },
        learningRates: { head: config.learningRate, top: config.top.learningRate },
        formulation: top.formulation,
        warmStart: request.initialWeights !== undefined,
        backendNote:
          backend === 'webgpu'
            ? 'WebGPU: the encoder’s own layers train (preferred for fine-tuning).'
            : `${backend.toUpperCase()}: ${backend === 'wasm' ? 'no convolution gradients here, so the top trains as matMul and depthwise convolutions with hand-written gradients (the same function); ' : ''}much slower than WebGPU, which is preferred for fine-tuning.`,
      };
    }

    deps.post({ type: 'loading', runId, stage: top ? 'Reading the cached embeddings and cut maps…' : 'Reading the cached embeddings…' });
    const { data } = request;
    const dim = data.featureSize;
    const [train, trainMissing, trainCuts] = await this.read(data.train);
    const [validation, validationMissing, validationCuts] = await this.read(data.validation);
    const asked = data.train.identities.length + data.validation.identities.length;
    const missing = trainMissing + validationMissing;
    if (asked > 0 && missing === asked) {
      throw new TrainRunError(
        'data',
        top
          ? `None of the ${asked} images has both a cached embedding and a cut map at ${top.cutLayer}: embed the dataset again with "Train the encoder's top blocks" set to ${blocks}.`
          : `None of the ${asked} images has a cached embedding for this encoder: embed the dataset first.`,
      );
    }
    if (top && top.featureSize !== dim) {
      throw new TrainRunError('data', `The encoder's top gives ${top.featureSize}-d features but the cached embeddings have ${dim}: embed again with this encoder.`);
    }

    // `validation` holds the split's never-seen classes: in held-out selection they are the
    // charted test set, and a share of the training classes chooses the epoch instead
    let trainer: HeadTrainer;
    let sets: ReturnType<typeof selectionSets>;
    try {
      sets = selectionSets(train, validation, dim, config.selection, request.about.split.seed);
      // fine-tuning: the model reads the cut maps of the same rows (same labels: the same split)
      const inputSets =
        top && trainCuts && validationCuts
          ? selectionSets(
              { embeddings: trainCuts, labels: train.labels },
              { embeddings: validationCuts, labels: validation.labels },
              top.cutShape.reduce((a, b) => a * b, 1),
              config.selection,
              request.about.split.seed,
            )
          : sets;
      const charted = inputSets.charted;
      const metricsOpts = { distance: config.loss.distance, queryCount: config.validationQueries ?? undefined, seed: config.seed };
      trainer = new HeadTrainer({
        // fine-tuning: the top's own bounds (it overfits within a few epochs), never past the form's
        config: top
          ? { ...config, maxEpochs: Math.min(config.maxEpochs, config.top.maxEpochs), patience: Math.min(config.patience, config.top.patience) }
          : config,
        train: inputSets.fit,
        validation: inputSets.selection,
        dim,
        initialWeights: request.initialWeights,
        ...(top ? { top, initialIsCandidate: request.initialWeights !== undefined } : {}),
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
      if (fineTuning) fineTuning.parameters.head = trainer.head.trainableVariables.reduce((a, v) => a + v.size, 0);
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
      ...(fineTuning ? { fineTuning } : {}),
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
      ...(fineTuning ? { fineTuning } : {}),
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
        await this.save(
          report.isBest
            ? { runId, epoch: report.epoch, weights: trainer.head.getWeights(), ...(top ? { top: await topWeights(top), cut: top.cutLayer } : {}) }
            : undefined,
        );
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

  /**
   * The images' cached vectors (and, fine-tuning, their cut maps: then only images that have
   * both), with the count of those left out.
   */
  private async read(images: TrainingImages): Promise<[LabelledEmbeddings, number, Float32Array | null]> {
    const dim = this.request.data.featureSize;
    const lookup = await this.deps.readEmbeddings(this.request.data.preprocessingKey, dim, images.identities);
    if (lookup.vectors.length !== lookup.found.length * dim) {
      throw new TrainRunError('data', `The embedding cache returned ${lookup.vectors.length} values for ${lookup.found.length} rows of ${dim}`);
    }
    const top = this.loadedTop;
    if (!top) {
      const labels = new Int32Array(lookup.found.length);
      for (let j = 0; j < lookup.found.length; j++) labels[j] = images.labels[lookup.found[j]];
      return [{ embeddings: lookup.vectors, labels }, lookup.missing.length, null];
    }
    const size = top.top.cutShape.reduce((a, b) => a * b, 1);
    const cuts = await this.deps.readCuts!(top.cutKey, size, images.identities);
    const cutRow = new Map<number, number>();
    cuts.found.forEach((i, j) => cutRow.set(i, j));
    const rows: [number, number, number][] = []; // [image, pooled row, cut row]
    lookup.found.forEach((i, j) => {
      const c = cutRow.get(i);
      if (c !== undefined) rows.push([i, j, c]);
    });
    const embeddings = new Float32Array(rows.length * dim);
    const maps = new Float32Array(rows.length * size);
    const labels = new Int32Array(rows.length);
    rows.forEach(([i, j, c], r) => {
      embeddings.set(lookup.vectors.subarray(j * dim, (j + 1) * dim), r * dim);
      maps.set(cuts.vectors.subarray(c * size, (c + 1) * size), r * size);
      labels[r] = images.labels[i];
    });
    return [{ embeddings, labels }, images.identities.length - rows.length, maps];
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

/** The top's weights under the encoder's weight names (read back asynchronously: WebGPU has no sync read). */
async function topWeights(top: EncoderTop): Promise<NamedWeights> {
  const out: NamedWeights = {};
  for (const w of top.weights) out[w.name] = { shape: w.variable.shape.slice(), data: Float32Array.from((await w.variable.data()) as Float32Array) };
  return out;
}
