/**
 * A raw MQTT client over a plain `node:net` socket, for exact-flow and bad-input tests: the test writes
 * bytes it spelled out itself, and reads back packets framed here (so each keeps its exact bytes) and
 * decoded by mqtt-packet, the oracle the architecture keeps for tests.
 *
 * Every wait is bounded and rejects with a message that says what was awaited and what came instead.
 * The builders below write MQTT 3.1.1 packets (and 3.1 CONNECT); each byte they emit is commented.
 */

import net from 'node:net';
import type { Packet, PacketCmd } from 'mqtt-packet';
import { parser as mqttParser } from 'mqtt-packet';

/** Default bound for every wait on a raw socket, in milliseconds. */
export const RAW_WAIT_MS = 3000;

export interface Received<P extends Packet = Packet> {
  /** The packet exactly as it was on the wire: fixed header, remaining length, body. */
  bytes: Buffer;
  packet: P;
}

export type PacketOf<C extends PacketCmd> = Extract<Packet, { cmd: C }>;

interface Waiter {
  resolve: (r: Received) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Hex dump for failure messages: `30 0a 00 03 ...`. */
export function hex(bytes: Buffer | readonly number[]): string {
  return Buffer.from(bytes as readonly number[])
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}

export class RawClient {
  readonly socket: net.Socket;
  /** Socket errors (ECONNRESET, EPIPE): expected when the broker drops us, kept for diagnosis. */
  readonly errors: Error[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private readonly queue: Received[] = [];
  private waiter: Waiter | undefined;
  private isClosed = false;
  private readonly closedPromise: Promise<void>;
  private readonly parser: ReturnType<typeof mqttParser>;
  private lastParsed: Packet | undefined;
  private frameError: Error | undefined;

  /** `protocolVersion` tells the oracle how to read what the broker sends: 4 (3.1/3.1.1) or 5. */
  private constructor(socket: net.Socket, protocolVersion: 4 | 5 = 4) {
    this.socket = socket;
    this.parser = mqttParser({ protocolVersion });
    this.parser.on('packet', (p: Packet) => {
      this.lastParsed = p;
    });
    this.parser.on('error', (e: unknown) => {
      this.frameError = e instanceof Error ? e : new Error(String(e));
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.errors.push(e));
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.failWaiter(new Error(`connection closed while waiting for a packet${this.describeErrors()}`));
        resolve();
      });
    });
  }

  /** Opens a TCP connection to 127.0.0.1:`port`; sends nothing. */
  static open(port: number, timeoutMs = RAW_WAIT_MS): Promise<RawClient> {
    return RawClient.openAs(port, timeoutMs, 4);
  }

  /** Like `open`, for an MQTT 5 client: what the broker sends is decoded as MQTT 5 (properties, reason codes). */
  static openV5(port: number, timeoutMs = RAW_WAIT_MS): Promise<RawClient> {
    return RawClient.openAs(port, timeoutMs, 5);
  }

  private static openAs(port: number, timeoutMs: number, protocolVersion: 4 | 5): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`raw client: TCP connect to port ${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new RawClient(socket, protocolVersion));
      });
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.once('error', onError);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Writes bytes; a write after the broker closed the socket is recorded in `errors`, not thrown. */
  send(bytes: Buffer | readonly number[]): void {
    if (this.socket.destroyed) return;
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as number[]));
  }

  /** The next packet from the broker; rejects on timeout or if the connection closes first. */
  next(timeoutMs = RAW_WAIT_MS): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.frameError) return Promise.reject(this.frameError);
    if (this.isClosed) {
      return Promise.reject(
        new Error(`connection closed while waiting for a packet${this.describeErrors()}`),
      );
    }
    if (this.waiter) return Promise.reject(new Error('raw client: only one next() may wait at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`raw client: no packet from the broker within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /** The next packet, which must be of type `cmd`. */
  async expect<C extends PacketCmd>(cmd: C, timeoutMs = RAW_WAIT_MS): Promise<Received<PacketOf<C>>> {
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

  /** The next packet, which must be exactly `bytes`. */
  async expectBytes(bytes: readonly number[], what: string, timeoutMs = RAW_WAIT_MS): Promise<Received> {
    let got: Received;
    try {
      got = await this.next(timeoutMs);
    } catch (e) {
      throw new Error(`expected ${what} (${hex(bytes)}): ${(e as Error).message}`);
    }
    if (!got.bytes.equals(Buffer.from(bytes as number[]))) {
      throw new Error(
        `expected ${what} (${hex(bytes)}), got ${got.packet.cmd.toUpperCase()} (${hex(got.bytes)})`,
      );
    }
    return got;
  }

  /** Resolves when the connection has closed; rejects if it is still open after `timeoutMs`. */
  waitClosed(timeoutMs = RAW_WAIT_MS): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`raw client: connection still open after ${timeoutMs} ms`)),
        timeoutMs,
      );
      void this.closedPromise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Waits for the close and asserts that no packet at all came before it (beyond those already taken). */
  async expectClosedSilently(what: string, timeoutMs = RAW_WAIT_MS): Promise<void> {
    try {
      await this.waitClosed(timeoutMs);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    const extra = this.queue.map((r) => `${r.packet.cmd.toUpperCase()} (${hex(r.bytes)})`);
    if (extra.length > 0) throw new Error(`${what}: broker sent ${extra.join(', ')} before closing`);
  }

  /** Packets received and not yet taken by next()/expect(). */
  unread(): readonly Received[] {
    return this.queue;
  }

  /** Sends DISCONNECT and a FIN, then waits for the broker to close its side. */
  async disconnect(timeoutMs = RAW_WAIT_MS): Promise<void> {
    this.send(DISCONNECT);
    this.socket.end();
    await this.waitClosed(timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
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

  /** Frames packets from the byte stream: fixed header byte, remaining length (1-4 bytes), body. */
  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.pending.length < 2) return;
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
          this.socket.destroy();
        }
        return;
      }
      const total = offset + length;
      if (this.pending.length < total) return;
      const bytes = Buffer.from(this.pending.subarray(0, total));
      this.pending = this.pending.subarray(total);
      this.lastParsed = undefined;
      this.parser.parse(bytes);
      const packet = this.lastParsed as Packet | undefined;
      if (!packet) {
        const why = this.frameError?.message ?? 'mqtt-packet produced nothing';
        this.frameError = new Error(`broker sent a packet mqtt-packet cannot decode (${hex(bytes)}): ${why}`);
        this.failWaiter(this.frameError);
        return;
      }
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

// ---------------------------------------------------------------------------------------------------
// Packet builders. MQTT 3.1.1 §2 (fixed header), §3 (packets); 3.1 differs only in the CONNECT header.
// ---------------------------------------------------------------------------------------------------

/** Remaining Length as a variable byte integer: 7 bits a byte, low first, bit 7 = "more follows". */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80; // continuation bit
    out.push(byte);
  } while (n > 0);
  return out;
}

/** A UTF-8 string (or raw bytes) with its two-byte big-endian length prefix (§1.5.3). */
export function str(s: string | Buffer | readonly number[]): number[] {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s as number[]);
  return [
    bytes.length >> 8, // length MSB
    bytes.length & 0xff, // length LSB
    ...bytes, // the characters
  ];
}

/** A whole packet: first byte (type << 4 | flags), remaining length, then the body. */
export function frame(firstByte: number, body: readonly number[]): Buffer {
  return Buffer.from([
    firstByte, // packet type (high nibble) and flags (low nibble)
    ...varint(body.length), // remaining length
    ...body, // variable header and payload
  ]);
}

/** Two-byte packet identifier, big-endian. */
export function id16(id: number): number[] {
  return [
    id >> 8, // packet identifier MSB
    id & 0xff, // packet identifier LSB
  ];
}

export interface RawWill {
  topic: string;
  payload: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface RawConnectOptions {
  clientId: string;
  /** 'MQTT' (3.1.1, the default) or 'MQIsdp' (3.1). */
  protocolName?: string;
  /** 4 for 3.1.1 (default), 3 for 3.1. */
  protocolLevel?: number;
  clean?: boolean;
  /** Seconds; 0 (default) turns keep alive off. */
  keepalive?: number;
  will?: RawWill;
  username?: string;
  password?: string;
  /** OR-ed into the connect flags as is, e.g. 0x01 to set the reserved bit. */
  extraFlags?: number;
}

/** CONNECT (§3.1). A 3.1 CONNECT uses protocolName 'MQIsdp' and protocolLevel 3. */
export function connect(o: RawConnectOptions): Buffer {
  const level = o.protocolLevel ?? 4;
  const name = o.protocolName ?? (level === 3 ? 'MQIsdp' : 'MQTT');
  const will = o.will;
  const flags =
    (o.username !== undefined ? 0x80 : 0) | // bit 7: user name present
    (o.password !== undefined ? 0x40 : 0) | // bit 6: password present
    (will?.retain ? 0x20 : 0) | // bit 5: will retain
    ((will?.qos ?? 0) << 3) | // bits 4-3: will QoS
    (will ? 0x04 : 0) | // bit 2: will flag
    ((o.clean ?? true) ? 0x02 : 0) | // bit 1: clean session
    (o.extraFlags ?? 0); // bit 0 is reserved and must be 0 [MQTT-3.1.2-3]
  const keepalive = o.keepalive ?? 0;
  const body = [
    ...str(name), // protocol name
    level, // protocol level
    flags, // connect flags
    keepalive >> 8, // keep alive MSB
    keepalive & 0xff, // keep alive LSB
    ...str(o.clientId), // payload: client identifier
    ...(will ? str(will.topic) : []), // payload: will topic
    ...(will ? str(typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload) : []), // will message
    ...(o.username !== undefined ? str(o.username) : []), // payload: user name
    ...(o.password !== undefined ? str(o.password) : []), // payload: password
  ];
  return frame(0x10, body); // 0x10: CONNECT, flags 0
}

export interface RawPublishOptions {
  /** A string, or raw bytes for invalid-UTF-8 tests. */
  topic: string | Buffer | readonly number[];
  payload?: string | Buffer;
  qos?: number;
  /** Required for QoS 1 and 2. */
  id?: number;
  dup?: boolean;
  retain?: boolean;
}

/** PUBLISH (§3.3). `qos` is not checked, so a test can send QoS 3. */
export function publish(o: RawPublishOptions): Buffer {
  const qos = o.qos ?? 0;
  const first =
    0x30 | // PUBLISH
    (o.dup ? 0x08 : 0) | // bit 3: DUP
    ((qos & 0x03) << 1) | // bits 2-1: QoS
    (o.retain ? 0x01 : 0); // bit 0: RETAIN
  const payload = o.payload === undefined ? [] : [...Buffer.from(o.payload)];
  return frame(first, [
    ...str(o.topic), // topic name
    ...(qos > 0 ? id16(o.id ?? 1) : []), // packet identifier, only for QoS > 0
    ...payload, // application message
  ]);
}

/** PUBACK (§3.4): 0x40, remaining length 2, packet identifier. */
export function puback(id: number): Buffer {
  return frame(0x40, id16(id));
}

/** PUBREC (§3.5): 0x50, remaining length 2, packet identifier. */
export function pubrec(id: number): Buffer {
  return frame(0x50, id16(id));
}

/** PUBREL (§3.6): 0x62 — its flags must be 0010 [MQTT-3.6.1-1] — remaining length 2, packet identifier. */
export function pubrel(id: number): Buffer {
  return frame(0x62, id16(id));
}

/** PUBCOMP (§3.7): 0x70, remaining length 2, packet identifier. */
export function pubcomp(id: number): Buffer {
  return frame(0x70, id16(id));
}

/** SUBSCRIBE (§3.8): 0x82 — flags must be 0010 [MQTT-3.8.1-1] — packet identifier, (filter, QoS) pairs. */
export function subscribe(id: number, filters: ReadonlyArray<readonly [string | Buffer, number]>): Buffer {
  const body = [...id16(id)];
  for (const [filter, qos] of filters) {
    body.push(
      ...str(filter), // topic filter
      qos, // requested QoS (upper 6 bits reserved, 0)
    );
  }
  return frame(0x82, body);
}

/** UNSUBSCRIBE (§3.10): 0xa2 — flags 0010 [MQTT-3.10.1-1] — packet identifier, topic filters. */
export function unsubscribe(id: number, filters: ReadonlyArray<string>): Buffer {
  const body = [...id16(id)];
  for (const filter of filters) body.push(...str(filter));
  return frame(0xa2, body);
}

/** PINGREQ (§3.12). */
export const PINGREQ: readonly number[] = [
  0xc0, // PINGREQ, flags 0
  0x00, // remaining length 0
];

/** PINGRESP (§3.13), as the broker must send it. */
export const PINGRESP: readonly number[] = [
  0xd0, // PINGRESP, flags 0
  0x00, // remaining length 0
];

/** DISCONNECT (§3.14). */
export const DISCONNECT: readonly number[] = [
  0xe0, // DISCONNECT, flags 0
  0x00, // remaining length 0
];

/** CONNACK (§3.2) as the broker must send it to a 3.1/3.1.1 client. */
export function connack(sessionPresent: boolean, returnCode: number): number[] {
  return [
    0x20, // CONNACK, flags 0
    0x02, // remaining length 2
    sessionPresent ? 0x01 : 0x00, // connect acknowledge flags: bit 0 session present
    returnCode, // connect return code
  ];
}

/** A 4-byte acknowledgement: PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70, UNSUBACK 0xb0. */
export function ack(first: 0x40 | 0x50 | 0x62 | 0x70 | 0xb0, id: number): number[] {
  return [
    first, // packet type and flags
    0x02, // remaining length 2
    ...id16(id), // the packet identifier being acknowledged
  ];
}

/** SUBACK (§3.9) as the broker must send it: one return code per filter, in order. */
export function suback(id: number, codes: readonly number[]): number[] {
  return [
    0x90, // SUBACK, flags 0
    ...varint(2 + codes.length), // remaining length
    ...id16(id), // packet identifier of the SUBSCRIBE
    ...codes, // granted QoS or 0x80 (failure), one per filter
  ];
}

/**
 * Opens a raw connection, sends CONNECT and requires CONNACK return code 0 (session present not checked;
 * read it from the returned CONNACK).
 */
export async function rawConnect(
  port: number,
  options: RawConnectOptions,
  timeoutMs = RAW_WAIT_MS,
): Promise<{ raw: RawClient; connack: PacketOf<'connack'> }> {
  const raw = await RawClient.open(port, timeoutMs);
  try {
    raw.send(connect(options));
    const { packet } = await raw.expect('connack', timeoutMs);
    if (packet.returnCode !== 0) {
      throw new Error(`CONNACK for '${options.clientId}' refused with return code ${packet.returnCode}`);
    }
    return { raw, connack: packet };
  } catch (e) {
    raw.destroy();
    throw e;
  }
}
