import type { EpochReport } from '../../core/train/trainer';
import type { RunSummary, TrainErrorCode, TrainEvent, TrainEventOf } from '../../workers/trainProtocol';

/** What the Training panel shows of the current (or last) run: a summary, one entry per epoch. */
export interface TrainRunView {
  phase: 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'done' | 'failed';
  runId: string | null;
  stage: string;
  ready: TrainEventOf<'ready'> | null;
  /** Finished epochs (finite losses only): one chart point each. */
  history: EpochReport[];
  bestEpoch: number;
  summary: RunSummary | null;
  error: { code: TrainErrorCode | 'client'; message: string } | null;
}

export const IDLE_RUN: TrainRunView = {
  phase: 'idle',
  runId: null,
  stage: '',
  ready: null,
  history: [],
  bestEpoch: 0,
  summary: null,
  error: null,
};

export type TrainRunAction =
  | { type: 'start'; runId: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'event'; event: TrainEvent }
  | { type: 'client-error'; message: string };

const LIVE = new Set<TrainRunView['phase']>(['starting', 'running', 'pausing', 'paused', 'stopping']);

export function isLive(view: TrainRunView): boolean {
  return LIVE.has(view.phase);
}

/** Folds the person's commands and the worker's events into the panel's view. */
export function trainRunReducer(view: TrainRunView, action: TrainRunAction): TrainRunView {
  switch (action.type) {
    case 'start':
      return { ...IDLE_RUN, phase: 'starting', runId: action.runId, stage: 'Starting the training worker…' };
    case 'pause':
      return view.phase === 'running' ? { ...view, phase: 'pausing', stage: 'Pausing after this epoch…' } : view;
    case 'resume':
      return view.phase === 'paused' || view.phase === 'pausing' ? { ...view, phase: 'running', stage: 'Training…' } : view;
    case 'stop':
      return isLive(view) ? { ...view, phase: 'stopping', stage: 'Stopping after this epoch…' } : view;
    case 'client-error':
      return isLive(view) ? { ...view, phase: 'failed', stage: '', error: { code: 'client', message: action.message } } : view;
    case 'event':
      return onEvent(view, action.event);
  }
}

function onEvent(view: TrainRunView, e: TrainEvent): TrainRunView {
  if (e.runId !== view.runId) return view;
  switch (e.type) {
    case 'loading':
      return { ...view, stage: e.stage };
    case 'ready':
      return {
        ...view,
        ready: e,
        phase: view.phase === 'starting' ? 'running' : view.phase,
        stage: view.phase === 'stopping' ? view.stage : 'Training…',
      };
    case 'epoch': {
      const history = e.report.error ? view.history : [...view.history, e.report];
      const stage = view.phase === 'running' ? `Training… epoch ${e.report.epoch} done` : view.stage;
      return { ...view, history, bestEpoch: e.bestEpoch, stage };
    }
    case 'paused':
      return view.phase === 'stopping' ? view : { ...view, phase: 'paused', stage: `Paused after epoch ${e.epoch}.` };
    case 'resumed':
      return view.phase === 'stopping' ? view : { ...view, phase: 'running', stage: 'Training…' };
    case 'done':
      return {
        ...view,
        phase: e.summary.error ? 'failed' : 'done',
        summary: e.summary,
        stage: STOP_TEXT[e.summary.stopReason],
        error: e.summary.error ? { code: 'failed', message: e.summary.error } : null,
      };
    case 'error':
      return { ...view, phase: 'failed', stage: '', error: { code: e.code, message: e.message } };
  }
}

export const STOP_TEXT: Record<RunSummary['stopReason'], string> = {
  'max-epochs': 'Done: reached the maximum number of epochs.',
  'early-stopping': 'Done: early stopping (no better validation loss within the patience).',
  stopped: 'Stopped: the head keeps its best epoch’s weights.',
  'non-finite-loss': 'Stopped: the loss stopped being a finite number.',
};
