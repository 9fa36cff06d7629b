import { describe, expect, it } from 'vitest';
import { defaultHead } from '../../../src/app/export/headChoice';
import { bestRun, displayStatus, statusText } from '../../../src/app/training/runHistoryStore';
import { DEFAULT_TRAINING_CONFIG, type EpochReport } from '../../../src/core/train/trainer';
import type { RunRecord } from '../../../src/storage/runHistory';
import { epochReport } from '../../support/epochReport';

const BASE = { rPrecision: 0.25, rPrecisionMacro: 0.25, precisionAt1: 0.3, mapAtR: 0.1 };

function run(id: string, over: Partial<RunRecord> = {}, losses = [0.5, 0.4, 0.45]): RunRecord {
  const history = losses.map((l, i) => epochReport(i + 1, { validationLoss: l }) as EpochReport);
  const best = history.reduce((b, r) => (r.validationLoss < b.validationLoss ? r : b), history[0]);
  return {
    id,
    createdAt: Number(id.replace(/\D/g, '')) || 1,
    updatedAt: 0,
    status: 'finished',
    stopReason: 'max-epochs',
    message: null,
    about: { datasetName: 'cars', encoderName: 'enc', split: { seed: 0, trainFraction: 0.5, mode: 'seeded' } },
    config: { ...DEFAULT_TRAINING_CONFIG },
    backend: 'wasm',
    trainImages: 1,
    validationImages: 1,
    trainClasses: 1,
    validationClasses: 1,
    baseline: BASE,
    history,
    bestEpoch: best?.epoch ?? 0,
    seconds: 1,
    summary: null,
    ...over,
  };
}

describe('run status in the run history', () => {
  it('tells finished, early-stopped, stopped, interrupted, failed and training apart, with the epoch', () => {
    const cases: [Partial<RunRecord>, Set<string> | null, string, string][] = [
      [{}, null, 'finished', 'finished (3 epochs)'],
      [{ stopReason: 'early-stopping' }, null, 'early-stopped', 'early-stopped after epoch 3'],
      [{ stopReason: 'stopped' }, null, 'stopped', 'stopped after epoch 3'],
      [{ status: 'running', stopReason: null }, new Set(), 'interrupted', 'interrupted after epoch 3'],
      [{ status: 'running', stopReason: null }, new Set(['r1']), 'training', 'training · epoch 3 done'],
      [{ status: 'failed', stopReason: null }, null, 'failed', 'failed after epoch 3'],
      [{ stopReason: 'non-finite-loss' }, null, 'failed', 'failed after epoch 3'],
    ];
    for (const [over, live, status, text] of cases) {
      const r = run('r1', over);
      expect(displayStatus(r, live, null), text).toBe(status);
      expect(statusText(r, displayStatus(r, live, null))).toBe(text);
    }
    expect(displayStatus(run('r1', { status: 'running' }), null, 'r1')).toBe('training');
  });

  it('uses the chosen head, else the best run by its selection metric, and says which', () => {
    const older = run('r1', {}, [0.5, 0.3]);
    const newer = run('r2', { stopReason: 'stopped' }, [0.5, 0.4]);
    expect(bestRun([newer, older])?.id).toBe('r1');
    expect(defaultHead([newer, older], null)).toEqual({
      run: older,
      why: 'the best of 2 runs by the validation loss of its best epoch (0.3000, lower is better)',
    });
    expect(defaultHead([newer, older], 'r2')).toEqual({ run: newer, why: 'chosen by you' });
    expect(defaultHead([newer, older], 'gone')?.run.id).toBe('r1');
    expect(defaultHead([newer], null)?.why).toBe('the only trained run');
    expect(defaultHead([], null)).toBeNull();
  });
});
