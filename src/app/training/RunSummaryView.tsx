import { formatPercent, formatSeconds } from '../format';
import type { RetrievalSummary, RunSummary } from '../../workers/trainProtocol';
import { STOP_TEXT } from './trainRunState';

const ROWS: { key: keyof RetrievalSummary; label: string }[] = [
  { key: 'rPrecision', label: 'R-Precision (micro)' },
  { key: 'rPrecisionMacro', label: 'R-Precision (macro)' },
  { key: 'precisionAt1', label: 'P@1' },
  { key: 'mapAtR', label: 'MAP@R' },
];

function change(base: number, tuned: number): string {
  const d = (tuned - base) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} pt`;
}

/** The end of a run: the frozen encoder against the tuned head, with time and epochs. */
export function RunSummaryView(props: { summary: RunSummary; testId: string; note?: string }) {
  const { summary, testId, note } = props;
  return (
    <div className="run-summary" data-testid={testId} data-best-epoch={summary.bestEpoch} data-epochs={summary.epochsRun}>
      <table>
        <thead>
          <tr>
            <th data-testid={`${testId}-selection`} data-selection={summary.selection?.mode ?? 'recipe'}>
              {summary.selection?.mode === 'heldout'
                ? 'Test classes (epoch chosen on held-out training classes)'
                : 'Validation classes (recipe selection: epoch chosen on them)'}
            </th>
            <th>Frozen encoder</th>
            <th>Tuned head (epoch {summary.bestEpoch || '—'})</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {ROWS.map(({ key, label }) => (
            <tr key={key}>
              <td>{label}</td>
              <td data-testid={`${testId}-base-${key}`}>{formatPercent(summary.baseline[key])}</td>
              <td data-testid={`${testId}-tuned-${key}`}>{summary.tuned ? formatPercent(summary.tuned[key]) : '—'}</td>
              <td>{summary.tuned ? change(summary.baseline[key], summary.tuned[key]) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">
        {note ?? STOP_TEXT[summary.stopReason]} {summary.epochsRun} epochs in {formatSeconds(summary.seconds)} (
        {summary.epochsRun ? (summary.seconds / summary.epochsRun).toFixed(2) : '—'} s/epoch); best epoch {summary.bestEpoch || '—'}.
      </p>
    </div>
  );
}
