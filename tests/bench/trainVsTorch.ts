/**
 * The head's training step side by side: the studio's HeadTrainer on each tfjs backend that
 * runs in Node, and the same head, loss, optimizer, batch shape and steps on PyTorch CPU
 * (Debian's python3-torch; skipped with the install line when missing), in one run. Prints
 * JSON: seconds per step, per epoch (steps + validation loss), per exact evaluation, and the
 * ratios to PyTorch. Then what limits them: each side's matrix products of a step and of an
 * exact evaluation timed apart (the same shapes, GFLOPS), the tfjs step's kernels by time
 * (tf.profile), and the "GEMM-bound floor", the ratio if only the GEMMs' speed differed
 * (tests/bench/gemmFloor.ts): the step is X× torch, GEMM speed alone explains Y×, the rest is
 * Z ms against torch's.
 *
 *   npm run bench:train-vs-torch -- [--epochs 5] [--backends wasm,cpu] [--torch-threads 1] [--dim 1280] [--classes 98] [--per-class 42] [--eval-blocks 256,971] [--out file.json]
 *
 * The default is WASM alone: tfjs's plain-JS CPU backend takes minutes per epoch at 1,280-d.
 *
 * The vectors are synthetic clusters of the issue's shape (98 training and 98 validation
 * classes, about 4,070 vectors each, 1,280-d, batches of 32 x 8 = 256, 16 steps): a speed
 * benchmark, so the values only need the right shape; the quality benchmarks use real images.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { halvesExactEvaluation, queryBlockSize, retrievalMetrics } from '../../src/core/eval/retrievalMetrics';
import { seededRandom } from '../../src/core/random/randomSource';
import { PKBatchSampler } from '../../src/core/train/batchSampler';
import { HeadTrainer } from '../../src/core/train/trainer';
import { gemmFloor, gflops, headStepGemms, type GemmShape } from './gemmFloor';
import { syntheticClusters } from './syntheticClusters';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const epochs = Number(arg('epochs', '5'));
const dim = Number(arg('dim', '1280'));
const classes = Number(arg('classes', '98'));
const perClass = Number(arg('per-class', '42'));
const out = arg('out', '');
const backends = arg('backends', 'wasm').split(',') as ('wasm' | 'cpu')[];
// one thread by default, like tfjs's WASM in Node; more threads on 2 cores mostly contend
const torchThreads = Number(arg('torch-threads', '1'));
// extra query-block sizes whose evaluation products are timed (the default block always is)
const evalBlocks = arg('eval-blocks', '').split(',').filter(Boolean).map(Number);
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const P = 32;
const K = 8;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const train = syntheticClusters(classes, perClass, dim, 0, 1);
const validation = syntheticClusters(classes, perClass, dim, classes, 2);
const config = { classesPerBatch: P, imagesPerClass: K, maxEpochs: epochs + 2, patience: epochs + 2, validationQueries: 1 };

async function tfjsColumn(backend: 'wasm' | 'cpu') {
  if (!(await tf.setBackend(backend))) return { backend, error: 'did not start' };
  await tf.ready();
  const noMetrics = () => ({ rPrecision: 0, rPrecisionMacro: 0, precisionAt1: 0, mapAtR: 0, queryCount: 1, skippedQueries: 0 });
  const trainer = new HeadTrainer({ config, train, validation, dim, metrics: noMetrics });
  const epochSeconds: number[] = [];
  const validationSeconds: number[] = [];
  for (let e = 0; e <= epochs; e++) {
    const t = performance.now();
    await trainer.step();
    const epochTime = (performance.now() - t) / 1000;
    progress(`${backend}: epoch ${e}${e === 0 ? ' (warm-up)' : ''} ${epochTime.toFixed(2)} s`);
    const v = performance.now();
    await trainer.evaluate();
    if (e > 0) {
      epochSeconds.push(epochTime);
      validationSeconds.push((performance.now() - v) / 1000);
    }
  }
  // exact metrics over every validation vector, as the trainer runs them: on the backend, from
  // the head's outputs (computed once for the validation loss too, so not timed, as in torch's)
  const tuned = tf.tidy(() => trainer.head.apply(tf.tensor2d(validation.embeddings, [validation.labels.length, dim]), false));
  const evaluations: number[] = [];
  let metrics: Awaited<ReturnType<typeof retrievalMetrics>> | null = null;
  for (let r = 0; r < 3; r++) {
    const e = performance.now();
    metrics = await retrievalMetrics(tuned, dim, validation.labels, { distance: 'cosine' });
    evaluations.push((performance.now() - e) / 1000);
  }
  const kernels = await trainingKernels(trainer);
  const gemms = timeGemms(headStepGemms(P * K, dim, backend !== 'wasm'));
  const evaluationGemms = [queryBlockSize(validation.labels.length), ...evalBlocks].map((b) => timeEvaluationGemms(tuned, b));
  tuned.dispose();
  const evaluation = median(evaluations);
  const steps = trainer.stepsPerEpoch;
  trainer.dispose();
  const perEpoch = median(epochSeconds);
  const perValidation = median(validationSeconds);
  return {
    backend,
    secondsPerStep: (perEpoch - perValidation) / steps,
    secondsPerEpoch: perEpoch,
    secondsPerValidationLoss: perValidation,
    secondsPerEvaluation: evaluation,
    lastRPrecision: metrics!.rPrecision,
    gemms,
    gemmSecondsPerStep: gemms.reduce((t, g) => t + (g.ms * g.count) / 1000, 0),
    evaluationGemms,
    evaluationGemmSeconds: evaluationGemms[0].seconds,
    /** A training epoch's kernels by time, per step (tf.profile, so each a little slower than unprofiled). */
    kernelsPerStep: kernels.map((k) => ({ ...k, ms: Math.round((k.ms / steps) * 100) / 100 })),
  };
}

/** Median milliseconds of each product with new operands every time (a step's operands are all new). */
function timeGemms(shapes: GemmShape[], reps = 7) {
  return shapes.map((g) => {
    const times: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const [a, b] = [tf.randomNormal([g.m, g.k]), tf.randomNormal([g.k, g.n])] as tf.Tensor2D[];
      const t = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      if (r > 0) times.push(performance.now() - t);
      tf.dispose([a, b, c]);
    }
    const ms = median(times);
    return { ...g, ms: Math.round(ms * 1000) / 1000, gflops: gflops(g.m, g.k, g.n, ms / 1000) };
  });
}

/**
 * The exact evaluation's similarity products as retrievalMetrics runs them: blocks of
 * `blockSize` normalised rows against blocks of the transposed set, each block of columns
 * packed once; only a block's own and later columns when it computes half the matrix.
 * Median of 3 passes, each from a new transpose (as each evaluation makes one).
 */
function timeEvaluationGemms(outputs: tf.Tensor2D, blockSize: number) {
  const n = outputs.shape[0];
  const half = halvesExactEvaluation(n);
  const rows = tf.tidy(() => tf.div(outputs, tf.norm(outputs, 2, 1, true)) as tf.Tensor2D);
  const starts = Array.from({ length: Math.ceil(n / blockSize) }, (_, i) => i * blockSize);
  const size = (s: number) => Math.min(blockSize, n - s);
  const blocks = starts.map((s) => tf.slice(rows, s, size(s)));
  let flops = 0;
  const pass = () => {
    const transposed = tf.transpose(rows);
    const columns = half ? starts.map((s) => tf.slice(transposed, [0, s], [-1, size(s)])) : [transposed];
    flops = 0;
    const t = performance.now();
    blocks.forEach((block, i) => {
      for (let j = half ? i : 0; j < columns.length; j++) {
        const s = tf.matMul(block, columns[j]);
        s.dataSync();
        flops += 2 * block.shape[0] * dim * s.shape[1]!;
        s.dispose();
      }
    });
    const seconds = (performance.now() - t) / 1000;
    tf.dispose([transposed, ...(half ? columns : [])]);
    return seconds;
  };
  const seconds = median([pass(), pass(), pass()]);
  tf.dispose([rows, ...blocks]);
  return { blockSize, halfTheMatrix: half, seconds, gflops: Math.round((flops / seconds / 1e9) * 10) / 10 };
}

/** Kernel milliseconds of one training epoch: a profiled step less a profiled evaluation. */
async function trainingKernels(trainer: HeadTrainer) {
  const byKernel = async (run: () => Promise<unknown>) => {
    const info = await tf.profile(async () => {
      await run();
    });
    const sums = new Map<string, number>();
    // 'unnamed scope' is a customGrad's span: its kernels are listed too
    for (const k of info.kernels) if (k.name !== 'unnamed scope') sums.set(k.name, (sums.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    return sums;
  };
  const step = await byKernel(() => trainer.step());
  const evaluation = await byKernel(() => trainer.evaluate());
  return [...step]
    .map(([kernel, ms]) => ({ kernel, ms: ms - (evaluation.get(kernel) ?? 0) }))
    .filter((k) => k.ms > 0.05)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 12);
}

function torchColumn(): Record<string, unknown> {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `no PyTorch for ${python}: apt-get install python3-torch (or set PYTHON)` };
  const folder = mkdtempSync(path.join(os.tmpdir(), 'train-vs-torch-'));
  try {
    const sampler = (labels: Int32Array, seed: number) => new PKBatchSampler(labels, { classesPerBatch: P, imagesPerClass: K, random: seededRandom(seed) });
    const write = (name: string, a: Float32Array | Int32Array) => writeFileSync(path.join(folder, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    write('train.f32', train.embeddings);
    write('validation.f32', validation.embeddings);
    write('train-labels.i32', train.labels);
    write('validation-labels.i32', validation.labels);
    const spec = {
      dim,
      gemms: headStepGemms(P * K, dim, true),
      trainRows: train.labels.length,
      validationRows: validation.labels.length,
      epochs,
      threads: torchThreads,
      batches: sampler(train.labels, 42).epoch().map((b) => Array.from(b)),
      validationBatches: sampler(validation.labels, 7).epoch().map((b) => Array.from(b)),
    };
    writeFileSync(path.join(folder, 'spec.json'), JSON.stringify(spec));
    const run = spawnSync(python, [path.join(import.meta.dirname, 'trainVsTorch.py'), folder], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (run.status !== 0) return { error: run.stderr.trim().split('\n').slice(-3).join(' ') };
    return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

type Column = Required<Pick<Awaited<ReturnType<typeof tfjsColumn>>, 'backend' | 'secondsPerStep' | 'gemmSecondsPerStep' | 'secondsPerEvaluation' | 'evaluationGemmSeconds'>>;

/** The step's and the evaluation's ratios split into GEMM speed and the rest, with a sentence for the note. */
function limits(c: Column, torch: Record<string, unknown>) {
  const step = gemmFloor({ total: c.secondsPerStep, gemm: c.gemmSecondsPerStep }, { total: torch.secondsPerStep as number, gemm: torch.gemmSecondsPerStep as number });
  const evaluation = gemmFloor(
    { total: c.secondsPerEvaluation, gemm: c.evaluationGemmSeconds },
    { total: torch.secondsPerEvaluation as number, gemm: torch.evaluationGemmSeconds as number },
  );
  const say = (what: string, f: typeof step) =>
    `${what} ${f.measured}x torch; GEMM speed alone explains ${f.gemmBoundFloor}x (its GEMMs ${f.gemmSpeedRatio}x slower, ${Math.round(f.gemmShare * 100)}% of its time); the rest ${f.restMs} ms against torch's ${f.torchRestMs} ms`;
  return { step, evaluation, summary: [say(`${c.backend}: the step is`, step), say('the exact evaluation is', evaluation)] };
}

async function main(): Promise<void> {
  progress('PyTorch CPU…');
  const torch = torchColumn();
  progress(`PyTorch: ${JSON.stringify(torch)}`);
  const columns = [];
  for (const backend of backends) columns.push(await tfjsColumn(backend));
  const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? Math.round((a / b) * 100) / 100 : null);
  const result = {
    benchmark: 'head training step: tfjs backends vs PyTorch CPU',
    machine: { cpus: os.cpus().length, node: process.version },
    data: { dim, trainVectors: train.labels.length, validationVectors: validation.labels.length, batch: `${P} x ${K}`, epochsTimed: epochs },
    torch,
    tfjs: columns.map((c) => ({
      ...c,
      limits: c.gemms && typeof torch.gemmSecondsPerStep === 'number' ? limits(c as Column, torch) : null,
      ratioToTorch:
        'secondsPerStep' in c
          ? {
              step: ratio(c.secondsPerStep, torch.secondsPerStep),
              epoch: ratio(c.secondsPerEpoch, torch.secondsPerEpoch),
              evaluation: ratio(c.secondsPerEvaluation, torch.secondsPerEvaluation),
            }
          : null,
    })),
    notes: [
      ...(Array.isArray(torch.blas) && (torch.blas as string[]).some((b) => /\/blas\/libblas/.test(b))
        ? ['PyTorch ran on the reference BLAS (libblas3), about 50x slower than OpenBLAS: apt-get install libopenblas0-pthread for a fair column.']
        : []),
      'tfjs WASM in Node runs one thread: its multi-threaded build spawns workers from blob: URLs, which Node refuses (ERR_WORKER_PATH).',
    ],
  };
  const text = JSON.stringify(result, null, 2);
  console.log(text);
  if (out) writeFileSync(out, text + '\n');
}

await main();
