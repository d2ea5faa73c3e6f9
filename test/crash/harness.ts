/**
 * Crash-durability harness: the `midge` command as a child process on a temporary data directory,
 * killed with SIGKILL (no shutdown code runs, so only what the store committed survives), restarted on
 * the same directory; a windowed stream publisher that records exactly which messages the broker
 * acknowledged; and a raw persistent subscriber that keeps its QoS 2 receiver state across connections
 * (the packet ids it answered PUBREC for and awaits PUBREL on), so exactly-once is judged the way a
 * real receiver would judge it.
 *
 * Every payload in a stream is a unique decimal number; every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Packet } from 'mqtt';
import mqtt from 'mqtt';
import {
  connect,
  DISCONNECT,
  puback,
  pubcomp,
  pubrec,
  RawClient,
  type Received,
  subscribe,
} from '../helpers/raw.js';

/** The command, from the same build as this file (dist/ or a private build directory). */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Bound for a broker to print its listening line, and for a killed broker to be reaped. */
const START_MS = 10_000;
const EXIT_MS = 5_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (port 0 means "no TCP listener" to the command). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls `check` every few milliseconds until it is true; rejects with `what()` after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------------------
// The broker process
// ---------------------------------------------------------------------------------------------------

export interface StartOptions {
  durability?: 'sync' | 'batched';
  fsync?: boolean;
}

export class BrokerProcess {
  readonly stderr: string[] = [];
  readonly stdout: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedAlready = false;

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.stdout.push(text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.stderr.push(text));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitedAlready = true;
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return !this.exitedAlready;
  }

  /** SIGKILL now, synchronously (usable inside a packet handler, mid-stream). */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** SIGKILL, then waits (bounded) until the process is gone, so the next start finds the store free. */
  async kill(): Promise<void> {
    this.killNow();
    await withTimeout(this.exited, EXIT_MS, `broker pid ${this.child.pid} to exit after SIGKILL`);
  }

  /** The last lines of standard error, for failure messages. */
  tail(lines = 20): string {
    return this.stderr.join('').split('\n').slice(-lines).join('\n');
  }

  /** Log lines at warn level or above (pino JSON: level >= 40), for diagnostics. */
  warnings(): string[] {
    return this.stderr
      .join('')
      .split('\n')
      .filter((line) => {
        try {
          return (JSON.parse(line) as { level?: number }).level! >= 40;
        } catch {
          return line.trim().length > 0;
        }
      });
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One test's world: a temporary directory with the data directory and a config file, every broker
 * process started (each killed in `cleanup`) and every client opened (each destroyed there).
 */
export class Crashbox {
  readonly root = mkdtempSync(join(tmpdir(), 'midge-crash-'));
  readonly dataDir = join(this.root, 'data');
  readonly configFile = join(this.root, 'midge.json');
  readonly brokers: BrokerProcess[] = [];
  private readonly closers: Array<() => void> = [];

  /** `config`: extra configuration keys (the queue is raised so a whole stream fits offline). */
  constructor(config: Record<string, unknown> = {}) {
    mkdirSync(this.dataDir);
    writeFileSync(this.configFile, JSON.stringify({ maxQueuedMessages: 100_000, ...config }));
  }

  /** Starts `midge` on the data directory and resolves once it listens (a new free port each time). */
  async start(options: StartOptions = {}): Promise<BrokerProcess> {
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const args = [
        MAIN,
        '--port',
        String(port),
        '--ws-port',
        '0',
        '--host',
        '127.0.0.1',
        '--data-dir',
        this.dataDir,
        '--config',
        this.configFile,
        '--log-level',
        'warn',
      ];
      if (options.durability !== undefined) args.push('--durability', options.durability);
      if (options.fsync === true) args.push('--fsync');
      const child = spawn(process.execPath, args, { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'] });
      const broker = new BrokerProcess(child, port);
      this.brokers.push(broker);
      const ready = `midge listening mqtt tcp 127.0.0.1:${port}\n`;
      try {
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            const check = () => {
              if (broker.stdout.join('').includes(ready)) resolve();
            };
            child.stdout?.on('data', check);
            void broker.exited.then(({ code, signal }) =>
              reject(new Error(`broker exited (${code ?? signal}) before listening:\n${broker.tail()}`)),
            );
            check();
          }),
          START_MS,
          `'${ready.trim()}'`,
        );
        return broker;
      } catch (error) {
        lastError = error as Error;
        await broker.kill().catch(() => {});
        // A port taken between freePort() and the bind: try another; anything else is the failure.
        if (!broker.tail().includes('EADDRINUSE')) throw error;
      }
    }
    throw lastError!;
  }

  /** Registers something to close at cleanup. */
  track(close: () => void): void {
    this.closers.push(close);
  }

  /** Files in the data directory (the store, and anything a recovery set aside). */
  dataFiles(): string[] {
    return readdirSync(this.dataDir).sort();
  }

  async cleanup(): Promise<void> {
    for (const close of this.closers) {
      try {
        close();
      } catch {
        // already closed
      }
    }
    await Promise.all(this.brokers.map((broker) => broker.kill().catch(() => {})));
    rmSync(this.root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// The stream publisher (MQTT.js)
// ---------------------------------------------------------------------------------------------------

export interface StreamItem {
  n: number;
  topic: string;
  qos: 1 | 2;
  retain?: boolean;
}

export interface StreamResult {
  /** Every message whose PUBLISH MQTT.js wrote to the socket, by number. */
  sent: Map<number, StreamItem>;
  /** Numbers the broker took ownership of: PUBACK (QoS 1) or PUBREC (QoS 2) received. */
  acked: Set<number>;
  /** QoS 2 numbers whose PUBCOMP came back. */
  completed: Set<number>;
  /** Whether the stream was cut by the kill. */
  killed: boolean;
}

export interface StreamOptions {
  clientId: string;
  /** Messages sent and not yet acknowledged (PUBACK/PUBREC), at most. */
  window?: number;
  /** Calls `kill` once this many acknowledgements have arrived; then stops sending. */
  killAfter?: number;
  kill?: () => void;
  timeoutMs?: number;
}

/**
 * Publishes `items` in order with up to `window` unacknowledged at a time (MQTT.js with its own packet
 * ids and QoS 2 flow), recording from the packets on the wire what was sent and what was acknowledged.
 * Without `killAfter` it resolves once every item is complete; with it, once the connection has closed
 * after the kill — every acknowledgement that reached the socket before that is recorded.
 */
export async function publishStream(
  port: number,
  items: readonly StreamItem[],
  options: StreamOptions,
): Promise<StreamResult> {
  const window = options.window ?? 100;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const byNumber = new Map(items.map((item) => [item.n, item]));
  const result: StreamResult = { sent: new Map(), acked: new Set(), completed: new Set(), killed: false };
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: options.clientId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    keepalive: 0,
  });
  client.on('error', () => {}); // ECONNRESET after the kill is expected
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('close', () => reject(new Error('publisher connection closed before CONNACK')));
      }),
      5_000,
      `publisher '${options.clientId}' to connect`,
    );
    const ids = new Map<number, number>(); // MQTT.js packet id -> number
    let next = 0;
    let outstanding = 0;
    let done = 0;
    let acks = 0;
    let finish: (() => void) | undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const pump = () => {
      while (!result.killed && next < items.length && outstanding < window) {
        const item = items[next++]!;
        outstanding++;
        client.publish(item.topic, String(item.n), { qos: item.qos, retain: item.retain ?? false });
      }
    };
    client.on('packetsend', (packet: Packet) => {
      if (packet.cmd !== 'publish' || packet.messageId === undefined) return;
      const n = Number(packet.payload.toString());
      ids.set(packet.messageId, n);
      result.sent.set(n, byNumber.get(n)!);
    });
    client.on('packetreceive', (packet: Packet) => {
      if (packet.cmd !== 'puback' && packet.cmd !== 'pubrec' && packet.cmd !== 'pubcomp') return;
      const n = ids.get(packet.messageId!);
      if (n === undefined) return;
      if (packet.cmd === 'pubcomp') {
        result.completed.add(n);
        done++;
      } else {
        result.acked.add(n);
        if (packet.cmd === 'puback') done++;
        outstanding--;
        acks++;
        if (options.killAfter !== undefined && acks >= options.killAfter && !result.killed) {
          result.killed = true;
          options.kill?.();
        }
      }
      if (!result.killed && done === items.length) finish?.();
      pump();
    });
    client.once('close', () => finish?.());
    pump();
    await withTimeout(finished, timeoutMs, `stream of ${items.length} messages (${acks} acknowledged)`);
    if (!result.killed && done !== items.length) {
      throw new Error(`publisher connection closed after ${acks} of ${items.length} acknowledgements`);
    }
    return result;
  } finally {
    client.end(true);
  }
}

/** `count` numbered messages from `first`, alternating QoS 1 (even) and QoS 2 (odd), on crash/q1 and crash/q2. */
export function numbered(first: number, count: number): StreamItem[] {
  const items: StreamItem[] = [];
  for (let n = first; n < first + count; n++) {
    const qos = n % 2 === 0 ? 1 : 2;
    items.push({ n, topic: `crash/q${qos}`, qos });
  }
  return items;
}

// ---------------------------------------------------------------------------------------------------
// The raw persistent subscriber (MQTT 3.1.1, clean session 0)
// ---------------------------------------------------------------------------------------------------

export interface Got {
  n: number;
  topic: string;
  qos: number;
  dup: boolean;
  retain: boolean;
  packetId: number | undefined;
  /** Which of the subscriber's connections it came on (1 = the first). */
  connection: number;
}

/**
 * A persistent subscriber that acknowledges everything (PUBACK; PUBREC, then PUBCOMP on PUBREL) and
 * keeps, across its connections, the QoS 2 packet ids it awaits PUBREL for: a QoS 2 PUBLISH under such
 * an id is the broker's resend of a message it already has (not a new delivery, [MQTT-4.3.3-2]);
 * any other PUBLISH is a delivery.
 */
export class Subscriber {
  /** Application deliveries, in arrival order. */
  readonly deliveries: Got[] = [];
  /** Every PUBLISH packet, deliveries and resends alike. */
  readonly packets: Got[] = [];
  /** QoS 2 PUBLISH resends under an id still awaiting PUBREL (legitimate; not deliveries). */
  readonly resends: Got[] = [];
  readonly awaitingRelease = new Set<number>();
  /** PUBREL for an id not awaited (a resend after a completed flow: answered PUBCOMP, harmless). */
  strayPubrels = 0;
  lastPacketAt = 0;
  /** Connections made so far. */
  connections = 0;
  /** Every packet in and out, as `{connection}{< or >} {packet id} {type} [#number]`, for failure messages. */
  readonly trace: string[] = [];
  private raw: RawClient | undefined;
  private pumping: Promise<void> | undefined;

  constructor(readonly clientId: string) {}

  /**
   * Connects with clean session 0; subscribes when `filters` are given. Resolves with CONNACK's
   * session-present flag once the subscriber is reading (and acknowledging) what the broker sends.
   */
  async connect(port: number, filters?: ReadonlyArray<readonly [string, number]>): Promise<boolean> {
    this.close();
    const raw = await RawClient.open(port);
    this.raw = raw;
    raw.send(connect({ clientId: this.clientId, clean: false }));
    const { packet } = await raw.expect('connack');
    if (packet.returnCode !== 0)
      throw new Error(`${this.clientId}: CONNACK return code ${packet.returnCode}`);
    if (filters !== undefined) {
      raw.send(subscribe(1, filters));
      const { packet: suback } = await raw.expect('suback');
      const granted = suback.granted as number[];
      const wanted = filters.map(([, qos]) => qos);
      if (granted.join() !== wanted.join())
        throw new Error(`${this.clientId}: SUBACK granted ${granted}, asked ${wanted}`);
    }
    this.connections++;
    this.lastPacketAt = Date.now();
    this.pumping = this.pump(raw, this.connections);
    return packet.sessionPresent;
  }

  /** The open connection's socket (to act on the very first bytes of something). */
  get socket(): RawClient['socket'] | undefined {
    return this.raw?.socket;
  }

  /** Delivery counts by number. */
  counts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const got of this.deliveries) counts.set(got.n, (counts.get(got.n) ?? 0) + 1);
    return counts;
  }

  /** Waits until `check` holds and then nothing has arrived for `quietMs` (to catch extras). */
  async settle(check: () => boolean, timeoutMs: number, what: () => string, quietMs = 300): Promise<void> {
    await until(check, timeoutMs, what);
    await until(
      () => Date.now() - this.lastPacketAt >= quietMs,
      timeoutMs,
      () => `${what()}: never quiet`,
    );
  }

  /** Clean DISCONNECT, then waits for the close. */
  async disconnect(): Promise<void> {
    const raw = this.raw;
    if (raw === undefined) return;
    raw.send(DISCONNECT);
    raw.socket.end();
    await raw.waitClosed().catch(() => raw.destroy());
    await this.pumping;
    this.raw = undefined;
  }

  close(): void {
    this.raw?.destroy();
    this.raw = undefined;
  }

  /** The trace lines about number `n` and the packet ids it came under (on the connection it came on). */
  history(n: number): string[] {
    const keys = new Set(
      this.packets.filter((got) => got.n === n).map((got) => `${got.connection} ${got.packetId}`),
    );
    return this.trace.filter((line) => {
      const [where, id] = line.split(' ');
      return keys.has(`${where!.slice(0, -1)} ${id}`);
    });
  }

  private async pump(raw: RawClient, connection: number): Promise<void> {
    const log = (direction: '<' | '>', type: string, id: number, n?: number) =>
      this.trace.push(`${connection}${direction} ${id} ${type}${n === undefined ? '' : ` #${n}`}`);
    for (;;) {
      let received: Received;
      try {
        received = await raw.next(1_000);
      } catch {
        if (raw.closed || raw.socket.destroyed) return;
        continue;
      }
      this.lastPacketAt = Date.now();
      const packet = received.packet;
      if (packet.cmd === 'publish') {
        const id = packet.messageId;
        const got: Got = {
          n: Number(packet.payload.toString()),
          topic: packet.topic,
          qos: packet.qos,
          dup: packet.dup,
          retain: packet.retain,
          packetId: id,
          connection,
        };
        this.packets.push(got);
        log('<', `publish${packet.dup ? '(dup)' : ''} qos${packet.qos}`, id ?? 0, got.n);
        if (packet.qos === 2) {
          if (this.awaitingRelease.has(id!)) this.resends.push(got);
          else {
            this.awaitingRelease.add(id!);
            this.deliveries.push(got);
          }
          raw.send(pubrec(id!));
          log('>', 'pubrec', id!);
        } else {
          this.deliveries.push(got);
          if (packet.qos === 1) raw.send(puback(id!));
        }
      } else if (packet.cmd === 'pubrel') {
        log('<', 'pubrel', packet.messageId!);
        if (!this.awaitingRelease.delete(packet.messageId!)) this.strayPubrels++;
        raw.send(pubcomp(packet.messageId!));
        log('>', 'pubcomp', packet.messageId!);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The invariants
// ---------------------------------------------------------------------------------------------------

export interface Verdict {
  /** Acknowledged by the broker, never delivered. */
  lost: number[];
  /** Delivered but never published (or published on another topic or QoS). */
  foreign: string[];
  /** QoS 2 numbers delivered more than once. */
  qos2Twice: number[];
  delivered: number;
}

/**
 * Checks a subscriber's deliveries against what the publisher sent and had acknowledged. `qos` is the
 * subscription's QoS (messages arrive at the lower of it and the published QoS).
 */
export function judge(stream: StreamResult, subscriber: Subscriber, qos: 1 | 2, prefix = 'crash/'): Verdict {
  const counts = subscriber.counts();
  const foreign: string[] = [];
  for (const got of subscriber.deliveries) {
    if (!got.topic.startsWith(prefix)) continue;
    const sent = stream.sent.get(got.n);
    if (sent === undefined || sent.topic !== got.topic || got.qos !== Math.min(sent.qos, qos))
      foreign.push(`${got.topic} ${got.n} qos ${got.qos}`);
  }
  const lost = [...stream.acked]
    .filter((n) => stream.sent.get(n)!.topic.startsWith(prefix) && !counts.has(n))
    .sort((a, b) => a - b);
  const qos2Twice = [...counts]
    .filter(([n, count]) => count > 1 && stream.sent.get(n)?.qos === 2 && qos === 2)
    .map(([n]) => n);
  return { lost, foreign, qos2Twice, delivered: counts.size };
}

/** A short list for failure messages. */
export function some(values: readonly unknown[], max = 20): string {
  return values.length <= max
    ? values.join(', ')
    : `${values.slice(0, max).join(', ')}, … (${values.length})`;
}
