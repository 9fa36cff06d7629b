import { describe, expect, it } from 'vitest';
import { drawSlices, fitToBox, pointsByClass } from '../../../src/app/map/scatter';

describe('fitToBox', () => {
  it('scales the points to the box inside the padding, y pointing down', () => {
    const out = fitToBox(new Float32Array([0, 0, 2, 1, 1, 0.5]), 110, 60, 5);
    expect(Array.from(out)).toEqual([5, 55, 105, 5, 55, 30]);
  });

  it('puts points of one value at the padding, without dividing by zero', () => {
    expect(Array.from(fitToBox(new Float32Array([3, 3, 3, 3]), 50, 50, 10))).toEqual([10, 40, 10, 40]);
  });
});

describe('pointsByClass', () => {
  it('groups point indices by class, classes in order of first appearance', () => {
    expect(pointsByClass([7, 2, 7, 7, 2, 9])).toEqual([
      { classId: 7, points: [0, 2, 3] },
      { classId: 2, points: [1, 4] },
      { classId: 9, points: [5] },
    ]);
  });
});

describe('drawSlices', () => {
  it('cuts the groups into slices of at most that many points, a group spanning slices, nothing lost', () => {
    const groups = [
      { classId: 7, points: [0, 2, 3] },
      { classId: 2, points: [1, 4] },
      { classId: 9, points: [5] },
    ];
    expect(drawSlices(groups, 2)).toEqual([
      [{ classId: 7, points: [0, 2] }],
      [
        { classId: 7, points: [3] },
        { classId: 2, points: [1] },
      ],
      [
        { classId: 2, points: [4] },
        { classId: 9, points: [5] },
      ],
    ]);
    expect(drawSlices(groups, 10)).toEqual([groups]);
    expect(drawSlices([], 10)).toEqual([]);
  });
});
