/**
 * What a training run is configured by, its defaults and their checks (the initial weights'
 * too). Apart from the
 * trainer so the page can show and check the settings without loading tfjs.
 */
import type { DistanceName } from './distances';
import type { HeadKind } from './heads';
import type { Mining } from './tripletLoss';

/** Everything a training run is configured by. Defaults: `DEFAULT_TRAINING_CONFIG`. */
export interface TrainingConfig {
  head: {
    /** 'skip-connection' (the recipe's) or 'identity' (the frozen-encoder baseline; nothing trains). */
    kind: HeadKind;
    /** Dropout on the head's input while training, ≥ 0 and < 1. Default 0.1. */
    dropout: number;
    /** Initial gate value (sigmoid(-4) ≈ 0.018, near identity). Default -4. */
    gateInit: number;
  };
  loss: {
    /** Online mining strategy. Default 'hard'. */
    mining: Mining;
    /** Triplet margin, ≥ 0 and ≤ 10. Default 0.5. */
    margin: number;
    /** Distance for the loss and the validation metrics. Default 'cosine'. */
    distance: DistanceName;
    /** softplus instead of the margined ReLU (mining 'hard' only). Default false. */
    soft: boolean;
  };
  /** Adam learning rate (betas 0.9/0.999, eps 1e-8), > 0 and ≤ 1. Default 3e-3 (the recipe's). */
  learningRate: number;
  /** P: classes per batch. Default 16 (P×K = 128; the recipe's batch is 2048, see docs/tuning.md). */
  classesPerBatch: number;
  /** K: images per class in a batch. Default 8. */
  imagesPerClass: number;
  /** Upper bound on epochs (an epoch = one pass over the training images). Default 200 (the recipe's: 1000). */
  maxEpochs: number;
  /** Early stopping: stop after this many epochs without a lower validation loss. Default 20 (the recipe's: 50). */
  patience: number;
  /** Seed of head init, dropout, batch sampling and the validation query sample. Default 42. */
  seed: number;
  /**
   * Validation queries for the retrieval metrics, drawn at random (the reference uses 1000);
   * null = every validation item is a query (exact). Default null.
   */
  validationQueries: number | null;
  /**
   * How the epoch is chosen (early stopping, best weights). 'heldout' (default): on a seeded
   * share of the training classes held out of training; the never-seen test classes are only
   * charted. 'recipe': on the test classes themselves, as the reference does (flatters the
   * result). The trainer itself only sees the set it is given as `validation`; callers split.
   */
  selection: { mode: SelectionMode; heldOutFraction: number; metric: SelectionMetric };
  /** Fine-tuning the encoder's top blocks from cached cut activations (blocks 0 = head only). */
  top: TopTrainingConfig;
}

export type SelectionMode = 'heldout' | 'recipe';
/** What the best epoch minimises on the selection set: the triplet loss (default), or 1 − R-Precision. */
export type SelectionMetric = 'loss' | 'r-precision';

export interface TopTrainingConfig {
  /** Trainable top blocks above the cut (0 = head only; 1 = the model card's default cut). Default 0. */
  blocks: number;
  /** Adam learning rate of the top, > 0 and ≤ 1 (well below the head's). */
  learningRate: number;
  /** L2-SP: weight of Σ‖w − w₀‖² pulling the top toward its pretrained weights (0 = off). */
  l2sp: number;
  /** The top's gradients are clipped to this global norm (0 = off). */
  clipNorm: number;
  /** Share of the cached map's spatial positions zeroed at random in each training batch, in [0, 1). */
  spatialDropout: number;
  /** Flip half of each training batch's cached maps horizontally. */
  flip: boolean;
  /**
   * Train the head alone first (on the pooled embeddings, the usual run), then fine-tune top
   * and head from it, keeping the head-only weights unless fine-tuning beats them on the
   * selection set. Used by callers (the runner); the trainer itself runs one stage.
   */
  warmStart: boolean;
  /** Epoch bound and early-stopping patience of the fine-tuning stage. */
  maxEpochs: number;
  patience: number;
}

/** A partial config: anything left out takes its default. */
export type TrainingConfigInput = Partial<Omit<TrainingConfig, 'head' | 'loss' | 'selection' | 'top'>> & {
  head?: Partial<TrainingConfig['head']>;
  loss?: Partial<TrainingConfig['loss']>;
  selection?: Partial<TrainingConfig['selection']>;
  top?: Partial<TopTrainingConfig>;
};

export const DEFAULT_TRAINING_CONFIG: Readonly<TrainingConfig> = Object.freeze({
  head: Object.freeze({ kind: 'skip-connection' as const, dropout: 0.1, gateInit: -4 }),
  loss: Object.freeze({ mining: 'hard' as const, margin: 0.5, distance: 'cosine' as const, soft: false }),
  learningRate: 3e-3,
  // P×K = 16×8 = 128 instead of the recipe's 2048: several batch-hard steps per pass over the
  // training images (7 on 800 images) instead of one; measured better than 32×64 (docs/tuning.md)
  classesPerBatch: 16,
  imagesPerClass: 8,
  // an epoch is a full pass (ceil(N / P·K) steps), so far fewer are needed; the best epoch was
  // 30 ± 5 on the 40-class set: 200 bounds a run to a few minutes on WASM
  maxEpochs: 200,
  // 20 epochs without a lower validation loss: about 2/3 of the typical best epoch; 50 only
  // added time on the 40-class set (docs/tuning.md)
  patience: 20,
  seed: 42,
  validationQueries: null,
  // a fifth of the training classes choose the epoch; the test classes choose nothing
  selection: Object.freeze({ mode: 'heldout' as const, heldOutFraction: 0.2, metric: 'loss' as const }),
  // see docs/tuning.md ("Fine-tuning the top")
  top: Object.freeze({
    blocks: 0,
    learningRate: 1e-4,
    l2sp: 0,
    clipNorm: 1,
    spatialDropout: 0.3,
    flip: true,
    warmStart: true,
    maxEpochs: 30,
    patience: 6,
  }),
});

/** The full config: `input` over the defaults. */
export function resolveTrainingConfig(input: TrainingConfigInput = {}): TrainingConfig {
  return {
    ...DEFAULT_TRAINING_CONFIG,
    ...input,
    head: { ...DEFAULT_TRAINING_CONFIG.head, ...input.head },
    loss: { ...DEFAULT_TRAINING_CONFIG.loss, ...input.loss },
    selection: { ...DEFAULT_TRAINING_CONFIG.selection, ...input.selection },
    top: { ...DEFAULT_TRAINING_CONFIG.top, ...input.top },
  };
}

/** Largest P×K: the loss holds a few (P·K)² float matrices. */
export const MAX_BATCH_SIZE = 8192;

/**
 * Problems with a config (after defaults are applied), one message each naming the valid
 * range and the value given; empty when the config is valid.
 */
export function validateTrainingConfig(input: TrainingConfigInput): string[] {
  const c = resolveTrainingConfig(input);
  const errors: string[] = [];
  const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v));
  const oneOf = (name: string, v: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(v as string)) errors.push(`${name} must be one of ${allowed.map(show).join(', ')}, got ${show(v)}`);
  };
  const range = (name: string, v: unknown, ok: (x: number) => boolean, text: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) errors.push(`${name} must be ${text}, got ${show(v)}`);
  };
  const int = (name: string, v: unknown, lo: number, hi: number) =>
    range(name, v, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer ≥ ${lo} and ≤ ${hi}`);

  oneOf('head.kind', c.head.kind, ['skip-connection', 'identity']);
  range('head.dropout', c.head.dropout, (x) => x >= 0 && x < 1, '≥ 0 and < 1');
  range('head.gateInit', c.head.gateInit, (x) => x >= -20 && x <= 20, '≥ -20 and ≤ 20');
  oneOf('loss.mining', c.loss.mining, ['hard', 'all', 'semi_hard']);
  range('loss.margin', c.loss.margin, (x) => x >= 0 && x <= 10, '≥ 0 and ≤ 10');
  oneOf('loss.distance', c.loss.distance, ['cosine', 'euclidean']);
  if (typeof c.loss.soft !== 'boolean') errors.push(`loss.soft must be true or false, got ${show(c.loss.soft)}`);
  else if (c.loss.soft && c.loss.mining !== 'hard') {
    errors.push(`loss.soft applies to mining 'hard' only, got mining ${show(c.loss.mining)}`);
  }
  range('learningRate', c.learningRate, (x) => x > 0 && x <= 1, '> 0 and ≤ 1');
  int('classesPerBatch', c.classesPerBatch, 2, 4096);
  int('imagesPerClass', c.imagesPerClass, 2, 4096);
  if (Number.isInteger(c.classesPerBatch) && Number.isInteger(c.imagesPerClass) && c.classesPerBatch * c.imagesPerClass > MAX_BATCH_SIZE) {
    errors.push(
      `classesPerBatch × imagesPerClass must be ≤ ${MAX_BATCH_SIZE}, got ${c.classesPerBatch} × ${c.imagesPerClass} = ${c.classesPerBatch * c.imagesPerClass}`,
    );
  }
  int('maxEpochs', c.maxEpochs, 1, 100_000);
  int('patience', c.patience, 1, 100_000);
  int('seed', c.seed, 0, 2 ** 32 - 1);
  if (c.validationQueries !== null) int('validationQueries', c.validationQueries, 1, 2 ** 31 - 1);
  oneOf('selection.mode', c.selection.mode, ['heldout', 'recipe']);
  range('selection.heldOutFraction', c.selection.heldOutFraction, (x) => x > 0 && x < 1, '> 0 and < 1');
  oneOf('selection.metric', c.selection.metric, ['loss', 'r-precision']);
  int('top.blocks', c.top.blocks, 0, 16);
  range('top.learningRate', c.top.learningRate, (x) => x > 0 && x <= 1, '> 0 and ≤ 1');
  range('top.l2sp', c.top.l2sp, (x) => x >= 0 && x <= 100, '≥ 0 and ≤ 100');
  range('top.clipNorm', c.top.clipNorm, (x) => x >= 0, '≥ 0');
  range('top.spatialDropout', c.top.spatialDropout, (x) => x >= 0 && x < 1, '≥ 0 and < 1');
  if (typeof c.top.flip !== 'boolean') errors.push(`top.flip must be true or false, got ${show(c.top.flip)}`);
  if (typeof c.top.warmStart !== 'boolean') errors.push(`top.warmStart must be true or false, got ${show(c.top.warmStart)}`);
  int('top.maxEpochs', c.top.maxEpochs, 1, 100_000);
  int('top.patience', c.top.patience, 1, 100_000);
  return errors;
}

/** The names and shapes of a head's weights (PyTorch state_dict layout). */
export function headWeightShapes(kind: HeadKind, dim: number): Record<string, number[]> {
  return kind === 'identity' ? {} : { gates_0: [dim], 'fc_0.weight': [dim, dim], 'fc_0.bias': [dim] };
}

/**
 * Why `weights` cannot start a head of `kind` and `dim` (names, shapes, float32 data, finite
 * values), or null when they can.
 */
export function initialWeightsProblem(weights: unknown, kind: HeadKind, dim: number): string | null {
  if (!weights || typeof weights !== 'object' || Array.isArray(weights)) return 'initialWeights must be an object of named weights';
  const given = Object.keys(weights);
  const shapes = headWeightShapes(kind, dim);
  const expected = Object.keys(shapes);
  if (expected.length === 0) {
    return given.length ? `initialWeights: the identity head has no weights to start from, got ${given.join(', ')}` : null;
  }
  const missing = expected.filter((n) => !given.includes(n));
  const extra = given.filter((n) => !expected.includes(n));
  if (missing.length || extra.length) {
    return (
      `initialWeights must be exactly ${expected.join(', ')}` +
      (missing.length ? `; missing ${missing.join(', ')}` : '') +
      (extra.length ? `; unexpected ${extra.join(', ')}` : '')
    );
  }
  for (const name of expected) {
    const w = (weights as Record<string, { shape?: unknown; data?: unknown }>)[name];
    const want = shapes[name];
    const shape = w && Array.isArray(w.shape) ? (w.shape as unknown[]) : null;
    if (!shape || shape.length !== want.length || shape.some((s, i) => s !== want[i])) {
      return `initialWeights['${name}'] must have shape [${want.join(', ')}] (this head's), got ${shape ? `[${shape.join(', ')}]` : 'no shape'}`;
    }
    const size = want.reduce((a, b) => a * b, 1);
    const data = w.data;
    if (!(data instanceof Float32Array) || data.length !== size) {
      const got = data instanceof Float32Array ? String(data.length) : `a ${data === null ? 'null' : typeof data === 'object' ? (data as object).constructor?.name : typeof data}`;
      return `initialWeights['${name}'] must hold ${size} float32 values, got ${got}`;
    }
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) return `initialWeights['${name}'] holds a non-finite value (${data[bad]} at ${bad})`;
  }
  return null;
}
