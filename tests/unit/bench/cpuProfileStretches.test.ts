import { describe, expect, it } from 'vitest';
import { busyStretches, type CpuProfile } from '../../../tests/bench/cpuProfileStretches';

const frame = (functionName: string, lineNumber = 0) => ({ functionName, url: 'http://x/assets/app.js', lineNumber, columnNumber: 0 });

/** root -> idle; root -> outer -> inner */
function profile(samples: number[], deltaUs = 1000): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('outer', 9), children: [4] },
      { id: 4, callFrame: frame('inner', 19) },
    ],
    startTime: 0,
    endTime: (samples.length + 1) * deltaUs,
    samples,
    timeDeltas: samples.map(() => deltaUs),
  };
}

describe('busyStretches', () => {
  it('finds a busy stretch over the limit and names what took its time', () => {
    // 10 idle ms, 60 busy ms (20 in outer alone, 40 in inner), 10 idle ms, 30 busy ms
    const samples = [...Array(10).fill(2), ...Array(20).fill(3), ...Array(40).fill(4), ...Array(10).fill(2), ...Array(30).fill(3)];
    const [s, ...rest] = busyStretches(profile(samples), { overMs: 50 });
    expect(rest).toEqual([]);
    expect(s.durationMs).toBe(60);
    expect(s.startMs).toBe(11);
    expect(s.self).toEqual([
      { fn: 'inner @ app.js:20', ms: 40 },
      { fn: 'outer @ app.js:10', ms: 20 },
    ]);
    expect(s.total[0]).toEqual({ fn: 'outer @ app.js:10', ms: 60 });
  });

  it('a short idle gap does not split a stretch; a longer one does', () => {
    const short = [...Array(30).fill(3), 2, ...Array(30).fill(4)];
    expect(busyStretches(profile(short), { overMs: 50, gapMs: 2 }).map((s) => s.durationMs)).toEqual([61]);
    const long = [...Array(30).fill(3), 2, 2, 2, ...Array(30).fill(4)];
    expect(busyStretches(profile(long), { overMs: 50, gapMs: 2 })).toEqual([]);
  });
});
