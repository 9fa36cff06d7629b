import { MT19937 } from './mt19937';

/**
 * The random numbers the training code draws (head init, batch sampling, dropout seeds).
 * Anything with `nextFloat()` in [0, 1) fits, so callers can inject their own generator
 * (umap-js style).
 */
export interface RandomSource {
  /** A float in [0, 1). */
  nextFloat(): number;
}

/**
 * The engine's one seeded generator: MT19937, seeded like numpy's legacy `RandomState(seed)`
 * (the same generator the numpy-compatible class split needs), so every seeded draw —
 * split, head init, dropout seeds, batches, query samples, maps — is reproducible on every
 * platform. Seeds are taken modulo 2^32.
 */
export function seededRandom(seed: number): RandomSource {
  return new MT19937(seed >>> 0);
}

/** A seeded `() => number` in [0, 1), for APIs that take a plain function (umap-js). */
export function randomFunction(seed: number): () => number {
  const random = seededRandom(seed);
  return () => random.nextFloat();
}

/** `m` distinct indices of 0..n-1, seeded, in ascending order (a partial Fisher–Yates). */
export function sampleIndices(n: number, m: number, seed: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const take = Math.min(m, n);
  const random = seededRandom(seed);
  for (let i = 0; i < take; i++) {
    const j = i + randomInt(random, n - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, take).sort();
}

/** An integer in [0, n). */
export function randomInt(random: RandomSource, n: number): number {
  return Math.min(n - 1, Math.floor(random.nextFloat() * n));
}

/** Fisher–Yates shuffle in place; returns the array. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(
  random: RandomSource,
  values: T,
): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
  return values;
}
