import { describe, expect, it } from 'vitest';
import { formatCount, formatLocalTime } from '../../../src/app/format';

describe('formatCount (the page writes counts without Intl, as en-US does)', () => {
  it("matches Intl.NumberFormat('en-US') on integers, negatives and fractions", () => {
    const intl = new Intl.NumberFormat('en-US');
    const values = [0, 7, 999, 1000, 1001, 16185, 99999, 100000, 1234567, 1e9 + 7, -1, -1234, -1234567, 0.5, 12.25, 1234.5678, 8123.0004, -0.25];
    for (const v of values) expect(formatCount(v), String(v)).toBe(intl.format(v));
  });

  it('writes what is not a finite number as it is', () => {
    expect(formatCount(Number.NaN)).toBe('NaN');
    expect(formatCount(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});

describe('formatLocalTime', () => {
  it('writes a moment in local time, zero-padded, seconds included', () => {
    expect(formatLocalTime(new Date(2026, 0, 2, 3, 4, 5).getTime())).toBe('2026-01-02 03:04:05');
    expect(formatLocalTime(new Date(2026, 11, 31, 23, 59, 59).getTime())).toBe('2026-12-31 23:59:59');
  });
});
