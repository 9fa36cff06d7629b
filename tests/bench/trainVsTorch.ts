/**
 * The head's training step side by side: the studio's HeadTrainer on each tfjs backend that
 * runs in Node, and the same head, loss, optimizer, batch shape and steps on PyTorch CPU
 * (Debian's python3-torch; skipped with the install line when missing), in one run. Prints
 * JSON: seconds per step, per epoch (steps + validation loss), per exact evaluation, and the
 * ratios to PyTorch.
 *
 *   npm run bench:train-vs-torch -- [--epochs 5] [--backends wasm,cpu] [--torch-threads 1] [--dim 1280] [--classes 98] [--per-class 42] [--out file.json]
 *
 * The default is WASM alone: tfjs's plain-JS CPU backend takes minutes per epoch at 1,280-d.
 *
 * The vectors are synthetic clusters of the shape (98 training and 98 validation
 * classes, about 4,070 vectors each, 1,280-d, batches of 32 x 8 = 256, 16 steps): a speed
 * benchmark, so the values only need the right shape; the quality benchmarks use real images.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { retrievalMetrics } from '../../src/core/eval/retrievalMetrics';
import { seededRandom } from '../../src/core/random/randomSource';
import { PKBatchSampler } from '../../src/core/train/batchSampler';
import { HeadTrainer } from '../../src/core/train/trainer';
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
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const P = 32;
const K = 8;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const train = syntheticClusters(classes, perClass, dim, 0, 1);
const validation = syntheticClusters(classes, perClass, dim, classes, 2);
const config = { classesPerBatch: P, imagesPerClass: K, maxEpochs: epochs + 1, patience: epochs + 1, validationQueries: 1 };

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
  };
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
