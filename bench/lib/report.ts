// Turns outcomes into the summary table (console and Markdown) and the results file.

import type { Machine } from './machine.js';
import type { Options } from './options.js';
import type { Outcome } from './run-one.js';
import type { Scenario } from './scenarios.js';

export interface RunInfo {
  date: Date;
  command: string;
  machine: Machine;
  versions: { midge: string; aedes: string; mosquitto: string };
  pinning: string;
  opts: Options;
  scenarios: Scenario[];
  brokers: string[];
  skipped: { broker: string; reason: string }[];
}

const rate = (n: number): string => n.toLocaleString('en-US');

function find(outcomes: Outcome[], scenario: string, broker: string): Outcome | undefined {
  return outcomes.find((o) => o.scenario === scenario && o.broker === broker);
}

function cell(o: Outcome | undefined): string {
  if (o === undefined) return '—';
  if (o.unresponsive) return 'died (unresponsive)';
  if (o.status !== 'ok' || o.gen === undefined) return o.status;
  return rate(o.gen.deliveredPerSec) + (o.notes.length > 0 ? ' *' : '');
}

function ratio(midge: Outcome | undefined, peer: Outcome | undefined): string {
  const m = midge?.status === 'ok' ? midge.gen?.deliveredPerSec : undefined;
  const p = peer?.status === 'ok' ? peer.gen?.deliveredPerSec : undefined;
  if (m === undefined || p === undefined || p === 0) return '—';
  return `${(m / p).toFixed(2)}×`;
}

/** Header row + one row per scenario: msg/s per broker, then midge/peer ratios. */
export function summaryRows(info: RunInfo, outcomes: Outcome[]): string[][] {
  const peers = info.brokers.includes('midge') ? info.brokers.filter((b) => b !== 'midge') : [];
  const header = ['scenario', ...info.brokers.map((b) => `${b} msg/s`), ...peers.map((p) => `midge/${p}`)];
  const rows = info.scenarios.map((s) => [
    s.name,
    ...info.brokers.map((b) =>
      info.skipped.some((k) => k.broker === b) ? 'skipped' : cell(find(outcomes, s.name, b)),
    ),
    ...peers.map((p) => ratio(find(outcomes, s.name, 'midge'), find(outcomes, s.name, p))),
  ]);
  return [header, ...rows];
}

export function renderText(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('   ');
  const [header, ...body] = rows;
  return [line(header!), widths.map((w) => '-'.repeat(w)).join('   '), ...body.map(line)].join('\n');
}

/** `textColumns` leading columns are left-aligned, the rest (figures) right-aligned. */
function markdownTable(rows: string[][], textColumns = 1): string {
  const [header, ...body] = rows;
  const align = header!.map((_, c) => (c < textColumns ? '---' : '---:'));
  return [header!, align, ...body].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Everything worth a footnote: deaths, failures, skips and the per-run notes. */
export function noteLines(info: RunInfo, outcomes: Outcome[]): string[] {
  const lines = info.skipped.map((s) => `${s.broker}: skipped — ${s.reason}`);
  for (const o of outcomes) {
    const who = `${o.scenario} × ${o.broker}`;
    if (o.status !== 'ok') lines.push(`${who}: ${o.status} — ${o.reason ?? ''}`);
    for (const note of o.notes) lines.push(`${who}: ${note}`);
  }
  return lines;
}

function detailRows(outcomes: Outcome[]): string[][] {
  const header = [
    'scenario',
    'broker',
    'status',
    'delivered msg/s',
    'written msg/s',
    'broker CPU',
    'broker peak RSS',
    'generator CPU',
  ];
  const rows = outcomes.map((o) => {
    const g = o.gen;
    return [
      o.scenario,
      o.broker,
      o.unresponsive ? 'died (unresponsive)' : o.status,
      g !== undefined ? rate(g.deliveredPerSec) : '—',
      g !== undefined ? rate(g.publishedPerSec) : '—',
      o.brokerCpuPercent !== undefined ? `${o.brokerCpuPercent}%` : '—',
      o.brokerPeakRssMiB !== undefined ? `${o.brokerPeakRssMiB} MiB` : '—',
      g !== undefined ? `${g.cpuPercent}%${g.saturated ? ' (saturated)' : ''}` : '—',
    ];
  });
  return [header, ...rows];
}

export function renderMarkdown(info: RunInfo, outcomes: Outcome[]): string {
  const o = info.opts;
  const m = info.machine;
  const notes = noteLines(info, outcomes);
  const batch = outcomes.find((x) => x.gen !== undefined)?.gen?.messagesPerBatch;
  return [
    '# midge benchmark — latest run',
    '',
    `Date: ${info.date.toISOString()}  `,
    `Command: \`${info.command}\``,
    '',
    `## Delivered messages per second (QoS 0, ${o.payloadBytes}-byte payloads, TCP)`,
    '',
    markdownTable(summaryRows(info, outcomes)),
    '',
    'Higher is better. Ratios above 1× mean midge delivered more. `*` = see notes; `died` = the broker',
    'process exited; `died (unresponsive)` = still running but no CONNACK to a fresh client within 3 s',
    'after the load stopped; `failed` = setup did not complete.',
    '',
    ...info.scenarios.map((s) => `- **${s.name}**: ${s.description}`),
    '',
    ...(notes.length > 0 ? ['### Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
    '## Details',
    '',
    markdownTable(detailRows(outcomes), 3),
    '',
    '"written" counts messages the publishers handed to their sockets during the window. Loopback',
    'socket buffers hold megabytes, so for a slow broker it can read 0: the warm-up filled them.',
    "CPU figures are % of one core over the measurement window; peak RSS is the broker's VmHWM.",
    '',
    '## Machine and setup',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; ${m.os}`,
    `- Node.js ${m.node}`,
    `- midge ${info.versions.midge}; Aedes ${info.versions.aedes}; Mosquitto ${info.versions.mosquitto}`,
    `- Pinning: ${info.pinning}`,
    `- Warm-up ${o.warmupSec} s, window ${o.durationSec} s, ${o.clients} clients on the "many" side` +
      (batch !== undefined ? `, ${batch} PUBLISH packets per write` : ''),
    '- Each broker started fresh for each scenario; load generator in its own process (raw TCP,',
    '  pre-encoded packets, backpressure-respecting writes, receivers that walk fixed headers only).',
    '',
  ].join('\n');
}
