import { useCallback, useEffect, useState } from 'react';
import { EmbeddingCache } from '../../storage/embeddingCache';
import { liveRunIds, type RunRecord } from '../../storage/runHistory';
import { formatCount, formatPercent, formatSeconds } from '../format';
import { session } from '../session/sessionStore';
import { Panel } from '../shell/Panel';
import { CompareCharts, RunCharts } from './RunCharts';
import { displayStatus, runHistory, runName, statusText, summaryOf } from './runHistoryStore';
import { RunSummaryView } from './RunSummaryView';

const INTERRUPTED_NOTE =
  'Interrupted (the tab closed or the browser stopped mid-run): kept up to its last finished epoch; the head of its best epoch can still be used.';

/** Past runs kept in IndexedDB: list, open one, compare two, delete. */
export function RunHistoryPanel(props: { refreshKey: number; activeRunId: string | null }) {
  const { refreshKey, activeRunId } = props;
  const [runs, setRuns] = useState<RunRecord[] | null>(null);
  const [live, setLive] = useState<Set<string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [compare, setCompare] = useState<string[]>([]);

  const reload = useCallback(async () => {
    try {
      const history = await runHistory();
      const [list, held] = await Promise.all([history.list(), liveRunIds().catch(() => null)]);
      setRuns(list);
      setLive(held);
      setError(null);
    } catch (e) {
      setError(`Could not read the run history: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload, refreshKey]);

  const remove = async (id: string) => {
    try {
      await (await runHistory()).delete(id);
      // a fine-tuned run's tuned features go with it
      const cache = await EmbeddingCache.open();
      try {
        if (await cache.clearRunSets(id)) session.set((x) => ({ cacheVersion: x.cacheVersion + 1 }));
      } finally {
        cache.close();
      }
      if (openId === id) setOpenId(null);
      setCompare((c) => c.filter((x) => x !== id));
      await reload();
      // the head panel lists the runs too
      session.set((x) => ({ runsVersion: x.runsVersion + 1 }));
    } catch (e) {
      setError(`Could not delete the run: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const toggleCompare = (id: string, on: boolean) =>
    setCompare((c) => (on ? [...c.filter((x) => x !== id), id].slice(-2) : c.filter((x) => x !== id)));

  const opened = runs?.find((r) => r.id === openId) ?? null;
  const compared = compare.map((id) => runs?.find((r) => r.id === id)).filter((r): r is RunRecord => Boolean(r));

  return (
    <Panel id="runs" title="Run history" status={runs ? `${runs.length} run${runs.length === 1 ? '' : 's'}` : ''}>
      {error && (
        <p className="error" role="alert" data-testid="runs-error">
          {error}
        </p>
      )}
      {runs && runs.length === 0 && <p className="hint">No runs yet: train a head and it appears here, epoch by epoch.</p>}
      {runs && runs.length > 0 && (
        <table data-testid="runs-table">
          <thead>
            <tr>
              <th>Compare</th>
              <th>Run</th>
              <th>Dataset</th>
              <th>Status</th>
              <th>Epochs (best)</th>
              <th>R-Precision base → tuned</th>
              <th>Time</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => {
              const status = displayStatus(run, live, activeRunId);
              const summary = summaryOf(run);
              return (
                <tr
                  key={run.id}
                  data-testid="run-row"
                  data-run-id={run.id}
                  data-status={status}
                  data-epochs={run.history.length}
                  data-started-from={run.about.startedFrom ?? ''}
                >
                  <td>
                    <input
                      type="checkbox"
                      aria-label="Compare this run"
                      data-testid="run-compare"
                      checked={compare.includes(run.id)}
                      onChange={(e) => toggleCompare(run.id, e.target.checked)}
                    />
                  </td>
                  <td>
                    {runName(run)}
                    {run.about.startedFrom && <div className="hint">continued from {run.about.startedFrom}</div>}
                    {run.fineTuning && (
                      <div className="hint" data-testid="run-fine-tuned">
                        fine-tuned the top from {run.fineTuning.cut} ({formatCount(run.fineTuning.parameters.top)} parameters)
                      </div>
                    )}
                  </td>
                  <td>{run.about.datasetName}</td>
                  <td title={run.message ?? undefined} data-testid="run-status">
                    {statusText(run, status)}
                  </td>
                  <td>
                    {run.history.length} ({run.bestEpoch || '—'})
                  </td>
                  <td>
                    {formatPercent(run.baseline.rPrecision)} → {summary.tuned ? formatPercent(summary.tuned.rPrecision) : '—'}
                  </td>
                  <td>{formatSeconds(run.seconds)}</td>
                  <td className="run-actions">
                    <button type="button" data-testid="run-open" onClick={() => setOpenId(openId === run.id ? null : run.id)}>
                      {openId === run.id ? 'Close' : 'Open'}
                    </button>
                    <button type="button" data-testid="run-delete" disabled={status === 'training'} onClick={() => void remove(run.id)}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      {opened && (
        <section className="opened-run" data-testid="opened-run" data-run-id={opened.id}>
          <h3>{runName(opened)}</h3>
          <p className="hint">
            {opened.about.datasetName}: {opened.trainImages} training images of {opened.trainClasses} classes,{' '}
            {opened.validationImages} validation images of {opened.validationClasses} classes · {opened.backend} · lr{' '}
            {opened.config.learningRate}, P×K {opened.config.classesPerBatch}×{opened.config.imagesPerClass}, mining{' '}
            {opened.config.loss.mining}, margin {opened.config.loss.margin}, {opened.config.loss.distance} ·{' '}
            {opened.about.startedFrom ? `continued from ${opened.about.startedFrom}` : 'from a fresh head'}
          </p>
          {opened.message && <p className="error">{opened.message}</p>}
          <RunCharts history={opened.history} baseline={opened.baseline} testId="opened-chart" />
          <RunSummaryView
            summary={summaryOf(opened)}
            testId="opened-summary"
            note={displayStatus(opened, live, activeRunId) === 'interrupted' ? INTERRUPTED_NOTE : undefined}
          />
        </section>
      )}

      {compared.length === 2 && (
        <section className="compare-runs" data-testid="compare-runs">
          <h3>
            Comparing A = {runName(compared[0])} and B = {runName(compared[1])}
          </h3>
          <CompareCharts
            a={{ name: 'A', history: compared[0].history, baseline: compared[0].baseline }}
            b={{ name: 'B', history: compared[1].history, baseline: compared[1].baseline }}
            testId="compare-chart"
          />
        </section>
      )}
      {compared.length === 1 && <p className="hint">Tick a second run to compare their curves.</p>}
    </Panel>
  );
}
