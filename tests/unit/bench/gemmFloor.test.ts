import { describe, expect, it } from 'vitest';
import { gemmFloor, gflops, headStepGemms } from '../../../tests/bench/gemmFloor';

describe('gemmFloor', () => {
  it('puts the GEMM speed difference alone on top of torch’s own non-GEMM time', () => {
    // torch: 50 ms a step, 25 in GEMMs; tfjs: 300 ms, 150 in GEMMs
    const f = gemmFloor({ total: 0.3, gemm: 0.15 }, { total: 0.05, gemm: 0.025 });
    expect(f.measured).toBe(6);
    expect(f.gemmBoundFloor).toBe(3.5); // (25 + 150) / 50
    expect(f.gemmSpeedRatio).toBe(6);
    expect(f.gemmShare).toBe(0.5);
    expect(f.restMs).toBe(150);
    expect(f.torchRestMs).toBe(25);
  });

  it('is the measured ratio when only the GEMMs differ', () => {
    const f = gemmFloor({ total: 0.08, gemm: 0.06 }, { total: 0.04, gemm: 0.02 });
    expect(f.gemmBoundFloor).toBe(f.measured);
  });

  it('refuses a split that cannot be', () => {
    expect(() => gemmFloor({ total: 0, gemm: 0 }, { total: 1, gemm: 0.5 })).toThrow(/tfjs: total must be > 0/);
    expect(() => gemmFloor({ total: 1, gemm: 0.5 }, { total: 1, gemm: NaN })).toThrow(/torch/);
  });
});

describe('headStepGemms', () => {
  it('counts the same flops in either form of the forward', () => {
    const flops = (rowsFirst: boolean) => headStepGemms(256, 1280, rowsFirst).reduce((s, g) => s + 2 * g.m * g.k * g.n * g.count, 0);
    expect(flops(true)).toBe(flops(false));
    // 1280² x 256 twice (fc and its weight gradient), 256² x 1280 three times (Gram and its two gradients), x 2 flops
    expect(flops(true)).toBe(2 * (2 * 1280 * 1280 * 256 + 3 * 256 * 256 * 1280));
  });

  it('gives GFLOPS', () => {
    expect(gflops(1000, 1000, 1000, 0.1)).toBe(20);
  });
});
