/** Number and time formatting shared by the pages. Every formatter is total: null/NaN → "—". */

const DASH = '—';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : integer.format(n);
}

/** 0.3, 12.5, 1,234, 12.3k, 4.56M */
export function fmtRate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  if (a >= 100) return integer.format(n);
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(a === 0 ? 0 : 2);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  let v = Math.abs(n);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const sign = n < 0 ? '-' : '';
  return `${sign}${unit === 0 ? v.toFixed(0) : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${UNITS[unit]}`;
}

/** Axis labels: 512B, 1.5KiB, 20MiB (at most one decimal, trailing zeros dropped). */
export function fmtBytesShort(n: number): string {
  let v = Math.abs(n);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const text = (Math.round(v * 10) / 10).toString();
  return `${n < 0 ? '-' : ''}${text}${UNITS[unit]}`;
}

/** 3d 4h, 5h 12m, 4m 03s, 12s */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** "12s ago", "5m ago", "3h ago", "2d ago" */
export function fmtAgo(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return DASH;
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** 14:03:27.123 (local time) */
export function fmtClock(at: number): string {
  const d = new Date(at);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** 2024-05-01 14:03:27 (local time) */
export function fmtDateTime(at: number | null | undefined): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return DASH;
  const d = new Date(at);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function protocolName(v: number | null | undefined): string {
  if (v === 3) return '3.1';
  if (v === 4) return '3.1.1';
  if (v === 5) return '5.0';
  return DASH;
}
