/**
 * MT19937, the Mersenne Twister, bit-compatible with numpy's legacy generator
 * (`np.random.seed(int)` / `RandomState(int)`): same seeding (init_genrand), same 32-bit
 * outputs, same doubles (`random_sample`, genrand_res53) and same bounded integers
 * (`random_interval`, used by the legacy `shuffle` / `permutation` / `choice`).
 * Deterministic on every platform; the state can be saved and restored.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** The complete generator state: 624 words and the position in them. */
export interface MT19937State {
  mt: Uint32Array;
  index: number;
}

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** Seeds like numpy's legacy `seed(int)`: an integer in [0, 2^32 - 1]. */
  constructor(seed = 42) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`MT19937 seed must be an integer from 0 to 4294967295, got ${seed}`);
    }
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing bits to float multiplication.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[(i + 1) % N] & LOWER_MASK);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }

  /** The next 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits, like numpy's `random_sample` (genrand_res53). */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * An integer in [0, max] (inclusive), unbiased, exactly as numpy's legacy `random_interval`:
   * masks each output with the smallest all-ones mask >= max and rejects values above max.
   */
  nextInterval(max: number): number {
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
      throw new RangeError(`nextInterval needs an integer max from 0 to 4294967295, got ${max}`);
    }
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    while ((value = (this.nextUint32() & mask) >>> 0) > max);
    return value;
  }

  /** A copy of the state, to resume the exact sequence later. */
  getState(): MT19937State {
    return { mt: this.mt.slice(), index: this.index };
  }

  /** Restores a state from getState(). */
  setState(state: MT19937State): void {
    if (state.mt.length !== N || state.index < 0 || state.index > N) {
      throw new RangeError(`MT19937 state needs ${N} words and an index from 0 to ${N}`);
    }
    this.mt.set(state.mt);
    this.index = state.index;
  }

  /** A new generator continuing from `state`. */
  static fromState(state: MT19937State): MT19937 {
    const g = new MT19937(0);
    g.setState(state);
    return g;
  }
}
