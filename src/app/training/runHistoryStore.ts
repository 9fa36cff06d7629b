import type { RunRecord } from '../../storage/runHistory';
import { RunHistory } from '../../storage/runHistory';
import type { RunSummary } from '../../workers/trainProtocol';
import { formatLocalTime } from '../format';

let opened: Promise<RunHistory> | null = null;

/** The page's connection to the run history (opened on first use). */
export function runHistory(): Promise<RunHistory> {
  opened ??= RunHistory.open().catch((e) => {
    opened = null;
    throw e;
  });
  return opened;
}

/**
 * How a run looks in the list. 'interrupted' is a 'running' run nobody is training (its tab
 * closed or crashed); 'finished' reached its maximum epochs.
 */
export type RunDisplayStatus = 'training' | 'finished' | 'early-stopped' | 'stopped' | 'interrupted' | 'failed';

export function displayStatus(run: RunRecord, live: Set<string> | null, activeRunId: string | null): RunDisplayStatus {
  if (run.status === 'failed') return 'failed';
  if (run.status === 'finished') {
    switch (run.stopReason) {
      case 'early-stopping':
        return 'early-stopped';
      case 'stopped':
        return 'stopped';
      case 'non-finite-loss':
        return 'failed';
      default:
        return 'finished';
    }
  }
  if (run.id === activeRunId || live?.has(run.id)) return 'training';
  return 'interrupted';
}

/** The last epoch a run finished (0 before its first). */
export function lastEpoch(run: RunRecord): number {
  return run.history[run.history.length - 1]?.epoch ?? 0;
}

/** The status in words, with the epoch where it matters: "training · epoch 3", "interrupted after epoch 12". */
export function statusText(run: RunRecord, status: RunDisplayStatus): string {
  const n = lastEpoch(run);
  switch (status) {
    case 'training':
      return n ? `training · epoch ${n} done` : 'training · starting';
    case 'finished':
      return `finished (${n} epoch${n === 1 ? '' : 's'})`;
    case 'early-stopped':
      return `early-stopped after epoch ${n}`;
    case 'stopped':
      return `stopped after epoch ${n}`;
    case 'interrupted':
      return `interrupted after epoch ${n}`;
    case 'failed':
      return n ? `failed after epoch ${n}` : 'failed';
  }
}

/**
 * The number runs are compared by to pick the head in use: the validation loss of the run's
 * best epoch (what early stopping picked that epoch by; lower is better). Never a retrieval
 * metric of the classes the studio reports. When runs record a metric on held-out
 * validation classes of their own, it belongs here, first.
 */
export function selectionScore(run: RunRecord): { value: number; label: string } | null {
  const best = run.history.find((r) => r.epoch === run.bestEpoch);
  return best && Number.isFinite(best.validationLoss) ? { value: best.validationLoss, label: 'validation loss of its best epoch' } : null;
}

/** The run whose head is used when the person has chosen none: the best by `selectionScore`, newest on a tie. */
export function bestRun(runs: readonly RunRecord[]): RunRecord | null {
  let best: RunRecord | null = null;
  let bestScore = Infinity;
  for (const run of [...runs].sort((a, b) => b.createdAt - a.createdAt)) {
    const score = selectionScore(run);
    if (score && score.value < bestScore) {
      best = run;
      bestScore = score.value;
    }
  }
  return best;
}

/** A run's summary: the stored one, or one made of its finished epochs when it never ended. */
export function summaryOf(run: RunRecord): RunSummary {
  if (run.summary) return run.summary;
  const best = run.history.find((r) => r.epoch === run.bestEpoch);
  return {
    stopReason: 'stopped',
    epochsRun: run.history.length,
    bestEpoch: run.bestEpoch,
    seconds: run.seconds,
    baseline: run.baseline,
    tuned: best
      ? { rPrecision: best.rPrecision, rPrecisionMacro: best.rPrecisionMacro, precisionAt1: best.precisionAt1, mapAtR: best.mapAtR }
      : null,
  };
}

export function runName(run: RunRecord): string {
  return `${formatLocalTime(run.createdAt)} · ${run.about.encoderName}`;
}
