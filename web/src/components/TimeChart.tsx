/**
 * A fixed-height uPlot time-series chart that follows its container's width. Data is the shared
 * columnar history (mutated in place by the store); `version` tells the chart to redraw. The x range
 * is always the last `windowSeconds`, so the chart scrolls instead of rescaling.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** A CSS colour or var(--name). */
  color: string;
  values: (number | null)[];
  /** Filled area under the line. */
  fill?: boolean;
  /** A dashed line. */
  dash?: boolean;
}

interface Props {
  title: string;
  time: number[];
  series: ChartSeries[];
  version: number;
  /** y-axis tick formatter */
  format: (v: number) => string;
  height?: number;
  windowSeconds?: number;
  testId?: string;
  /** Shown in the legend for each series: its latest value, formatted. */
  latest?: (string | null)[];
  /** y-axis tick steps (uPlot incrs); binary units for byte charts. */
  incrs?: number[];
}

/** Tick steps for counts (connections): whole numbers only. */
export const COUNT_INCRS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6,
];

/** Tick steps for byte values: 1, 2, 5, 10 ... 500 of B, KiB, MiB, GiB. */
export const BYTE_INCRS = [0, 1, 2, 3].flatMap((k) =>
  [1, 2, 5, 10, 20, 50, 100, 200, 500].map((m) => m * 1024 ** k),
);

const pad2 = (n: number) => String(n).padStart(2, '0');

/** 14:05 on whole minutes, 14:05:30 otherwise (24-hour, local time). */
function clockLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return d.getSeconds() === 0 ? hm : `${hm}:${pad2(d.getSeconds())}`;
}

function cssColor(value: string, el: Element): string {
  const m = /^var\((--[\w-]+)\)$/.exec(value);
  if (m === null) return value;
  return (
    getComputedStyle(el)
      .getPropertyValue(m[1] ?? '')
      .trim() || '#888'
  );
}

function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (hex === null) return color;
  const n = Number.parseInt(hex[1] ?? '0', 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function TimeChart({
  title,
  time,
  series,
  version,
  format,
  height = 180,
  windowSeconds = 300,
  testId,
  latest,
  incrs,
}: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const formatRef = useRef(format);
  formatRef.current = format;

  // Created once per series layout; data updates go through setData.
  const layout = series.map((s) => `${s.label}|${s.color}|${s.fill ? 1 : 0}`).join(',');
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const axisColor = cssColor('var(--text-muted)', el);
    const gridColor = cssColor('var(--chart-grid)', el);
    const font = '11px system-ui, sans-serif';
    const opts: uPlot.Options = {
      width: Math.max(100, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          stroke: axisColor,
          font,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor, width: 1, size: 4 },
          space: 70,
          values: (_u, splits) => splits.map(clockLabel),
        },
        {
          stroke: axisColor,
          font,
          size: 56,
          grid: { stroke: gridColor, width: 1 },
          ticks: { show: false },
          values: (_u, splits) => splits.map((v) => formatRef.current(v)),
          ...(incrs ? { incrs } : {}),
        },
      ],
      series: [
        {},
        ...series.map((s) => {
          const stroke = cssColor(s.color, el);
          return {
            label: s.label,
            stroke,
            width: 1.75,
            fill: s.fill ? withAlpha(stroke, 0.12) : undefined,
            dash: s.dash ? [5, 4] : undefined,
            points: { show: false },
            spanGaps: false,
          } satisfies uPlot.Series;
        }),
      ],
    };
    const data = [time, ...series.map((s) => s.values)] as uPlot.AlignedData;
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const observer = new ResizeObserver(() => {
      const width = Math.max(100, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [layout, height]);

  useEffect(() => {
    const u = plot.current;
    if (u === null) return;
    u.setData([time, ...series.map((s) => s.values)] as uPlot.AlignedData, false);
    const now = Date.now() / 1000;
    u.setScale('x', { min: now - windowSeconds, max: now });
  });

  return (
    <figure class="chart" data-testid={testId} data-version={version}>
      <figcaption class="chart-head">
        <span class="chart-title">{title}</span>
        <span class="chart-legend">
          {series.map((s, i) => (
            <span class="legend-item" key={s.label}>
              <span
                class={`legend-swatch${s.dash ? ' dashed' : ''}`}
                style={{ background: s.color }}
                aria-hidden="true"
              />
              {s.label}
              {latest !== undefined && <span class="legend-value">{latest[i] ?? '—'}</span>}
            </span>
          ))}
        </span>
      </figcaption>
      <div
        class="chart-plot"
        ref={box}
        style={{ height: `${height}px` }}
        role="img"
        aria-label={`${title} chart`}
      />
    </figure>
  );
}
