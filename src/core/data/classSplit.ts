/**
 * The class split of the recipe: the merged dataset's classes are divided at random into
 * training classes and validation (novel) classes; validation classes are never trained on.
 */
import { MT19937 } from '../random/mt19937';
import { shuffleInPlace } from '../random/randomSource';

export type ClassSplitMode = 'seeded' | 'numpy';

export interface ClassSplitOptions {
  /** Integer in [0, 2^32 - 1]. Default 42, as in the recipe. */
  seed?: number;
  /** Share of classes used for training, in (0, 1). Default 0.5, as in the recipe. */
  trainFraction?: number;
  /**
   * 'seeded' (default): our documented Fisher-Yates shuffle (below).
   * 'numpy': exactly the classes the reference picks with
   * `np.random.seed(seed); np.random.choice(classCount, trainCount, replace=False)`.
   */
  mode?: ClassSplitMode;
}

export interface ClassSplit {
  /** 0-based class ids, ascending. */
  trainClasses: number[];
  /** 0-based class ids, ascending; every class not in trainClasses. */
  validationClasses: number[];
  seed: number;
  trainFraction: number;
  mode: ClassSplitMode;
}

export const DEFAULT_SPLIT_SEED = 42;
export const DEFAULT_TRAIN_FRACTION = 0.5;

/**
 * numpy's legacy `np.random.seed(seed); np.random.choice(a=n, size=k, replace=False)`:
 * `permutation(n)[:k]`, where the legacy shuffle swaps `i` with `random_interval(i)` for
 * i = n-1 down to 1. Returns the k ids in draw order.
 */
export function numpyChoiceWithoutReplacement(seed: number, n: number, k: number): number[] {
  checkCount(n, k);
  const rng = new MT19937(seed);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 1; i--) {
    const j = rng.nextInterval(i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k);
}

/**
 * The 'seeded' mode: a Fisher-Yates shuffle of 0..n-1 driven by MT19937(seed), for
 * i = n-1 down to 1 swapping i with floor(nextFloat() * (i + 1)); the first k are chosen.
 * Deterministic everywhere (IEEE doubles), but not the same classes as numpy's choice.
 */
export function seededChoice(seed: number, n: number, k: number): number[] {
  checkCount(n, k);
  return shuffleInPlace(new MT19937(seed), Array.from({ length: n }, (_, i) => i)).slice(0, k);
}

function checkCount(n: number, k: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`class count must be a whole number, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`cannot choose ${k} of ${n} classes`);
}

/** Number of training classes: round(classCount * trainFraction), at least 1 and at most classCount - 1. */
export function trainClassCount(classCount: number, trainFraction: number): number {
  return Math.min(classCount - 1, Math.max(1, Math.round(classCount * trainFraction)));
}

/**
 * Splits `classCount` classes into training and validation classes.
 * Throws RangeError when there are fewer than 2 classes, or for an invalid seed, fraction or mode.
 */
export function splitClasses(classCount: number, opts: ClassSplitOptions = {}): ClassSplit {
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED;
  const trainFraction = opts.trainFraction ?? DEFAULT_TRAIN_FRACTION;
  const mode = opts.mode ?? 'seeded';
  if (!Number.isInteger(classCount) || classCount < 2) {
    throw new RangeError(
      `a class split needs at least 2 classes (one to train on, one to validate on), got ${classCount}`,
    );
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`split seed must be an integer from 0 to 4294967295, got ${seed}`);
  }
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`trainFraction must be between 0 and 1 (exclusive), got ${trainFraction}`);
  }
  if (mode !== 'seeded' && mode !== 'numpy') {
    throw new RangeError(`split mode must be 'seeded' or 'numpy', got '${String(mode)}'`);
  }
  const k = trainClassCount(classCount, trainFraction);
  const chosen = mode === 'numpy' ? numpyChoiceWithoutReplacement(seed, classCount, k) : seededChoice(seed, classCount, k);
  const inTrain = new Uint8Array(classCount);
  for (const c of chosen) inTrain[c] = 1;
  const trainClasses: number[] = [];
  const validationClasses: number[] = [];
  for (let c = 0; c < classCount; c++) (inTrain[c] ? trainClasses : validationClasses).push(c);
  return { trainClasses, validationClasses, seed, trainFraction, mode };
}

/** Training classes divided again: `fit` classes train, `heldOut` classes choose the epoch. */
export interface HeldOutSplit {
  /** Class ids that train, ascending. */
  fitClasses: number[];
  /** Class ids held out of training for early stopping and the best epoch, ascending. */
  heldOutClasses: number[];
}

/**
 * Holds `fraction` of the training classes (at least 2, leaving at least 2 to train) out of
 * training, as validation classes for model selection, so that the never-seen test classes
 * are never used to choose anything. Seeded Fisher-Yates (`seededChoice`) on a seed derived
 * from `seed`, so it does not repeat the draw of the class split itself.
 */
export function holdOutClasses(trainClasses: readonly number[], fraction: number, seed: number): HeldOutSplit {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`the held-out fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const n = trainClasses.length;
  if (n < 4) throw new RangeError(`holding out validation classes needs at least 4 training classes (2 to train, 2 to validate), got ${n}`);
  const count = Math.min(n - 2, Math.max(2, Math.round(n * fraction)));
  const sorted = [...trainClasses].sort((a, b) => a - b);
  const picked = new Set(seededChoice((seed ^ 0x4e1d0) >>> 0, n, count).map((i) => sorted[i]));
  return { fitClasses: sorted.filter((c) => !picked.has(c)), heldOutClasses: sorted.filter((c) => picked.has(c)) };
}
