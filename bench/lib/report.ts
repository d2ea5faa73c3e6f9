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

/** `a`'s delivered rate over `b`'s, e.g. "1.25×"; "—" unless both ran fine. */
function ratio(a: Outcome | undefined, b: Outcome | undefined): string {
  const x = a?.status === 'ok' ? a.gen?.deliveredPerSec : undefined;
  const y = b?.status === 'ok' ? b.gen?.deliveredPerSec : undefined;
  if (x === undefined || y === undefined || y === 0) return '—';
  return `${(x / y).toFixed(2)}×`;
}

/** Scenarios of the broker-per-column table (QoS 0, brokers in memory). */
function columnScenarios(info: RunInfo): Scenario[] {
  return info.scenarios.filter((s) => !s.durable);
}

/** Scenarios with one row per broker setup (QoS 1, durable sessions, midge once per store). */
export function durableScenarios(info: RunInfo): Scenario[] {
  return info.scenarios.filter((s) => s.durable);
}

/**
 * Header row + one row per QoS 0 scenario: msg/s per broker, then midge/peer ratios. Null when no
 * such scenario was selected.
 */
export function summaryRows(info: RunInfo, outcomes: Outcome[]): string[][] | null {
  const scenarios = columnScenarios(info);
  if (scenarios.length === 0) return null;
  const peers = info.brokers.includes('midge') ? info.brokers.filter((b) => b !== 'midge') : [];
  const header = ['scenario', ...info.brokers.map((b) => `${b} msg/s`), ...peers.map((p) => `midge/${p}`)];
  const rows = scenarios.map((s) => [
    s.name,
    ...info.brokers.map((b) =>
      info.skipped.some((k) => k.broker === b) ? 'skipped' : cell(find(outcomes, s.name, b)),
    ),
    ...peers.map((p) => ratio(find(outcomes, s.name, 'midge'), find(outcomes, s.name, p))),
  ]);
  return [header, ...rows];
}

/** The setups every row of a durable scenario is compared with: midge in memory, and the peers. */
const REFERENCES = ['midge', 'aedes', 'mosquitto'];

/**
 * A durable scenario: header + one row per broker setup (midge, midge sqlite sync, ..., aedes,
 * mosquitto) with its store, delivered msg/s, and that rate over each reference's.
 */
export function durableRows(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[][] {
  const refs = REFERENCES.filter((r) => info.brokers.includes(r));
  const header = ['broker', 'store', 'delivered msg/s', ...refs.map((r) => `vs ${r}`)];
  const mine = outcomes.filter((o) => o.scenario === scenario.name);
  // In --brokers order; a broker's setups are labelled "<name>" or "<name> <variant>".
  const rows = info.brokers.flatMap((b) => {
    if (info.skipped.some((k) => k.broker === b)) return [[b, '—', 'skipped', ...refs.map(() => '—')]];
    return mine
      .filter((o) => o.broker === b || o.broker.startsWith(`${b} `))
      .map((o) => [o.broker, o.store, cell(o), ...refs.map((r) => ratio(o, find(mine, scenario.name, r)))]);
  });
  return [header, ...rows];
}

/** The ratios the durable scenario is for: durable sync midge against midge in memory and Aedes. */
export function durableHeadlines(outcomes: Outcome[], scenario: Scenario): string[] {
  const get = (label: string): Outcome | undefined => find(outcomes, scenario.name, label);
  const sync = get('midge sqlite sync');
  if (sync === undefined) return [];
  const lines: string[] = [];
  const vsMemory = ratio(sync, get('midge'));
  if (vsMemory !== '—') {
    const met = Number.parseFloat(vsMemory) >= 0.5 ? 'met' : 'NOT met';
    lines.push(`midge sqlite sync / midge in memory: ${vsMemory} (target ≥ 0.50×: ${met})`);
  }
  const vsAedes = ratio(sync, get('aedes'));
  if (vsAedes !== '—') lines.push(`midge sqlite sync / aedes in memory: ${vsAedes}`);
  const vsMosquitto = ratio(sync, get('mosquitto'));
  if (vsMosquitto !== '—') lines.push(`midge sqlite sync / mosquitto with persistence: ${vsMosquitto}`);
  return lines;
}

/** Every summary table as console text: the QoS 0 table, then one block per durable scenario. */
export function renderSummaryText(info: RunInfo, outcomes: Outcome[]): string {
  const blocks: string[] = [];
  const summary = summaryRows(info, outcomes);
  if (summary !== null) blocks.push(`QoS 0, delivered msg/s\n${renderText(summary)}`);
  for (const s of durableScenarios(info)) {
    const headlines = durableHeadlines(outcomes, s).map((l) => `  ${l}`);
    blocks.push(
      [`${s.name}, delivered msg/s`, renderText(durableRows(info, outcomes, s), 2), ...headlines].join('\n'),
    );
  }
  return blocks.join('\n\n');
}

/** `textColumns` leading columns are left-aligned, the rest (figures) right-aligned. */
export function renderText(rows: string[][], textColumns = 1): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((v, c) => (c < textColumns ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('   ');
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

function detailRows(info: RunInfo, outcomes: Outcome[]): string[][] {
  const qos1 = new Set<string>(info.scenarios.filter((s) => s.qos === 1).map((s) => s.name));
  const header = [
    'scenario',
    'broker',
    'status',
    'delivered msg/s',
    'written msg/s',
    'acked msg/s',
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
      g !== undefined && qos1.has(o.scenario) ? rate(g.ackedPerSec) : '—',
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
  const batch = outcomes.find((x) => (x.gen?.messagesPerBatch ?? 0) > 0)?.gen?.messagesPerBatch;
  const summary = summaryRows(info, outcomes);
  const qos0 =
    summary === null
      ? []
      : [
          `## Delivered messages per second (QoS 0, ${o.payloadBytes}-byte payloads, TCP)`,
          '',
          markdownTable(summary),
          '',
          'Higher is better. Ratios above 1× mean midge delivered more.',
          '',
          ...columnScenarios(info).map((s) => `- **${s.name}**: ${s.description}`),
          '',
        ];
  const durable = durableScenarios(info).flatMap((s) => {
    const headlines = durableHeadlines(outcomes, s);
    return [
      `## ${s.name}: delivered messages per second (QoS ${s.qos}, durable sessions, ${o.payloadBytes}-byte payloads, TCP)`,
      '',
      markdownTable(durableRows(info, outcomes, s), 2),
      '',
      ...(headlines.length > 0 ? [...headlines.map((l) => `- **${l}**`), ''] : []),
      `- **${s.name}**: ${s.description}.`,
      '- "vs X" = this row\'s delivered rate / X\'s (X = midge in memory, Aedes, Mosquitto).',
      '- Stores: midge once per store, a fresh data directory per SQLite run; Aedes with its default',
      '  in-memory persistence; Mosquitto with `persistence true`, which writes its snapshot at exit and',
      '  every `autosave_interval` (default 30 min): during the window its acknowledgements wait for no disk.',
      '',
    ];
  });
  return [
    '# midge benchmark — latest run',
    '',
    `Date: ${info.date.toISOString()}  `,
    `Command: \`${info.command}\``,
    '',
    ...qos0,
    ...durable,
    '`*` = see notes; `died` = the broker process exited; `died (unresponsive)` = still running but no',
    'CONNACK to a fresh client within 3 s after the load stopped; `failed` = setup did not complete.',
    '',
    ...(notes.length > 0 ? ['### Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
    '## Details',
    '',
    markdownTable(detailRows(info, outcomes), 3),
    '',
    '"written" counts messages the publishers handed to their sockets during the window. Loopback',
    'socket buffers hold megabytes, so for a slow broker it can read 0: the warm-up filled them.',
    '"acked" (QoS 1) counts PUBACKs the publishers received during the window.',
    "CPU figures are % of one core over the measurement window; peak RSS is the broker's VmHWM.",
    '',
    '## Machine and setup',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; ${m.os}`,
    `- Node.js ${m.node}`,
    `- midge ${info.versions.midge}; Aedes ${info.versions.aedes}; Mosquitto ${info.versions.mosquitto}`,
    `- Pinning: ${info.pinning}`,
    `- Warm-up ${o.warmupSec} s, window ${o.durationSec} s, ${o.clients} clients on the "many" side` +
      (batch !== undefined ? `, ${batch} PUBLISH packets per write (QoS 0)` : '') +
      (durableScenarios(info).length > 0 ? `, QoS 1 window ${o.window} per publisher` : ''),
    '- Each broker started fresh for each scenario; load generator in its own process (raw TCP,',
    '  pre-encoded packets, backpressure-respecting writes, receivers that walk fixed headers only).',
    '',
  ].join('\n');
}
