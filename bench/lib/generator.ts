// The load generator: runs one scenario against one broker (in its own process, see
// bench/generator-child.ts). Connects and subscribes every subscriber, connects every publisher, floods
// for the warm-up, then counts deliveries over a fixed window. Every wait is bounded.
// At QoS 0 publishers flood pre-built batches; at QoS 1 each keeps a window of unacknowledged
// PUBLISHes and subscribers acknowledge what they receive.

// The latency scenario sends QoS 1 PUBLISHes at a fixed rate with a timestamp in the payload; the
// connections scenario opens many clients (CONNECT + SUBSCRIBE each) and holds them idle.
// The overload scenarios (lib/overload.ts): the paced fan-in keeps the QoS 0 load within what is
// delivered; the stalled-subscriber flood stops one subscriber's reading half way through the window.

import { BenchClient, type Transport, withTimeout } from './client.js';
import { benchPayload, publishPacket, publishQos1Packets, repeatPacket } from './mqtt-bytes.js';
import { type HalfFigures, PacedLoad, StallWatch } from './overload.js';

/** Lines the child prints for the parent start with this, followed by one JSON object. */
export const LINE_PREFIX = '@@bench ';

export type GeneratorMode = 'flood' | 'paced' | 'stall' | 'window' | 'latency' | 'connections';

export interface GeneratorConfig {
  host: string;
  /** The broker's port for `transport` (its TCP port, or its WebSocket port). */
  port: number;
  transport: Transport;
  /** WebSocket endpoint path. */
  wsPath: string;
  /**
   * flood: QoS 0 as fast as taken; paced: QoS 0 within what is delivered (overload.ts PacedLoad);
   * stall: a flood where the last subscriber of the first publisher's topic stops reading half way
   * through the window (overload.ts StallWatch); window: QoS 1 closed loop; latency: QoS 1 at `rate`;
   * connections.
   */
  mode: GeneratorMode;
  /** latency: total PUBLISHes per second across the publishers. */
  rate: number;
  /** connections: clients to open, and how many handshakes may be under way at once. */
  connections: number;
  connectConcurrency: number;
  /** connections: bound on opening them all; then how long they are held idle after 'idle'. */
  connectPhaseMs: number;
  idleHoldMs: number;
  /** One publisher per entry, publishing to that topic. */
  publishTopics: string[];
  /** One subscriber per entry, subscribed to that filter. */
  subscribeFilters: string[];
  /** QoS of every PUBLISH and subscription. */
  qos: 0 | 1;
  /** Subscribers connect with Clean Session 0 (their sessions outlive the connection). */
  persistentSubscribers: boolean;
  /** QoS 1: most unacknowledged PUBLISHes per publisher. */
  window: number;
  payloadBytes: number;
  /** Target size of one write; each publisher's batch holds as many whole PUBLISH packets as fit. */
  batchBytes: number;
  warmupMs: number;
  durationMs: number;
  /** Bound on each setup phase (all subscribers ready; then all publishers connected). */
  setupTimeoutMs: number;
  /** Interval of the delivery-rate samples taken during the window. */
  sampleMs: number;
}

export interface GeneratorResult {
  ok: boolean;
  /** Set when setup failed: which step, and why. */
  failedStage?: 'subscribers' | 'publishers';
  error?: string;
  /** Messages received by all subscribers during the window. */
  delivered: number;
  /** Messages handed to socket.write() by all publishers during the window. */
  published: number;
  elapsedMs: number;
  deliveredPerSec: number;
  publishedPerSec: number;
  /** CPU used by this process during the window, in % of one core (user + system). */
  cpuPercent: number;
  saturated: boolean;
  /** Delivered msg/s in each sample interval of the window (stall: the healthy subscribers only). */
  samples: number[];
  /** Connections the broker closed or reset before we did. */
  closedByBroker: number;
  /** When the first such close happened, in ms from the start of the window (negative: in warm-up). */
  firstCloseMs: number | null;
  closeReasons: string[];
  /** QoS 0: PUBLISH packets per write. 0 at QoS 1 (windowed). */
  messagesPerBatch: number;
  /** QoS 1: PUBACKs received by all publishers during the window. */
  acked: number;
  ackedPerSec: number;
  /** latency: publish→delivery latency over the window, ms (performance.now() in both roles). */
  latency?: { count: number; p50: number; p99: number; max: number; mean: number };
  /** latency: timed PUBLISHes skipped because their packet id was still unacknowledged. */
  blocked?: number;
  /** connections: clients opened (CONNACK + SUBACK each), in how long, and the rate. */
  connections?: { count: number; ms: number; perSec: number };
  /** paced: the bound on outstanding PUBLISHes, and the messages counted lost during the window. */
  paced?: { boundMessages: number; lost: number };
  /** stall: the window's first half (every subscriber reading) and second half (one stalled). */
  stall?: { before: HalfFigures; after: HalfFigures };
}

/** The generator counts as saturated above this share of one core. */
export const SATURATION_PERCENT = 90;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function emptyResult(): GeneratorResult {
  return {
    ok: false,
    delivered: 0,
    published: 0,
    elapsedMs: 0,
    deliveredPerSec: 0,
    publishedPerSec: 0,
    cpuPercent: 0,
    saturated: false,
    samples: [],
    closedByBroker: 0,
    firstCloseMs: null,
    closeReasons: [],
    messagesPerBatch: 0,
    acked: 0,
    ackedPerSec: 0,
  };
}

function sumDelivered(subscribers: BenchClient[]): number {
  let total = 0;
  for (const s of subscribers) total += s.walker.publishes;
  return total;
}

/** Waits `ms`, returning early once every subscriber connection is gone (nothing left to measure). */
async function waitUnlessAllClosed(subscribers: BenchClient[], ms: number, step: number): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    const left = end - performance.now();
    if (left <= 0 || subscribers.every((s) => s.closed)) return;
    await sleep(Math.min(step, left));
  }
}

function describeCloses(clients: BenchClient[], windowStart: number, result: GeneratorResult): void {
  const closed = clients.filter((c) => c.closedByPeer);
  result.closedByBroker = closed.length;
  if (closed.length > 0) {
    const first = Math.min(...closed.map((c) => c.closedAt));
    result.firstCloseMs = Math.round(first - windowStart);
    result.closeReasons = [...new Set(closed.map((c) => c.closeReason))].slice(0, 5);
  }
}

/** p-th percentile (0..100) of sorted values, nearest rank. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * connections: opens `cfg.connections` clients, each CONNECT (clean session) + one SUBSCRIBE at QoS 0
 * to its own topic, at most `connectConcurrency` handshakes under way at once; reports how fast, then
 * says 'idle' (the parent reads the broker's RSS) and holds them open `idleHoldMs` before closing.
 * 'measure-start' comes before the first connection (the parent reads the RSS before).
 */
async function runConnections(
  cfg: GeneratorConfig,
  onEvent: (event: string) => void,
): Promise<GeneratorResult> {
  const result = emptyResult();
  const target = { host: cfg.host, port: cfg.port, transport: cfg.transport, path: cfg.wsPath };
  const clients: BenchClient[] = [];
  onEvent('measure-start');
  await sleep(200); // let the parent take its "before" sample
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  let failure: Error | null = null;
  const worker = async (): Promise<void> => {
    while (next < cfg.connections && failure === null) {
      const i = next++;
      const client = new BenchClient(target, `bench-conn-${i}`);
      clients.push(client);
      try {
        await client.connect(cfg.setupTimeoutMs);
        await client.subscribe(`conn/${i}`, 1, cfg.setupTimeoutMs, 0);
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  try {
    const workers = Array.from({ length: Math.min(cfg.connectConcurrency, cfg.connections) }, worker);
    await withTimeout(Promise.all(workers), cfg.connectPhaseMs, `opening ${cfg.connections} connections`);
  } catch (err) {
    failure ??= err as Error;
  }
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const opened = clients.filter((c) => !c.closed).length;
  result.elapsedMs = Math.round(t1 - t0);
  result.cpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (t1 - t0)) * 1000) / 10;
  result.saturated = result.cpuPercent > SATURATION_PERCENT;
  result.connections = {
    count: opened,
    ms: result.elapsedMs,
    perSec: Math.round((opened * 1000) / (t1 - t0)),
  };
  if (failure !== null) {
    for (const c of clients) c.destroy();
    return { ...result, failedStage: 'subscribers', error: `${opened} open; ${failure.message}` };
  }
  // Idle: nothing sent, keep alive 0. Give the broker a moment to settle, then let the parent sample.
  await sleep(1_000);
  onEvent('idle');
  await sleep(cfg.idleHoldMs);
  onEvent('measure-end');
  describeCloses(clients, t0, result);
  for (const c of clients) c.destroy();
  result.ok = true;
  return result;
}

export async function runGenerator(
  cfg: GeneratorConfig,
  onEvent: (event: string) => void,
): Promise<GeneratorResult> {
  if (cfg.mode === 'connections') return runConnections(cfg, onEvent);
  const result = emptyResult();
  const payload = benchPayload(cfg.payloadBytes);
  const qos1 = cfg.qos === 1;
  const latency = cfg.mode === 'latency';
  const target = { host: cfg.host, port: cfg.port, transport: cfg.transport, path: cfg.wsPath };
  // Latencies of the window, ms; recording only between measure-start and measure-end.
  let recording = false;
  let latencies = new Float64Array(Math.ceil(cfg.rate * (cfg.durationMs / 1000 + 5)) + 1024);
  let latencyCount = 0;
  const onPayload = (buf: Buffer, start: number, end: number): void => {
    if (!recording || end - start < 8) return;
    if (latencyCount === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[latencyCount++] = performance.now() - buf.readDoubleLE(start);
  };
  // Fixed client ids: with persistent subscribers, each one's session is what the broker keeps.
  const subscribers = cfg.subscribeFilters.map(
    (_, i) =>
      new BenchClient(target, `bench-sub-${i}`, {
        cleanSession: !cfg.persistentSubscribers,
        qos1,
        ...(latency ? { onPayload } : {}),
      }),
  );
  const publishers: BenchClient[] = [];
  const all = (): BenchClient[] => [...subscribers, ...publishers];

  try {
    const ready = Promise.all(
      subscribers.map(async (client, i) => {
        await client.connect(cfg.setupTimeoutMs);
        await client.subscribe(cfg.subscribeFilters[i]!, 1, cfg.setupTimeoutMs, cfg.qos);
      }),
    );
    await withTimeout(ready, cfg.setupTimeoutMs, 'connecting and subscribing the subscribers');
  } catch (err) {
    for (const c of all()) c.destroy();
    return { ...result, failedStage: 'subscribers', error: (err as Error).message };
  }

  for (let i = 0; i < cfg.publishTopics.length; i++) {
    publishers.push(new BenchClient(target, `bench-pub-${i}`, { qos1 }));
  }
  try {
    const ready = Promise.all(publishers.map((client) => client.connect(cfg.setupTimeoutMs)));
    await withTimeout(ready, cfg.setupTimeoutMs, 'connecting the publishers');
  } catch (err) {
    for (const c of all()) c.destroy();
    return { ...result, failedStage: 'publishers', error: (err as Error).message };
  }

  // Build every batch before the first byte of load is sent. QoS 1: ids cycle through 1..idCycle,
  // several windows' worth, so an id comes back into use long after its PUBACK normally arrived.
  const idCycle = Math.min(0xffff, Math.max(1024, cfg.window * 4));
  const batches = cfg.publishTopics.map((topic) => {
    if (qos1) {
      const { packets, packetBytes } = publishQos1Packets(topic, payload, idCycle);
      return { batch: packets, count: 0, packetBytes };
    }
    const one = publishPacket(topic, payload);
    const count = Math.max(1, Math.floor(cfg.batchBytes / one.length));
    return { batch: repeatPacket(one, count), count, packetBytes: one.length };
  });
  result.messagesPerBatch = batches[0]?.count ?? 0;
  const publishedNow = (): number => publishers.reduce((total, p) => total + p.published, 0);
  const ackedNow = (): number => publishers.reduce((total, p) => total + p.acked, 0);

  // latency: one QoS 1 PUBLISH template per publisher; every millisecond or so each publisher sends
  // what its share of `rate` says is due since the start (the timestamp goes in the payload's first
  // 8 bytes: float64 performance.now()).
  let pacer: NodeJS.Timeout | undefined;
  if (latency) {
    const templates = cfg.publishTopics.map((topic) => {
      const { packets } = publishQos1Packets(topic, payload, 1);
      const stampOffset = packets.length - payload.length;
      return { template: packets, idOffset: stampOffset - 2, stampOffset };
    });
    const perPublisher = cfg.rate / Math.max(1, publishers.length);
    const start = performance.now();
    const sent = publishers.map(() => 0);
    pacer = setInterval(() => {
      const due = Math.floor(((performance.now() - start) * perPublisher) / 1000);
      publishers.forEach((p, i) => {
        const t = templates[i]!;
        const n = due - sent[i]!;
        if (n > 0) p.sendTimed(t.template, t.idOffset, t.stampOffset, n);
        sent[i] = due;
      });
    }, 1);
  }

  const paced =
    cfg.mode === 'paced'
      ? new PacedLoad(
          publishers,
          batches.map((b, i) => ({ batch: publishers[i]!.framed(b.batch), count: b.count })),
          subscribers,
        )
      : null;
  const stall =
    cfg.mode === 'stall'
      ? new StallWatch(subscribers, cfg.subscribeFilters, publishers[0]!, cfg.publishTopics[0]!)
      : null;
  const sampled = stall?.healthy ?? subscribers;

  onEvent('flood-start');
  if (paced !== null) paced.start();
  else if (!latency) {
    publishers.forEach((p, i) => {
      const b = batches[i]!;
      if (qos1) p.startWindow(b.batch, b.packetBytes, cfg.window);
      else p.startFlood(b.batch, b.count);
    });
  }
  await waitUnlessAllClosed(subscribers, cfg.warmupMs, cfg.sampleMs);

  // Measurement window.
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const delivered0 = sumDelivered(subscribers);
  const published0 = publishedNow();
  const acked0 = ackedNow();
  const lost0 = paced?.lost ?? 0;
  recording = true;
  onEvent('measure-start');

  let lastCount = sumDelivered(sampled);
  let lastTime = t0;
  const sampler = setInterval(() => {
    const now = performance.now();
    const count = sumDelivered(sampled);
    result.samples.push(Math.round(((count - lastCount) * 1000) / (now - lastTime)));
    lastCount = count;
    lastTime = now;
  }, cfg.sampleMs);
  if (stall !== null) {
    stall.begin();
    await waitUnlessAllClosed(subscribers, cfg.durationMs / 2, cfg.sampleMs);
    const before = stall.halfway();
    await waitUnlessAllClosed(subscribers, cfg.durationMs / 2, cfg.sampleMs);
    result.stall = { before, after: stall.end() };
    stall.stop();
  } else {
    await waitUnlessAllClosed(subscribers, cfg.durationMs, cfg.sampleMs);
  }
  clearInterval(sampler);

  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  result.delivered = sumDelivered(subscribers) - delivered0;
  result.published = publishedNow() - published0;
  result.acked = ackedNow() - acked0;
  if (paced !== null) {
    paced.stop();
    result.paced = { boundMessages: paced.bound, lost: Math.max(0, paced.lost - lost0) };
  }
  recording = false;
  onEvent('measure-end');

  clearInterval(pacer);
  for (const p of publishers) p.stopFlood();
  if (latency) {
    const sorted = latencies.subarray(0, latencyCount).sort();
    let sum = 0;
    for (const x of sorted) sum += x;
    result.latency = {
      count: latencyCount,
      p50: round3(percentile(sorted, 50)),
      p99: round3(percentile(sorted, 99)),
      max: round3(sorted.length > 0 ? sorted[sorted.length - 1]! : 0),
      mean: round3(latencyCount > 0 ? sum / latencyCount : 0),
    };
    result.blocked = publishers.reduce((total, p) => total + p.blocked, 0);
  }
  describeCloses(all(), t0, result);
  for (const c of all()) c.destroy();

  result.ok = true;
  result.elapsedMs = Math.round(t1 - t0);
  const seconds = (t1 - t0) / 1000;
  result.deliveredPerSec = Math.round(result.delivered / seconds);
  result.publishedPerSec = Math.round(result.published / seconds);
  result.ackedPerSec = Math.round(result.acked / seconds);
  result.cpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (t1 - t0)) * 1000) / 10;
  result.saturated = result.cpuPercent > SATURATION_PERCENT;
  return result;
}
