import { describe, expect, it } from 'vitest';
import { PKBatchSampler } from '../../../src/core/train/batchSampler';
import { seededRandom } from '../../../src/core/random/randomSource';

function labelsOf(sizes: number[]): Int32Array {
  return Int32Array.from(sizes.flatMap((s, c) => new Array(s).fill(c)));
}

describe('PKBatchSampler', () => {
  it('draws P distinct classes × K images, ceil(n / PK) steps', () => {
    const labels = labelsOf([10, 12, 9, 11, 10, 8, 10, 10]); // 80 images
    const s = new PKBatchSampler(labels, { classesPerBatch: 3, imagesPerClass: 4, random: seededRandom(1) });
    expect(s.stepsPerEpoch).toBe(Math.ceil(80 / 12));
    const counts = new Map<number, number>();
    for (const batch of s.epoch()) {
      expect(batch.length).toBe(12);
      const classes = new Set<number>();
      for (let c = 0; c < 3; c++) {
        const group = Array.from(batch.subarray(c * 4, c * 4 + 4));
        const label = labels[group[0]];
        expect(group.every((i) => labels[i] === label)).toBe(true);
        expect(new Set(group).size).toBe(4); // no repeats when the class has ≥ K images
        classes.add(label);
      }
      expect(classes.size).toBe(3);
      for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    // classes are spread evenly: 7 steps × 3 = 21 draws over 8 classes → 2 or 3 each
    expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
  });

  it('is reproducible for a seed, different across epochs and seeds', () => {
    const labels = labelsOf([6, 6, 6, 6, 6]);
    const opts = { classesPerBatch: 2, imagesPerClass: 3 };
    const a = new PKBatchSampler(labels, { ...opts, random: seededRandom(5) });
    const b = new PKBatchSampler(labels, { ...opts, random: seededRandom(5) });
    const c = new PKBatchSampler(labels, { ...opts, random: seededRandom(6) });
    const e1 = a.epoch();
    expect(e1).toEqual(b.epoch());
    expect(e1).not.toEqual(c.epoch());
    expect(a.epoch()).not.toEqual(e1);
  });

  it('samples with replacement in small classes, skips singletons, handles fewer classes than P', () => {
    const labels = labelsOf([2, 1, 3]); // class 1 has one image: never drawn
    const s = new PKBatchSampler(labels, { classesPerBatch: 8, imagesPerClass: 4, random: seededRandom(2) });
    expect(s.classesPerBatch).toBe(2);
    expect(s.batchSize).toBe(8);
    expect(s.stepsPerEpoch).toBe(1); // 5 eligible images / 8
    const [batch] = s.epoch();
    expect(Array.from(batch).some((i) => labels[i] === 1)).toBe(false);
    const class0 = Array.from(batch).filter((i) => labels[i] === 0);
    expect(class0.length).toBe(4);
    expect(new Set(class0)).toEqual(new Set([0, 1])); // all its images, plus repeats
  });

  it('rejects too few eligible classes and bad P/K with the valid range', () => {
    expect(() => new PKBatchSampler(labelsOf([5, 1]), { classesPerBatch: 2, imagesPerClass: 2, random: seededRandom(0) })).toThrow(
      /at least 2 classes with 2 or more images/,
    );
    expect(() => new PKBatchSampler(labelsOf([5, 5]), { classesPerBatch: 1, imagesPerClass: 2, random: seededRandom(0) })).toThrow(
      /classesPerBatch must be an integer ≥ 2, got 1/,
    );
  });
});

describe('RandomSource injection', () => {
  it('takes the numpy-compatible MT19937 of core/data', async () => {
    const { MT19937 } = await import('../../../src/core/random/mt19937');
    const labels = labelsOf([6, 6, 6, 6]);
    const opts = { classesPerBatch: 2, imagesPerClass: 3 };
    const a = new PKBatchSampler(labels, { ...opts, random: new MT19937(42) });
    const b = new PKBatchSampler(labels, { ...opts, random: new MT19937(42) });
    expect(a.epoch()).toEqual(b.epoch());
  });
});
