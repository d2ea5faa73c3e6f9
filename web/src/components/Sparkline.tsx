/** A small SVG line of recent numeric values (fixed size, so it never moves the layout). */
interface Props {
  values: number[];
  width?: number;
  height?: number;
  label: string;
}

export function Sparkline({ values, width = 240, height = 48, label }: Props) {
  if (values.length < 2) {
    return (
      <svg
        class="sparkline"
        width={width}
        height={height}
        role="img"
        aria-label={`${label}: not enough values yet`}
      >
        <line x1="0" y1={height - 1} x2={width} y2={height - 1} class="sparkline-base" />
      </svg>
    );
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min || 1;
  const pad = 3;
  const step = (width - pad * 2) / (values.length - 1);
  const points = values
    .map(
      (v, i) =>
        `${(pad + i * step).toFixed(1)},${(pad + (height - pad * 2) * (1 - (v - min) / span)).toFixed(1)}`,
    )
    .join(' ');
  const last = values[values.length - 1] ?? 0;
  return (
    <svg
      class="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${label}: ${values.length} values from ${min} to ${max}, latest ${last}`}
    >
      <polyline points={points} class="sparkline-line" />
    </svg>
  );
}
