import { describe, expect, it } from 'vitest';
import { sameChartData } from '../../../src/app/training/chartData';

describe('sameChartData', () => {
  it('is true for new arrays with the same values, gaps included', () => {
    expect(sameChartData([[1, 2], [0.5, null]], [[1, 2], [0.5, null]])).toBe(true);
  });

  it('is false for a new epoch, a changed value, another series or nothing drawn yet', () => {
    expect(sameChartData([[1], [0.5]], [[1, 2], [0.5, 0.4]])).toBe(false);
    expect(sameChartData([[1, 2], [0.5, 0.4]], [[1, 2], [0.5, 0.3]])).toBe(false);
    expect(sameChartData([[1], [0.5]], [[1], [0.5], [0.1]])).toBe(false);
    expect(sameChartData([[1], [null]], [[1], [0]])).toBe(false);
    expect(sameChartData(null, [[1]])).toBe(false);
  });
});
