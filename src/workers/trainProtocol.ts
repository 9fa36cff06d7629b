/**
 * The training worker's whole message protocol: ONE union of requests (page -> worker) and
 * ONE union of events (worker -> page), imported by both sides. Every message carries the
 * `runId` of the run it belongs to; a run ends with exactly one terminal event (`done` or
 * `error`, see `isTerminalTrainEvent`). Lifecycle of a run:
 *
 *   loading* -> ready -> (epoch | paused | resumed)* -> done | error
 *
 * Only identities and labels travel to the worker: it reads the vectors from the embedding
 * cache (IndexedDB) itself, and it saves the run to the run history after every epoch.
 */
import type { NamedWeights } from '../core/train/heads';
import type { EpochReport, SelectionMode, StopReason, TrainingConfig, TrainingConfigInput } from '../core/train/trainer';
import { initialWeightsProblem, resolveTrainingConfig, validateTrainingConfig } from '../core/train/trainingConfig';
import type { TopFormulation } from '../core/encoder/encoderTop';
import type { BackendName, EncoderSource } from './embedProtocol';
import { isBackendName } from './embedProtocol';

/** 'auto': a real (non-fallback) WebGPU adapter when there is one, else WASM, else CPU. */
export type TrainBackendChoice = BackendName | 'auto';

/** Images of one side of the class split, by embedding-cache identity. */
export interface TrainingImages {
  /** `imageIdentity(file)` of each image: the key suffix in the embedding cache. */
  identities: string[];
  /** Class id of each image (same length). */
  labels: Int32Array;
}

/** Which cached embeddings a run trains and validates on. */
export interface TrainingData {
  /** The embedding set (encoder + preprocessing) to read. */
  preprocessingKey: string;
  featureSize: number;
  train: TrainingImages;
  validation: TrainingImages;
}

/** What a run is about, in the person's words, for the run history. */
export interface RunAbout {
  datasetName: string;
  encoderName: string;
  /** Class split seed and train fraction. */
  split: { seed: number; trainFraction: number; mode: string };
  /** The head the run continued from (its label, e.g. the loaded file's name); absent for a fresh head. */
  startedFrom?: string;
}

/** Retrieval quality of one embedding on the validation classes. */
export interface RetrievalSummary {
  rPrecision: number;
  rPrecisionMacro: number;
  precisionAt1: number;
  mapAtR: number;
}

export interface RunSelection {
  mode: SelectionMode;
  heldOutClasses: number;
  heldOutImages: number;
  /** The frozen encoder on the held-out classes (null in recipe selection). */
  heldOutBaseline: RetrievalSummary | null;
}

/** A run that fine-tunes the encoder's top with the head (`top.blocks` > 0). */
export interface FineTuningInfo {
  blocks: number;
  /** The cut layer whose cached maps the top trains from, and their shape [h, w, c]. */
  cut: string;
  cutShape: number[];
  /** Layers of the top (from the cut to the pooled feature). */
  topLayers: number;
  /** Trainable parameters of the top and of the head. */
  parameters: { top: number; head: number };
  learningRates: { head: number; top: number };
  /** 'layers': the encoder's own layers train; 'primitives': the WASM formulation (no conv gradients there). */
  formulation: TopFormulation;
  /** True when the run continued from a head (warm start: that head competes as epoch 0). */
  warmStart: boolean;
  /** What the backend means for this mode, in words (WebGPU is preferred). */
  backendNote: string;
}

/** The end of a run: what the summary shows. */
export interface RunSummary {
  stopReason: StopReason;
  /** Epochs that finished with a finite loss. */
  epochsRun: number;
  /** Epoch whose weights the head keeps (0 = none). */
  bestEpoch: number;
  /** Wall time of the training loop (pauses excluded). */
  seconds: number;
  /** The frozen encoder. */
  baseline: RetrievalSummary;
  /** The head with the kept (best) weights, on the never-seen test classes; null when no epoch finished. */
  tuned: RetrievalSummary | null;
  /** How the best epoch was chosen; `heldOutTuned`: the held-out validation classes at that epoch. */
  selection?: { mode: SelectionMode; heldOutTuned: RetrievalSummary | null };
  /** Why training ended early (e.g. a non-finite loss). */
  error?: string;
}

export type TrainErrorCode =
  /** The request or the settings were invalid. */
  | 'input'
  /** The data cannot train: too few classes, no validation classes, embeddings missing. */
  | 'data'
  | 'backend'
  /** The run history could not be written (e.g. storage full). */
  | 'storage'
  /** The worker died (reported by the client, not the worker). */
  | 'crashed'
  | 'failed';

// ---------------------------------------------------------------- requests

export type TrainRequest =
  | {
      type: 'start';
      runId: string;
      /** Partial config: what is left out takes the engine's default. */
      config: TrainingConfigInput;
      data: TrainingData;
      backend: TrainBackendChoice;
      about: RunAbout;
      /**
       * Continue training these weights (a loaded head) instead of a fresh head: the names and
       * shapes of the configured head at `data.featureSize` (`initialWeightsProblem`).
       */
      initialWeights?: NamedWeights;
      /**
       * With `initialWeights` of a fine-tuned run: its top's weights (the encoder's weight
       * names), written into the rebuilt top so that fine-tuning continues where that run
       * ended rather than from the pretrained top. Needs `config.top.blocks` > 0.
       */
      initialTopWeights?: NamedWeights;
      /**
       * The encoder, when `config.top.blocks` > 0: the worker loads it (as the embed worker
       * does) to fine-tune its top from the cut maps cached while embedding.
       */
      encoder?: EncoderSource;
    }
  /** Pause after the epoch in progress. */
  | { type: 'pause'; runId: string }
  | { type: 'resume'; runId: string }
  /** End the run after the epoch in progress (at once when paused), keeping the best weights. */
  | { type: 'stop'; runId: string };

// ---------------------------------------------------------------- events

export type TrainEvent =
  | { type: 'loading'; runId: string; stage: string }
  | {
      type: 'ready';
      runId: string;
      backend: BackendName;
      /** The full config the run uses (defaults applied). */
      config: TrainingConfig;
      trainImages: number;
      trainClasses: number;
      validationImages: number;
      validationClasses: number;
      /** Images asked for that have no cached embedding (left out). */
      missing: number;
      stepsPerEpoch: number;
      /** The frozen encoder on the never-seen test classes (`validation*` above). */
      baseline: RetrievalSummary;
      /**
       * How the epoch is chosen. 'heldout': `heldOutClasses` training classes (left out of
       * `train*` above) choose it, the test classes are only charted (`report.test`); 'recipe':
       * the test classes choose it, as the reference does.
       */
      selection: RunSelection;
      /** Set when the run fine-tunes the encoder's top. */
      fineTuning?: FineTuningInfo;
    }
  | { type: 'epoch'; runId: string; report: EpochReport; bestEpoch: number }
  | { type: 'paused'; runId: string; epoch: number }
  | { type: 'resumed'; runId: string; epoch: number }
  | { type: 'done'; runId: string; summary: RunSummary }
  | {
      type: 'error';
      runId: string;
      code: TrainErrorCode;
      message: string;
      /** Epochs kept in the run history (0 when the run never started an epoch). */
      epochsKept: number;
    };

export type TrainEventType = TrainEvent['type'];
export type TrainEventOf<T extends TrainEventType> = Extract<TrainEvent, { type: T }>;

export function isTerminalTrainEvent(event: TrainEvent): event is TrainEventOf<'done'> | TrainEventOf<'error'> {
  return event.type === 'done' || event.type === 'error';
}

function imagesProblem(name: string, x: unknown): string | null {
  const images = x as Partial<TrainingImages> | undefined;
  if (!images || typeof images !== 'object') return `data.${name} is missing`;
  if (!Array.isArray(images.identities)) return `data.${name}.identities must be an array of strings`;
  if (!(images.labels instanceof Int32Array)) return `data.${name}.labels must be an Int32Array`;
  if (images.labels.length !== images.identities.length) {
    return `data.${name} has ${images.identities.length} identities but ${images.labels.length} labels`;
  }
  return null;
}

/**
 * Checks a message that claims to be a request (the worker trusts nothing it receives).
 * A start request's config is checked with the engine's `validateTrainingConfig`, so the
 * message names the valid range.
 */
export function trainRequestProblem(message: unknown): string | null {
  if (!message || typeof message !== 'object') return 'a request must be an object';
  const m = message as Record<string, unknown>;
  if (typeof m.runId !== 'string' || m.runId === '') return 'a request needs a runId';
  switch (m.type) {
    case 'pause':
    case 'resume':
    case 'stop':
      return null;
    case 'start': {
      if (m.backend !== 'auto' && !isBackendName(m.backend)) {
        return `backend must be 'auto', 'webgpu', 'webgl', 'wasm' or 'cpu', got ${JSON.stringify(m.backend)}`;
      }
      if (!m.config || typeof m.config !== 'object') return 'start needs a config object';
      const configErrors = validateTrainingConfig(m.config as TrainingConfigInput);
      if (configErrors.length) return `Invalid training settings: ${configErrors.join('; ')}`;
      const data = m.data as Partial<TrainingData> | undefined;
      if (!data || typeof data !== 'object') return 'start needs data';
      if (typeof data.preprocessingKey !== 'string' || !data.preprocessingKey) return 'data.preprocessingKey must be a non-empty string';
      if (!Number.isInteger(data.featureSize) || (data.featureSize as number) < 1) return 'data.featureSize must be an integer ≥ 1';
      const problem = imagesProblem('train', data.train) ?? imagesProblem('validation', data.validation);
      if (problem) return problem;
      if (!m.about || typeof m.about !== 'object') return 'start needs about (dataset and encoder names)';
      const blocks = resolveTrainingConfig(m.config as TrainingConfigInput).top.blocks;
      if (blocks > 0 && (!m.encoder || typeof m.encoder !== 'object')) return `fine-tuning the top (top.blocks ${blocks}) needs the encoder`;
      if (m.initialWeights !== undefined) {
        const kind = resolveTrainingConfig(m.config as TrainingConfigInput).head.kind;
        const weightsProblem = initialWeightsProblem(m.initialWeights, kind, data.featureSize as number);
        if (weightsProblem) return `The head to continue from does not fit: ${weightsProblem}`;
      }
      if (m.initialTopWeights !== undefined) {
        if (m.initialWeights === undefined) return 'initialTopWeights come with the head they belong to (initialWeights)';
        if (blocks === 0) return "initialTopWeights need fine-tuning (top.blocks ≥ 1): that head read the encoder's fine-tuned top";
        if (!m.initialTopWeights || typeof m.initialTopWeights !== 'object') return 'initialTopWeights must be named weights';
      }
      return null;
    }
    default:
      return `unknown request type ${JSON.stringify(m.type)}; expected start, pause, resume or stop`;
  }
}
