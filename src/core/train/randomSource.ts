/**
 * The random numbers the training code draws (head init, batch sampling, dropout seeds).
 * Anything with `nextFloat()` in [0, 1) fits, e.g. the numpy-compatible MT19937 of
 * core/data, so callers can inject their own generator (umap-js style).
 */
export interface RandomSource {
  /** A float in [0, 1). */
  nextFloat(): number;
}

/**
 * The default seeded generator: sfc32 (a small, fast, well-tested PRNG) seeded through
 * splitmix32. Deterministic for a given integer seed; not numpy-compatible (nothing in
 * training needs that).
 */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return { nextFloat: () => next() / 4294967296 };
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
