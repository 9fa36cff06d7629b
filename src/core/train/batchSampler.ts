import { randomInt, shuffleInPlace, type RandomSource } from '../random/randomSource';

export interface BatchSamplerOptions {
  /** P: classes per batch (integer ≥ 2; fewer are used when fewer classes are eligible). */
  classesPerBatch: number;
  /** K: images per class in a batch (integer ≥ 2). */
  imagesPerClass: number;
  random: RandomSource;
}

/**
 * P×K batches for online triplet mining: each batch holds `classesPerBatch` distinct classes
 * with `imagesPerClass` images each, so every anchor has positives and negatives (the reference
 * library's loader does not guarantee this; we do).
 *
 * - Only classes with ≥ 2 images are eligible (a single image has no positive); the others
 *   are never drawn.
 * - Each epoch reshuffles the class order and each class's images. Classes are drawn from the
 *   shuffled order without repeats until it is used up, then from a fresh shuffle; a class's
 *   images likewise, so an epoch spreads evenly over classes and images.
 * - A class with fewer than K images contributes all of them plus draws with replacement to
 *   reach K.
 * - Fewer eligible classes than P: every batch holds all eligible classes.
 * - Steps per epoch = ceil(eligible images / (P' × K)), P' = min(P, eligible classes).
 */
export class PKBatchSampler {
  readonly classesPerBatch: number;
  readonly imagesPerClass: number;
  readonly stepsPerEpoch: number;
  /** Eligible classes' member indices. */
  private readonly members: Int32Array[];
  private readonly random: RandomSource;
  private classQueue: number[] = [];
  private readonly imageQueues: number[][];

  constructor(labels: Int32Array, opts: BatchSamplerOptions) {
    const { classesPerBatch: p, imagesPerClass: k } = opts;
    if (!Number.isInteger(p) || p < 2) throw new Error(`classesPerBatch must be an integer ≥ 2, got ${p}`);
    if (!Number.isInteger(k) || k < 2) throw new Error(`imagesPerClass must be an integer ≥ 2, got ${k}`);
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < labels.length; i++) {
      const g = byClass.get(labels[i]);
      if (g) g.push(i);
      else byClass.set(labels[i], [i]);
    }
    this.members = [...byClass.entries()]
      .filter(([, m]) => m.length >= 2)
      .sort(([a], [b]) => a - b)
      .map(([, m]) => Int32Array.from(m));
    if (this.members.length < 2) {
      throw new Error(
        `P×K batches need at least 2 classes with 2 or more images each; got ${this.members.length} ` +
          `(${byClass.size} classes in all)`,
      );
    }
    this.random = opts.random;
    this.classesPerBatch = Math.min(p, this.members.length);
    this.imagesPerClass = k;
    const eligibleImages = this.members.reduce((s, m) => s + m.length, 0);
    this.stepsPerEpoch = Math.ceil(eligibleImages / (this.classesPerBatch * k));
    this.imageQueues = this.members.map(() => []);
  }

  /** Number of eligible classes. */
  get classCount(): number {
    return this.members.length;
  }

  /** Batch size: P' × K. */
  get batchSize(): number {
    return this.classesPerBatch * this.imagesPerClass;
  }

  /** One epoch of batches: `stepsPerEpoch` arrays of P'×K indices (grouped by class). */
  epoch(): Int32Array[] {
    // a new epoch starts from fresh shuffles
    this.classQueue = [];
    for (const q of this.imageQueues) q.length = 0;
    const batches: Int32Array[] = [];
    for (let s = 0; s < this.stepsPerEpoch; s++) batches.push(this.nextBatch());
    return batches;
  }

  private nextBatch(): Int32Array {
    const p = this.classesPerBatch;
    const k = this.imagesPerClass;
    const chosen: number[] = [];
    const deferred: number[] = [];
    while (chosen.length < p) {
      if (this.classQueue.length === 0) {
        this.classQueue = shuffleInPlace(this.random, Array.from(this.members, (_, c) => c));
      }
      const c = this.classQueue.pop()!;
      if (chosen.includes(c)) deferred.push(c);
      else chosen.push(c);
    }
    // classes met twice go back to be drawn first next time
    this.classQueue.push(...deferred);
    const batch = new Int32Array(p * k);
    let o = 0;
    for (const c of chosen) {
      const m = this.members[c];
      if (m.length < k) {
        const order = shuffleInPlace(this.random, Array.from(m));
        for (const i of order) batch[o++] = i;
        for (let j = m.length; j < k; j++) batch[o++] = m[randomInt(this.random, m.length)];
      } else {
        const q = this.imageQueues[c];
        for (let j = 0; j < k; j++) {
          if (q.length === 0) q.push(...shuffleInPlace(this.random, Array.from(m)));
          // an image already taken for this batch (queue refilled mid-batch) is swapped out
          let i = q.pop()!;
          for (let tries = 0; tries < q.length && batch.subarray(o - j, o).includes(i); tries++) {
            q.unshift(i);
            i = q.pop()!;
          }
          batch[o++] = i;
        }
      }
    }
    return batch;
  }
}
