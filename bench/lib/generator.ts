// The load generator: runs one scenario against one broker (in its own process, see
// bench/generator-child.ts). Connects and subscribes every subscriber, connects every publisher, floods
// for the warm-up, then counts deliveries over a fixed window. Every wait is bounded.
// At QoS 0 publishers flood pre-built batches; at QoS 1 each keeps a window of unacknowledged
// PUBLISHes and subscribers acknowledge what they receive.

import { BenchClient, withTimeout } from './client.js';
import { benchPayload, publishPacket, publishQos1Packets, repeatPacket } from './mqtt-bytes.js';

/** Lines the child prints for the parent start with this, followed by one JSON object. */
export const LINE_PREFIX = '@@bench ';

export interface GeneratorConfig {
  host: string;
  port: number;
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
  /** Delivered msg/s in each sample interval of the window. */
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

export async function runGenerator(
  cfg: GeneratorConfig,
  onEvent: (event: string) => void,
): Promise<GeneratorResult> {
  const result = emptyResult();
  const payload = benchPayload(cfg.payloadBytes);
  const qos1 = cfg.qos === 1;
  // Fixed client ids: with persistent subscribers, each one's session is what the broker keeps.
  const subscribers = cfg.subscribeFilters.map(
    (_, i) =>
      new BenchClient(cfg.host, cfg.port, `bench-sub-${i}`, {
        cleanSession: !cfg.persistentSubscribers,
        qos1,
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
    publishers.push(new BenchClient(cfg.host, cfg.port, `bench-pub-${i}`, { qos1 }));
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

  onEvent('flood-start');
  publishers.forEach((p, i) => {
    const b = batches[i]!;
    if (qos1) p.startWindow(b.batch, b.packetBytes, cfg.window);
    else p.startFlood(b.batch, b.count);
  });
  await waitUnlessAllClosed(subscribers, cfg.warmupMs, cfg.sampleMs);

  // Measurement window.
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const delivered0 = sumDelivered(subscribers);
  const published0 = publishedNow();
  const acked0 = ackedNow();
  onEvent('measure-start');

  let lastCount = delivered0;
  let lastTime = t0;
  const sampler = setInterval(() => {
    const now = performance.now();
    const count = sumDelivered(subscribers);
    result.samples.push(Math.round(((count - lastCount) * 1000) / (now - lastTime)));
    lastCount = count;
    lastTime = now;
  }, cfg.sampleMs);
  await waitUnlessAllClosed(subscribers, cfg.durationMs, cfg.sampleMs);
  clearInterval(sampler);

  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  result.delivered = sumDelivered(subscribers) - delivered0;
  result.published = publishedNow() - published0;
  result.acked = ackedNow() - acked0;
  onEvent('measure-end');

  for (const p of publishers) p.stopFlood();
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
