// Turns outcomes into the summary table (console and Markdown) and the results file.

import type { Transport } from './client.js';
import type { Machine } from './machine.js';
import type { Options } from './options.js';
import { LOSS_AFTER_MS } from './overload.js';
import type { Outcome } from './run-one.js';
import { LATENCY_DURATION_SEC, LATENCY_WARMUP_SEC, type Scenario, STALL_SUBSCRIBERS } from './scenarios.js';
import { checkTargets, scenarioVerdicts, type TargetLine, targetRows } from './targets.js';

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

function find(
  outcomes: Outcome[],
  scenario: string,
  broker: string,
  transport: Transport,
): Outcome | undefined {
  return outcomes.find((o) => o.scenario === scenario && o.broker === broker && o.transport === transport);
}

/** A figure, or what happened instead ("died", "skipped", "no WebSocket"). */
function status(o: Outcome | undefined): string | null {
  if (o === undefined) return '—';
  if (o.status === 'skipped' && o.reason?.startsWith('no WebSocket')) return 'no WebSocket';
  if (o.unresponsive) return 'died (unresponsive)';
  if (o.status !== 'ok' || o.gen === undefined) return o.status;
  return null;
}

function cell(o: Outcome | undefined): string {
  return status(o) ?? rate(o!.gen!.deliveredPerSec) + (o!.notes.length > 0 ? ' *' : '');
}

/** `x / y` as "1.25×", "—" unless both are there. */
function times(x: number | undefined, y: number | undefined): string {
  if (x === undefined || y === undefined || y === 0) return '—';
  return `${(x / y).toFixed(2)}×`;
}

const ok = (o: Outcome | undefined): Outcome | undefined => (o?.status === 'ok' ? o : undefined);

/** `a`'s delivered rate over `b`'s, e.g. "1.25×"; "—" unless both ran fine. */
function ratio(a: Outcome | undefined, b: Outcome | undefined): string {
  return times(ok(a)?.gen?.deliveredPerSec, ok(b)?.gen?.deliveredPerSec);
}

/** The figure of one run for the console: delivered rate, latency percentiles or connection rate. */
export function headlineFigure(o: Outcome): string {
  const g = o.gen;
  if (g === undefined) return '';
  if (g.latency !== undefined) {
    const l = g.latency;
    return `p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (${rate(g.deliveredPerSec)} msg/s delivered)`;
  }
  if (g.connections !== undefined) {
    const mem =
      o.memPerConnectionKiB !== undefined ? `, ${o.memPerConnectionKiB} KiB RSS per idle connection` : '';
    return `${rate(g.connections.count)} clients at ${rate(g.connections.perSec)} connects+subscribes/s${mem}`;
  }
  if (g.stall !== undefined) {
    const { before: b, after: a } = g.stall;
    return (
      `healthy bench/x ${rate(b.healthyPerSec)} → ${rate(a.healthyPerSec)} msg/s ` +
      `(${times(a.healthyPerSec, b.healthyPerSec)}), bench/y ${times(a.otherPerSec, b.otherPerSec)}, ` +
      `longest gap ${rate(Math.max(a.healthyGapMs, a.otherGapMs))} ms, publisher stall ${rate(a.publisherStallMs)} ms`
    );
  }
  const lost = g.paced !== undefined ? `, ${rate(g.paced.lost)} lost` : '';
  return `${rate(g.deliveredPerSec)} msg/s delivered${lost}`;
}

/** Scenarios of the broker-per-column table (QoS 0 floods, brokers in memory). */
function columnScenarios(info: RunInfo): Scenario[] {
  return info.scenarios.filter((s) => s.mode === 'flood');
}

const peersOf = (info: RunInfo): string[] =>
  info.brokers.includes('midge') ? info.brokers.filter((b) => b !== 'midge') : [];

/** Scenarios with one row per broker setup (QoS 1, durable sessions, midge once per store). */
export function durableScenarios(info: RunInfo): Scenario[] {
  return info.scenarios.filter((s) => s.mode === 'window');
}

/**
 * Header row + one row per QoS 0 scenario: msg/s per broker, then midge/peer ratios. Null when no
 * such scenario was selected.
 */
export function summaryRows(info: RunInfo, outcomes: Outcome[]): string[][] | null {
  const scenarios = columnScenarios(info);
  if (scenarios.length === 0) return null;
  const peers = peersOf(info);
  const header = [
    'scenario',
    'transport',
    ...info.brokers.map((b) => `${b} msg/s`),
    ...peers.map((p) => `midge/${p}`),
  ];
  const rows = scenarios.flatMap((s) =>
    info.opts.transports.map((t) => [
      s.name,
      t,
      ...info.brokers.map((b) =>
        info.skipped.some((k) => k.broker === b) ? 'skipped' : cell(find(outcomes, s.name, b, t)),
      ),
      ...peers.map((p) => ratio(find(outcomes, s.name, 'midge', t), find(outcomes, s.name, p, t))),
    ]),
  );
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
  const header = ['broker', 'transport', 'store', 'delivered msg/s', ...refs.map((r) => `vs ${r}`)];
  const mine = outcomes.filter((o) => o.scenario === scenario.name);
  // In --brokers order; a broker's setups are labelled "<name>" or "<name> <variant>".
  const rows = info.opts.transports.flatMap((t) =>
    info.brokers.flatMap((b) => {
      if (info.skipped.some((k) => k.broker === b)) return [[b, t, '—', 'skipped', ...refs.map(() => '—')]];
      return mine
        .filter((o) => o.transport === t && (o.broker === b || o.broker.startsWith(`${b} `)))
        .map((o) => [
          o.broker,
          t,
          o.store,
          cell(o),
          ...refs.map((r) => ratio(o, find(mine, scenario.name, r, t))),
        ]);
    }),
  );
  return [header, ...rows];
}

/** The ratios the durable scenario is for: durable sync midge against midge in memory and Aedes. */
export function durableHeadlines(outcomes: Outcome[], scenario: Scenario): string[] {
  const lines: string[] = [];
  for (const t of ['tcp', 'ws'] as const) {
    const get = (label: string): Outcome | undefined => find(outcomes, scenario.name, label, t);
    const sync = get('midge sqlite sync');
    if (sync === undefined) continue;
    lines.push(...scenarioVerdicts(outcomes, scenario.name, t));
    const vsAedes = ratio(sync, get('aedes'));
    if (vsAedes !== '—') lines.push(`${t}: midge sqlite sync / aedes in memory: ${vsAedes}`);
    const vsMosquitto = ratio(sync, get('mosquitto'));
    if (vsMosquitto !== '—')
      lines.push(`${t}: midge sqlite sync / mosquitto with persistence: ${vsMosquitto}`);
  }
  return lines;
}

/** A paced scenario and its flood twin, both run: the twin's name. */
const twinOf = (info: RunInfo, s: Scenario): string | undefined =>
  info.scenarios.some((x) => x.name === s.floodTwin) ? s.floodTwin : undefined;

/** The delivered rate of a run that finished or died (then: while the broker was alive). */
const deliveredAlive = (o: Outcome | undefined): number | undefined =>
  o?.status === 'ok' || o?.status === 'died' ? o.gen?.deliveredPerSec : undefined;

/** A delivered rate, marked "(died)" if the broker died during or right after the run. */
function rateOrDeath(o: Outcome | undefined): string {
  const alive = deliveredAlive(o);
  if (o?.status !== 'died' || alive === undefined) return cell(o);
  return `${rate(alive)} (${o.unresponsive ? 'died, unresponsive' : 'died'})`;
}

/**
 * A paced scenario: one row per broker × transport with the flood twin's delivered rate, the paced
 * one, flood/paced and the messages counted lost while paced. A broker that died still shows the rate
 * it delivered while alive, and its ratio.
 */
export function pacedRows(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[][] {
  const twin = twinOf(info, scenario);
  const header = [
    'broker',
    'transport',
    `${scenario.floodTwin ?? 'flood'} (flood) msg/s`,
    `${scenario.name} msg/s`,
    'flood/paced',
    'lost (paced)',
  ];
  const rows = info.opts.transports.flatMap((t) =>
    info.brokers.map((b) => {
      const flood = twin !== undefined ? find(outcomes, twin, b, t) : undefined;
      const paced = find(outcomes, scenario.name, b, t);
      const lost = paced?.gen?.paced?.lost;
      return [
        b,
        t,
        twin !== undefined ? rateOrDeath(flood) : '—',
        rateOrDeath(paced),
        times(deliveredAlive(flood), deliveredAlive(paced)),
        lost !== undefined ? rate(lost) : '—',
      ];
    }),
  );
  return [header, ...rows];
}

/** The un-flooded target (midge, when it ran both), and which brokers died in the flood. */
export function pacedHeadlines(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[] {
  const twin = twinOf(info, scenario);
  if (twin === undefined) return [];
  const lines: string[] = [];
  for (const t of info.opts.transports) {
    lines.push(...scenarioVerdicts(outcomes, scenario.name, t));
    for (const b of info.brokers) {
      const o = find(outcomes, twin, b, t);
      if (o?.status !== 'died') continue;
      const paced = find(outcomes, scenario.name, b, t)?.status;
      const after =
        paced === 'ok'
          ? '; paced, it survived'
          : paced === 'died'
            ? '; paced, it died too (see the notes)'
            : '';
      lines.push(`${t}: ${b} died in the ${twin} flood${after}`);
    }
  }
  return lines;
}

/** "before / after" of two numbers, ms. */
const pair = (before: number, after: number): string => `${rate(before)} / ${rate(after)}`;

/**
 * The stalled-subscriber scenario: one row per broker × transport, first half (all reading) against
 * second half (one subscriber stalled).
 */
export function stallRows(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[][] {
  const header = [
    'broker',
    'transport',
    'healthy x msg/s before',
    'after',
    'after/before',
    'y after/before',
    'longest gap x ms (before / after)',
    'longest gap y ms (before / after)',
    'publisher stall ms (before / after)',
  ];
  const rows = info.opts.transports.flatMap((t) =>
    info.brokers.map((b) => {
      const o = find(outcomes, scenario.name, b, t);
      const st = o?.gen?.stall;
      const s = status(o) ?? (st === undefined ? 'failed' : null);
      if (s !== null || st === undefined) return [b, t, s ?? '—', '—', '—', '—', '—', '—', '—'];
      const { before: x, after: y } = st;
      const mark = o!.notes.length > 0 ? ' *' : '';
      return [
        b,
        t,
        rate(x.healthyPerSec),
        rate(y.healthyPerSec) + mark,
        times(y.healthyPerSec, x.healthyPerSec),
        times(y.otherPerSec, x.otherPerSec),
        pair(x.healthyGapMs, y.healthyGapMs),
        pair(x.otherGapMs, y.otherGapMs),
        pair(x.publisherStallMs, y.publisherStallMs) + (y.publisherStallOngoing ? ' (ongoing)' : ''),
      ];
    }),
  );
  return [header, ...rows];
}

/** The two targets of the stalled-subscriber scenario, for midge per transport (from targets.ts). */
export function stallHeadlines(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[] {
  return info.opts.transports.flatMap((t) => scenarioVerdicts(outcomes, scenario.name, t));
}

/** latency: one row per broker × transport: p50 / p99 / max / mean in ms, delivered msg/s. */
export function latencyRows(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[][] {
  const header = ['broker', 'transport', 'p50 ms', 'p99 ms', 'max ms', 'mean ms', 'delivered msg/s'];
  const rows = info.opts.transports.flatMap((t) =>
    info.brokers.map((b) => {
      const o = find(outcomes, scenario.name, b, t);
      const l = o?.gen?.latency;
      const s = status(o) ?? (l === undefined ? 'failed' : null);
      if (s !== null || l === undefined) return [b, t, s ?? '—', '—', '—', '—', '—'];
      const mark = o!.notes.length > 0 ? ' *' : '';
      return [
        b,
        t,
        String(l.p50),
        String(l.p99),
        String(l.max),
        String(l.mean),
        rate(o!.gen!.deliveredPerSec) + mark,
      ];
    }),
  );
  return [header, ...rows];
}

/** connections: one row per broker × transport: rate, RSS before / idle, KiB per connection. */
export function connectionRows(info: RunInfo, outcomes: Outcome[], scenario: Scenario): string[][] {
  const header = [
    'broker',
    'transport',
    'clients',
    'connects+subscribes/s',
    'RSS before',
    'RSS idle',
    'KiB/connection',
  ];
  const mib = (kib: number | undefined): string =>
    kib === undefined ? '—' : `${(kib / 1024).toFixed(1)} MiB`;
  const rows = info.opts.transports.flatMap((t) =>
    info.brokers.map((b) => {
      const o = find(outcomes, scenario.name, b, t);
      const c = o?.gen?.connections;
      const s = status(o) ?? (c === undefined ? 'failed' : null);
      if (s !== null || c === undefined) return [b, t, '—', s ?? '—', '—', '—', '—'];
      const mark = o!.notes.length > 0 ? ' *' : '';
      return [
        b,
        t,
        rate(c.count),
        rate(c.perSec) + mark,
        mib(o!.rssBeforeKiB),
        mib(o!.rssIdleKiB),
        o!.memPerConnectionKiB !== undefined ? String(o!.memPerConnectionKiB) : '—',
      ];
    }),
  );
  return [header, ...rows];
}

/** The number a scenario is judged by, and whether higher is better. */
function keyFigure(o: Outcome | undefined): number | undefined {
  const g = ok(o)?.gen;
  if (g === undefined) return undefined;
  if (g.latency !== undefined) return g.latency.p99;
  if (g.connections !== undefined) return g.connections.perSec;
  return g.deliveredPerSec;
}

/**
 * The ratios asked for: per scenario, midge over WebSocket / midge over TCP, and midge / each peer
 * per transport (delivered msg/s; latency: p50 and p99, where below 1× = midge faster; connections:
 * rate, and RSS per connection where below 1× = midge leaner).
 */
export function ratioLines(info: RunInfo, outcomes: Outcome[]): string[] {
  const lines: string[] = [];
  const transports = info.opts.transports;
  // stalled-subscriber's figures are ratios already (its own table).
  for (const s of info.scenarios.filter((x) => x.mode !== 'stall')) {
    const m = (t: Transport): Outcome | undefined => ok(find(outcomes, s.name, 'midge', t));
    const parts: string[] = [];
    if (transports.includes('tcp') && transports.includes('ws')) {
      const tcp = m('tcp');
      const ws = m('ws');
      if (s.mode === 'latency') {
        const a = tcp?.gen?.latency;
        const b = ws?.gen?.latency;
        parts.push(`midge ws/tcp p50 ${times(b?.p50, a?.p50)}, p99 ${times(b?.p99, a?.p99)}`);
      } else if (s.mode === 'connections') {
        parts.push(
          `midge ws/tcp rate ${times(keyFigure(ws), keyFigure(tcp))}, ` +
            `KiB/connection ${times(ws?.memPerConnectionKiB, tcp?.memPerConnectionKiB)}`,
        );
      } else {
        parts.push(`midge ws/tcp ${times(keyFigure(ws), keyFigure(tcp))}`);
      }
    }
    for (const t of transports) {
      for (const p of peersOf(info)) {
        const mine = m(t);
        const peer = ok(find(outcomes, s.name, p, t));
        if (peer === undefined) continue;
        if (s.mode === 'latency') {
          const a = mine?.gen?.latency;
          const b = peer.gen?.latency;
          parts.push(`${t} midge/${p} p50 ${times(a?.p50, b?.p50)}, p99 ${times(a?.p99, b?.p99)}`);
        } else if (s.mode === 'connections') {
          parts.push(
            `${t} midge/${p} rate ${times(keyFigure(mine), keyFigure(peer))}, ` +
              `KiB/connection ${times(mine?.memPerConnectionKiB, peer.memPerConnectionKiB)}`,
          );
        } else {
          parts.push(`${t} midge/${p} ${times(keyFigure(mine), keyFigure(peer))}`);
        }
      }
    }
    if (parts.length > 0) lines.push(`${s.name}: ${parts.join('; ')}`);
  }
  return lines;
}

/** Every summary table as console text: the QoS 0 table, then one block per durable scenario. */
export function renderSummaryText(info: RunInfo, outcomes: Outcome[]): string {
  const blocks: string[] = [];
  const summary = summaryRows(info, outcomes);
  if (summary !== null) blocks.push(`QoS 0, delivered msg/s\n${renderText(summary, 2)}`);
  for (const s of durableScenarios(info)) {
    const headlines = durableHeadlines(outcomes, s).map((l) => `  ${l}`);
    blocks.push(
      [`${s.name}, delivered msg/s`, renderText(durableRows(info, outcomes, s), 3), ...headlines].join('\n'),
    );
  }
  for (const s of info.scenarios.filter((x) => x.mode === 'paced')) {
    const headlines = pacedHeadlines(info, outcomes, s).map((l) => `  ${l}`);
    blocks.push(
      [
        `${s.name}, delivered msg/s, flood vs paced`,
        renderText(pacedRows(info, outcomes, s), 2),
        ...headlines,
      ].join('\n'),
    );
  }
  for (const s of info.scenarios.filter((x) => x.mode === 'stall')) {
    const headlines = stallHeadlines(info, outcomes, s).map((l) => `  ${l}`);
    blocks.push(
      [
        `${s.name}, first half (all reading) vs second half (one stalled)`,
        renderText(stallRows(info, outcomes, s), 2),
        ...headlines,
      ].join('\n'),
    );
  }
  for (const s of info.scenarios.filter((x) => x.mode === 'latency')) {
    blocks.push(`${s.name}, publish→delivery latency\n${renderText(latencyRows(info, outcomes, s), 2)}`);
  }
  for (const s of info.scenarios.filter((x) => x.mode === 'connections')) {
    blocks.push(`${s.name}\n${renderText(connectionRows(info, outcomes, s), 2)}`);
  }
  const ratios = ratioLines(info, outcomes);
  if (ratios.length > 0) blocks.push(`ratios\n${ratios.map((l) => `  ${l}`).join('\n')}`);
  const targets = checkTargets(outcomes);
  if (targets.length > 0) {
    const line = (t: TargetLine): string =>
      `  ${t.met ? 'met   ' : 'MISSED'}  ${t.transport.padEnd(4)} ${t.target}: ${t.figure}`;
    blocks.push(`targets\n${targets.map(line).join('\n')}`);
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
    const who = `${o.scenario} × ${o.broker} (${o.transport})`;
    if (o.status === 'skipped') continue; // "no WebSocket" is in the tables already
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
    'transport',
    'status',
    'delivered msg/s',
    'written msg/s',
    'acked msg/s',
    'lost (paced)',
    'broker CPU',
    'broker peak RSS',
    'generator CPU',
  ];
  const rows = outcomes.map((o) => {
    const g = o.gen;
    return [
      o.scenario,
      o.broker,
      o.transport,
      o.status === 'skipped' ? (status(o) ?? 'skipped') : o.unresponsive ? 'died (unresponsive)' : o.status,
      g !== undefined ? rate(g.deliveredPerSec) : '—',
      g !== undefined ? rate(g.publishedPerSec) : '—',
      g !== undefined && qos1.has(o.scenario) ? rate(g.ackedPerSec) : '—',
      g?.paced !== undefined ? rate(g.paced.lost) : '—',
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
          `## Delivered messages per second (QoS 0, ${o.payloadBytes}-byte payloads)`,
          '',
          markdownTable(summary, 2),
          '',
          'Higher is better. Ratios above 1× mean midge delivered more.',
          '',
          ...columnScenarios(info).map((s) => `- **${s.name}**: ${s.description}`),
          '',
        ];
  const durable = durableScenarios(info).flatMap((s) => {
    const headlines = durableHeadlines(outcomes, s);
    return [
      `## ${s.name}: delivered messages per second (QoS ${s.qos}, durable sessions, ${o.payloadBytes}-byte payloads)`,
      '',
      markdownTable(durableRows(info, outcomes, s), 3),
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
  const paced = info.scenarios
    .filter((s) => s.mode === 'paced')
    .flatMap((s) => {
      const headlines = pacedHeadlines(info, outcomes, s);
      const run = outcomes.find((x) => x.scenario === s.name && x.gen?.paced !== undefined);
      const bound = run !== undefined ? ` (a bound of ${rate(run.gen!.paced!.boundMessages)} messages)` : '';
      return [
        `## ${s.name}: flooded vs un-flooded fan-in (QoS 0, ${o.payloadBytes}-byte payloads)`,
        '',
        markdownTable(pacedRows(info, outcomes, s), 2),
        '',
        ...(headlines.length > 0 ? [...headlines.map((l) => `- **${l}**`), ''] : []),
        `- **${s.name}**: ${s.description}${bound}. When nothing is delivered for ${LOSS_AFTER_MS} ms at the`,
        '  bound, the outstanding messages count as lost (QoS 0 may be dropped) and pacing goes on.',
        `- flood/paced = ${s.floodTwin ?? 'the flood'}'s delivered rate / this one's, per broker and transport`,
        '  (1× = the flood costs nothing; below = delivering under a flood is slower than un-flooded).',
        '',
      ];
    });
  const stall = info.scenarios
    .filter((s) => s.mode === 'stall')
    .flatMap((s) => {
      const headlines = stallHeadlines(info, outcomes, s);
      return [
        `## ${s.name}: one subscriber stops reading (QoS 0, ${o.payloadBytes}-byte payloads)`,
        '',
        markdownTable(stallRows(info, outcomes, s), 2),
        '',
        ...(headlines.length > 0 ? [...headlines.map((l) => `- **${l}**`), ''] : []),
        `- **${s.name}**: ${s.description}.`,
        '- before = first half of the window (every subscriber reading), after = second half (one stalled).',
        `  healthy x = the ${STALL_SUBSCRIBERS - 1} bench/x subscribers still reading (summed); y = the bench/y subscriber.`,
        '- longest gap: the longest time between two reads that brought deliveries, over the healthy',
        "  subscribers (x) or bench/y's (y), within that half. publisher stall: the bench/x publisher's",
        "  longest wait for 'drain' (its socket not writable: the broker was not reading it fast enough);",
        '  against a broker slower than the flood every wait is long, in both halves: compare after with before.',
        '- midge holds a publisher whose subscriber is congested for at most `publisherHoldTimeout` (1 s),',
        '  or `fanoutHoldTimeout` (50 ms) when its message also goes to other subscribers, as here; after',
        '  that the subscriber counts as stalled and holds no one back.',
        '',
      ];
    });
  const latency = info.scenarios
    .filter((s) => s.mode === 'latency')
    .flatMap((s) => [
      `## ${s.name}: publish→delivery latency (QoS 1, ${o.payloadBytes}-byte payloads)`,
      '',
      markdownTable(latencyRows(info, outcomes, s), 2),
      '',
      `- **${s.name}**: ${s.description}. Percentiles over every message delivered in the window.`,
      '',
    ]);
  const connections = info.scenarios
    .filter((s) => s.mode === 'connections')
    .flatMap((s) => [
      `## ${s.name}: connection rate and memory per idle connection`,
      '',
      markdownTable(connectionRows(info, outcomes, s), 2),
      '',
      `- **${s.name}**: ${s.description}. At most 100 handshakes under way at once (C load generator, bench/conngen).`,
      "- RSS: the broker's VmRSS before the first client, and 1 s after the last SUBACK with every client",
      '  idle; KiB/connection = (idle − before) / clients.',
      '',
    ]);
  const ratios = ratioLines(info, outcomes);
  const targets = targetRows(outcomes);
  return [
    '# midge benchmark — latest run',
    '',
    `Date: ${info.date.toISOString()}  `,
    `Command: \`${info.command}\``,
    '',
    ...(targets.length > 1
      ? [
          '## Targets',
          '',
          'The targets midge is held to, checked on this run (targets whose runs are not in it are left',
          'out). For a missed one: by how much, and what limits it; the measurements and profiles behind',
          'those lines are in [bench/ANALYSIS.md](../ANALYSIS.md).',
          '',
          markdownTable(targets, 5),
          '',
        ]
      : []),
    ...qos0,
    ...durable,
    ...paced,
    ...stall,
    ...latency,
    ...connections,
    ...(ratios.length > 0
      ? [
          '## Ratios',
          '',
          ...ratios.map((l) => `- ${l}`),
          '',
          'Throughput and connection rate: above 1× = more. Latency and KiB/connection: below 1× = better.',
          '',
        ]
      : []),
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
      (durableScenarios(info).length > 0 ? `, QoS 1 window ${o.window} per publisher` : '') +
      (info.scenarios.some((x) => x.mode === 'latency')
        ? `; latency: warm-up ${Math.max(o.warmupSec, LATENCY_WARMUP_SEC)} s, window ${Math.max(o.durationSec, LATENCY_DURATION_SEC)} s`
        : ''),
    '- Each broker started fresh for each scenario and transport; load generator in its own process',
    '  (raw TCP, or WebSocket framed by hand; pre-encoded packets, backpressure-respecting writes,',
    "  receivers that walk fixed headers only); the connections scenario's clients are opened by a C",
    "  program (bench/conngen/conngen.c, one epoll loop), as Node's client socket setup would be the limit.",
    '',
  ].join('\n');
}
