/**
 * A raw MQTT-over-WebSocket client built on `ws`, for the tests that care about frames: the test
 * decides how packets are cut into frames (split, coalesced, fragmented, text), and sees every frame the
 * broker sends with the packets in it, so it can check how the broker frames its output.
 *
 * What the broker sends is framed into packets across frames (a packet may in principle straddle
 * frames) and decoded by mqtt-packet, the oracle the architecture keeps for tests. Each received frame
 * records how many packets ended in it and whether it began and ended on a packet boundary.
 *
 * Every wait is bounded and rejects with a message saying what was awaited.
 */

import type { Packet, PacketCmd } from 'mqtt-packet';
import { parser as mqttParser } from 'mqtt-packet';
import WebSocket from 'ws';
import { hex, type PacketOf, type Received } from './raw.js';

/** Default bound for every wait, in milliseconds. */
export const WS_WAIT_MS = 3000;

export interface ReceivedFrame {
  data: Buffer;
  binary: boolean;
  /** Packets whose last byte is in this frame. */
  packets: number;
  /** True when the frame starts and ends on a packet boundary (it holds only whole packets). */
  whole: boolean;
}

export interface WsOpenOptions {
  /** Subprotocols to offer; default ['mqtt']; [] offers none (no Sec-WebSocket-Protocol header). */
  protocols?: string[];
  /** Origin header (none by default). */
  origin?: string;
  headers?: Record<string, string>;
  /** How to read what the broker sends: 4 (3.1/3.1.1, default) or 5. */
  protocolVersion?: 4 | 5;
  /** Anything else ws accepts (TLS options, createConnection, ...). */
  clientOptions?: WebSocket.ClientOptions;
  timeoutMs?: number;
}

export interface WsClose {
  code: number;
  reason: string;
}

/** How an upgrade attempt ended when it did not open: the HTTP status, or the socket error. */
export interface RefusedUpgrade {
  status: number | undefined;
  body: string;
  error: Error | undefined;
}

interface Waiter {
  resolve: (r: Received) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

function createSocket(url: string, options: WsOpenOptions): WebSocket {
  const clientOptions: WebSocket.ClientOptions = {
    perMessageDeflate: false,
    handshakeTimeout: options.timeoutMs ?? WS_WAIT_MS,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
    ...options.clientOptions,
  };
  return new WebSocket(url, options.protocols ?? ['mqtt'], clientOptions);
}

export class WsRawClient {
  readonly ws: WebSocket;
  /** Every message the broker sent, in order. */
  readonly frames: ReceivedFrame[] = [];
  /** Socket errors (expected when the broker drops us), kept for diagnosis. */
  readonly errors: Error[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private readonly queue: Received[] = [];
  private waiter: Waiter | undefined;
  private closeInfo: WsClose | undefined;
  private readonly closedPromise: Promise<WsClose>;
  private readonly parser: ReturnType<typeof mqttParser>;
  private lastParsed: Packet | undefined;
  private frameError: Error | undefined;

  private constructor(ws: WebSocket, protocolVersion: 4 | 5) {
    this.ws = ws;
    this.parser = mqttParser({ protocolVersion });
    this.parser.on('packet', (p: Packet) => {
      this.lastParsed = p;
    });
    this.parser.on('error', (e: unknown) => {
      this.frameError = e instanceof Error ? e : new Error(String(e));
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (e) => this.errors.push(e));
    this.closedPromise = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.failWaiter(new Error(`WebSocket closed (code ${code}) while waiting for a packet`));
        resolve(this.closeInfo);
      });
    });
  }

  /** Opens a WebSocket to `url`; rejects (saying how) if the upgrade is refused or times out. */
  static open(url: string, options: WsOpenOptions = {}): Promise<WsRawClient> {
    const timeoutMs = options.timeoutMs ?? WS_WAIT_MS;
    const ws = createSocket(url, options);
    const client = new WsRawClient(ws, options.protocolVersion ?? 4);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`WebSocket ${url}: ${why}`));
      };
      const timer = setTimeout(() => fail(`not open after ${timeoutMs} ms`), timeoutMs);
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        fail(`upgrade refused with HTTP ${res.statusCode}`);
      });
      ws.once('close', (code: number) =>
        fail(`closed (code ${code}) before opening${client.describeErrors()}`),
      );
      ws.once('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(client);
      });
    });
  }

  /**
   * Attempts an upgrade that must NOT open: resolves with the HTTP status and body of the refusal (or
   * the socket error if the server just closed); rejects if the WebSocket opens.
   */
  static refused(url: string, options: WsOpenOptions = {}): Promise<RefusedUpgrade> {
    const timeoutMs = options.timeoutMs ?? WS_WAIT_MS;
    const ws = createSocket(url, options);
    return new Promise((resolve, reject) => {
      let error: Error | undefined;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`WebSocket ${url}: neither opened nor refused within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('error', (e) => {
        error ??= e;
      });
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          clearTimeout(timer);
          ws.terminate();
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), error: undefined });
        });
        res.once('error', (e) => {
          clearTimeout(timer);
          ws.terminate();
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), error: e });
        });
      });
      ws.once('open', () => {
        clearTimeout(timer);
        const protocol = ws.protocol;
        ws.terminate();
        reject(
          new Error(`WebSocket ${url}: opened (subprotocol '${protocol}') but should have been refused`),
        );
      });
      ws.once('close', () => {
        // Reached without 'unexpected-response' only when the server dropped the connection.
        setImmediate(() => {
          clearTimeout(timer);
          resolve({ status: undefined, body: '', error });
        });
      });
    });
  }

  /** The subprotocol the server chose ('' when none). */
  get protocol(): string {
    return this.ws.protocol;
  }

  get closed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Sends `bytes` as one binary message (one frame). */
  send(bytes: Buffer | readonly number[]): Promise<void> {
    return this.sendFrame(bytes, { fin: true });
  }

  /** Sends one binary frame; `fin: false` starts or continues a fragmented message. */
  sendFrame(bytes: Buffer | readonly number[], options: { fin: boolean }): Promise<void> {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as number[]);
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error(`cannot send: WebSocket is not open (readyState ${this.ws.readyState})`));
        return;
      }
      this.ws.send(data, { binary: true, fin: options.fin, compress: false }, (e) =>
        e ? reject(e) : resolve(),
      );
    });
  }

  /** Sends a text message. */
  sendText(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.send(text, { binary: false }, (e) => (e ? reject(e) : resolve()));
    });
  }

  /** The next packet from the broker; rejects on timeout or if the WebSocket closes first. */
  next(timeoutMs = WS_WAIT_MS): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.frameError) return Promise.reject(this.frameError);
    if (this.closeInfo) {
      return Promise.reject(
        new Error(`WebSocket closed (code ${this.closeInfo.code}) while waiting for a packet`),
      );
    }
    if (this.waiter) return Promise.reject(new Error('ws raw client: only one next() may wait at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`ws raw client: no packet from the broker within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /** The next packet, which must be of type `cmd`. */
  async expect<C extends PacketCmd>(cmd: C, timeoutMs = WS_WAIT_MS): Promise<Received<PacketOf<C>>> {
    let got: Received;
    try {
      got = await this.next(timeoutMs);
    } catch (e) {
      throw new Error(`expected ${cmd.toUpperCase()}: ${(e as Error).message}`);
    }
    if (got.packet.cmd !== cmd) {
      throw new Error(
        `expected ${cmd.toUpperCase()}, got ${got.packet.cmd.toUpperCase()} (${hex(got.bytes)})`,
      );
    }
    return got as Received<PacketOf<C>>;
  }

  /** Resolves with the close code and reason; rejects if the WebSocket is still open after `timeoutMs`. */
  waitClose(timeoutMs = WS_WAIT_MS): Promise<WsClose> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`ws raw client: WebSocket still open after ${timeoutMs} ms`)),
        timeoutMs,
      );
      void this.closedPromise.then((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /** Packets received and not yet taken by next()/expect(). */
  unread(): readonly Received[] {
    return this.queue;
  }

  /** Sends a ping and resolves with the pong's payload. */
  ping(payload: Buffer, timeoutMs = WS_WAIT_MS): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.off('pong', onPong);
        reject(new Error(`ws raw client: no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      const onPong = (data: Buffer) => {
        clearTimeout(timer);
        resolve(data);
      };
      this.ws.once('pong', onPong);
      this.ws.ping(payload);
    });
  }

  terminate(): void {
    this.ws.terminate();
  }

  private describeErrors(): string {
    return this.errors.length > 0 ? ` (${this.errors.map((e) => e.message).join('; ')})` : '';
  }

  private failWaiter(e: Error): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.reject(e);
  }

  private onMessage(raw: WebSocket.RawData, isBinary: boolean): void {
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    const startsWhole = this.pending.length === 0;
    const frame: ReceivedFrame = { data, binary: isBinary, packets: 0, whole: false };
    this.frames.push(frame);
    if (!isBinary) {
      this.frameError = new Error(`broker sent a text frame: ${JSON.stringify(data.toString())}`);
      this.failWaiter(this.frameError);
      return;
    }
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    frame.packets = this.takePackets();
    frame.whole = startsWhole && this.pending.length === 0;
  }

  /** Frames packets from the byte stream (fixed header, remaining length, body); returns how many. */
  private takePackets(): number {
    let count = 0;
    for (;;) {
      if (this.pending.length < 2) return count;
      let length = 0;
      let multiplier = 1;
      let offset = 1;
      let complete = false;
      while (offset < this.pending.length && offset <= 4) {
        const byte = this.pending[offset]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        offset++;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (offset > 4) {
          this.frameError = new Error(
            `broker sent a malformed remaining length: ${hex(this.pending.subarray(0, 5))}`,
          );
          this.failWaiter(this.frameError);
        }
        return count;
      }
      const total = offset + length;
      if (this.pending.length < total) return count;
      const bytes = Buffer.from(this.pending.subarray(0, total));
      this.pending = this.pending.subarray(total);
      this.lastParsed = undefined;
      this.parser.parse(bytes);
      const packet = this.lastParsed as Packet | undefined;
      if (!packet) {
        const why = this.frameError?.message ?? 'mqtt-packet produced nothing';
        this.frameError = new Error(`broker sent a packet mqtt-packet cannot decode (${hex(bytes)}): ${why}`);
        this.failWaiter(this.frameError);
        return count;
      }
      count++;
      const received: Received = { bytes, packet };
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(received);
      } else {
        this.queue.push(received);
      }
    }
  }
}
