/**
 * What the GEMM speed alone explains of a tfjs-vs-PyTorch ratio (bench:train-vs-torch).
 * Each side's time is split into its matrix products (the same shapes, timed apart) and the
 * rest; the "GEMM-bound floor" is the ratio tfjs would reach if its non-GEMM work took as
 * long as PyTorch's: (torch.total - torch.gemm + tfjs.gemm) / torch.total.
 */
export interface TimeSplit {
  /** Seconds of the whole thing (a step, an evaluation). */
  total: number;
  /** Seconds of its matrix products. */
  gemm: number;
}

export interface GemmFloor {
  /** tfjs / torch, as measured. */
  measured: number;
  /** tfjs / torch if only the GEMMs' speed differed. */
  gemmBoundFloor: number;
  /** tfjs GEMM seconds / torch GEMM seconds (the same flops). */
  gemmSpeedRatio: number;
  /** Share of the tfjs time in its GEMMs. */
  gemmShare: number;
  /** Milliseconds outside the GEMMs: tfjs, torch. */
  restMs: number;
  torchRestMs: number;
}

export function gemmFloor(tfjs: TimeSplit, torch: TimeSplit): GemmFloor {
  for (const [name, s] of [['tfjs', tfjs], ['torch', torch]] as const) {
    if (!(s.total > 0) || !(s.gemm >= 0)) throw new Error(`${name}: total must be > 0 and gemm ≥ 0, got ${s.total} and ${s.gemm}`);
  }
  const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    measured: round(tfjs.total / torch.total),
    gemmBoundFloor: round((torch.total - torch.gemm + tfjs.gemm) / torch.total),
    gemmSpeedRatio: torch.gemm > 0 ? round(tfjs.gemm / torch.gemm) : Infinity,
    gemmShare: round(tfjs.gemm / tfjs.total),
    restMs: round((tfjs.total - tfjs.gemm) * 1000, 1),
    torchRestMs: round((torch.total - torch.gemm) * 1000, 1),
  };
}

/** GFLOPS of an m×k by k×n product taking `seconds`. */
export function gflops(m: number, k: number, n: number, seconds: number): number {
  return Math.round(((2 * m * k * n) / seconds / 1e9) * 10) / 10;
}

/** A product's shape and how many times a step runs it. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
  count: number;
}

/**
 * The matrix products of one head step with a batch of `rows` vectors of `dim` (forward fc,
 * the Gram matrix of the cosine distance, the Gram's two gradients, fc's weight gradient; the
 * input needs no gradient). `fcRowsFirst`: the forward as x·Wᵀ (m = rows, PyTorch and most
 * backends); otherwise as (W·xᵀ)ᵀ (m = dim), as the studio runs it on WASM.
 */
export function headStepGemms(rows: number, dim: number, fcRowsFirst: boolean): GemmShape[] {
  return [
    fcRowsFirst ? { m: rows, k: dim, n: dim, count: 1 } : { m: dim, k: dim, n: rows, count: 1 },
    { m: rows, k: dim, n: rows, count: 1 },
    { m: rows, k: rows, n: dim, count: 2 },
    { m: dim, k: rows, n: dim, count: 1 },
  ];
}
