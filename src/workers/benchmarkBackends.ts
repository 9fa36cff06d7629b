/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs';
import { activateBackend } from './backends';
import type { BackendName, BackendTiming } from './embedProtocol';
import { loadResolved, type ResolvedModel } from './loadEncoderSource';

export interface BenchmarkBudget {
  /** Timed batches after the warm-up (fewer when the time budget runs out). Default 3. */
  batches?: number;
  /** Stop timing a backend after this many ms (a software GPU can be 100x slower). Default 3000. */
  maxMs?: number;
}

/**
 * Times the encoder alone (random pixels, no decoding) on one backend: load, one warm-up
 * pass (inside loadEncoder), then batches until `batches` or `maxMs`.
 */
export async function timeBackend(
  model: ResolvedModel,
  name: BackendName,
  batchSize: number,
  budget: BenchmarkBudget = {},
): Promise<BackendTiming> {
  const batches = budget.batches ?? 3;
  const maxMs = budget.maxMs ?? 3000;
  if (!(await activateBackend(name))) {
    return { name, imagesPerSecond: 0, msPerBatch: 0, batchSize, batches: 0, error: `${name} is not available` };
  }
  let encoder;
  try {
    encoder = await loadResolved(model);
  } catch (e) {
    return { name, imagesPerSecond: 0, msPerBatch: 0, batchSize, batches: 0, error: e instanceof Error ? e.message : String(e) };
  }
  const { width, height } = encoder.inputSize;
  const pixels = tf.tidy(() => tf.randomUniform([batchSize, height, width, 3], 0, 255, 'float32') as tf.Tensor4D);
  try {
    let done = 0;
    const started = performance.now();
    while (done < batches && (done === 0 || performance.now() - started < maxMs)) {
      const y = encoder.embedPixels(pixels);
      await y.data();
      y.dispose();
      done += 1;
    }
    const ms = performance.now() - started;
    return { name, imagesPerSecond: (done * batchSize * 1000) / ms, msPerBatch: ms / done, batchSize, batches: done };
  } catch (e) {
    return { name, imagesPerSecond: 0, msPerBatch: 0, batchSize, batches: 0, error: e instanceof Error ? e.message : String(e) };
  } finally {
    pixels.dispose();
    encoder.dispose();
  }
}

/** The fastest backend among the timings, or null when none ran. */
export function fastestBackend(timings: readonly BackendTiming[]): BackendName | null {
  let best: BackendTiming | null = null;
  for (const t of timings) if (t.imagesPerSecond > 0 && (!best || t.imagesPerSecond > best.imagesPerSecond)) best = t;
  return best?.name ?? null;
}
