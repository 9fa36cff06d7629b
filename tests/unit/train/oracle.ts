import { readFileSync } from 'node:fs';
import { sharedPath } from '../../support/shared';

export interface OracleLoss {
  distance: 'cosine' | 'euclidean';
  mining: 'hard' | 'all' | 'semi_hard';
  margin: number;
  soft?: boolean;
  loss: number;
}
export interface OracleCase {
  n: number;
  d: number;
  embeddings: number[][];
  groups: number[];
  losses: OracleLoss[];
  distance_matrix_cosine: number[][];
  distance_matrix_euclidean: number[][];
}
type Params = Record<string, number[] | number[][]>;
export interface Oracle {
  cases: OracleCase[];
  skip_connection_head: {
    input: number[][];
    groups: number[];
    params: Params;
    output: number[][];
    triplet_hard_cosine_loss: number;
    grads: Params;
    adam: { lr: number; betas: [number, number]; eps: number };
    params_after_one_adam_step: Params;
    gates_init_default: number[];
  };
}

let cached: Oracle | undefined;
/** The reference library's values (../shared/fixtures/quaterion-oracle.json). */
export function loadOracle(): Oracle {
  cached ??= JSON.parse(readFileSync(sharedPath('fixtures', 'quaterion-oracle.json'), 'utf8')) as Oracle;
  return cached;
}

export function flat(rows: number[][] | number[]): Float32Array {
  return Float32Array.from((rows as (number | number[])[]).flat() as number[]);
}

/** max |a - b|, relative where |b| > 1 (the fixture's tolerance rule). */
export function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(e <= worst)) worst = e; // NaN propagates
  }
  return worst;
}
