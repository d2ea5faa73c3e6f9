/**
 * Socket fuzzer: midge in-process behind loopback TCP and WebSocket listeners, a bounded crowd of
 * hostile clients on real sockets, and one well-behaved MQTT.js probe whose round trips must keep
 * flowing. decoder-fuzz.ts checks the codec and connection-fuzz.ts the core on in-memory links; this
 * checks what only real sockets show: the transports (net, the HTTP upgrade, ws frames, backpressure,
 * half-closes, resets), the timers that bound a connection's life, and the process as a whole.
 *
 * The hostile clients, half on TCP and half on WebSocket, each play one case after another; a case is
 * a scenario drawn from (seed, case index):
 * - session, mutated: MQTT sessions from connection-fuzz's generator (CONNECT at every level, SUBSCRIBE,
 *   PUBLISH, acknowledgements echoing the broker's packet ids, reconnects, stalls, vanishing), the
 *   mutated ones with bit flips, truncations, wrong and huge remaining lengths, mutated corpus packets
 *   and random bytes; the byte stream split at random points (over WebSocket: into whole, split or
 *   fragmented frames, with pings between fragments);
 * - garbage: random bytes, with or without a CONNECT first;
 * - big-claim: a fixed header claiming more than maxPacketSize (up to 256 MiB), or a packet that fits
 *   sent in part (then abandoned) or whole;
 * - slowloris: connections that never finish CONNECT (silent, a byte at a time, a paused reader) and,
 *   on the WebSocket port, HTTP requests that never finish (their headers get connectTimeout too);
 * - stall: a subscriber that stops reading while a publisher floods it (sometimes subscribed to `#`,
 *   so that the probe's own messages go to it too);
 * - abrupt: destroys and resets mid-packet, mid-frame and mid-upgrade;
 * - ws-frames: raw frames on an upgraded socket: text, reserved opcodes and bits, unmasked, orphan and
 *   interrupted continuations, oversized and 64-bit lengths, control frames too long or fragmented,
 *   close frames with bad codes, one-byte or invalid UTF-8 payloads; and valid but unusual ones (pings
 *   with payloads, unsolicited pongs, empty frames, a fragmented packet with a ping in between);
 * - ws-upgrade: bad upgrade requests (wrong path, bad or missing key, wrong version, POST, an upgrade
 *   to something else, unsupported subprotocol, garbage, oversized headers), plain pages, and valid
 *   upgrades without subprotocol, split into pieces, or with frames in the same write.
 *
 * Checked:
 * - the process: no uncaught exception or unhandled rejection (listeners are attached for the run),
 *   no MaxListenersExceededWarning, nothing logged at error level;
 * - liveness: the probe publishes QoS 1 to itself every 50 ms; no round trip may take longer than
 *   maxRoundTripMs; p50 / p99 / max are reported;
 * - what the broker sends: on exact sessions (nothing mutated) the bytes decode with midge's decoder at
 *   the client's level; over WebSocket every frame is unmasked, without reserved bits, a binary frame
 *   holds exactly one MQTT packet, there is no text frame and nothing after a close frame, close codes
 *   are valid on the wire; a 101 carries the right Sec-WebSocket-Accept and an offered subprotocol;
 * - bounds: a connection without CONNECT is gone within connectTimeout (plus the 2 s bound of a graceful
 *   close, plus slack); a packet claiming more than maxPacketSize ends the connection at once; a
 *   WebSocket protocol error ends it; a bad upgrade is refused with an HTTP error and closed; valid
 *   frames keep the connection (PINGREQ answered, a ping ponged with its payload); a session still open
 *   at the end of its case answers PINGREQ;
 * - cleanup: once the hostile clients are gone the core holds no connection, and after
 *   maxSessionExpiryInterval no session, but the probe's; with `--expose-gc`, heap and array-buffer
 *   memory after the run stay within maxHeapGrowthBytes of a baseline taken after a warm-up (retained
 *   messages, which legitimately stay, are cleared first). Without `--expose-gc` the memory check is
 *   skipped, with a note in the report.
 *
 * Known issues (KNOWN_ISSUES) are counted in `knownIssues` and become failures only with `strict`.
 *
 * Everything is bounded: every socket operation has a timeout, cases have a deadline, and the run ends
 * within durationMs plus a few seconds (about 20 s in the worst case: every end-of-run wait timing
 * out). The broker is in-process, so a synchronous hang cannot be interrupted from here: the test
 * runs socket-run.js in a child process with a timeout for that.
 *
 * Replay: every failure names the seed, and a case that failed replays alone (`socket-run.js 0 SEED
 * CASE`) — though concurrency and timing make a socket run less exactly reproducible than the
 * in-memory fuzzers: run the seed again with the same number of clients first.
 */

import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Decoder, encode, type Packet, type ProtocolVersion, type QoS } from '../src/codec/index.js';
import { type Broker, createBroker } from '../src/server.js';
import { type Case, makeCase } from './connection-fuzz.js';
import { corpus } from './corpus.js';
import { mutate } from './mutate.js';
import { Gen } from './random.js';

export interface SocketFuzzOptions {
  seed: number;
  /** How long hostile clients run, warm-up included, in milliseconds. */
  durationMs: number;
  /** Concurrent hostile clients (default 16): even case indices are TCP, odd ones WebSocket. */
  clients?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Run this one case only (replay), then the end-of-run checks. */
  onlyCase?: number;
  /** Heap (and array-buffer) growth over the run that fails it (default 32 MiB). */
  maxHeapGrowthBytes?: number;
  /** A probe round trip longer than this fails the run (default 2000 ms). */
  maxRoundTripMs?: number;
  /** Known issues count as failures (default false: they are counted in `knownIssues`). */
  strict?: boolean;
}

export interface ProbeReport {
  roundTrips: number;
  /** Round-trip latency in milliseconds. */
  p50: number;
  p99: number;
  max: number;
  /** Round trips that took longer than maxRoundTripMs, and those that never came back. */
  late: number;
  lost: number;
}

export interface SocketFuzzReport {
  seed: number;
  elapsedMs: number;
  clients: number;
  cases: number;
  scenarios: Record<string, number>;
  bytesSent: number;
  bytesReceived: number;
  /** Hostile TCP connections opened. */
  connections: number;
  /** Of those, connections the broker ended (FIN, reset, WebSocket close, or gone from the core). */
  closedByBroker: number;
  /** Paused subscribers the broker dropped while a publisher flooded them. */
  slowConsumersDropped: number;
  httpStatuses: Record<string, number>;
  wsCloseCodes: Record<string, number>;
  probe: ProbeReport;
  eventLoopDelay: { p99: number; max: number };
  /** Retained messages cleared before each memory measurement. */
  retainedCleared: number;
  /** Whether gc was available (run with --expose-gc): without it the memory check is skipped. */
  gc: boolean;
  heapBefore: number;
  heapAfter: number;
  arrayBuffersBefore: number;
  arrayBuffersAfter: number;
  rssBefore: number;
  rssAfter: number;
  /** Known issues seen (see KNOWN_ISSUES), by name. */
  knownIssues: Record<string, number>;
  notes: string[];
  failures: string[];
}

/** Broker behaviours this fuzzer finds that are known and not yet fixed; `strict` makes them failures. */
export const KNOWN_ISSUES: Record<string, string> = {};

// ---- the broker under test ----

const CONNECT_TIMEOUT = 1000;
const DRAIN_TIMEOUT = 2000;
const HOLD_TIMEOUT = 500;
const SESSION_EXPIRY_S = 1;
const MAX_PACKET = 1 << 20;
/** BufferedLink.end destroys a link whose peer has not closed this long after a graceful close. */
const END_GRACE = 2000;
/** Time allowed on top of a bound before its absence counts: a loaded machine is not a bug. */
const SLACK = 3000;
/** Bound on one socket operation (connect, an HTTP answer, a packet answered). */
const OP_TIMEOUT = 3000;
/** An open session must answer PINGREQ within this (flow control may hold it back a while). */
const LIVENESS_TIMEOUT = 5000;
/** Hard cap on one case. */
const CASE_MS = 12_000;
const MAX_OPENS = 4;
const PROBE_ID = 'socket-fuzz-probe';
const JANITOR_ID = 'socket-fuzz-janitor';
const PROBE_TOPIC = 'socket-fuzz/probe';
const PROBE_INTERVAL = 50;
const MAX_FAILURES = 60;

const EMPTY = Buffer.alloc(0);
const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ---- randomness ----

function caseSeed(seed: number, index: number): number {
  return Math.imul(seed ^ 0x2c1b3c6d, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
}

const CORPUS = corpus.map((c) => Buffer.from(c.hex, 'hex'));

function splitPoints(length: number, seed: number): number[] {
  const g = new Gen(seed);
  const pieces = g.chance(0.15) ? Math.min(length, 64) : 1 + g.int(4);
  return [...new Set(Array.from({ length: pieces }, () => g.int(length + 1)))].sort((a, b) => a - b);
}

function cut(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    if (to <= from) continue;
    pieces.push(bytes.subarray(from, to));
    from = to;
  }
  return pieces;
}

// ---- MQTT bytes ----

type Step = Case['steps'][number];
type Spec = Extract<Step, { kind: 'send' }>['specs'][number];
type Owed = { type: 'puback' | 'pubrec' | 'pubcomp'; id: number };

const ACK_CODES: Record<Owed['type'], readonly number[]> = {
  puback: [0, 0x10, 0x80, 0x87, 0x97],
  pubrec: [0, 0x10, 0x80, 0x87, 0x97],
  pubcomp: [0, 0x92],
};

function connectBytes(clientId: string, version: 4 | 5, keepAlive = 0): Buffer {
  return encode(
    { type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepAlive, clientId },
    version,
  );
}

function subscribeBytes(filter: string, qos: QoS, version: 4 | 5): Buffer {
  return encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: filter, qos }] }, version);
}

function publishBytes(topic: string, payload: Buffer, qos: QoS, id: number, version: 4 | 5): Buffer {
  return encode(
    { type: 'publish', topic, payload, qos, retain: false, dup: false, packetId: qos > 0 ? id : undefined },
    version,
  );
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** Total size of the MQTT packet at the start of `buf` per its remaining length, or -1. */
function packetSize(buf: Buffer): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 1; i < 5 && i < buf.length; i++) {
    const byte = buf[i]!;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return i + 1 + value;
  }
  return -1;
}

// ---- WebSocket bytes ----

interface FrameOptions {
  fin?: boolean;
  /** RSV1..3 as a 3-bit number. */
  rsv?: number;
  /** false: an unmasked client frame (a protocol error). */
  mask?: boolean;
  maskKey?: Buffer;
  /** The length the header claims, when not the payload's. */
  claim?: number;
  /** The length encoding: 7-bit, 16-bit or 64-bit (even when a shorter one fits). */
  form?: 7 | 16 | 64;
  /** High 32 bits of a 64-bit length (its top bit set is a protocol error). */
  high?: number;
}

function wsFrame(opcode: number, payload: Buffer, o: FrameOptions = {}): Buffer {
  const length = o.claim ?? payload.length;
  const form = o.form ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const masked = o.mask !== false;
  const head = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  if (form === 7) head.push(maskBit | (length & 0x7f));
  else if (form === 16) head.push(maskBit | 126, (length >>> 8) & 0xff, length & 0xff);
  else {
    const high = o.high ?? Math.floor(length / 2 ** 32);
    const low = length >>> 0;
    head.push(maskBit | 127, high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff);
    head.push(low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = o.maskKey ?? Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

function closePayload(code: number, reason: Buffer = EMPTY): Buffer {
  const b = Buffer.alloc(2 + reason.length);
  b.writeUInt16BE(code, 0);
  reason.copy(b, 2);
  return b;
}

/** Close codes a server may put on the wire (RFC 6455 §7.4). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

interface UpgradeRequest {
  method: string;
  path: string;
  key: string | undefined;
  version: string | undefined;
  protocol: string | undefined;
  upgrade: string | undefined;
  connection: string | undefined;
  extra: string[];
}

function defaultUpgrade(g: Gen): UpgradeRequest {
  return {
    method: 'GET',
    path: g.pick(['/mqtt', '/mqtt', '/mqtt?client=1', '/mqtt#x']),
    key: g.bytes(16).toString('base64'),
    version: '13',
    protocol: g.pick(['mqtt', 'mqtt', 'mqttv3.1', 'mqtt, mqttv3.1', 'foo, mqtt']),
    upgrade: g.pick(['websocket', 'WebSocket']),
    connection: g.pick(['Upgrade', 'upgrade', 'keep-alive, Upgrade']),
    extra: g.chance(0.2) ? ['Origin: http://example.com', 'User-Agent: socket-fuzz'] : [],
  };
}

/** The subprotocols a Sec-WebSocket-Protocol header offers. */
function offers(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

function requestBytes(r: UpgradeRequest): Buffer {
  const lines = [`${r.method} ${r.path} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (r.upgrade !== undefined) lines.push(`Upgrade: ${r.upgrade}`);
  if (r.connection !== undefined) lines.push(`Connection: ${r.connection}`);
  if (r.key !== undefined) lines.push(`Sec-WebSocket-Key: ${r.key}`);
  if (r.version !== undefined) lines.push(`Sec-WebSocket-Version: ${r.version}`);
  if (r.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${r.protocol}`);
  lines.push(...r.extra);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

// ---- bounded waiting ----

function nap(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

/** True once `pred` holds; false after `ms` or when `signal` aborts (polls every 20 ms). */
async function waitUntil(pred: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (pred()) return true;
    const left = end - Date.now();
    if (left <= 0 || signal.aborted) return pred();
    await nap(Math.min(20, left), signal);
  }
}

/** `promise`'s value, or `undefined` when it has not settled within `ms` (a rejection is thrown). */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

function count(record: Record<string, number>, key: string | number): void {
  record[key] = (record[key] ?? 0) + 1;
}

// ---- one hostile connection ----

type Transport = 'tcp' | 'ws';
type WsMode = 'whole' | 'split' | 'fragment';

class Conn {
  readonly socket: Socket;
  readonly name: string;
  readonly openedAt = Date.now();
  connected = false;
  closed = false;
  /** The broker sent FIN. */
  ended = false;
  /** Milliseconds after opening at which the broker first ended, reset or WebSocket-closed it. */
  brokerClosedAt: number | undefined;
  /** This side closed (destroy, reset, end). */
  localClose = false;
  private port: number | undefined;
  private seenInBroker = false;
  // MQTT
  version: ProtocolVersion | undefined;
  /** Nothing mutated was sent: what the broker sends is decoded and acknowledgements echo it. */
  exact = true;
  private decoder: Decoder | undefined;
  readonly owed: Owed[] = [];
  connack: number | undefined;
  pingresps = 0;
  publishes = 0;
  // WebSocket
  upgraded = false;
  status: number | undefined;
  wsMode: WsMode = 'whole';
  key: string | undefined;
  offered: string[] = [];
  /** Answer the broker's close frame (else: stay silent, as a broken peer does). */
  answerClose = true;
  closeSent = false;
  /** The broker's close frame: its code (null: none given); undefined while none came. */
  closeCode: number | null | undefined;
  readonly pongs: Buffer[] = [];
  private http: Buffer = EMPTY;
  private frames: Buffer = EMPTY;
  private framesBroken = false;

  constructor(
    readonly ctx: Ctx,
    readonly transport: Transport,
    n: number,
  ) {
    this.name = `${transport}#${n}`;
    const run = ctx.run;
    this.socket = netConnect({
      host: '127.0.0.1',
      port: transport === 'tcp' ? run.tcpPort : run.wsPort,
      noDelay: true,
    });
    run.live.add(this);
    this.socket.on('connect', () => {
      this.connected = true;
      this.port = this.socket.localPort;
      run.report.connections++;
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => {
      this.ended = true;
      this.brokerClosed();
    });
    this.socket.on('error', () => {
      // Resets and broken pipes are what hostile clients get; 'close' follows.
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.brokerClosed();
      run.live.delete(this);
    });
  }

  private brokerClosed(): void {
    if (this.brokerClosedAt !== undefined || this.localClose || !this.connected) return;
    this.brokerClosedAt = Date.now() - this.openedAt;
    this.ctx.run.report.closedByBroker++;
  }

  /** The broker holds a Connection for this socket. */
  inBroker(): boolean {
    if (this.port === undefined) return false;
    for (const c of this.ctx.run.broker.core.connections) {
      if (c.link.info.remotePort === this.port && c.link.info.transport === this.transport) return true;
    }
    return false;
  }

  /** The broker let go: FIN or reset seen, or (for a paused reader) its Connection is gone. */
  gone(): boolean {
    if (this.closed || this.ended) return true;
    if (this.inBroker()) {
      this.seenInBroker = true;
      return false;
    }
    return this.seenInBroker;
  }

  /** Waits until the broker holds this connection (so that gone() sees it leave even unread). */
  register(): Promise<boolean> {
    return this.ctx.until(() => {
      this.gone();
      return this.seenInBroker || this.closed || this.ended;
    }, 1000);
  }

  // ---- receiving ----

  private onData(chunk: Buffer): void {
    this.ctx.run.report.bytesReceived += chunk.length;
    if (this.transport === 'tcp') {
      this.onMqtt(chunk);
      return;
    }
    if (this.upgraded) {
      this.onFrames(chunk);
      return;
    }
    if (this.status !== undefined) return; // the body of a refusal or a page
    this.http = Buffer.concat([this.http, chunk]);
    const end = this.http.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.http.length > 65536) this.ctx.fail('the WebSocket listener sent an HTTP header over 64 KiB');
      return;
    }
    const head = this.http.subarray(0, end).toString('latin1');
    const rest = this.http.subarray(end + 4);
    this.http = EMPTY;
    this.onResponse(head);
    if (this.upgraded && rest.length > 0) this.onFrames(rest);
  }

  private onResponse(head: string): void {
    const [statusLine = '', ...lines] = head.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) {
      this.status = 0;
      this.ctx.fail(
        `the WebSocket listener answered something that is not HTTP: ${JSON.stringify(statusLine)}`,
      );
      return;
    }
    this.status = Number(match[1]);
    count(this.ctx.run.report.httpStatuses, this.status);
    if (this.status !== 101) return;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (this.key !== undefined) {
      const expected = createHash('sha1')
        .update(this.key + WS_GUID)
        .digest('base64');
      if (headers.get('sec-websocket-accept') !== expected) {
        this.ctx.fail(
          `101 with Sec-WebSocket-Accept ${headers.get('sec-websocket-accept')} for key ${this.key} (expected ${expected})`,
        );
      }
    }
    const chosen = headers.get('sec-websocket-protocol');
    if (chosen !== undefined && !this.offered.includes(chosen)) {
      this.ctx.fail(
        `101 chose subprotocol '${chosen}', which the client did not offer (${this.offered.join(', ')})`,
      );
    }
    if (chosen === undefined && this.offered.length > 0) {
      this.ctx.fail(`101 without a subprotocol although the client offered ${this.offered.join(', ')}`);
    }
    this.upgraded = true;
  }

  private onFrames(chunk: Buffer): void {
    if (this.framesBroken) return;
    this.frames = this.frames.length === 0 ? chunk : Buffer.concat([this.frames, chunk]);
    for (;;) {
      const buf = this.frames;
      if (buf.length < 2) return;
      const b0 = buf[0]!;
      const b1 = buf[1]!;
      let length = b1 & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) return;
        length = buf.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buf.length < 10) return;
        if (buf.readUInt32BE(2) !== 0) {
          this.broken(
            `the broker sent a frame header claiming 4 GiB or more: ${buf.subarray(0, 10).toString('hex')}`,
          );
          return;
        }
        length = buf.readUInt32BE(6);
        at = 10;
      }
      if ((b1 & 0x80) !== 0) {
        this.broken(`the broker sent a masked frame: ${buf.subarray(0, 14).toString('hex')}`);
        return;
      }
      if (buf.length < at + length) return;
      const payload = buf.subarray(at, at + length);
      this.frames = buf.subarray(at + length);
      this.onFrame(b0, payload);
      if (this.framesBroken) return;
    }
  }

  private broken(why: string): void {
    this.framesBroken = true;
    this.frames = EMPTY;
    this.ctx.fail(why);
  }

  private onFrame(b0: number, payload: Buffer): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const head = `frame ${b0.toString(16)} of ${payload.length} bytes`;
    if ((b0 & 0x70) !== 0) {
      this.broken(`the broker sent a ${head} with reserved bits set (no extension was negotiated)`);
      return;
    }
    if (this.closeCode !== undefined) {
      this.broken(`the broker sent a ${head} after its close frame`);
      return;
    }
    switch (opcode) {
      case 0x2: {
        const size = packetSize(payload);
        if (!fin || size !== payload.length) {
          this.broken(
            `the broker sent a binary ${head} that is not exactly one MQTT packet (the packet says ${size} bytes): ` +
              payload.subarray(0, 16).toString('hex'),
          );
          return;
        }
        this.onMqtt(payload);
        return;
      }
      case 0x8: {
        if (payload.length === 1) {
          this.broken('the broker sent a close frame with a one-byte payload');
          return;
        }
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
        if (code !== null && !validCloseCode(code)) this.ctx.fail(`the broker sent close code ${code}`);
        this.closeCode = code;
        count(this.ctx.run.report.wsCloseCodes, code ?? 'none');
        this.brokerClosed();
        if (this.answerClose && !this.closeSent) this.sendClose(code ?? 1000);
        return;
      }
      case 0x9:
        if (this.answerClose) this.write(wsFrame(0xa, payload, { maskKey: this.ctx.g.bytes(4) }));
        return;
      case 0xa:
        this.pongs.push(Buffer.from(payload));
        return;
      default:
        this.broken(`the broker sent a ${head} (opcode ${opcode}: never text, continuation or reserved)`);
    }
  }

  private onMqtt(chunk: Buffer): void {
    const decoder = this.decoder;
    if (!this.exact || decoder === undefined) return;
    try {
      decoder.push(chunk);
      for (let packet = decoder.next(); packet !== null; packet = decoder.next()) this.onPacket(packet);
    } catch (err) {
      this.decoder = undefined;
      this.ctx.fail(
        `the broker sent bytes midge's own decoder refuses at MQTT level ${decoder.protocolVersion}: ${String(err)}`,
      );
    }
  }

  private onPacket(packet: Packet): void {
    switch (packet.type) {
      case 'connack':
        this.connack ??= packet.reasonCode;
        break;
      case 'publish':
        this.publishes++;
        if (packet.qos === 1) this.owed.push({ type: 'puback', id: packet.packetId ?? 0 });
        if (packet.qos === 2) this.owed.push({ type: 'pubrec', id: packet.packetId ?? 0 });
        break;
      case 'pubrel':
        this.owed.push({ type: 'pubcomp', id: packet.packetId });
        break;
      case 'pingresp':
        this.pingresps++;
        break;
    }
    if (this.owed.length > 1000) this.owed.shift();
  }

  // ---- sending ----

  /** Writes raw bytes (nothing once the socket is closed for writing). */
  write(bytes: Buffer): boolean {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable || bytes.length === 0) return false;
    socket.write(bytes);
    this.ctx.run.report.bytesSent += bytes.length;
    return true;
  }

  /** write(), then a bounded wait while much is buffered (the broker may hold a publisher back). */
  async send(bytes: Buffer): Promise<boolean> {
    if (!this.write(bytes)) return false;
    const socket = this.socket;
    if (socket.writableLength > 512 * 1024) {
      await this.ctx.until(() => socket.writableLength < 128 * 1024 || socket.destroyed, 1000);
    }
    return !socket.destroyed && socket.writableLength < 512 * 1024;
  }

  /** MQTT bytes, as TCP pieces or as WebSocket frames of this connection's shape. */
  async sendMqtt(bytes: Buffer, cuts: readonly number[] = []): Promise<boolean> {
    const g = this.ctx.g;
    const pieces = cut(bytes, cuts);
    if (this.transport === 'tcp') {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await this.ctx.nap(g.pick([0, 0, 1]));
        if (!(await this.send(piece))) return false;
      }
      return true;
    }
    const frames = this.frameMqtt(pieces.length === 0 ? [EMPTY] : pieces);
    if (g.chance(0.5)) return this.send(Buffer.concat(frames));
    for (const frame of frames) {
      if (!(await this.send(frame))) return false;
      if (g.chance(0.3)) await this.ctx.nap(0);
    }
    return true;
  }

  private frameMqtt(pieces: Buffer[]): Buffer[] {
    const g = this.ctx.g;
    const key = () => (g.chance(0.05) ? Buffer.alloc(4) : g.bytes(4));
    switch (this.wsMode) {
      case 'whole':
        return [wsFrame(0x2, Buffer.concat(pieces), { maskKey: key() })];
      case 'split': {
        const frames = pieces.map((piece) => wsFrame(0x2, piece, { maskKey: key() }));
        if (g.chance(0.1))
          frames.splice(g.int(frames.length + 1), 0, wsFrame(0x2, EMPTY, { maskKey: key() }));
        return frames;
      }
      default: {
        const frames: Buffer[] = [];
        pieces.forEach((piece, i) => {
          if (i > 0 && g.chance(0.2)) frames.push(wsFrame(0x9, g.bytes(g.int(8)), { maskKey: key() }));
          frames.push(wsFrame(i === 0 ? 0x2 : 0x0, piece, { fin: i === pieces.length - 1, maskKey: key() }));
        });
        return frames;
      }
    }
  }

  /** Encodes `specs` as connection-fuzz would (acknowledgements echo what the broker sent) and sends them. */
  async sendSpecs(specs: readonly Spec[], mutation?: number, split?: number): Promise<boolean> {
    const parts: Buffer[] = [];
    for (const spec of specs) {
      const packet = this.resolve(spec);
      if (packet.type === 'connect' && this.version === undefined) this.startMqtt(packet.protocolVersion);
      const version = packet.type === 'connect' ? packet.protocolVersion : (this.version ?? 4);
      try {
        parts.push(
          packet.type === 'auth' && version !== 5 ? Buffer.from([0xf0, 0x00]) : encode(packet, version),
        );
      } catch {
        // The generator's packet does not encode at this level: leave it out.
      }
    }
    let bytes: Buffer = Buffer.concat(parts);
    if (mutation !== undefined) {
      bytes = mutate(bytes, mutation, true);
      this.spoil();
    }
    this.ctx.note(
      `${this.name} sends ${specs.map((s) => s.packet.type).join('+')}${mutation !== undefined ? ' MUTATED' : ''} ${hex(bytes)}`,
    );
    return this.sendMqtt(bytes, split === undefined ? [] : splitPoints(bytes.length, split));
  }

  /** From now on what the broker sends is decoded at `version` (the first CONNECT's). */
  startMqtt(version: ProtocolVersion): void {
    this.version = version;
    if (!this.exact) return;
    this.decoder = new Decoder({ maxPacketSize: 268_435_460 });
    this.decoder.protocolVersion = version;
  }

  /** Sends bytes that are not an exact MQTT conversation. */
  sendSpoiled(bytes: Buffer, why: string): Promise<boolean> {
    this.spoil();
    this.ctx.note(`${this.name} sends ${why} ${hex(bytes)}`);
    return this.sendMqtt(bytes, this.ctx.g.chance(0.3) ? splitPoints(bytes.length, this.ctx.g.seed()) : []);
  }

  private spoil(): void {
    this.exact = false;
    this.decoder = undefined;
  }

  private resolve(spec: Spec): Packet {
    let packet = spec.packet;
    if (spec.echo !== undefined && this.owed.length > 0 && 'packetId' in packet) {
      const k = spec.echo.index % this.owed.length;
      const owed = this.owed[k]!;
      this.owed.splice(k, 1);
      packet = { ...packet, packetId: owed.id } as Packet;
      if (spec.echo.rightType && packet.type !== owed.type) {
        // Keep the reason code only where the new type allows it.
        const code = 'reasonCode' in packet ? packet.reasonCode : undefined;
        packet = {
          ...packet,
          type: owed.type,
          reasonCode: code !== undefined && ACK_CODES[owed.type].includes(code) ? code : undefined,
        } as Packet;
      }
    }
    return packet;
  }

  sendClose(code: number, reason: Buffer = EMPTY): void {
    this.closeSent = true;
    this.write(wsFrame(0x8, closePayload(code, reason), { maskKey: this.ctx.g.bytes(4) }));
  }

  // ---- closing ----

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.localClose = true;
    this.socket.end();
  }

  destroy(): void {
    this.localClose = true;
    this.socket.destroy();
  }

  reset(): void {
    this.localClose = true;
    try {
      this.socket.resetAndDestroy();
    } catch {
      this.socket.destroy();
    }
  }
}

function hex(bytes: Buffer): string {
  const s = bytes.subarray(0, 48).toString('hex');
  return bytes.length > 48 ? `${s}… (${bytes.length} bytes)` : s;
}

// ---- one case ----

type Scenario =
  | 'session'
  | 'mutated'
  | 'garbage'
  | 'big-claim'
  | 'slowloris'
  | 'stall'
  | 'abrupt'
  | 'ws-frames'
  | 'ws-upgrade';

const TCP_WEIGHTS: Partial<Record<Scenario, number>> = {
  session: 30,
  mutated: 22,
  garbage: 6,
  'big-claim': 7,
  slowloris: 6,
  stall: 8,
  abrupt: 10,
};
const WS_WEIGHTS: Partial<Record<Scenario, number>> = {
  session: 20,
  mutated: 12,
  garbage: 4,
  'big-claim': 4,
  slowloris: 6,
  stall: 5,
  abrupt: 7,
  'ws-frames': 26,
  'ws-upgrade': 16,
};
const PACE = [0, 0, 0, 1, 2, 5, 10];

class Ctx {
  readonly g: Gen;
  readonly transport: Transport;
  readonly scenario: Scenario;
  readonly conns: Conn[] = [];
  private readonly trace: string[] = [];
  private readonly deadline = Date.now() + CASE_MS;

  constructor(
    readonly run: Run,
    readonly index: number,
  ) {
    this.g = new Gen(caseSeed(run.seed, index));
    this.transport = index % 2 === 0 ? 'tcp' : 'ws';
    this.scenario = this.g.weighted(this.transport === 'tcp' ? TCP_WEIGHTS : WS_WEIGHTS);
  }

  get stopped(): boolean {
    return this.run.signal.aborted || Date.now() > this.deadline;
  }

  nap(ms: number): Promise<void> {
    return nap(ms, this.run.signal);
  }

  until(pred: () => boolean, ms: number): Promise<boolean> {
    return waitUntil(pred, ms, this.run.signal);
  }

  note(line: string): void {
    this.trace.push(`+${Date.now() - (this.deadline - CASE_MS)} ms ${line}`);
    if (this.trace.length > 40) this.trace.splice(8, 1);
  }

  /** A failure of this case; ignored once the run is stopping (sockets are being destroyed). */
  fail(what: string): void {
    if (this.run.signal.aborted) return;
    this.run.fail(
      `${what}\n  case ${this.index} (${this.scenario} over ${this.transport})\n  ${this.run.replay(this.index)}` +
        `\n  trace:\n    ${this.trace.join('\n    ')}`,
    );
  }

  /** A known issue (KNOWN_ISSUES): counted, or a failure with `strict`. */
  known(issue: string, what: string): void {
    if (this.run.signal.aborted) return;
    if (this.run.strict) {
      this.fail(`${what} [known issue ${issue}: ${KNOWN_ISSUES[issue]}]`);
      return;
    }
    const report = this.run.report;
    if (report.knownIssues[issue] === undefined) {
      report.notes.push(`known issue ${issue} (first seen in case ${this.index}): ${what}`);
    }
    count(report.knownIssues, issue);
  }

  /** A TCP connection to this case's listener (no upgrade); undefined (and a failure) if it fails. */
  async connect(): Promise<Conn | undefined> {
    if (this.stopped) return undefined;
    const conn = new Conn(this, this.transport, this.conns.length);
    this.conns.push(conn);
    await this.until(() => conn.connected || conn.closed, OP_TIMEOUT);
    if (!conn.connected) {
      this.fail(
        `TCP connect to the ${this.transport} listener ${conn.closed ? 'failed' : `not done within ${OP_TIMEOUT} ms`}`,
      );
      conn.destroy();
      return undefined;
    }
    return conn;
  }

  /** A connection ready for MQTT: TCP, or WebSocket after a valid upgrade (`head`: bytes written with it). */
  async open(head?: Buffer): Promise<Conn | undefined> {
    const conn = await this.connect();
    if (conn === undefined || this.transport === 'tcp') return conn;
    const g = this.g;
    conn.wsMode = g.pick(['whole', 'whole', 'split', 'fragment'] as const);
    const request = defaultUpgrade(g);
    conn.key = request.key;
    conn.offered = offers(request.protocol);
    const bytes = requestBytes(request);
    conn.write(head === undefined ? bytes : Buffer.concat([bytes, head]));
    await this.until(() => conn.status !== undefined || conn.gone(), OP_TIMEOUT);
    if (conn.status !== 101) {
      if (conn.status !== 0) {
        this.fail(
          `a valid WebSocket upgrade was ${conn.status === undefined ? `closed or not answered within ${OP_TIMEOUT} ms` : `answered ${conn.status}`}`,
        );
      }
      conn.destroy();
      return undefined;
    }
    this.note(`${conn.name} upgraded (frames: ${conn.wsMode})`);
    return conn;
  }

  /** Fails (or counts `known`) unless the broker lets go of `conn` within `ms`. */
  async expectGone(conn: Conn, ms: number, what: string, known?: string): Promise<boolean> {
    const gone = await this.until(() => conn.gone(), ms);
    if (gone || this.stopped) return gone;
    if (known !== undefined) this.known(known, `${what}: still open after ${ms} ms`);
    else this.fail(`${what}: still open after ${ms} ms`);
    return false;
  }

  /** Sends PINGREQ and waits for PINGRESP (or the broker closing); false and a failure if neither comes. */
  async expectAlive(conn: Conn, what: string): Promise<boolean> {
    conn.resume();
    const before = conn.pingresps;
    await conn.sendMqtt(PINGREQ);
    const ok = await this.until(
      () => conn.pingresps > before || conn.gone() || conn.brokerClosedAt !== undefined,
      LIVENESS_TIMEOUT,
    );
    if (!ok && !this.stopped)
      this.fail(`${what}: PINGREQ neither answered nor the connection closed within ${LIVENESS_TIMEOUT} ms`);
    return ok;
  }

  destroyAll(): void {
    for (const conn of this.conns) conn.destroy();
  }
}

// ---- scenarios ----

const SCENARIOS: Record<Scenario, (ctx: Ctx) => Promise<void>> = {
  session: (ctx) => session(ctx, false),
  mutated: (ctx) => session(ctx, true),
  garbage,
  'big-claim': bigClaim,
  slowloris,
  stall,
  abrupt,
  'ws-frames': wsFrames,
  'ws-upgrade': wsUpgrade,
};

/** Actor 0 of a connection-fuzz case, over a real socket; `heavy` mutates much more. */
async function session(ctx: Ctx, heavy: boolean): Promise<void> {
  const g = ctx.g;
  const c = makeCase(ctx.run.seed ^ 0x50c4e7f1, ctx.index);
  let conn = await ctx.open();
  if (conn === undefined) return;
  let opens = 1;
  let revivals = 0;
  let first = true;
  for (const step of c.steps) {
    if (ctx.stopped) return;
    if (step.kind === 'wait') {
      await ctx.nap(step.ms);
      continue;
    }
    if (step.actor !== 0) continue;
    switch (step.kind) {
      case 'open':
        if (first) {
          first = false;
          break;
        }
        if (opens >= MAX_OPENS) break;
        // The old connection is dropped, or stays open and silent (a half-dead client).
        if (conn !== undefined && g.chance(0.5)) conn.destroy();
        conn = await ctx.open();
        opens++;
        if (conn === undefined) return;
        break;
      case 'send': {
        if (conn === undefined) break;
        if (step.revive && conn.brokerClosedAt !== undefined && opens < MAX_OPENS) {
          const connect = c.reconnects[0]?.[revivals++ % 3];
          conn = await ctx.open();
          opens++;
          if (conn === undefined) return;
          if (connect !== undefined) await conn.sendSpecs([{ packet: connect }]);
        }
        const mutation = step.mutate ?? (heavy && g.chance(0.4) ? g.seed() : undefined);
        const split = step.split ?? (g.chance(heavy ? 0.5 : 0.2) ? g.seed() : undefined);
        await conn.sendSpecs(step.specs, mutation, split);
        if (heavy && g.chance(0.2))
          await conn.sendSpoiled(mutate(g.pick(CORPUS), g.seed(), true), 'a mutated corpus packet');
        if (heavy && g.chance(0.04)) await conn.sendSpoiled(g.bytes(1 + g.int(64)), 'random bytes');
        break;
      }
      case 'raw':
        await conn?.sendSpoiled(step.bytes, 'raw bytes');
        break;
      case 'stall':
        conn?.pause();
        break;
      case 'drain':
        conn?.resume();
        break;
      case 'vanish':
        conn?.destroy();
        conn = undefined;
        break;
    }
    await ctx.nap(g.pick(PACE));
  }
  if (conn !== undefined) await finish(ctx, conn);
}

/** The end of a conversation: a session still open must answer PINGREQ; then the client goes, somehow. */
async function finish(ctx: Ctx, conn: Conn): Promise<void> {
  const g = ctx.g;
  conn.resume();
  if (conn.exact && conn.connack === 0 && conn.brokerClosedAt === undefined && !conn.gone()) {
    if (!(await ctx.expectAlive(conn, 'an open session at the end of its case'))) return;
  }
  const how = g.pick(['disconnect', 'end', 'destroy', 'reset', 'linger'] as const);
  ctx.note(`${conn.name} ends: ${how}`);
  switch (how) {
    case 'disconnect':
      await conn.sendMqtt(DISCONNECT);
      conn.end();
      await ctx.until(() => conn.closed, 500);
      break;
    case 'end':
      conn.end();
      await ctx.until(() => conn.closed, 500);
      break;
    case 'destroy':
      conn.destroy();
      break;
    case 'reset':
      conn.reset();
      break;
    default:
      await ctx.until(() => conn.gone(), 500);
  }
}

async function garbage(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const conn = await ctx.open();
  if (conn === undefined) return;
  const connected = g.chance(0.5);
  if (connected) await conn.sendMqtt(connectBytes(`garbage-${ctx.index}`, g.pick([4, 5] as const)));
  for (let i = 1 + g.int(6); i > 0 && !ctx.stopped; i--) {
    await conn.sendSpoiled(g.bytes(1 + g.int(g.pick([16, 256, 4096]))), 'random bytes');
    await ctx.nap(g.pick(PACE));
  }
  // Without a CONNECT, whatever the bytes were, connectTimeout must end it.
  if (!connected) {
    const left = CONNECT_TIMEOUT + END_GRACE + SLACK - (Date.now() - conn.openedAt);
    await ctx.expectGone(conn, Math.max(left, 0), 'a connection that sent only random bytes');
  }
}

async function bigClaim(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const conn = await ctx.open();
  if (conn === undefined) return;
  if (g.chance(0.6)) {
    const version = g.pick([4, 5] as const);
    await conn.sendSpecs([
      {
        packet: {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: version,
          clean: true,
          keepAlive: 0,
          clientId: `big-${ctx.index}`,
        },
      },
    ]);
    await ctx.until(() => conn.connack !== undefined || conn.gone(), OP_TIMEOUT);
  }
  const over = g.chance(0.5);
  if (over) {
    const claim = g.pick([MAX_PACKET + 1, 2 * MAX_PACKET, 268_435_455]);
    const header = Buffer.from([g.pick([0x30, 0x32, 0x82, 0x10]), ...varint(claim)]);
    ctx.note(`${conn.name} claims ${claim} bytes`);
    await conn.sendSpoiled(Buffer.concat([header, g.bytes(g.int(2048))]), 'an oversized fixed header');
    await ctx.expectGone(
      conn,
      END_GRACE + SLACK,
      `a packet claiming ${claim} bytes (maxPacketSize ${MAX_PACKET})`,
    );
    return;
  }
  // A PUBLISH that fits: sent whole (the broker routes it) or in part, then abandoned.
  const size = g.pick([100_000, MAX_PACKET - 16]);
  const topic = Buffer.from(`big/${ctx.index}`);
  let remaining = size - 2;
  while (1 + varint(remaining).length + remaining > size) remaining--;
  const whole = Buffer.alloc(1 + varint(remaining).length + remaining, 0x61);
  Buffer.from([0x30, ...varint(remaining), 0, topic.length, ...topic]).copy(whole);
  const send = g.chance(0.3) ? whole.length : g.int(65536);
  ctx.note(`${conn.name} sends ${send} of a ${whole.length}-byte PUBLISH`);
  for (let at = 0; at < send && !ctx.stopped; at += 65536) {
    if (!(await conn.sendMqtt(whole.subarray(at, Math.min(send, at + 65536))))) break;
  }
  await ctx.nap(500 + g.int(1000));
}

async function slowloris(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const http = ctx.transport === 'ws' && g.chance(0.35);
  if (http) {
    // An HTTP request that never ends: nothing, or a partial request trickled out.
    const conn = await ctx.connect();
    if (conn === undefined) return;
    const request = requestBytes(defaultUpgrade(g));
    const partial = g.chance(0.5) ? request.subarray(0, 1 + g.int(request.length - 4)) : EMPTY;
    ctx.note(`${conn.name} trickles ${partial.length} bytes of an HTTP request`);
    const bound = CONNECT_TIMEOUT + END_GRACE + SLACK;
    let at = 0;
    const gone = await ctx.until(() => {
      if (at < partial.length && g.chance(0.05)) conn.write(partial.subarray(at, ++at));
      return conn.gone();
    }, bound);
    // The WebSocket listener's HTTP server gives the request headers connectTimeout.
    if (!gone && !ctx.stopped)
      ctx.fail(`an unfinished HTTP request on the WebSocket port is still open ${bound} ms later`);
    return;
  }
  const conn = await ctx.open();
  if (conn === undefined) return;
  const variant = g.pick(['silent', 'trickle', 'header'] as const);
  const paused = g.chance(0.3);
  if (paused) {
    await conn.register();
    conn.pause();
  }
  const connect = connectBytes(`slow-${ctx.index}`, 4);
  ctx.note(`${conn.name} slowloris ${variant}${paused ? ', not reading' : ''}`);
  if (variant === 'header') await conn.sendMqtt(connect.subarray(0, 1 + g.int(4)));
  const bound = CONNECT_TIMEOUT + END_GRACE + SLACK - (Date.now() - conn.openedAt);
  let at = 0;
  let next = Date.now();
  const gone = await ctx.until(() => {
    // A byte every 150-400 ms: the CONNECT would take seconds, far beyond connectTimeout.
    if (variant === 'trickle' && Date.now() >= next && at < connect.length - 1) {
      if (ctx.transport === 'tcp') conn.write(connect.subarray(at, at + 1));
      else conn.write(wsFrame(0x2, connect.subarray(at, at + 1), { maskKey: g.bytes(4) }));
      at++;
      next = Date.now() + 150 + g.int(250);
    }
    return conn.gone();
  }, bound);
  if (!gone && !ctx.stopped) {
    // Over WebSocket the broker closes with a close frame; a paused peer cannot answer it.
    ctx.fail(
      `a connection that never finished CONNECT (${variant}${paused ? ', not reading' : ''}) is still open ${bound} ms later (connectTimeout ${CONNECT_TIMEOUT})`,
    );
  }
}

async function stall(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const version = g.pick([4, 5] as const);
  const topic = `stall/${ctx.index}`;
  const sub = await ctx.open();
  if (sub === undefined) return;
  const filter = g.chance(0.25) ? '#' : `${topic}/#`;
  const qos = g.pick([0, 1, 2] as const);
  await sub.sendSpecs([
    {
      packet: {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: version,
        clean: true,
        keepAlive: 0,
        clientId: `stall-sub-${ctx.index}`,
      },
    },
    { packet: { type: 'subscribe', packetId: 1, subscriptions: [{ topic: filter, qos }] } },
  ]);
  await ctx.until(() => sub.connack !== undefined || sub.gone(), OP_TIMEOUT);
  await sub.register();
  sub.pause();
  ctx.note(`${sub.name} subscribed to ${filter} at QoS ${qos} and stopped reading`);
  const pub = await ctx.open();
  if (pub === undefined) return;
  await pub.sendMqtt(connectBytes(`stall-pub-${ctx.index}`, version));
  // Loopback socket buffers take a few MiB before the broker's own buffer grows: sometimes send more.
  const size = g.pick([256, 4096, 16384, 65536]);
  const total = Math.floor(((g.chance(0.4) && size >= 16384 ? 12 : 2) * 1024 * 1024) / size);
  const pubQos = g.pick([0, 1] as const);
  const payload = Buffer.alloc(size, 0x62);
  ctx.note(`${pub.name} publishes ${total} x ${size} bytes at QoS ${pubQos}`);
  for (let i = 0; i < total && !ctx.stopped; i += 10) {
    const batch: Buffer[] = [];
    for (let k = i; k < Math.min(total, i + 10); k++) {
      batch.push(publishBytes(`${topic}/x`, payload, pubQos, 1 + (k % 65535), version));
    }
    if (!(await pub.sendMqtt(Buffer.concat(batch)))) {
      // Held back while the subscriber is congested (publisherHoldTimeout), then read again.
      const socket = pub.socket;
      if (!(await ctx.until(() => socket.writableLength < 128 * 1024 || pub.gone(), HOLD_TIMEOUT + SLACK)))
        break;
      if (pub.gone()) break;
    }
    await ctx.nap(g.pick([0, 1, 5]));
  }
  // A congested subscriber is dropped after drainTimeout; one whose kernel buffers took it all stays.
  if (await ctx.until(() => sub.gone(), DRAIN_TIMEOUT + 1000)) ctx.run.report.slowConsumersDropped++;
  if (g.chance(0.5)) {
    sub.resume();
    await ctx.nap(200);
  }
  if (g.chance(0.5)) await finish(ctx, pub);
}

async function abrupt(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const version = g.pick([4, 5] as const);
  const stream = Buffer.concat([
    connectBytes(`abrupt-${ctx.index % 7}`, version),
    subscribeBytes(g.pick(['#', 'a/#', `abrupt/${ctx.index}`]), g.pick([0, 1, 2] as const), version),
    publishBytes('a/b', g.bytes(g.int(3000)), g.pick([0, 1, 2] as const), 7, version),
  ]);
  let conn: Conn | undefined;
  if (ctx.transport === 'ws' && g.chance(0.3)) {
    // Gone in the middle of the upgrade request.
    conn = await ctx.connect();
    if (conn === undefined) return;
    const request = requestBytes(defaultUpgrade(g));
    conn.write(request.subarray(0, g.int(request.length)));
  } else {
    conn = await ctx.open();
    if (conn === undefined) return;
    const at = g.int(stream.length + 1);
    ctx.note(`${conn.name} sends ${at} of ${stream.length} bytes`);
    await conn.sendMqtt(stream.subarray(0, at), g.chance(0.5) ? splitPoints(at, g.seed()) : []);
    if (ctx.transport === 'ws' && g.chance(0.3)) {
      // ... and half a frame.
      const frame = wsFrame(0x2, stream, { maskKey: g.bytes(4) });
      conn.write(frame.subarray(0, 1 + g.int(frame.length - 1)));
    }
  }
  await ctx.nap(g.pick([0, 0, 1, 10, 50]));
  const how = g.pick(['destroy', 'reset', 'half-close'] as const);
  ctx.note(`${conn.name} ${how}`);
  if (how === 'destroy') conn.destroy();
  else if (how === 'reset') conn.reset();
  else {
    // FIN, still reading: the broker should close its side too.
    conn.socket.end();
    await ctx.until(() => conn.closed, 1000);
  }
}

type Expect = 'close' | 'alive' | 'either';

interface FrameKind {
  name: string;
  expect: Expect;
  build(g: Gen): Buffer[];
}

const FRAME_KINDS: readonly FrameKind[] = [
  {
    name: 'ping',
    expect: 'alive',
    build: (g) => [wsFrame(0x9, g.bytes(g.int(126)), { maskKey: g.bytes(4) })],
  },
  {
    name: 'pong',
    expect: 'alive',
    build: (g) => [wsFrame(0xa, g.bytes(g.int(126)), { maskKey: g.bytes(4) })],
  },
  { name: 'empty-binary', expect: 'alive', build: (g) => [wsFrame(0x2, EMPTY, { maskKey: g.bytes(4) })] },
  { name: 'zero-mask', expect: 'alive', build: () => [wsFrame(0x2, EMPTY, { maskKey: Buffer.alloc(4) })] },
  {
    name: 'fragmented-with-ping',
    expect: 'alive',
    build: (g) => [
      wsFrame(0x2, PINGREQ.subarray(0, 1), { fin: false, maskKey: g.bytes(4) }),
      wsFrame(0x9, g.bytes(g.int(10)), { maskKey: g.bytes(4) }),
      wsFrame(0x0, PINGREQ.subarray(1), { maskKey: g.bytes(4) }),
    ],
  },
  {
    name: 'close-normal',
    expect: 'close',
    build: (g) => [
      wsFrame(0x8, closePayload(g.pick([1000, 1001, 3000, 4999]), Buffer.from('bye')), {
        maskKey: g.bytes(4),
      }),
    ],
  },
  { name: 'close-empty', expect: 'close', build: (g) => [wsFrame(0x8, EMPTY, { maskKey: g.bytes(4) })] },
  {
    name: 'text',
    expect: 'close',
    build: (g) => [wsFrame(0x1, Buffer.from('{"hello":1}'), { maskKey: g.bytes(4) })],
  },
  {
    name: 'text-bad-utf8',
    expect: 'close',
    build: (g) => [wsFrame(0x1, Buffer.from([0xc3, 0x28, 0xff]), { maskKey: g.bytes(4) })],
  },
  {
    name: 'reserved-bits',
    expect: 'close',
    build: (g) => [wsFrame(0x2, PINGREQ, { rsv: 1 + g.int(7), maskKey: g.bytes(4) })],
  },
  {
    name: 'reserved-opcode',
    expect: 'close',
    build: (g) => [
      wsFrame(g.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), g.bytes(g.int(8)), { maskKey: g.bytes(4) }),
    ],
  },
  { name: 'unmasked', expect: 'close', build: () => [wsFrame(0x2, PINGREQ, { mask: false })] },
  {
    name: 'orphan-continuation',
    expect: 'close',
    build: (g) => [wsFrame(0x0, PINGREQ, { maskKey: g.bytes(4) })],
  },
  {
    name: 'interrupted-fragment',
    expect: 'close',
    build: (g) => [
      wsFrame(0x2, PINGREQ.subarray(0, 1), { fin: false, maskKey: g.bytes(4) }),
      wsFrame(0x2, PINGREQ, { maskKey: g.bytes(4) }),
    ],
  },
  {
    name: 'control-too-long',
    expect: 'close',
    build: (g) => [wsFrame(g.pick([0x8, 0x9, 0xa]), g.bytes(126 + g.int(200)), { maskKey: g.bytes(4) })],
  },
  {
    name: 'fragmented-control',
    expect: 'close',
    build: (g) => [wsFrame(g.pick([0x9, 0xa]), g.bytes(4), { fin: false, maskKey: g.bytes(4) })],
  },
  {
    name: 'too-big',
    expect: 'close',
    build: (g) => [
      wsFrame(0x2, g.bytes(g.int(2048)), {
        claim: g.pick([MAX_PACKET + 1, 16 * MAX_PACKET, 2 ** 32 + 5]),
        maskKey: g.bytes(4),
      }),
    ],
  },
  {
    name: 'length-top-bit',
    expect: 'close',
    build: (g) => [wsFrame(0x2, g.bytes(8), { form: 64, claim: 8, high: 0x80000000, maskKey: g.bytes(4) })],
  },
  {
    name: 'close-one-byte',
    expect: 'close',
    build: (g) => [wsFrame(0x8, Buffer.from([0x03]), { maskKey: g.bytes(4) })],
  },
  {
    name: 'close-bad-code',
    expect: 'close',
    build: (g) => [
      wsFrame(0x8, closePayload(g.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])), {
        maskKey: g.bytes(4),
      }),
    ],
  },
  {
    name: 'close-bad-utf8',
    expect: 'close',
    build: (g) => [wsFrame(0x8, closePayload(1000, Buffer.from([0xff, 0xfe])), { maskKey: g.bytes(4) })],
  },
  {
    name: 'non-minimal-length',
    expect: 'either',
    build: (g) => [wsFrame(0x2, PINGREQ, { form: g.pick([16, 64] as const), maskKey: g.bytes(4) })],
  },
  { name: 'random-bytes', expect: 'either', build: (g) => [g.bytes(1 + g.int(64))] },
];

async function wsFrames(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const conn = await ctx.open();
  if (conn === undefined) return;
  const connected = g.chance(0.7);
  if (connected) {
    await conn.sendSpecs([
      {
        packet: {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: g.pick([4, 5] as const),
          clean: true,
          keepAlive: 0,
          clientId: `frames-${ctx.index}`,
        },
      },
    ]);
    await ctx.until(() => conn.connack !== undefined || conn.gone(), OP_TIMEOUT);
  }
  const kind = g.pick(FRAME_KINDS);
  const behaviour = g.pick(['answer', 'answer', 'silent', 'paused'] as const);
  conn.answerClose = behaviour === 'answer';
  const frames = kind.build(g);
  ctx.note(`${conn.name} sends ${kind.name} (${frames.map((f) => hex(f)).join(' ')}), then ${behaviour}`);
  if (kind.name.startsWith('close-')) conn.closeSent = true;
  const bytes = Buffer.concat(frames);
  for (const piece of cut(bytes, g.chance(0.3) ? splitPoints(bytes.length, g.seed()) : [])) {
    conn.write(piece);
    await ctx.nap(g.pick([0, 0, 1]));
  }
  if (behaviour === 'paused') {
    await conn.register();
    conn.pause();
  }
  if (kind.expect === 'close') {
    const gone = await ctx.until(() => conn.gone(), END_GRACE + SLACK);
    if (!gone && !ctx.stopped) {
      const what = `WebSocket ${kind.name} (${behaviour})${connected ? ' after CONNECT' : ''} did not end the connection within ${END_GRACE + SLACK} ms`;
      // Whether or not the peer answers the close frame: ws's closeTimeout is set to 2 s.
      ctx.fail(what);
    }
    return;
  }
  if (kind.expect !== 'alive' || behaviour === 'paused' || conn.exact !== true) return;
  if (connected && conn.connack === 0) {
    if (await ctx.expectAlive(conn, `after a valid WebSocket ${kind.name} frame`)) {
      if (conn.gone() || conn.brokerClosedAt !== undefined) {
        ctx.fail(
          `a valid WebSocket ${kind.name} frame made the broker close the connection (close code ${conn.closeCode})`,
        );
      }
    }
  }
  if (kind.name === 'ping' && behaviour === 'answer' && !conn.gone()) {
    const sent = frames[0]!;
    const payload = unmask(sent);
    const got = await ctx.until(() => conn.pongs.length > 0 || conn.gone(), OP_TIMEOUT);
    if (!got) ctx.fail(`no pong within ${OP_TIMEOUT} ms for a ping of ${payload.length} bytes`);
    else if (conn.pongs.length > 0 && !conn.pongs[0]!.equals(payload)) {
      ctx.fail(`the pong's payload ${hex(conn.pongs[0]!)} is not the ping's ${hex(payload)}`);
    }
  }
}

/** The payload of a masked client frame with a 7-bit length. */
function unmask(frame: Buffer): Buffer {
  const length = frame[1]! & 0x7f;
  const key = frame.subarray(2, 6);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = frame[6 + i]! ^ key[i & 3]!;
  return out;
}

type UpgradeExpect = 'refuse' | 'page' | 'accept' | 'either';

async function wsUpgrade(ctx: Ctx): Promise<void> {
  const g = ctx.g;
  const request = defaultUpgrade(g);
  let expect: UpgradeExpect = 'refuse';
  let head: Buffer = EMPTY;
  let raw: Buffer | undefined;
  const variant = g.pick([
    'wrong-path',
    'bad-key',
    'no-key',
    'bad-version',
    'no-upgrade',
    'upgrade-h2c',
    'post',
    'bad-subprotocol',
    'empty-subprotocol',
    'no-subprotocol',
    'garbage',
    'huge-header',
    'head-frames',
    'split',
    'page',
    'pipelined',
  ] as const);
  switch (variant) {
    case 'wrong-path':
      request.path = g.pick(['/', '/mqtt/', '/MQTT', '/mqttx', '/%zz', '/a/mqtt', `/${'x'.repeat(4000)}`]);
      break;
    case 'bad-key':
      request.key = g.pick([
        '',
        'abc',
        g.bytes(15).toString('base64'),
        g.bytes(17).toString('base64'),
        '!'.repeat(22) + '==',
      ]);
      break;
    case 'no-key':
      request.key = undefined;
      break;
    case 'bad-version':
      // ws also accepts 8 (hybi-08), on purpose.
      request.version = g.pick(['7', '0', '14', 'x', '', '13, 8']);
      break;
    case 'no-upgrade':
      request.upgrade = undefined;
      request.connection = g.pick([undefined, 'keep-alive']);
      expect = 'page';
      break;
    case 'upgrade-h2c':
      request.upgrade = g.pick(['h2c', 'websocket2', 'TLS/1.0']);
      break;
    case 'post':
      request.method = g.pick(['POST', 'PUT', 'CONNECT']);
      expect = request.method === 'CONNECT' ? 'either' : 'refuse';
      break;
    case 'bad-subprotocol':
      request.protocol = g.pick(['chat', 'mqttv5', 'MQTT']);
      break;
    case 'empty-subprotocol':
      request.protocol = g.pick(['', ',', 'mqtt,,mqtt', 'mqtt mqtt']);
      expect = 'either';
      break;
    case 'no-subprotocol':
      request.protocol = undefined;
      expect = 'accept';
      break;
    case 'garbage':
      raw = Buffer.concat([g.bytes(1 + g.int(200)), Buffer.from('\r\n\r\n')]);
      expect = 'either';
      break;
    case 'huge-header':
      request.extra.push(`X-Big: ${'a'.repeat(20_000 + g.int(20_000))}`);
      break;
    case 'head-frames':
      expect = 'accept';
      head = Buffer.concat([
        wsFrame(0x2, connectBytes(`head-${ctx.index}`, 4), { maskKey: g.bytes(4) }),
        wsFrame(0x2, PINGREQ, { maskKey: g.bytes(4) }),
      ]);
      break;
    case 'split':
      expect = 'accept';
      break;
    case 'page':
      raw = Buffer.from(
        `${g.pick(['GET', 'HEAD', 'DELETE'])} ${g.pick(['/', '/mqtt', '/nope'])} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      expect = 'page';
      break;
    default:
      raw = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), requestBytes(request)]);
      expect = 'either';
  }
  const conn = await ctx.connect();
  if (conn === undefined) return;
  if (variant === 'head-frames') conn.startMqtt(4);
  conn.key = request.key;
  conn.offered = offers(request.protocol);
  const bytes = Buffer.concat([raw ?? requestBytes(request), head]);
  ctx.note(`${conn.name} upgrade ${variant}: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))}`);
  const pieces = variant === 'split' ? cut(bytes, splitPoints(bytes.length, g.seed())) : [bytes];
  for (const piece of pieces) {
    conn.write(piece);
    if (pieces.length > 1) await ctx.nap(g.pick([0, 1, 20]));
  }
  const answered = await ctx.until(() => conn.status !== undefined || conn.gone(), OP_TIMEOUT);
  if (expect === 'either' || ctx.stopped) return;
  if (!answered) {
    ctx.fail(`an upgrade request (${variant}) was neither answered nor closed within ${OP_TIMEOUT} ms`);
    return;
  }
  const status = conn.status;
  if (expect === 'accept') {
    if (status !== 101) {
      ctx.fail(
        `a valid upgrade (${variant}) was ${status === undefined ? 'closed unanswered' : `answered ${status}`}`,
      );
      return;
    }
    conn.wsMode = 'whole';
    if (variant !== 'head-frames') {
      await conn.sendSpecs([
        {
          packet: {
            type: 'connect',
            protocolName: 'MQTT',
            protocolVersion: 4,
            clean: true,
            keepAlive: 0,
            clientId: `up-${ctx.index}`,
          },
        },
      ]);
    }
    if (!(await ctx.until(() => conn.connack !== undefined || conn.gone(), OP_TIMEOUT))) {
      ctx.fail(`no CONNACK within ${OP_TIMEOUT} ms after a valid upgrade (${variant})`);
    } else if (variant === 'head-frames' && conn.connack === 0) {
      // The PINGREQ went with the request too.
      if (!(await ctx.until(() => conn.pingresps > 0 || conn.gone(), OP_TIMEOUT))) {
        ctx.fail('a PINGREQ sent in the same write as the upgrade request was not answered');
      }
    }
    return;
  }
  if (status === 101) {
    ctx.fail(`a bad upgrade request (${variant}) was accepted`);
    return;
  }
  if (expect === 'refuse' && status !== undefined) {
    // midge (and ws) end a refused upgrade and destroy it a second later.
    await ctx.expectGone(conn, 1000 + SLACK, `a refused upgrade (${variant}, HTTP ${status})`);
  }
}

// ---- the probe ----

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** MQTT.js subscribed at QoS 1 to its own topic, publishing QoS 1 to it every 50 ms. */
class Probe {
  private seq = 0;
  private readonly outstanding = new Map<number, number>();
  private readonly flagged = new Set<number>();
  private readonly latencies: number[] = [];
  private late = 0;
  private lost = 0;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped: Promise<ProbeReport> | undefined;

  private constructor(
    private readonly client: MqttClient,
    private readonly run: Run,
    private readonly limitMs: number,
  ) {
    client.on('message', (_topic: string, payload: Buffer) => {
      const seq = Number(payload.toString());
      const sent = this.outstanding.get(seq);
      if (sent === undefined) return;
      this.outstanding.delete(seq);
      this.latencies.push(performance.now() - sent);
    });
    client.on('close', () => {
      if (!this.stopping)
        this.run.fail(`the probe's connection closed during the run\n  ${this.run.replay()}`);
      this.stopping = true;
    });
    client.on('error', (err: Error) => {
      if (!this.stopping)
        this.run.fail(`the probe's client reported an error: ${err.message}\n  ${this.run.replay()}`);
    });
  }

  static async start(run: Run, limitMs: number): Promise<Probe> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${run.tcpPort}`, {
      clientId: PROBE_ID,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 0,
      connectTimeout: OP_TIMEOUT,
      protocolVersion: 4,
    });
    // Until the probe listens: an 'error' without a listener would throw.
    const early = (): void => {};
    client.on('error', early);
    const connected = await within(
      new Promise<boolean>((resolve) => {
        client.once('connect', () => resolve(true));
        client.once('close', () => resolve(false));
      }),
      OP_TIMEOUT + 1000,
    );
    if (connected?.value !== true) {
      client.end(true);
      throw new Error('the probe could not connect');
    }
    const subscribed = await within(client.subscribeAsync(PROBE_TOPIC, { qos: 1 }), OP_TIMEOUT);
    if (subscribed === undefined) {
      client.end(true);
      throw new Error('the probe could not subscribe');
    }
    const probe = new Probe(client, run, limitMs);
    client.off('error', early);
    probe.timer = setInterval(() => probe.tick(), PROBE_INTERVAL);
    return probe;
  }

  private tick(): void {
    if (this.stopping) return;
    const now = performance.now();
    for (const [seq, sent] of this.outstanding) {
      if (now - sent <= this.limitMs || this.flagged.has(seq)) continue;
      this.flagged.add(seq);
      this.late++;
      if (this.late <= 3) {
        this.run.fail(
          `probe round trip ${seq} not back after ${this.limitMs} ms (${this.run.brokerState()})\n  ${this.run.replay()}`,
        );
      }
    }
    const seq = this.seq++;
    this.outstanding.set(seq, now);
    this.client.publish(PROBE_TOPIC, String(seq), { qos: 1 }, (err) => {
      if (err !== undefined && err !== null && !this.stopping) {
        this.run.fail(`the probe's PUBLISH failed: ${err.message}\n  ${this.run.replay()}`);
      }
    });
  }

  /** Stops publishing, waits (bounded) for what is in flight, closes; once. */
  stop(): Promise<ProbeReport> {
    this.stopped ??= this.finish();
    return this.stopped;
  }

  private async finish(): Promise<ProbeReport> {
    clearInterval(this.timer);
    if (!this.stopping)
      await waitUntil(() => this.outstanding.size === 0, this.limitMs, new AbortController().signal);
    this.lost = this.outstanding.size;
    if (this.lost > 0 && !this.stopping) {
      this.run.fail(`${this.lost} probe round trips never came back\n  ${this.run.replay()}`);
    }
    this.stopping = true;
    await within(this.client.endAsync(true), 1000);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      roundTrips: sorted.length,
      p50: round(percentile(sorted, 0.5)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted[sorted.length - 1] ?? 0),
      late: this.late,
      lost: this.lost,
    };
  }
}

// ---- the run ----

class Run {
  readonly live = new Set<Conn>();
  private ac = new AbortController();
  private nextIndex = 0;
  private readonly seen = new Map<string, number>();
  private dropped = 0;

  constructor(
    readonly seed: number,
    readonly broker: Broker,
    readonly tcpPort: number,
    readonly wsPort: number,
    readonly report: SocketFuzzReport,
    readonly strict: boolean,
    private readonly seconds: number,
  ) {}

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** How to replay: the whole run, and the case alone when there is one. */
  replay(index?: number): string {
    const run = `replay: node --expose-gc dist/fuzz/socket-run.js ${this.seconds} ${this.seed} (clients ${this.report.clients}); in the test: SOCKET_FUZZ_SEED=${this.seed}`;
    return index === undefined
      ? run
      : `${run}; case alone: node --expose-gc dist/fuzz/socket-run.js 0 ${this.seed} ${index}`;
  }

  /** Records a failure; the same first line is kept twice at most, then counted. */
  fail(message: string): void {
    const key = message.split('\n', 1)[0]!.replace(/\d+/g, 'N');
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    if (n > 2 || this.report.failures.length >= MAX_FAILURES) {
      this.dropped++;
      return;
    }
    this.report.failures.push(message);
  }

  /** Adds a line for the failures not listed. */
  closeFailures(): void {
    if (this.dropped > 0)
      this.report.failures.push(`... and ${this.dropped} more failures like the ones above`);
  }

  brokerState(): string {
    const core = this.broker.core;
    return `broker: ${core.connections.size} connections, ${core.sessions.size} sessions, ${this.live.size} hostile sockets open`;
  }

  /** Runs cases on `clients` workers until `until` (or the one case `only`), then stops them. */
  async phase(until: number, clients: number, only?: number): Promise<void> {
    const ac = new AbortController();
    this.ac = ac;
    // Every pending nap and wait listens to it.
    setMaxListeners(0, ac.signal);
    const timer = setTimeout(() => ac.abort(), Math.max(0, until - Date.now()));
    const workers = Array.from({ length: only === undefined ? clients : 1 }, () => this.worker(only));
    const done = Promise.all(workers);
    await Promise.race([
      done,
      new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve())),
    ]);
    clearTimeout(timer);
    ac.abort();
    for (const conn of this.live) conn.destroy();
    if ((await within(done, 3000)) === undefined) {
      this.report.notes.push(
        'some cases had not finished 3 s after the stop (a harness problem, not the broker)',
      );
    }
  }

  private async worker(only?: number): Promise<void> {
    while (!this.signal.aborted) {
      const index = only ?? this.nextIndex++;
      const ctx = new Ctx(this, index);
      try {
        await SCENARIOS[ctx.scenario](ctx);
      } catch (err) {
        ctx.fail(`the fuzzer itself threw: ${describeError(err)}`);
      } finally {
        ctx.destroyAll();
      }
      this.report.cases++;
      count(this.report.scenarios, ctx.scenario);
      if (only !== undefined) return;
    }
  }

  /**
   * After the hostile clients are gone: the core must let go of their connections and (after session
   * expiry) their sessions; then retained messages are cleared so that memory can be compared.
   */
  async quiesce(when: string): Promise<void> {
    const core = this.broker.core;
    const never = new AbortController().signal;
    const others = () => ({
      connections: [...core.connections].filter((c) => c.clientId !== PROBE_ID),
      sessions: [...core.sessions.keys()].filter((id) => id !== PROBE_ID),
    });
    const bound = SESSION_EXPIRY_S * 1000 + END_GRACE + SLACK;
    const drained = await waitUntil(
      () => {
        const o = others();
        return o.connections.length === 0 && o.sessions.length === 0;
      },
      bound,
      never,
    );
    if (!drained) {
      const o = others();
      const connections = o.connections
        .slice(0, 10)
        .map(
          (c) =>
            `${c.link.info.transport}:${c.link.info.remotePort} state=${c.state} client='${c.clientId}' ` +
            `age=${Date.now() - c.connectedAt}ms closed=${c.link.closed}`,
        );
      this.fail(
        `${when}: ${bound} ms after every hostile client was destroyed the core still holds ` +
          `${o.connections.length} connections and ${o.sessions.length} sessions (maxSessionExpiryInterval ${SESSION_EXPIRY_S} s)` +
          `\n  connections: ${connections.join('; ') || 'none'}\n  sessions: ${o.sessions.slice(0, 10).join(', ') || 'none'}` +
          `\n  ${this.replay()}`,
      );
    }
    this.report.retainedCleared += await this.clearRetained();
    await waitUntil(() => !core.sessions.has(JANITOR_ID), 1000, never);
  }

  /** Publishes an empty retained message to every retained topic but $SYS's; returns how many. */
  private async clearRetained(): Promise<number> {
    const topics = [...this.broker.core.retained.entries()]
      .map(([t]) => t)
      .filter((t) => !t.startsWith('$SYS'));
    if (topics.length === 0) return 0;
    const never = new AbortController().signal;
    const socket = netConnect({ host: '127.0.0.1', port: this.tcpPort });
    const decoder = new Decoder({ maxPacketSize: 268_435_460 });
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
        for (let p = decoder.next(); p !== null; p = decoder.next())
          if (p.type === 'pingresp') answered = true;
      } catch {
        answered = true;
      }
    });
    const parts = [connectBytes(JANITOR_ID, 4)];
    for (const topic of topics) {
      parts.push(encode({ type: 'publish', topic, payload: EMPTY, qos: 0, retain: true, dup: false }, 4));
    }
    parts.push(PINGREQ, DISCONNECT);
    socket.end(Buffer.concat(parts));
    await waitUntil(() => answered || socket.destroyed, OP_TIMEOUT, never);
    socket.destroy();
    if (!answered) this.report.notes.push(`clearing ${topics.length} retained messages was not confirmed`);
    return topics.length;
  }
}

interface Memory {
  heap: number;
  arrayBuffers: number;
  rss: number;
}

async function measure(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(20);
    }
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export async function fuzzSockets(options: SocketFuzzOptions): Promise<SocketFuzzReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const clients = Math.max(1, options.clients ?? 16);
  const maxGrowth = options.maxHeapGrowthBytes ?? 32 * 1024 * 1024;
  const report: SocketFuzzReport = {
    seed: options.seed,
    elapsedMs: 0,
    clients,
    cases: 0,
    scenarios: {},
    bytesSent: 0,
    bytesReceived: 0,
    connections: 0,
    closedByBroker: 0,
    slowConsumersDropped: 0,
    httpStatuses: {},
    wsCloseCodes: {},
    probe: { roundTrips: 0, p50: 0, p99: 0, max: 0, late: 0, lost: 0 },
    eventLoopDelay: { p99: 0, max: 0 },
    retainedCleared: 0,
    gc: typeof (globalThis as { gc?: unknown }).gc === 'function',
    heapBefore: 0,
    heapAfter: 0,
    arrayBuffersBefore: 0,
    arrayBuffersAfter: 0,
    rssBefore: 0,
    rssAfter: 0,
    knownIssues: {},
    notes: [],
    failures: [],
  };
  const errorLines: string[] = [];
  const logger = pino(
    { level: 'error', base: undefined },
    {
      write(line: string) {
        if (errorLines.length < 20) errorLines.push(line);
      },
    },
  );
  const broker = createBroker(
    {
      listeners: [
        { type: 'tcp', host: '127.0.0.1', port: 0 },
        { type: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
      ],
      store: 'memory',
      logLevel: 'error',
      connectTimeout: CONNECT_TIMEOUT,
      drainTimeout: DRAIN_TIMEOUT,
      publisherHoldTimeout: HOLD_TIMEOUT,
      maxPacketSize: MAX_PACKET,
      maxSessionExpiryInterval: SESSION_EXPIRY_S,
      maxQueuedBytes: 1024 * 1024,
      sysInterval: 1,
      shutdownTimeout: 1000,
    },
    { logger },
  );
  const seconds = Math.round(options.durationMs / 1000);
  let run: Run | undefined;
  const replay = () =>
    run?.replay() ?? `replay: node --expose-gc dist/fuzz/socket-run.js ${seconds} ${options.seed}`;
  const fail = (message: string) => (run !== undefined ? run.fail(message) : report.failures.push(message));
  const onUncaught = (err: unknown) =>
    fail(`uncaught exception (it would have crashed the broker): ${describeError(err)}\n  ${replay()}`);
  const onUnhandled = (reason: unknown) =>
    fail(`unhandled rejection: ${describeError(reason)}\n  ${replay()}`);
  const onWarning = (warning: Error) => {
    if (warning.name === 'MaxListenersExceededWarning')
      fail(`${warning.name}: ${warning.message}\n  ${replay()}`);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  process.on('warning', onWarning);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let probe: Probe | undefined;
  let progress: NodeJS.Timeout | undefined;
  let listening = false;
  try {
    const addresses = await within(broker.listen(), OP_TIMEOUT);
    if (addresses === undefined) throw new Error(`the broker was not listening after ${OP_TIMEOUT} ms`);
    listening = true;
    const tcpPort = addresses.value.find((a) => a.type === 'tcp')?.port;
    const wsPort = addresses.value.find((a) => a.type === 'ws')?.port;
    if (tcpPort === undefined || wsPort === undefined)
      throw new Error('the broker opened no tcp or ws listener');
    const current = new Run(options.seed, broker, tcpPort, wsPort, report, options.strict === true, seconds);
    run = current;
    probe = await Probe.start(current, options.maxRoundTripMs ?? 2000);
    log(`socket fuzz: seed ${options.seed}, ${clients} clients, tcp ${tcpPort}, ws ${wsPort}`);
    progress = setInterval(() => {
      log(
        `+${((Date.now() - started) / 1000).toFixed(0)} s: ${report.cases} cases, ${report.connections} connections, ` +
          `${MiB(report.bytesSent)} sent, ${current.brokerState()}, ${report.failures.length} failures`,
      );
    }, 5000);
    progress.unref();
    if (!report.gc)
      report.notes.push('gc not exposed (run node with --expose-gc): the memory check was skipped');
    if (options.onlyCase !== undefined) {
      await current.phase(started + CASE_MS + 1000, 1, options.onlyCase);
      await current.quiesce('after the case');
    } else {
      const warmup = Math.min(2000, Math.max(500, options.durationMs * 0.2));
      await current.phase(started + warmup, clients);
      await current.quiesce('after the warm-up');
      const before = await measure();
      report.heapBefore = before.heap;
      report.arrayBuffersBefore = before.arrayBuffers;
      report.rssBefore = before.rss;
      await current.phase(started + options.durationMs, clients);
      await current.quiesce('after the run');
      const after = await measure();
      report.heapAfter = after.heap;
      report.arrayBuffersAfter = after.arrayBuffers;
      report.rssAfter = after.rss;
      if (report.gc) {
        for (const [what, grew] of [
          ['heap', after.heap - before.heap],
          ['array buffer memory', after.arrayBuffers - before.arrayBuffers],
        ] as const) {
          if (grew > maxGrowth) {
            current.fail(
              `${what} grew by ${MiB(grew)} over the run (bound ${MiB(maxGrowth)}; ${report.connections} connections, ` +
                `${report.cases} cases): a leak?\n  ${current.replay()}`,
            );
          }
        }
      }
    }
    report.probe = await probe.stop();
  } catch (err) {
    fail(`the run itself failed: ${describeError(err)}\n  ${replay()}`);
  } finally {
    clearInterval(progress);
    if (probe !== undefined) await within(probe.stop(), 3000).catch(() => undefined);
    if (listening && (await within(broker.close(), 3000)) === undefined) {
      fail(`broker.close() did not settle within 3 s\n  ${replay()}`);
    }
    for (const line of errorLines.slice(0, 5))
      fail(`the broker logged at error level: ${line.trim()}\n  ${replay()}`);
    run?.closeFailures();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
    process.off('warning', onWarning);
    loopDelay.disable();
  }
  report.eventLoopDelay = {
    p99: Math.round(loopDelay.percentile(99) / 1e5) / 10,
    max: Math.round(loopDelay.max / 1e5) / 10,
  };
  report.elapsedMs = Date.now() - started;
  return report;
}
