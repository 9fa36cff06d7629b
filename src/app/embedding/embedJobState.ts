import type { BaselineMetrics, DownloadBytes, EmbedEvent, ErrorCode, EventOf } from '../../workers/embedProtocol';

const PROBLEMS_KEPT = 500;

/** What the Embedding panel shows of the current (or last) run: a summary, never per-image state. */
export interface EmbedJobView {
  phase: 'idle' | 'running' | 'done' | 'failed';
  stage: string;
  cache: EventOf<'cache-checked'> | null;
  progress: EventOf<'progress'> | null;
  problems: { path: string; message: string }[];
  problemCount: number;
  /** Images used with something done to them (a box clamped to the image's edge); added to the dataset's report when the run ends. */
  notes: { path: string; message: string }[];
  metrics: (BaselineMetrics & { fromCacheOnly: boolean }) | null;
  result: EventOf<'embed-done'> | null;
  error: { code: ErrorCode | 'client'; message: string } | null;
  /** The view was restored from the saved session (no job ran in this page). */
  restored?: boolean;
}

export const IDLE_JOB: EmbedJobView = {
  phase: 'idle',
  stage: '',
  cache: null,
  progress: null,
  problems: [],
  problemCount: 0,
  notes: [],
  metrics: null,
  result: null,
  error: null,
};

export type EmbedJobAction =
  | { type: 'start' }
  | { type: 'event'; event: EmbedEvent }
  | { type: 'client-error'; message: string }
  /** Another encoder was chosen: an error about the previous one no longer applies. */
  | { type: 'encoder-changed' }
  /** Timing the backends ended (done, failed or cancelled). */
  | { type: 'timing-ended' };

const STAGE_AFTER: Record<EmbedJobView['phase'], string> = { idle: '', running: '', done: 'Done.', failed: '' };

const megabytes = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/** "Downloading the model… 1.2 of 3.5 MB, 0.8 MB/s, about 3 s left" (what is known of it). */
export function downloadStage(fraction: number, bytes?: DownloadBytes): string {
  if (!bytes) return `Downloading the model… ${Math.round(fraction * 100)}%`;
  const rate = bytes.seconds > 0 ? bytes.received / bytes.seconds : 0;
  const parts = [bytes.total ? `${(bytes.received / 1e6).toFixed(1)} of ${megabytes(bytes.total)}` : megabytes(bytes.received)];
  if (rate > 0) parts.push(`${megabytes(rate)}/s`);
  if (bytes.total && rate > 0) {
    const left = Math.max(0, (bytes.total - bytes.received) / rate);
    parts.push(left < 1 ? 'almost done' : `about ${Math.ceil(left)} s left`);
  }
  return `Downloading the model… ${parts.join(', ')}`;
}

/** Folds worker events into the panel's view. */
export function embedJobReducer(view: EmbedJobView, action: EmbedJobAction): EmbedJobView {
  if (action.type === 'start') return { ...IDLE_JOB, phase: 'running', stage: 'Starting the worker…' };
  if (action.type === 'client-error') {
    return view.phase === 'running' ? { ...view, phase: 'failed', error: { code: 'client', message: action.message } } : view;
  }
  if (action.type === 'encoder-changed') {
    return view.error?.code === 'model' || view.error?.code === 'client' ? { ...view, phase: 'idle', error: null, stage: '' } : view;
  }
  if (action.type === 'timing-ended') {
    return view.phase === 'running' ? view : { ...view, stage: STAGE_AFTER[view.phase] };
  }
  const e = action.event;
  switch (e.type) {
    case 'model-loading':
      return {
        ...view,
        stage:
          e.from === 'network'
            ? downloadStage(e.fraction, e.bytes)
            : e.from === 'model-store'
              ? 'Reading the model from browser storage…'
              : 'Reading the dropped model files…',
      };
    case 'benchmark-figure':
      return { ...view, stage: `Timing backends… ${e.timing.name}: ${e.timing.imagesPerSecond.toFixed(1)} images/s` };
    case 'backend-chosen':
      return { ...view, stage: `Loading the encoder on ${e.backend}…` };
    case 'model-ready':
      return { ...view, error: null, stage: 'Checking the embedding cache…' };
    case 'cache-checked':
      return { ...view, cache: e, stage: e.missing > 0 ? 'Embedding…' : 'Everything is cached.' };
    case 'progress':
      return { ...view, progress: e, stage: e.pass === 'cut' ? 'Caching the cut maps for fine-tuning the top…' : 'Embedding…' };
    case 'problem':
      return {
        ...view,
        problemCount: view.problemCount + 1,
        problems: view.problems.length < PROBLEMS_KEPT ? [...view.problems, { path: e.path, message: e.message }] : view.problems,
      };
    case 'note':
      return { ...view, notes: view.notes.length < PROBLEMS_KEPT ? [...view.notes, { path: e.path, message: e.message }] : view.notes };
    case 'metrics':
      return { ...view, metrics: { ...e.metrics, fromCacheOnly: e.fromCacheOnly } };
    case 'embed-done':
      return { ...view, phase: 'done', result: e, stage: e.cancelled ? 'Cancelled: everything embedded so far is stored.' : 'Done.' };
    case 'error':
      return { ...view, phase: 'failed', error: { code: e.code, message: e.message }, stage: '' };
    default:
      return view;
  }
}
