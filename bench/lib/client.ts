// One raw-TCP MQTT client of the load generator: connects, subscribes, floods pre-built PUBLISH batches
// with backpressure, and counts what arrives. Reads go through net's `onread` into one reused buffer,
// so receiving costs a header walk per packet and no allocation per chunk.
// With `qos1`, it also plays the QoS 1 roles: as a subscriber it answers every PUBLISH with a PUBACK
// (all the PUBACKs of one read chunk in one write); as a publisher it keeps a bounded window of
// unacknowledged QoS 1 PUBLISHes, refilled from a pre-built buffer as PUBACKs arrive.
// For the overload scenarios it can also be paced from outside (`writeBatch`, `onRead`), report how long
// its flood waited for 'drain', and stop reading while keeping the connection open (`pauseReading`).
// Over `ws` the same client speaks MQTT over WebSocket by hand (lib/ws-frames.ts): HTTP upgrade with
// `Sec-WebSocket-Protocol: mqtt`, every write one masked binary frame (a flood batch is framed and
// masked once, up front), the server's frames unwrapped before the MQTT walker.
// All clients of the process share one read buffer (and one PUBACK id scratch array): `onread`
// callbacks run one at a time and nothing keeps a reference to the chunk, so 5,000 idle clients cost
// a socket each, not 256 KiB each.

import net from 'node:net';
import {
  connackAccepted,
  connectPacket,
  PacketType,
  subackGranted,
  subscribePacket,
  writePuback,
} from './mqtt-bytes.js';
import { PacketWalker } from './packet-walker.js';
import { upgradeRequest, WsReader, wsFrame } from './ws-frames.js';

const READ_BUFFER_BYTES = 256 * 1024;
/** Most QoS 1 PUBLISHes one read chunk can end (the smallest is 6 bytes), plus one begun earlier. */
const MAX_ACKS_PER_CHUNK = Math.ceil(READ_BUFFER_BYTES / 6) + 1;
const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
const sharedAckIds = new Uint16Array(MAX_ACKS_PER_CHUNK);

export type Transport = 'tcp' | 'ws';
export const TRANSPORTS: readonly Transport[] = ['tcp', 'ws'];

/** Where a client connects: TCP port, or WebSocket port + path. */
export interface Target {
  host: string;
  port: number;
  transport: Transport;
  /** HTTP path of the WebSocket endpoint ('/mqtt'). */
  path: string;
}

export interface ClientOptions {
  /** false: a session that outlives the connection (3.1.1 Clean Session 0). Default true. */
  cleanSession?: boolean;
  /** Answer QoS 1 PUBLISHes with PUBACK, and take PUBACKs for `startWindow`. Default false. */
  qos1?: boolean;
  /**
   * Latency scenario: called with each QoS 1 PUBLISH payload received (a view valid only during the
   * call). Needs `qos1`.
   */
  onPayload?: (buf: Buffer, start: number, end: number) => void;
}

/**
 * The QoS 1 publishing window: `packets` holds `cycle` PUBLISHes with ids 1..cycle; at most `size`
 * are unacknowledged at a time. Ids are sent in order and cycle; an id whose PUBACK has not come back
 * is never reused (sending pauses there instead).
 */
class Qos1Window {
  /** Index (id - 1) of the next packet to send. */
  next = 0;
  inflight = 0;
  /** 1 = sent, PUBACK not yet received; indexed by id - 1. */
  readonly awaiting: Uint8Array;

  constructor(
    readonly packets: Buffer,
    readonly packetBytes: number,
    readonly cycle: number,
    readonly size: number,
  ) {
    this.awaiting = new Uint8Array(cycle);
  }
}

interface Waiter {
  resolve: (body: Buffer) => void;
  reject: (err: Error) => void;
}

/** Rejects with "<what> timed out after N ms" unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class BenchClient {
  readonly socket: net.Socket;
  readonly walker: PacketWalker;
  /** PUBLISH packets handed to socket.write() (accepted by Node, not necessarily by the broker yet). */
  published = 0;
  /** PUBACKs received for our QoS 1 PUBLISHes. */
  acked = 0;
  closed = false;
  /** True if the connection ended without us asking (broker closed it, reset it, or died). */
  closedByPeer = false;
  closedAt = 0;
  closeReason = '';
  /** Called after each read chunk has been walked (the overload scenarios' pacing and gap watch). */
  onRead: (() => void) | null = null;

  private flooding = false;
  private stoppedByUs = false;
  private readonly waiters = new Map<number, Waiter>();
  private readonly connected: Promise<void>;
  private readonly cleanSession: boolean;
  private readonly qos1: boolean;
  /** Packet ids of the QoS 1 PUBLISHes received in the current read chunk, to acknowledge. */
  private readonly ackIds: Uint16Array = sharedAckIds;
  private ackCount = 0;
  private window: Qos1Window | null = null;
  /** Over WebSocket: the frame reader (null over TCP). */
  private readonly ws: WsReader | null;
  /** Latency scenario: PUBACKs still owed for the timed PUBLISHes, by id. */
  private timedAwaiting: Uint8Array | null = null;
  private timedNextId = 1;
  /** Latency scenario: timed PUBLISHes not sent because their id was still unacknowledged. */
  blocked = 0;
  /** Flood: when the pending write began waiting for 'drain' (-1: writable), and the longest wait. */
  private waitingSince = -1;
  private longestWait = 0;

  constructor(
    target: Target,
    readonly clientId: string,
    options: ClientOptions = {},
  ) {
    this.cleanSession = options.cleanSession ?? true;
    this.qos1 = options.qos1 ?? false;
    const hooks = this.qos1
      ? {
          publishId: (id: number): void => {
            this.ackIds[this.ackCount++] = id;
          },
          puback: (id: number): void => this.onPuback(id),
          ...(options.onPayload !== undefined ? { payload: options.onPayload } : {}),
        }
      : null;
    this.walker = new PacketWalker((type, _flags, body) => this.onControl(type, body), hooks);
    let opened: () => void = () => {};
    const open = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const upgrade = target.transport === 'ws' ? upgradeRequest(target.host, target.port, target.path) : null;
    this.ws =
      upgrade === null
        ? null
        : new WsReader(
            upgrade.accept,
            opened,
            (buf, start, end) => this.walker.feed(buf, start, end),
            (payload) => this.socket.write(wsFrame(payload, 0xa)),
            (reason) => {
              this.closeReason = reason;
              this.socket.destroy();
            },
          );
    this.socket = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      onread: {
        buffer: sharedReadBuffer,
        callback: (nread: number, buf: Buffer): boolean => {
          try {
            this.ackCount = 0;
            if (this.ws !== null) this.ws.feed(buf, 0, nread);
            else this.walker.feed(buf, 0, nread);
            if (this.qos1) this.afterRead();
            if (this.onRead !== null) this.onRead();
          } catch (err) {
            this.socket.destroy(err as Error);
            return false;
          }
          return true;
        },
      },
    });
    this.socket.on('error', (err) => this.markClosed(err.message));
    this.socket.on('close', () => this.markClosed(this.stoppedByUs ? 'closed by us' : 'closed by broker'));
    this.connected = new Promise<void>((resolve, reject) => {
      if (upgrade === null) this.socket.once('connect', () => resolve());
      else {
        this.socket.once('connect', () => this.socket.write(upgrade.request));
        open.then(resolve);
      }
      this.socket.once('close', () => reject(new Error(`${this.clientId}: ${this.closeReason}`)));
    });
    this.connected.catch(() => {}); // observed by connect(); avoid an unhandled rejection otherwise
  }

  /** TCP connect, CONNECT, wait for an accepting CONNACK. */
  async connect(timeoutMs: number): Promise<void> {
    await withTimeout(
      this.connected,
      timeoutMs,
      `${this.clientId}: ${this.ws ? 'WebSocket upgrade' : 'TCP connect'}`,
    );
    const connack = this.expect(PacketType.CONNACK);
    this.send(connectPacket(this.clientId, this.cleanSession));
    const body = await withTimeout(connack, timeoutMs, `${this.clientId}: CONNACK`);
    if (!connackAccepted(body)) {
      throw new Error(`${this.clientId}: CONNACK refused (return code ${body[1]})`);
    }
  }

  /** SUBSCRIBE at `qos`, wait for a SUBACK that grants it. */
  async subscribe(filter: string, packetId: number, timeoutMs: number, qos: 0 | 1 = 0): Promise<void> {
    const suback = this.expect(PacketType.SUBACK);
    this.send(subscribePacket(packetId, filter, qos));
    const body = await withTimeout(suback, timeoutMs, `${this.clientId}: SUBACK for ${filter}`);
    if (!subackGranted(body, packetId, qos)) {
      throw new Error(`${this.clientId}: SUBSCRIBE ${filter} at QoS ${qos} refused (granted ${body[2]})`);
    }
  }

  /**
   * Writes `batch` over and over, as fast as the broker takes it: stops as soon as write() returns
   * false and resumes on 'drain', so at most one batch waits in Node's buffer. After a few writes in a
   * row the pump yields (setImmediate) so other publishers and the readers get their turn. Each wait
   * for 'drain' is timed (takeLongestWait).
   */
  startFlood(packets: Buffer, messagesPerBatch: number): void {
    const batch = this.framed(packets); // framed and masked once
    this.flooding = true;
    const pump = (): void => {
      let writes = 0;
      while (this.flooding && !this.closed) {
        this.published += messagesPerBatch;
        if (!this.socket.write(batch)) {
          this.waitingSince = performance.now();
          return; // resumed by 'drain'
        }
        if (++writes === 4) {
          setImmediate(pump);
          return;
        }
      }
    };
    this.socket.on('drain', () => {
      const waited = performance.now() - this.waitingSince;
      if (waited > this.longestWait) this.longestWait = waited;
      this.waitingSince = -1;
      pump();
    });
    pump();
  }

  /**
   * Flood: the longest time a write waited for 'drain' (the socket not writable) since the last call,
   * a wait still under way counting up to `now`; then starts afresh from `now`.
   */
  takeLongestWait(now: number): { ms: number; ongoing: boolean } {
    const current = this.waitingSince >= 0 ? now - this.waitingSince : 0;
    const ongoing = current > 0 && current >= this.longestWait;
    const ms = Math.max(current, this.longestWait);
    this.longestWait = 0;
    if (this.waitingSince >= 0) this.waitingSince = now;
    return { ms, ongoing };
  }

  /** MQTT bytes as they go on the wire: unchanged over TCP, one masked binary frame over WebSocket. */
  framed(packets: Buffer): Buffer {
    return this.ws !== null ? wsFrame(packets) : packets;
  }

  /** Paced QoS 0: one write of a batch from framed() holding `messages` PUBLISHes; no backpressure. */
  writeBatch(batch: Buffer, messages: number): void {
    if (this.closed) return;
    this.published += messages;
    this.socket.write(batch);
  }

  /** Stops reading the socket (the kernel buffers fill, the broker sees a subscriber that stalled). */
  pauseReading(): void {
    this.socket.pause();
  }

  /**
   * QoS 1 publishing (needs `qos1`): sends up to `size` PUBLISHes from `packets` (ids 1..cycle, see
   * publishQos1Packets), then one more for each PUBACK, until stopFlood(). The window is the flow
   * control here: at most `size` packets are ever waiting, so socket backpressure is not watched.
   */
  startWindow(packets: Buffer, packetBytes: number, size: number): void {
    const cycle = packets.length / packetBytes;
    if (!this.qos1 || !Number.isInteger(cycle) || size > cycle) throw new Error('bad QoS 1 window');
    this.window = new Qos1Window(packets, packetBytes, cycle, size);
    this.flooding = true;
    this.refill();
  }

  stopFlood(): void {
    this.flooding = false;
  }

  /** After each read chunk: one write with the PUBACKs owed, then top the publishing window up. */
  private afterRead(): void {
    if (this.ackCount > 0 && !this.closed) {
      const out = Buffer.allocUnsafe(this.ackCount * 4);
      for (let i = 0; i < this.ackCount; i++) writePuback(out, i * 4, this.ackIds[i]!);
      this.send(out);
    }
    this.ackCount = 0;
    if (this.window !== null) this.refill();
  }

  /** MQTT bytes out: as they are over TCP, as one masked binary frame over WebSocket. */
  send(packets: Buffer): boolean {
    return this.socket.write(this.framed(packets));
  }

  /**
   * Latency scenario (needs `qos1`): sends `count` QoS 1 PUBLISHes in one write, copies of `template`
   * (a QoS 1 PUBLISH, see publishQos1Packets) with the next packet ids at `idOffset` and
   * performance.now() as a float64 (little-endian) at `stampOffset`. Ids cycle through 1..65535; one
   * whose PUBACK has not come back is skipped and counted in `blocked`.
   */
  sendTimed(template: Buffer, idOffset: number, stampOffset: number, count: number): void {
    if (this.closed || count <= 0) return;
    if (this.timedAwaiting === null) this.timedAwaiting = new Uint8Array(0x10000);
    const awaiting = this.timedAwaiting;
    const out = Buffer.allocUnsafe(template.length * count);
    const now = performance.now();
    let n = 0;
    for (let i = 0; i < count; i++) {
      const id = this.timedNextId;
      this.timedNextId = id === 0xffff ? 1 : id + 1;
      if (awaiting[id] === 1) {
        this.blocked++;
        continue;
      }
      awaiting[id] = 1;
      const at = n++ * template.length;
      template.copy(out, at);
      out.writeUInt16BE(id, at + idOffset);
      out.writeDoubleLE(now, at + stampOffset);
    }
    if (n === 0) return;
    this.published += n;
    this.send(out.subarray(0, n * template.length));
  }

  private onPuback(id: number): void {
    const timed = this.timedAwaiting;
    if (timed !== null) {
      if (timed[id] === 1) {
        timed[id] = 0;
        this.acked++;
      }
      return;
    }
    const w = this.window;
    if (w === null || id < 1 || id > w.cycle || w.awaiting[id - 1] === 0) return; // not ours: ignore
    w.awaiting[id - 1] = 0;
    w.inflight--;
    this.acked++;
  }

  /** Sends the next PUBLISHes while the window has room: consecutive ids go out as one subarray. */
  private refill(): void {
    const w = this.window!;
    if (!this.flooding || this.closed) return;
    let from = w.next;
    while (w.inflight < w.size && w.awaiting[w.next] === 0) {
      w.awaiting[w.next] = 1;
      w.inflight++;
      w.next++;
      if (w.next === w.cycle) {
        this.writeRun(from, w.next);
        w.next = 0;
        from = 0;
      }
    }
    if (w.next > from) this.writeRun(from, w.next);
  }

  private writeRun(from: number, to: number): void {
    const w = this.window!;
    this.published += to - from;
    this.send(w.packets.subarray(from * w.packetBytes, to * w.packetBytes));
  }

  /** Closes the connection from our side (not counted as a broker failure). */
  destroy(): void {
    this.stoppedByUs = true;
    this.flooding = false;
    this.socket.destroy();
  }

  private expect(type: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error(`${this.clientId}: ${this.closeReason}`));
    return new Promise<Buffer>((resolve, reject) => {
      this.waiters.set(type, { resolve, reject });
    });
  }

  private onControl(type: number, body: Buffer): void {
    const waiter = this.waiters.get(type);
    if (waiter === undefined) return; // e.g. a PINGRESP nobody asked for
    this.waiters.delete(type);
    waiter.resolve(body);
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = performance.now();
    this.closeReason = reason;
    this.closedByPeer = !this.stoppedByUs;
    this.flooding = false;
    for (const waiter of this.waiters.values()) {
      waiter.reject(new Error(`${this.clientId}: ${reason}`));
    }
    this.waiters.clear();
  }
}
