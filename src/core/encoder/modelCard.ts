/**
 * A model card: everything the studio needs to know to turn images into embeddings with
 * one pretrained encoder — where its weights are, what input it takes, how pixels are
 * normalised, which internal output is the feature. Plain data, so it can be stored with
 * a run and shown in the UI.
 */

/** Pixel normalisation applied to 0-255 RGB values before the network. */
export type PixelNormalisation =
  /** Linear map of [0, 255] onto [min, max], e.g. [-1, 1] (MobileNet) or [0, 1] (TF Hub). */
  | { kind: 'range'; min: number; max: number }
  /** (x / 255 - mean[c]) / std[c] per channel, e.g. ImageNet mean/std (the reference recipe). */
  | { kind: 'mean-std'; mean: [number, number, number]; std: [number, number, number] };

/** How an image is brought to the input size. */
export type ResizeMode =
  /** Stretch the whole image to the input size, ignoring aspect ratio (the recipe's choice). */
  | 'squash'
  /** Scale the short side to fit, then cut the centre. */
  | 'center-crop';

export type ModelFormat = 'layers' | 'graph';

export type FeaturePooling = 'none' | 'global-average';

export interface ModelCard {
  /** Stable identifier, used in cache keys: lower-case letters, digits, '.', '_' and '-'. */
  id: string;
  name: string;
  description: string;
  /** model.json URL; absent for a model given as files or an IOHandler. */
  url?: string;
  format: ModelFormat;
  inputSize: { width: number; height: number };
  normalisation: PixelNormalisation;
  /**
   * Which output is the feature. Layers model: a layer name. Graph model: a node name
   * (e.g. `module_apply_default/MobilenetV2/Logits/AvgPool`) or an output signature key;
   * omitted = the model's (first) output.
   */
  featureOutput?: string;
  /** 'global-average' when the feature output is spatial [N, h, w, c]. */
  pooling: FeaturePooling;
  /** Length of one embedding. */
  featureSize: number;
  /** Defaults to 'squash', like the reference recipe. */
  resize?: ResizeMode;
  licence: string;
  /** Download size in bytes, when known. */
  sizeBytes?: number;
  /** Where the URL and input contract were verified (a documentation or source page). */
  source?: string;
  /**
   * Fine-tuning cuts (layers models): `cuts[n - 1]` is the layer whose output is cached when
   * the top `n` blocks train; the trainable top is every layer from it to `featureOutput`.
   * `cuts[0]` is the default. Absent: the encoder cannot be fine-tuned (see `cutsUnavailable`).
   */
  cuts?: string[];
  /** Why there are no cuts, when the card says so (e.g. a graph model's frozen constants). */
  cutsUnavailable?: string;
}

export const DEFAULT_RESIZE: ResizeMode = 'squash';

/** Thrown by `validateModelCard`; `problems` lists each thing wrong. */
export class ModelCardError extends Error {
  override name = 'ModelCardError';
  constructor(readonly problems: string[], id?: string) {
    super(`Invalid model card${id ? ` "${id}"` : ''}: ${problems.join('; ')}`);
  }
}

const FORMATS: ModelFormat[] = ['layers', 'graph'];
const POOLINGS: FeaturePooling[] = ['none', 'global-average'];
const RESIZES: ResizeMode[] = ['squash', 'center-crop'];

function isPositiveInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Lists what is wrong with a card (empty when valid). */
export function modelCardProblems(card: ModelCard): string[] {
  const p: string[] = [];
  const c = card as Partial<ModelCard> & Record<string, unknown>;
  if (typeof c.id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(c.id)) {
    p.push(`id must be lower-case letters, digits, '.', '_' or '-' (got ${JSON.stringify(c.id)})`);
  }
  if (typeof c.name !== 'string' || c.name.trim() === '') p.push('name is empty');
  if (typeof c.description !== 'string') p.push('description must be a string');
  if (c.url !== undefined) {
    if (typeof c.url !== 'string' || !/^(https?:\/\/|\/|\.\.?\/)/.test(c.url)) {
      p.push(`url must be an http(s) URL or a path (got ${JSON.stringify(c.url)})`);
    }
  }
  if (!FORMATS.includes(c.format as ModelFormat)) {
    p.push(`format must be one of ${FORMATS.join(', ')} (got ${JSON.stringify(c.format)})`);
  }
  if (!c.inputSize || !isPositiveInt(c.inputSize.width) || !isPositiveInt(c.inputSize.height)) {
    p.push(`inputSize must have positive integer width and height (got ${JSON.stringify(c.inputSize)})`);
  }
  const n = c.normalisation as PixelNormalisation | undefined;
  if (!n || (n.kind !== 'range' && n.kind !== 'mean-std')) {
    p.push(`normalisation.kind must be 'range' or 'mean-std' (got ${JSON.stringify(n)})`);
  } else if (n.kind === 'range') {
    if (!isFiniteNumber(n.min) || !isFiniteNumber(n.max) || !(n.max > n.min)) {
      p.push(`normalisation range needs finite min < max (got [${n.min}, ${n.max}])`);
    }
  } else {
    const ok3 = (a: unknown) => Array.isArray(a) && a.length === 3 && a.every(isFiniteNumber);
    if (!ok3(n.mean)) p.push('normalisation.mean must be 3 finite numbers (R, G, B)');
    if (!ok3(n.std) || !n.std.every((s) => s > 0)) p.push('normalisation.std must be 3 positive numbers (R, G, B)');
  }
  if (c.format === 'layers' && (typeof c.featureOutput !== 'string' || c.featureOutput === '')) {
    p.push('a layers model needs featureOutput: the name of the feature layer');
  }
  if (c.featureOutput !== undefined && typeof c.featureOutput !== 'string') {
    p.push('featureOutput must be a string');
  }
  if (!POOLINGS.includes(c.pooling as FeaturePooling)) {
    p.push(`pooling must be one of ${POOLINGS.join(', ')} (got ${JSON.stringify(c.pooling)})`);
  }
  if (!isPositiveInt(c.featureSize)) p.push(`featureSize must be a positive integer (got ${JSON.stringify(c.featureSize)})`);
  if (c.resize !== undefined && !RESIZES.includes(c.resize)) {
    p.push(`resize must be one of ${RESIZES.join(', ')} (got ${JSON.stringify(c.resize)})`);
  }
  if (typeof c.licence !== 'string' || c.licence === '') p.push('licence is empty (say "unknown" if it is)');
  if (c.sizeBytes !== undefined && !isPositiveInt(c.sizeBytes)) p.push('sizeBytes must be a positive integer');
  if (c.cuts !== undefined) {
    if (!Array.isArray(c.cuts) || c.cuts.length === 0 || c.cuts.some((x) => typeof x !== 'string' || x === '')) {
      p.push('cuts must be a non-empty list of layer names');
    } else if (c.format !== 'layers') {
      p.push('cuts apply to layers models only (a graph model holds frozen constants)');
    }
  }
  return p;
}

/** Throws a ModelCardError listing every problem; returns the card when valid. */
export function validateModelCard(card: ModelCard): ModelCard {
  const problems = modelCardProblems(card);
  if (problems.length > 0) throw new ModelCardError(problems, (card as { id?: string })?.id);
  return card;
}

function normalisationKey(n: PixelNormalisation): string {
  return n.kind === 'range' ? `range(${n.min},${n.max})` : `mean-std(${n.mean.join(',')};${n.std.join(',')})`;
}

/**
 * A stable string naming everything that changes the embedding of an image: the model
 * (id and URL), input size, normalisation, feature output, pooling, resize mode and
 * whether the image is cropped to its bounding box. Two runs with the same key give the
 * same vectors, so the key is the embedding-cache key.
 */
export function preprocessingKey(card: ModelCard, options: { cropToBox: boolean }): string {
  return [
    'v1',
    `model=${card.id}`,
    `url=${card.url ?? ''}`,
    `format=${card.format}`,
    `input=${card.inputSize.width}x${card.inputSize.height}`,
    `norm=${normalisationKey(card.normalisation)}`,
    `feature=${card.featureOutput ?? ''}`,
    `pool=${card.pooling}`,
    `dim=${card.featureSize}`,
    `resize=${card.resize ?? DEFAULT_RESIZE}`,
    `crop=${options.cropToBox ? 'box' : 'none'}`,
  ].join('|');
}

/**
 * The cut layer for fine-tuning `blocks` top blocks (1 = the card's default cut), or why the
 * card has none.
 */
export function cutForBlocks(card: ModelCard, blocks: number): { layer: string } | { problem: string } {
  const cuts = card.cuts ?? [];
  if (blocks >= 1 && blocks <= cuts.length) return { layer: cuts[blocks - 1] };
  return {
    problem:
      `training ${blocks} top block${blocks === 1 ? '' : 's'} of "${card.name}": ` +
      (cuts.length ? `it has ${cuts.length} cut${cuts.length === 1 ? '' : 's'} (${cuts.join(', ')})` : `it cannot be cut (${card.cutsUnavailable ?? 'its card names no cut'})`),
  };
}
