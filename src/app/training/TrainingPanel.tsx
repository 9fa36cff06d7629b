import { memo, useCallback, useDeferredValue, useEffect, useMemo, useState } from 'react';
import type { ClassSplit } from '../../core/data/classSplit';
import type { EncoderSource, EncoderSummary } from '../../workers/embedProtocol';
import { BACKEND_ORDER } from '../../workers/embedProtocol';
import { nextTask } from '../../workers/nextTask';
import { newRunId } from '../../workers/trainClient';
import type { FineTuningInfo, TrainBackendChoice } from '../../workers/trainProtocol';
import type { LoadedDataset } from '../dataset/useDatasetLoader';
import type { ActiveHead } from '../export/HeadPanel';
import { formatCount } from '../format';
import { Panel, Stat } from '../shell/Panel';
import { longTasks, type LongTaskStats } from '../longTasks';
import { RunCharts } from './RunCharts';
import { RunHistoryPanel } from './RunHistoryPanel';
import { runHistory } from './runHistoryStore';
import { RunSummaryView } from './RunSummaryView';
import { trainClient } from './trainClientInstance';
import { trainingData } from './trainingInputs';
import { TrainingSettingsForm } from './TrainingSettingsForm';
import { session, useSession } from '../session/sessionStore';
import { parseSettings, topBlocksOf, type SettingsForm } from './trainingSettings';
import { isLive } from './trainRunState';
import './training.css';

export interface TrainingSectionProps {
  loaded: LoadedDataset | null;
  split: ClassSplit | null;
  /** The encoder the embeddings were made with (known once an embedding job has run). */
  encoder: EncoderSummary | null;
  /** Where that encoder loads from: the training worker loads it to fine-tune its top. */
  encoderSource: EncoderSource | null;
  /** An embedding job is writing the cache now. */
  embeddingRunning: boolean;
  /** The head in use (a run's or a loaded one): training can continue from it. */
  head: ActiveHead | null;
}

/** What a fine-tuning run trains, in one line (cut, parameters, formulation, what the backend means). */
export function fineTuningLine(f: FineTuningInfo): string {
  return (
    `fine-tuned from the cut ${f.cut} (${f.cutShape.join('×')}): ${f.topLayers} layers, ${formatCount(f.parameters.top)} parameters ` +
    `(lr ${f.learningRates.top}) + the head's ${formatCount(f.parameters.head)} (lr ${f.learningRates.head}) · ${f.warmStart ? 'from the chosen head' : 'from a fresh head'} · ${f.backendNote}`
  );
}

const setForm = (trainForm: SettingsForm) => session.set({ trainForm });
const setBackend = (trainBackend: TrainBackendChoice) => session.set({ trainBackend });
const dispatch = session.dispatchTrain;
const setHistoryVersion = (f: (v: number) => number) => session.set((s) => ({ runsVersion: f(s.runsVersion) }));

/** Why `head` cannot be continued with this encoder's features, or null when it can. */
function headMismatch(head: ActiveHead, encoder: EncoderSummary | null, topBlocks: number): string | null {
  const dim = head.weights.gates_0?.data.length;
  if (!dim) return 'it is not a skip-connection head';
  if (encoder && dim !== encoder.featureSize) return `it takes ${dim}-d features and this encoder gives ${encoder.featureSize}-d`;
  // a fine-tuned run's head reads its own top's features: it continues only with that top
  if (head.top && topBlocks !== head.top.blocks) {
    return `it reads the encoder's top fine-tuned from ${head.top.cut}: set "Train the encoder's top blocks" to ${head.top.blocks} to continue it with that top`;
  }
  return null;
}

/** The Training panel (settings, controls, live charts, summary) and the Run history panel. */
export const TrainingSection = memo(function TrainingSection(props: TrainingSectionProps) {
  const { loaded, split, encoder, encoderSource, embeddingRunning, head } = props;
  const form = useSession((s) => s.trainForm);
  const backend = useSession((s) => s.trainBackend);
  const view = useSession((s) => s.train);
  const historyVersion = useSession((s) => s.runsVersion);
  const [showErrors, setShowErrors] = useState(false);
  const [tasks, setTasks] = useState<LongTaskStats>(() => ({ ...longTasks.stats }));
  /** The key of the head the person chose to continue from (unticked when another head is in use). */
  const [continueKey, setContinueKey] = useState<string | null>(null);
  /** What the current (or last) run started from. */
  const [startedFrom, setStartedFrom] = useState<string | null>(null);
  const mismatch = head ? headMismatch(head, encoder, topBlocksOf(form)) : null;
  const fromHead = head && !mismatch && continueKey === head.key ? head : null;
  const parsed = useMemo(() => parseSettings(form), [form]);
  const live = isLive(view);
  // the charts follow the epochs a render behind the status line: their redraw is a transition between the worker's messages
  const charted = useDeferredValue(view.history);

  useEffect(() => longTasks.subscribe(setTasks), []);

  const blocked = !loaded
    ? 'Drop a dataset first.'
    : !split
      ? 'The dataset needs at least two classes.'
      : !encoder
        ? 'Embed the dataset first: training reads the cached embeddings.'
        : embeddingRunning
          ? 'Wait for the embedding to finish.'
          : null;

  const start = useCallback(async () => {
    setShowErrors(true);
    if (parsed.errors.length || !loaded || !split || !encoder) return;
    const runId = newRunId();
    dispatch({ type: 'start', runId });
    setStartedFrom(fromHead?.label ?? null);
    longTasks.start();
    try {
      // the click renders the run as starting; listing 16,185 images for the worker is a task of its own
      await nextTask();
      const end = await trainClient.start(
        {
          type: 'start',
          runId,
          config: parsed.config,
          data: trainingData(loaded.dataset, split, encoder),
          backend,
          about: {
            datasetName: loaded.folderName,
            encoderName: encoder.name,
            split: { seed: split.seed, trainFraction: split.trainFraction, mode: split.mode },
            ...(fromHead ? { startedFrom: fromHead.label } : {}),
          },
          ...(fromHead ? { initialWeights: fromHead.weights } : {}),
          ...(fromHead?.top ? { initialTopWeights: fromHead.top.weights } : {}),
          // fine-tuning the top: the worker loads the encoder itself
          ...(topBlocksOf(form) > 0 && encoderSource ? { encoder: encoderSource } : {}),
        },
        (event) => {
          dispatch({ type: 'event', event });
          // the worker has saved the run (and each epoch) before it posts the event
          if (event.type === 'ready' || event.type === 'epoch') setHistoryVersion((v) => v + 1);
        },
      );
      if (end.type === 'error' && end.code === 'crashed') {
        await (await runHistory()).markFailed(runId, end.message).catch(() => undefined);
      }
    } catch (e) {
      dispatch({ type: 'client-error', message: e instanceof Error ? e.message : String(e) });
    } finally {
      longTasks.stop();
      setHistoryVersion((v) => v + 1);
    }
  }, [parsed, loaded, split, encoder, encoderSource, form, backend, fromHead]);

  const pause = () => {
    dispatch({ type: 'pause' });
    trainClient.pause();
  };
  const resume = () => {
    dispatch({ type: 'resume' });
    trainClient.resume();
  };
  const stop = () => {
    dispatch({ type: 'stop' });
    trainClient.stop();
  };

  const lastEpoch = view.history[view.history.length - 1];
  const maxEpochs = view.ready?.config.maxEpochs ?? 0;

  return (
    <>
      <Panel
        id="training"
        title="Training"
        status={
          <span data-testid="train-stage" data-phase={view.phase}>
            {view.stage}
          </span>
        }
      >
        <p className="hint">
          Trains a small head on the cached embeddings of the training classes, in a background worker, and measures it every
          epoch on the validation classes — classes it never sees while training. By default a share of the training classes is
          held out to choose the best epoch, so the validation classes are charted but never used to choose (Model selection).
        </p>
        <div className="row">
          {!live && (
            <button
              type="button"
              className="primary"
              data-testid="train-start"
              disabled={blocked !== null}
              onClick={() => void start()}
            >
              Train
            </button>
          )}
          {(view.phase === 'running' || view.phase === 'starting') && (
            <button type="button" data-testid="train-pause" onClick={pause}>
              Pause
            </button>
          )}
          {(view.phase === 'paused' || view.phase === 'pausing') && (
            <button type="button" data-testid="train-resume" onClick={resume}>
              Resume
            </button>
          )}
          {live && (
            <button type="button" data-testid="train-stop" disabled={view.phase === 'stopping'} onClick={stop}>
              Stop
            </button>
          )}
          {blocked && !live && <span className="hint">{blocked}</span>}
        </div>

        <details className="advanced" data-testid="train-advanced">
          <summary>Advanced settings (the defaults work; each has a one-line explanation)</summary>
          <div className="row">
          <label>
            Backend{' '}
            <select
              value={backend}
              disabled={live}
              data-testid="train-backend"
              onChange={(e) => setBackend(e.target.value as TrainBackendChoice)}
            >
              <option value="auto">auto (GPU if real, else WASM)</option>
              {BACKEND_ORDER.map((b) => (
                <option key={b} value={b}>
                  {b}
                </option>
              ))}
            </select>
          </label>
          </div>
          <TrainingSettingsForm form={form} onForm={setForm} fieldErrors={parsed.fieldErrors} disabled={live} />
        </details>
        {head && (
          <div className="row" data-testid="train-continue">
            <label title={mismatch ? `This head cannot continue here: ${mismatch}.` : undefined}>
              <input
                type="checkbox"
                data-testid="train-from-head"
                checked={fromHead !== null}
                disabled={live || mismatch !== null}
                onChange={(e) => setContinueKey(e.target.checked ? head.key : null)}
              />{' '}
              Continue training from this head: <strong>{head.label}</strong>
            </label>
            {mismatch ? (
              <span className="hint">Cannot continue it here: {mismatch}.</span>
            ) : (
              <span className="hint">(unticked: a fresh head; the optimizer starts afresh either way)</span>
            )}
          </div>
        )}
        {showErrors && parsed.errors.length > 0 && !live && (
          <div className="error" role="alert" data-testid="train-settings-error">
            Fix these settings first:
            <ul>
              {parsed.errors.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          </div>
        )}

        {view.error && (
          <p className="error" role="alert" data-testid="train-error" data-code={view.error.code}>
            {view.error.message}
          </p>
        )}

        {view.ready && (
          <dl className="stats" data-testid="train-ready">
            <Stat label="Backend" value={view.ready.backend} testId="train-backend-used" />
            <Stat label="Started from" value={startedFrom ?? 'a fresh head'} testId="train-started-from" />
            <Stat label="Training" value={`${formatCount(view.ready.trainImages)} images · ${view.ready.trainClasses} classes`} />
            <Stat
              label={view.ready.selection.mode === 'heldout' ? 'Test (never seen, charted only)' : 'Validation (never seen)'}
              value={`${formatCount(view.ready.validationImages)} images · ${view.ready.validationClasses} classes`}
            />
            <Stat
              label="Model selection"
              testId="train-selection"
              value={
                view.ready.selection.mode === 'heldout'
                  ? `held-out validation: ${formatCount(view.ready.selection.heldOutImages)} images · ${view.ready.selection.heldOutClasses} training classes`
                  : 'recipe selection: the epoch is chosen on the validation classes (flatters the result)'
              }
            />
            {view.ready.fineTuning && (
              <Stat
                label="Fine-tuning the encoder's top"
                testId="train-fine-tuning"
                value={fineTuningLine(view.ready.fineTuning)}
              />
            )}
            <Stat label="Batches per epoch" value={view.ready.stepsPerEpoch} />
            <Stat label="Epoch" value={`${lastEpoch?.epoch ?? 0} / ${maxEpochs}`} testId="train-epoch" />
            <Stat label="Seconds per epoch" value={lastEpoch ? lastEpoch.seconds.toFixed(2) : '—'} testId="train-seconds" />
            <Stat label="Best epoch" value={view.bestEpoch || '—'} testId="train-best-epoch" />
            {view.ready.missing > 0 && <Stat label="Not embedded (left out)" value={formatCount(view.ready.missing)} />}
          </dl>
        )}

        {(view.ready || view.history.length > 0) && (
          <RunCharts history={charted} baseline={view.ready?.baseline ?? null} testId="train-chart" />
        )}

        {view.summary && <RunSummaryView summary={view.summary} testId="train-summary" />}

        {tasks.since > 0 && (
          <p
            className="hint diagnostics"
            data-testid="train-longtasks"
            data-count={tasks.count}
            data-longest={Math.round(tasks.longestMs)}
            data-supported={tasks.supported}
          >
            Main thread {tasks.observing ? 'while training' : 'during the last run'}:{' '}
            {tasks.supported
              ? `${tasks.count} long task${tasks.count === 1 ? '' : 's'} over 50 ms${tasks.count ? `, longest ${Math.round(tasks.longestMs)} ms` : ''}.`
              : 'this browser cannot measure long tasks.'}
          </p>
        )}
      </Panel>
      <RunHistoryPanel refreshKey={historyVersion} activeRunId={view.runId && live ? view.runId : null} />
    </>
  );
});
