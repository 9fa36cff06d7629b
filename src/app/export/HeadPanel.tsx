import { useCallback, useEffect, useRef, useState } from 'react';
import type { NamedWeights } from '../../core/train/heads';
import { liveRunIds, type RunRecord } from '../../storage/runHistory';
import type { EncoderSource } from '../../workers/embedProtocol';
import type { EvaluationOptions, TunedFeatureCount, TunedTopSpec } from '../../workers/searchProtocol';
import type { RetrievalSummary } from '../../workers/trainProtocol';
import { formatCount, formatPercent } from '../format';
import { Panel } from '../shell/Panel';
import { displayStatus, runHistory, runName, summaryOf } from '../training/runHistoryStore';
import { embedClient } from '../embedClientInstance';
import { useSession } from '../session/sessionStore';
import { isLive } from '../training/trainRunState';
import { defaultHead } from './headChoice';
import { exportZip } from '../../workers/exportClient';
import { download, evaluationOf, readHeadFiles, runFileStem, runReadmeInfo } from './headZip';

/** The head the search, the map and the exports use. */
export interface ActiveHead {
  /** 'run:<id>' or 'file:<name>:<n>'. */
  key: string;
  label: string;
  weights: NamedWeights;
  evaluation: EvaluationOptions;
  /** What its run measured on its own validation set (for comparison), when known. */
  recorded: RetrievalSummary | null;
  /** A fine-tuned run's top (its best epoch's): the head reads the tuned features it gives. */
  top?: ActiveTop;
}

/** A fine-tuned run's top as the search worker needs it (the encoder source is added there). */
export type ActiveTop = Omit<TunedTopSpec, 'source'>;

export interface HeadMetricsView {
  phase: 'idle' | 'measuring' | 'ready' | 'error';
  base: RetrievalSummary | null;
  tuned: RetrievalSummary | null;
  message: string | null;
  /** The head these metrics are of (its `ActiveHead.key`). */
  headKey: string | null;
  /** While the head is being set: what the worker is doing (e.g. computing tuned features). */
  progress?: { stage: string; done: number; total: number } | null;
  /** A fine-tuned run's head: how the gallery's tuned features were found. */
  tunedFeatures?: TunedFeatureCount | null;
}

const METRICS: { key: keyof RetrievalSummary; label: string }[] = [
  { key: 'rPrecision', label: 'R-Precision' },
  { key: 'rPrecisionMacro', label: 'R-Precision (macro)' },
  { key: 'precisionAt1', label: 'P@1' },
  { key: 'mapAtR', label: 'MAP@R' },
];

let loadCount = 0;

/** Trained heads: pick a run's head, download it, or load one back; measured on the current validation set. */
export function HeadPanel(props: {
  active: ActiveHead | null;
  onActive: (head: ActiveHead | null) => void;
  metrics: HeadMetricsView;
  encoderCard: Record<string, unknown> | null;
  /** Where the encoder in use comes from (the whole model is built from it). */
  encoderSource: EncoderSource | null;
  /** Why the head cannot be measured yet (no gallery), if so. */
  blocked: string | null;
  /** The run the person last chose (kept across reloads), and where to record a new choice. */
  chosenRunId?: string | null;
  onChosenRun?: (runId: string | null) => void;
  /** Stops what the worker is doing for the head (computing tuned features). */
  onCancelMeasuring?: () => void;
}) {
  const { active, onActive, metrics, encoderCard, encoderSource, blocked, chosenRunId = null, onChosenRun, onCancelMeasuring } = props;
  const [why, setWhy] = useState<string | null>(null);
  const [modelBusy, setModelBusy] = useState<'download' | 'save' | null>(null);
  const [modelDone, setModelDone] = useState<string | null>(null);
  const [runs, setRuns] = useState<RunRecord[]>([]);
  const [selected, setSelected] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const autoPicked = useRef(false);

  const reload = useCallback(async () => {
    try {
      const history = await runHistory();
      const [list, live] = await Promise.all([history.list(), liveRunIds().catch(() => null)]);
      setRuns(list.filter((r) => r.bestEpoch > 0 && displayStatus(r, live, null) !== 'training'));
    } catch (e) {
      setError(`Could not read the run history: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, []);

  // read again when this page's runs change (a run ends, one is deleted; not every epoch of a live run: only
  // finished runs are listed), or when the person comes back to the tab (a run of another tab may have ended).
  // Reading every run on a timer held the main thread.
  const runsVersion = useSession((s) => (isLive(s.train) ? 'live' : s.runsVersion));
  useEffect(() => {
    void reload();
  }, [reload, runsVersion]);
  useEffect(() => {
    const onFocus = () => void reload();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [reload]);

  const pickRun = useCallback(
    async (run: RunRecord) => {
      setError(null);
      const stored = await (await runHistory()).weights(run.id);
      if (!stored) {
        setError(`The run ${runName(run)} has no stored head weights.`);
        return;
      }
      if (run.fineTuning && !stored.top) {
        setError(`The run ${runName(run)} fine-tuned the encoder's top but has no stored top weights: its head alone is not the trained model.`);
        return;
      }
      setSelected(run.id);
      onActive({
        key: `run:${run.id}:${stored.epoch}`,
        label: `${runName(run)} (epoch ${stored.epoch})`,
        weights: stored.weights,
        evaluation: evaluationOf(run.config),
        recorded: summaryOf(run).tuned,
        ...(run.fineTuning && stored.top
          ? { top: { blocks: run.fineTuning.blocks, cut: stored.cut ?? run.fineTuning.cut, weights: stored.top, runId: run.id, runName: runName(run), epoch: stored.epoch } }
          : {}),
      });
    },
    [onActive],
  );

  // the head the person chose is used again, else the best run's (by its selection metric)
  useEffect(() => {
    if (autoPicked.current || active || runs.length === 0) return;
    autoPicked.current = true;
    const pick = defaultHead(runs, chosenRunId);
    if (!pick) return;
    setWhy(pick.why);
    void pickRun(pick.run);
  }, [runs, active, pickRun, chosenRunId]);

  const selectedRun = runs.find((r) => r.id === selected) ?? null;

  const downloadRun = async () => {
    if (!selectedRun) return;
    setBusy(true);
    setError(null);
    try {
      // the export worker reads the weights and builds the zip: tfjs and megabytes stay off this thread
      const card = encoderCard ?? { name: selectedRun.about.encoderName };
      const zip = await exportZip({ type: 'head-zip', run: selectedRun, encoderCard: card, tuned: summaryOf(selectedRun).tuned });
      download(zip.blob, zip.name);
    } catch (e) {
      setError(`Could not export the head: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(false);
    }
  };

  /** The encoder + the selected run's head as one TF.js model: downloaded as a zip, or saved to IndexedDB. */
  const exportModel = async (to: 'download' | 'save') => {
    if (!selectedRun) return;
    setModelBusy(to);
    setError(null);
    setModelDone(null);
    try {
      if (!encoderSource || !encoderCard) throw new Error('Load the encoder first (embed the dataset with it).');
      if (encoderCard.name !== selectedRun.about.encoderName) {
        throw new Error(`This run was trained on “${selectedRun.about.encoderName}”, but the encoder in use is “${String(encoderCard.name)}”: choose that encoder and embed with it first.`);
      }
      const stored = await (await runHistory()).weights(selectedRun.id);
      if (!stored) throw new Error('This run has no stored head weights.');
      const stem = `${runFileStem(selectedRun)}-model`;
      const saveTo = to === 'save' ? `indexeddb://${stem}` : undefined;
      const readme = runReadmeInfo(selectedRun, encoderCard, summaryOf(selectedRun).tuned);
      if (selectedRun.fineTuning && !stored.top) throw new Error('This fine-tuned run has no stored top weights.');
      // a fine-tuned run's top replaces the pretrained one in the exported model
      const r = await embedClient.exportModel(encoderSource, stored.weights, readme, { saveTo, ...(stored.top ? { topWeights: stored.top } : {}) });
      if (to === 'download') {
        const files = Object.fromEntries(r.files.map((f) => [`${stem}/${f.path}`, f.bytes]));
        const zip = await exportZip({ type: 'zip', name: `${stem}.zip`, files });
        download(zip.blob, zip.name);
        setModelDone(`Downloaded ${stem}.zip (${r.files.map((f) => f.path).join(', ')}).`);
      } else {
        setModelDone(`Saved in this browser as ${r.savedTo}: tf.loadLayersModel('${r.savedTo}') loads it on this site.`);
      }
    } catch (e) {
      setError(`Could not export the similarity model: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setModelBusy(null);
    }
  };

  const load = async (files: File[]) => {
    if (files.length === 0) return;
    setError(null);
    try {
      const loaded = await readHeadFiles(files);
      let top: ActiveTop | undefined;
      if (loaded.top) {
        // the card's cut number of the top's cut (the worker checks it against the encoder it loads)
        const cuts = Array.isArray(encoderCard?.cuts) ? (encoderCard.cuts as string[]) : [];
        const blocks = cuts.indexOf(loaded.top.cut) + 1;
        if (cuts.length && blocks === 0) {
          throw new Error(`its encoder top starts at ${loaded.top.cut}, which the encoder in use (${String(encoderCard?.name)}) cannot be cut at: choose the encoder it was trained on`);
        }
        // features of a run of this browser (same run and epoch) are read back; others are computed and not kept
        top = { ...loaded.top, blocks: Math.max(1, blocks), runId: loaded.run?.runId ?? 'loaded-file', runName: loaded.name, epoch: loaded.run?.bestEpoch ?? 0 };
      }
      loadCount += 1;
      autoPicked.current = true;
      setWhy('loaded from a file');
      setSelected('');
      onActive({
        key: `file:${loaded.name}:${loadCount}`,
        label: `${loaded.name} (${loaded.head.format})`,
        weights: loaded.head.weights,
        evaluation: evaluationOf(loaded.run?.config),
        recorded: loaded.run?.tuned ?? null,
        ...(top ? { top } : {}),
      });
    } catch (e) {
      setError(`Could not load that head: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  return (
    <Panel id="head" title="Trained head" status={active ? <span data-testid="head-active" data-key={active.key}>
          {active.label}
        </span> : 'none yet'}>
      <p className="hint">
        The head of a training run — download it (safetensors + config.json for quaterion-models' SkipConnectionHead, a TF.js
        layers model, the encoder's model card and a README), or the whole model (the encoder and the head as one TF.js model:
        an image in, the tuned embedding out), or load a head back to measure it on this validation set.
      </p>
      <div className="row">
        <label>
          Run{' '}
          <select
            data-testid="head-run-select"
            value={selected}
            onChange={(e) => {
              const run = runs.find((r) => r.id === e.target.value);
              setWhy(run ? 'chosen by you' : null);
              onChosenRun?.(run?.id ?? null);
              if (run) void pickRun(run);
              else setSelected('');
            }}
          >
            <option value="">{runs.length ? '— choose a run —' : 'no finished runs yet'}</option>
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {runName(r)} · {r.about.datasetName} · best epoch {r.bestEpoch}
              </option>
            ))}
          </select>
        </label>
        <button type="button" data-testid="head-download" disabled={!selectedRun || busy} onClick={() => void downloadRun()}>
          Download head (.zip)
        </button>
        <button
          type="button"
          data-testid="model-download"
          disabled={!selectedRun || busy || modelBusy !== null}
          title="The encoder and the head as one TF.js model: an image in, the tuned embedding out"
          onClick={() => void exportModel('download')}
        >
          {modelBusy === 'download' ? 'Building the model…' : 'Download the whole model (.zip)'}
        </button>
        <button
          type="button"
          data-testid="model-save"
          disabled={!selectedRun || busy || modelBusy !== null}
          onClick={() => void exportModel('save')}
        >
          {modelBusy === 'save' ? 'Saving…' : 'Save the model in this browser'}
        </button>
        <label className="file-button">
          Load a head…{' '}
          <input
            type="file"
            multiple
            accept=".zip,.safetensors,.json,.bin"
            data-testid="head-load-input"
            onChange={(e) => {
              void load(Array.from(e.target.files ?? []));
              e.target.value = '';
            }}
          />
        </label>
      </div>
      <p className="hint">
        The head in use (a run's or a loaded one) is measured, searched and mapped here; to keep training it, tick “Continue
        training from this head” in the Training panel.
      </p>
      {modelDone && (
        <p className="hint" data-testid="model-done">
          {modelDone}
        </p>
      )}
      {active?.top && (
        <p className="hint" data-testid="head-fine-tuned" data-cut={active.top.cut}>
          This run fine-tuned the encoder&apos;s top (from {active.top.cut}) with its head: the metrics, the search, the map and
          the tuned embedding exports here use the fine-tuned top — the head reads its tuned features, computed once from the
          cached cut maps and kept in the cache while the run is in the run history.
          {metrics.tunedFeatures && (
            <span data-testid="head-tuned-features" data-cached={metrics.tunedFeatures.cached} data-computed={metrics.tunedFeatures.computed}>
              {' '}
              {metrics.tunedFeatures.computed
                ? `${formatCount(metrics.tunedFeatures.computed)} computed now${metrics.tunedFeatures.cached ? `, ${formatCount(metrics.tunedFeatures.cached)} from the cache` : ''}.`
                : `All ${formatCount(metrics.tunedFeatures.cached)} read from the cache.`}
            </span>
          )}
        </p>
      )}
      {metrics.progress && (
        <p className="hint" data-testid="head-progress" data-done={metrics.progress.done} data-total={metrics.progress.total}>
          {metrics.progress.stage}: {formatCount(metrics.progress.done)} of {formatCount(metrics.progress.total)}…{' '}
          {onCancelMeasuring && (
            <button type="button" data-testid="head-progress-cancel" onClick={onCancelMeasuring}>
              Cancel
            </button>
          )}
        </p>
      )}
      {active && why && (
        <p className="hint" data-testid="head-why">
          Head in use: {why}.
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="head-error">
          {error}
        </p>
      )}
      {blocked && active && <p className="hint">{blocked}</p>}
      {metrics.message && (
        <p className="error" role="alert" data-testid="head-metrics-error">
          {metrics.message}
        </p>
      )}
      {(metrics.base || metrics.phase === 'measuring') && (
        <table className="head-metrics" data-testid="head-metrics" data-phase={metrics.phase} data-head={metrics.headKey ?? ''}>
          <thead>
            <tr>
              <th>On the never-seen (test) classes</th>
              {METRICS.map((m) => (
                <th key={m.key}>{m.label}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {(['base', 'tuned'] as const).map((space) => {
              const values = metrics[space];
              return (
                <tr key={space}>
                  <td>{space === 'base' ? 'Frozen encoder' : 'With the head'}</td>
                  {METRICS.map((m) => (
                    <td key={m.key} data-testid={`head-metric-${space}-${m.key}`} data-value={values ? values[m.key] : ''}>
                      {values ? formatPercent(values[m.key]) : metrics.phase === 'measuring' ? '…' : '—'}
                    </td>
                  ))}
                </tr>
              );
            })}
            {active?.recorded && (
              <tr className="muted">
                <td>Recorded by its run</td>
                {METRICS.map((m) => (
                  <td key={m.key} data-testid={`head-metric-recorded-${m.key}`} data-value={active.recorded![m.key]}>
                    {formatPercent(active.recorded![m.key])}
                  </td>
                ))}
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
