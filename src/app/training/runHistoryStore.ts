import type { RunRecord } from '../../storage/runHistory';
import { RunHistory } from '../../storage/runHistory';
import type { RunSummary } from '../../workers/trainProtocol';

let opened: Promise<RunHistory> | null = null;

/** The page's connection to the run history (opened on first use). */
export function runHistory(): Promise<RunHistory> {
  opened ??= RunHistory.open().catch((e) => {
    opened = null;
    throw e;
  });
  return opened;
}

/** How a run looks in the list: 'interrupted' is a 'running' run nobody is training. */
export type RunDisplayStatus = 'training' | 'finished' | 'failed' | 'interrupted';

export function displayStatus(run: RunRecord, live: Set<string> | null, activeRunId: string | null): RunDisplayStatus {
  if (run.status !== 'running') return run.status;
  if (run.id === activeRunId || live?.has(run.id)) return 'training';
  return 'interrupted';
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
  const d = new Date(run.createdAt);
  const time = `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
  return `${time} · ${run.about.encoderName}`;
}
