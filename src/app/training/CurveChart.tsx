import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { nextTask } from '../../workers/nextTask';
import { sameChartData } from './chartData';

export interface CurveSeries {
  label: string;
  /** One value per x (null = no point there). */
  values: (number | null)[];
  stroke: string;
  /** Dashed line (e.g. a reference). */
  dash?: number[];
  /** Digits shown in the hover legend. */
  digits?: number;
}

/**
 * The legend's value of a series: at the hovered epoch, or (not hovering: `idx` is null) its
 * latest value, so the legend never reads "—" for a chart that has data.
 */
function shown(u: uPlot, v: number | null, si: number, idx: number | null, format: (n: number) => string): string {
  if (idx != null) return v == null ? '—' : format(v);
  const values = u.data[si] ?? [];
  for (let i = values.length - 1; i >= 0; i--) {
    const last = values[i];
    if (last != null) return format(last);
  }
  return '—';
}

/**
 * A line chart of per-epoch curves, drawn with uPlot (canvas; copes with many thousands of
 * points). Hovering shows every series' value at that epoch in the legend (the latest values otherwise). New data is
 * pushed with `setData` (no new chart per epoch); a new chart is made only when the series
 * themselves change. `data-points` tells tests how many epochs the chart holds.
 */
export function CurveChart(props: { title: string; x: number[]; series: CurveSeries[]; yLabel: string; testId: string; height?: number }) {
  const { title, x, series, yLabel, testId, height = 220 } = props;
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const layout = series.map((s) => `${s.label}|${s.stroke}|${s.dash?.join(',') ?? ''}`).join(';') + `|${yLabel}|${height}`;
  const data = [x, ...series.map((s) => s.values)] as uPlot.AlignedData;
  const latest = useRef(data);
  latest.current = data;

  const drawn = useRef<{ chart: uPlot; data: uPlot.AlignedData } | null>(null);
  useEffect(() => {
    const target = box.current;
    if (!target) return;
    let live = true;
    let u: uPlot | null = null;
    let resize: ResizeObserver | null = null;
    // each chart is made in a task of its own: a run's first report makes several at once (20-40 ms each)
    void nextTask().then(() => {
      if (!live) return;
      u = makeChart(target);
      chart.current = u;
      drawn.current = { chart: u, data: latest.current };
      const made = u;
      resize = new ResizeObserver(() => {
        const w = Math.max(280, target.clientWidth);
        if (w !== made.width) made.setSize({ width: w, height });
      });
      resize.observe(target);
    });
    return () => {
      live = false;
      resize?.disconnect();
      u?.destroy();
      chart.current = null;
    };
    // the chart is rebuilt only when its series change; data goes through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout]);

  function makeChart(target: HTMLElement): uPlot {
    const width = Math.max(280, target.clientWidth || 520);
    const options: uPlot.Options = {
      width,
      height,
      scales: { x: { time: false } },
      cursor: { drag: { x: true, y: false } },
      axes: [
        { label: 'epoch', values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) },
        { label: yLabel, size: 56 },
      ],
      series: [
        { label: 'epoch', value: (u, v, si, idx) => shown(u, v, si, idx, (n) => String(n)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          dash: s.dash,
          spanGaps: false,
          points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) < 60 },
          value: (u: uPlot, v: number | null, si: number, idx: number | null) => shown(u, v, si, idx, (n) => n.toFixed(s.digits ?? 4)),
        })),
      ],
    };
    return new uPlot(options, latest.current, target);
  }

  // the page re-renders for many reasons: the chart redraws only when its values change
  useEffect(() => {
    const u = chart.current;
    if (!u || (drawn.current?.chart === u && sameChartData(drawn.current.data, latest.current))) return;
    u.setData(latest.current);
    drawn.current = { chart: u, data: latest.current };
  });

  return (
    <figure className="curve-chart" data-testid={testId} data-points={x.length} data-series={series.length}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="curve-chart-canvas" />
    </figure>
  );
}
