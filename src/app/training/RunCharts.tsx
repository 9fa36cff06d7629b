import { memo } from 'react';
import type { EpochReport } from '../../core/train/trainer';
import type { RetrievalSummary } from '../../workers/trainProtocol';
import { CurveChart, type CurveSeries } from './CurveChart';

const COLORS = { train: '#0f7b5f', validation: '#8a4bd6', test: '#c2410c', baseline: '#6b7280', a: '#2f6fde', b: '#d9480f' };

/** The two live charts of one run: losses, and R-Precision against the frozen encoder's. */
export const RunCharts = memo(function RunCharts(props: { history: EpochReport[]; baseline: RetrievalSummary | null; testId: string }) {
  const { history, baseline, testId } = props;
  const x = history.map((r) => r.epoch);
  const loss: CurveSeries[] = [
    { label: 'training loss', values: history.map((r) => r.trainLoss), stroke: COLORS.train },
    { label: 'validation loss', values: history.map((r) => r.validationLoss), stroke: COLORS.validation },
  ];
  const charted = history.some((r) => r.test);
  const precision: CurveSeries[] = [
    {
      label: charted ? 'R-Precision (held-out validation, chooses the epoch)' : 'R-Precision (validation = test classes: recipe selection)',
      values: history.map((r) => r.rPrecision),
      stroke: COLORS.validation,
      digits: 4,
    },
    ...(charted
      ? [{ label: 'R-Precision (test classes, charted only)', values: history.map((r) => r.test?.rPrecision ?? null), stroke: COLORS.test, digits: 4 }]
      : []),
    ...(baseline
      ? [{ label: 'frozen encoder', values: history.map(() => baseline.rPrecision), stroke: COLORS.baseline, dash: [6, 4], digits: 4 }]
      : []),
  ];
  return (
    <div className="run-charts">
      <CurveChart title="Loss per epoch" x={x} series={loss} yLabel="triplet loss" testId={`${testId}-loss`} />
      <CurveChart
        title={charted ? 'R-Precision: held-out validation and test classes' : 'R-Precision on the validation classes'}
        x={x}
        series={precision}
        yLabel="R-Precision"
        testId={`${testId}-rprecision`}
      />
    </div>
  );
});

export interface ComparedRun {
  name: string;
  history: EpochReport[];
  baseline: RetrievalSummary;
}

/** Two runs' validation curves on shared axes. */
export function CompareCharts(props: { a: ComparedRun; b: ComparedRun; testId: string }) {
  const { a, b, testId } = props;
  const epochs = Math.max(a.history.length ? a.history[a.history.length - 1].epoch : 0, b.history.length ? b.history[b.history.length - 1].epoch : 0);
  const x = Array.from({ length: epochs }, (_, i) => i + 1);
  const column = (run: ComparedRun, pick: (r: EpochReport) => number) => {
    const byEpoch = new Map(run.history.map((r) => [r.epoch, pick(r)]));
    return x.map((e) => byEpoch.get(e) ?? null);
  };
  const loss: CurveSeries[] = [
    { label: `${a.name}: validation loss`, values: column(a, (r) => r.validationLoss), stroke: COLORS.a },
    { label: `${b.name}: validation loss`, values: column(b, (r) => r.validationLoss), stroke: COLORS.b },
    { label: `${a.name}: training loss`, values: column(a, (r) => r.trainLoss), stroke: COLORS.a, dash: [3, 3] },
    { label: `${b.name}: training loss`, values: column(b, (r) => r.trainLoss), stroke: COLORS.b, dash: [3, 3] },
  ];
  const precision: CurveSeries[] = [
    { label: `${a.name}: R-Precision`, values: column(a, (r) => r.rPrecision), stroke: COLORS.a },
    { label: `${b.name}: R-Precision`, values: column(b, (r) => r.rPrecision), stroke: COLORS.b },
    { label: `${a.name}: frozen encoder`, values: x.map(() => a.baseline.rPrecision), stroke: COLORS.a, dash: [6, 4] },
    ...(b.baseline.rPrecision !== a.baseline.rPrecision
      ? [{ label: `${b.name}: frozen encoder`, values: x.map(() => b.baseline.rPrecision), stroke: COLORS.b, dash: [6, 4] }]
      : []),
  ];
  return (
    <div className="run-charts">
      <CurveChart title="Loss per epoch" x={x} series={loss} yLabel="triplet loss" testId={`${testId}-loss`} />
      <CurveChart title="R-Precision on the validation classes" x={x} series={precision} yLabel="R-Precision" testId={`${testId}-rprecision`} />
    </div>
  );
}
