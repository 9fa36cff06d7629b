/**
 * The training settings form: text fields over the engine's `TrainingConfig`. Defaults are
 * the engine's (`DEFAULT_TRAINING_CONFIG`, the recipe's) except `maxEpochs` (see
 * BROWSER_MAX_EPOCHS); validation is the engine's own `validateTrainingConfig`, so every
 * message names the valid range.
 */
import { DEFAULT_TRAINING_CONFIG, validateTrainingConfig, type TrainingConfigInput } from '../../core/train/trainingConfig';

/**
 * The recipe allows 1000 epochs for a long GPU run; with patience 50, early stopping
 * usually ends a run long before that, and a browser tab should not be asked to train for
 * hours by default. 200 still leaves four patience windows.
 */
export const BROWSER_MAX_EPOCHS = 200;

export type SettingKey =
  | 'headKind'
  | 'dropout'
  | 'mining'
  | 'margin'
  | 'distance'
  | 'learningRate'
  | 'classesPerBatch'
  | 'imagesPerClass'
  | 'maxEpochs'
  | 'patience'
  | 'seed'
  | 'selection'
  | 'heldOutFraction'
  | 'topBlocks';

/** The form's values, as typed. */
export type SettingsForm = Record<SettingKey, string>;

export interface SettingField {
  key: SettingKey;
  label: string;
  /** One line saying what it does. */
  help: string;
  /** The engine config path its messages start with. */
  path: string;
  options?: { value: string; label: string }[];
  step?: string;
}

const d = DEFAULT_TRAINING_CONFIG;

export const SETTING_FIELDS: readonly SettingField[] = [
  {
    key: 'headKind',
    label: 'Head',
    path: 'head.kind',
    help: 'SkipConnectionHead learns a gated correction on top of the frozen embedding (starts near the identity); Identity trains nothing: the frozen-encoder baseline.',
    options: [
      { value: 'skip-connection', label: 'SkipConnectionHead' },
      { value: 'identity', label: 'Identity (baseline)' },
    ],
  },
  {
    key: 'dropout',
    label: 'Dropout',
    path: 'head.dropout',
    step: '0.05',
    help: 'Share of the head’s input features dropped at random while training, against overfitting (0 = none).',
  },
  {
    key: 'mining',
    label: 'Mining',
    path: 'loss.mining',
    help: 'Which triplets of a batch the triplet loss learns from: the hardest per anchor, all valid ones, or semi-hard negatives just beyond the positive.',
    options: [
      { value: 'hard', label: 'hard' },
      { value: 'all', label: 'all' },
      { value: 'semi_hard', label: 'semi-hard' },
    ],
  },
  {
    key: 'margin',
    label: 'Margin',
    path: 'loss.margin',
    step: '0.05',
    help: 'How much farther a different-class image must be than a same-class one before a triplet stops adding loss.',
  },
  {
    key: 'distance',
    label: 'Distance',
    path: 'loss.distance',
    help: 'How closeness is measured, in the loss and in the validation metrics.',
    options: [
      { value: 'cosine', label: 'cosine' },
      { value: 'euclidean', label: 'euclidean' },
    ],
  },
  {
    key: 'learningRate',
    label: 'Learning rate',
    path: 'learningRate',
    step: '0.0005',
    help: 'Adam’s step size: higher learns faster but can diverge (the loss then becomes NaN).',
  },
  {
    key: 'classesPerBatch',
    label: 'Classes per batch (P)',
    path: 'classesPerBatch',
    help: 'P classes are drawn for each batch; with fewer training classes, all of them are used.',
  },
  {
    key: 'imagesPerClass',
    label: 'Images per class (K)',
    path: 'imagesPerClass',
    help: 'K images of each drawn class per batch (drawn again when a class has fewer); batch size is P × K.',
  },
  {
    key: 'maxEpochs',
    label: 'Max epochs',
    path: 'maxEpochs',
    help: `Upper bound on epochs: ${BROWSER_MAX_EPOCHS} here (the recipe's 1000 is for a long GPU run; early stopping usually ends sooner).`,
  },
  {
    key: 'patience',
    label: 'Patience',
    path: 'patience',
    help: 'Early stopping: end after this many epochs without a lower validation loss; the best epoch’s weights are kept.',
  },
  {
    key: 'seed',
    label: 'Seed',
    path: 'seed',
    help: 'Seeds the head’s initial weights, dropout and batch sampling: the same seed and settings give the same run.',
  },
  {
    key: 'selection',
    label: 'Model selection',
    path: 'selection.mode',
    help: 'What chooses the best epoch and stops early: training classes held out of training (honest), or the validation classes themselves as the reference does (recipe selection: flatters the result).',
    options: [
      { value: 'heldout', label: 'held-out training classes' },
      { value: 'recipe', label: 'recipe selection (on the validation classes)' },
    ],
  },
  {
    key: 'heldOutFraction',
    label: 'Held-out share',
    path: 'selection.heldOutFraction',
    step: '0.05',
    help: 'Share of the training classes left out of training to choose the epoch (held-out selection only).',
  },
  {
    key: 'topBlocks',
    label: "Train the encoder's top blocks",
    path: 'top.blocks',
    help: "0 = the head only. 1 (or more) also fine-tunes the encoder's last block(s) with the head, from cut maps cached while embedding (embed again after changing it; float16, e.g. 15.7 KB per image for MobileNetV2). Much slower: WebGPU is preferred; WASM works.",
  },
];

export function defaultSettingsForm(): SettingsForm {
  return {
    headKind: d.head.kind,
    dropout: String(d.head.dropout),
    mining: d.loss.mining,
    margin: String(d.loss.margin),
    distance: d.loss.distance,
    learningRate: String(d.learningRate),
    classesPerBatch: String(d.classesPerBatch),
    imagesPerClass: String(d.imagesPerClass),
    maxEpochs: String(BROWSER_MAX_EPOCHS),
    patience: String(d.patience),
    seed: String(d.seed),
    selection: d.selection.mode,
    heldOutFraction: String(d.selection.heldOutFraction),
    topBlocks: String(d.top.blocks),
  };
}

/** A typed number, or the text itself when it is not one (so the engine's message shows it). */
function numberOf(text: string): number | string {
  const t = text.trim();
  if (t === '') return t;
  const n = Number(t);
  return Number.isNaN(n) ? t : n;
}

export interface ParsedSettings {
  config: TrainingConfigInput;
  /** The engine's messages, each naming the valid range. */
  errors: string[];
  /** The first message about each field. */
  fieldErrors: Partial<Record<SettingKey, string>>;
}

/** The form as an engine config, with the engine's verdict on it. */
export function parseSettings(form: SettingsForm): ParsedSettings {
  const config = {
    head: { kind: form.headKind, dropout: numberOf(form.dropout) },
    loss: { mining: form.mining, margin: numberOf(form.margin), distance: form.distance },
    learningRate: numberOf(form.learningRate),
    classesPerBatch: numberOf(form.classesPerBatch),
    imagesPerClass: numberOf(form.imagesPerClass),
    maxEpochs: numberOf(form.maxEpochs),
    patience: numberOf(form.patience),
    seed: numberOf(form.seed),
    selection: { mode: form.selection, heldOutFraction: numberOf(form.heldOutFraction) },
    top: { blocks: numberOf(form.topBlocks ?? '0') },
  } as unknown as TrainingConfigInput;
  const errors = validateTrainingConfig(config);
  const fieldErrors: Partial<Record<SettingKey, string>> = {};
  for (const message of errors) {
    for (const field of SETTING_FIELDS) {
      const mentions =
        message.startsWith(`${field.path} `) ||
        // "classesPerBatch × imagesPerClass must be ≤ …" is about both
        (message.startsWith('classesPerBatch × imagesPerClass') && (field.key === 'classesPerBatch' || field.key === 'imagesPerClass'));
      if (mentions && !fieldErrors[field.key]) fieldErrors[field.key] = message;
    }
  }
  return { config, errors, fieldErrors };
}

/** The top blocks the form asks to fine-tune (0 when the field is not a valid count): what the embed step caches cut maps for. */
export function topBlocksOf(form: SettingsForm): number {
  const n = Number(form.topBlocks);
  return Number.isInteger(n) && n > 0 && n <= 16 ? n : 0;
}
