// One scenario against one broker: start a fresh broker, wait for its port, run the load generator in
// its own process, watch the broker while it runs, check it still answers afterwards, stop it.
// The connections scenario is driven by the C generator (lib/conngen.ts), the others by the Node one;
// BENCH_CONNGEN=node runs the Node one for connections too, to compare the two.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrokerSetup, WS_PATH } from './brokers.js';
import type { Transport } from './client.js';
import { conngenCommand } from './conngen.js';
import { type GeneratorConfig, type GeneratorResult, LINE_PREFIX } from './generator.js';
import { freePort, mqttProbe, waitForPort } from './net-checks.js';
import type { Options } from './options.js';
import {
  describeExit,
  exitsWithin,
  type Managed,
  outputSummary,
  type ProcSample,
  sampleProc,
  startProcess,
  stopProcess,
} from './processes.js';
import type { Scenario } from './scenarios.js';

export type Status = 'ok' | 'died' | 'failed' | 'skipped';

export interface Outcome {
  scenario: string;
  /** The setup's label: "midge", "midge sqlite sync", "aedes", ... */
  broker: string;
  transport: Transport;
  /** What the broker kept its state in for this run. */
  store: string;
  status: Status;
  /** Died without exiting: alive but not answering a fresh CONNECT after the run. */
  unresponsive?: boolean;
  /** Why it died / failed / was skipped. */
  reason?: string;
  gen?: GeneratorResult;
  /** Broker CPU during the window, % of one core. */
  brokerCpuPercent?: number;
  brokerPeakRssMiB?: number;
  /** connections: broker RSS (VmRSS) before the first client and with all clients connected and idle. */
  rssBeforeKiB?: number;
  rssIdleKiB?: number;
  /** connections: (idle - before) / clients opened, KiB. */
  memPerConnectionKiB?: number;
  notes: string[];
}

/** Cores for the broker and the generator, or null when not pinning. */
export interface Pinning {
  broker: number;
  generator: number;
}

const BROKER_START_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 3_000;
const STOP_GRACE_MS = 2_000;
const SAMPLE_MS = 250;
/** connections: bound on opening all the clients; handshakes under way at once; idle hold after. */
const CONNECT_PHASE_MS = 30_000;
const CONNECT_CONCURRENCY = 100;
const IDLE_HOLD_MS = 500;

const childEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'generator-child.js');

interface GeneratorRun {
  result: GeneratorResult | null;
  error: string | null;
}

/** How the generator process is started: `command args`. */
interface GeneratorCommand {
  command: string;
  args: string[];
  /** For the log line: "Node.js" or "C". */
  kind: string;
}

/**
 * The generator for `cfg`: the C one (compiled on demand) for the connections mode unless
 * BENCH_CONNGEN=node, else the Node child. Throws if the C one cannot be built.
 */
function generatorCommand(cfg: GeneratorConfig): GeneratorCommand {
  if (cfg.mode === 'connections' && process.env['BENCH_CONNGEN'] !== 'node') {
    return { ...conngenCommand(cfg), kind: 'C' };
  }
  return { command: process.execPath, args: [childEntry, JSON.stringify(cfg)], kind: 'Node.js' };
}

/**
 * Runs a generator process (`command args`, pinned to `cpu`) that prints "@@bench {json}" lines;
 * calls `onEvent` for its progress lines. Bounded by `limitMs`.
 */
async function runGeneratorChild(
  command: string,
  args: string[],
  cpu: number | null,
  limitMs: number,
  onEvent: (event: string) => void,
): Promise<GeneratorRun> {
  const child = startProcess(command, args, cpu);
  const run: GeneratorRun = { result: null, error: null };
  let pending = '';
  child.child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
      if (!line.startsWith(LINE_PREFIX)) continue;
      const msg = JSON.parse(line.slice(LINE_PREFIX.length)) as {
        event: string;
        result?: GeneratorResult;
        error?: string;
      };
      if (msg.event === 'result' && msg.result) run.result = msg.result;
      else if (msg.event === 'fatal') run.error = msg.error ?? 'generator failed';
      else onEvent(msg.event);
    }
  });
  const timer = setTimeout(() => {
    run.error = `generator did not finish within ${limitMs} ms`;
    child.child.kill('SIGKILL');
  }, limitMs);
  await child.exited;
  clearTimeout(timer);
  if (run.result === null && run.error === null) {
    run.error = `generator ${describeExit(child)}: ${child.output().trim().slice(-500)}`;
  }
  return run;
}

function brokerUsage(start: ProcSample | null, end: ProcSample | null, outcome: Outcome): void {
  if (end !== null) outcome.brokerPeakRssMiB = Math.round(end.peakRssKiB / 1024);
  if (start !== null && end !== null && end.at > start.at) {
    const percent = ((end.cpuSeconds - start.cpuSeconds) * 100_000) / (end.at - start.at);
    outcome.brokerCpuPercent = Math.round(percent);
  }
}

function addNotes(gen: GeneratorResult, outcome: Outcome): void {
  if (gen.latency !== undefined && gen.blocked !== undefined && gen.blocked > 0) {
    outcome.notes.push(`${gen.blocked} timed PUBLISHes not sent: all 65,535 packet ids awaiting PUBACK`);
  }
  if (gen.saturated) {
    outcome.notes.push(
      `load generator saturated (${gen.cpuPercent}% of a core): the figure is a lower bound`,
    );
  }
  if (gen.closedByBroker > 0) {
    outcome.notes.push(
      `${gen.closedByBroker} connection(s) closed by the broker (first at ${gen.firstCloseMs} ms into the window: ` +
        `${gen.closeReasons.join('; ')})`,
    );
  }
  const idle = gen.samples.filter((s) => s === 0).length;
  if (idle > 0 && gen.samples.length > 0) {
    outcome.notes.push(`no deliveries during ${idle * SAMPLE_MS} ms of the ${gen.elapsedMs} ms window`);
  }
}

export async function runOne(
  broker: BrokerSetup,
  scenario: Scenario,
  transport: Transport,
  opts: Options,
  pinning: Pinning | null,
  log: (line: string) => void,
): Promise<Outcome> {
  const outcome: Outcome = {
    scenario: scenario.name,
    broker: broker.label,
    transport,
    store: broker.store,
    status: 'failed',
    notes: [],
  };
  if (transport === 'ws' && broker.noWebSocket !== null) {
    return { ...outcome, status: 'skipped', reason: broker.noWebSocket };
  }
  const port = await freePort(opts.host);
  let wsPort = await freePort(opts.host);
  while (wsPort === port) wsPort = await freePort(opts.host);
  const launch = broker.launch({ tcp: port, ws: wsPort }, opts.host);
  const proc: Managed = startProcess(launch.command, launch.args, pinning?.broker ?? null);
  try {
    const deadline = performance.now() + BROKER_START_TIMEOUT_MS;
    let notListening = await waitForPort(opts.host, port, BROKER_START_TIMEOUT_MS, proc);
    if (notListening === null && transport === 'ws') {
      const left = Math.max(500, deadline - performance.now());
      notListening = await waitForPort(opts.host, wsPort, left, proc);
    }
    if (notListening !== null) {
      outcome.reason = `did not start: ${notListening} (${describeExit(proc)}): ${outputSummary(proc)}`;
      return outcome;
    }
    const where = transport === 'ws' ? `ws://${opts.host}:${wsPort}${WS_PATH}` : `${opts.host}:${port}`;

    const connections = scenario.mode === 'connections';
    const cfg: GeneratorConfig = {
      host: opts.host,
      port: transport === 'ws' ? wsPort : port,
      transport,
      wsPath: WS_PATH,
      mode: scenario.mode,
      rate: scenario.rate,
      connections: scenario.connections,
      connectConcurrency: CONNECT_CONCURRENCY,
      connectPhaseMs: connections ? CONNECT_PHASE_MS : 0,
      idleHoldMs: connections ? IDLE_HOLD_MS : 0,
      publishTopics: scenario.publishTopics,
      subscribeFilters: scenario.subscribeFilters,
      qos: scenario.qos,
      persistentSubscribers: scenario.durable,
      window: opts.window,
      payloadBytes: opts.payloadBytes,
      batchBytes: opts.batchBytes,
      warmupMs: Math.max(opts.warmupSec, scenario.minWarmupSec ?? 0) * 1000,
      durationMs: Math.max(opts.durationSec, scenario.minDurationSec ?? 0) * 1000,
      setupTimeoutMs: opts.setupTimeoutSec * 1000,
      sampleMs: SAMPLE_MS,
    };
    if (connections) {
      // Not a timed window: the connect phase is as long as it takes (bounded).
      cfg.warmupMs = 0;
      cfg.durationMs = 0;
    }
    let generator: GeneratorCommand;
    try {
      generator = generatorCommand(cfg);
    } catch (err) {
      outcome.reason = (err as Error).message;
      return outcome;
    }
    const by = connections ? ` (${generator.kind} generator)` : '';
    log(
      `  ${broker.label} listening on ${where} (pid ${proc.pid}); running ${scenario.name} over ${transport}${by}…`,
    );
    const limitMs =
      2 * cfg.setupTimeoutMs + cfg.warmupMs + cfg.durationMs + cfg.connectPhaseMs + cfg.idleHoldMs + 8_000;
    let start: ProcSample | null = null;
    let end: ProcSample | null = null;
    let idle: ProcSample | null = null;
    const cpu = pinning?.generator ?? null;
    const run = await runGeneratorChild(generator.command, generator.args, cpu, limitMs, (event) => {
      if (event === 'measure-start') start = sampleProc(proc.pid);
      if (event === 'idle') idle = sampleProc(proc.pid);
      if (event === 'measure-end') end = sampleProc(proc.pid);
    });
    brokerUsage(start, end, outcome);
    const before = start as ProcSample | null;
    const after = idle as ProcSample | null;
    const opened = run.result?.connections?.count ?? 0;
    if (connections && before !== null && after !== null && opened > 0) {
      outcome.rssBeforeKiB = before.rssKiB;
      outcome.rssIdleKiB = after.rssKiB;
      outcome.memPerConnectionKiB = Math.round(((after.rssKiB - before.rssKiB) / opened) * 10) / 10;
    }

    // Did the broker survive? Process gone, or no CONNACK to a fresh client: it died.
    const exitedDuringRun = proc.exit !== null;
    const probeError = exitedDuringRun ? null : await mqttProbe(opts.host, port, PROBE_TIMEOUT_MS);
    // A broker that stopped answering is often on its way out: give it a moment to say why.
    const exitedAfterRun = !exitedDuringRun && probeError !== null && (await exitsWithin(proc, 1_000));
    if (run.result !== null) {
      outcome.gen = run.result;
      addNotes(run.result, outcome);
    }
    if (exitedDuringRun || exitedAfterRun) {
      outcome.status = 'died';
      const when = exitedDuringRun ? 'during the run' : 'as the load ended';
      outcome.reason = `broker ${describeExit(proc)} ${when}: ${outputSummary(proc)}`;
    } else if (run.result === null || !run.result.ok) {
      outcome.status = 'failed';
      outcome.reason = run.error ?? `${run.result?.failedStage} setup failed: ${run.result?.error}`;
      if (probeError !== null) outcome.reason += `; a fresh CONNECT after it got ${probeError}`;
    } else if (probeError !== null) {
      outcome.status = 'died';
      outcome.unresponsive = true;
      const rss = sampleProc(proc.pid)?.rssKiB;
      const still = rss !== undefined ? `, RSS ${Math.round(rss / 1024)} MiB` : '';
      outcome.reason =
        `broker stopped answering (process still running${still}): ` +
        `a fresh CONNECT after the run got ${probeError}`;
    } else {
      outcome.status = 'ok';
    }
    return outcome;
  } finally {
    await stopProcess(proc, STOP_GRACE_MS);
    // Only meaningful after a normal stop (a broker killed mid-run may not have written anything).
    if (outcome.status === 'ok') {
      const storeNote = launch.checkStore?.() ?? null;
      if (storeNote !== null) outcome.notes.push(storeNote);
    }
    launch.cleanup();
  }
}
