/**
 * An in-memory Link for driving the broker core without sockets, and a core whose log is watched.
 *
 * The test plays the client: `deliver` hands bytes to the broker as if the client sent them, `read`
 * decodes what the broker wrote, `peerClose` is the client vanishing, `stall` / `drain` are a client
 * that stops reading and starts again. The link keeps the contract of src/core/link.ts the way the
 * socket links do, so the core cannot tell the difference:
 * - what arrives while paused (or before `attach`) is held and handed over on `resume`, on a later
 *   turn, never from inside `resume` (a socket emits its data later, too);
 * - `write` hands bytes to the peer at once unless the peer is stalled; held bytes count in
 *   `bufferedBytes`, and `congested` is true while they are above the high-water mark;
 * - `onDrain` is called when the peer takes the held bytes after `congested` was seen true;
 * - `end` closes once what was written is taken (at once, or at the next `drain`); `destroy` drops it;
 * - `onClose` is called exactly once, on a later turn for `end`/`destroy` (as a socket's 'close'),
 *   at once for `peerClose` (the test calls it from the top of the stack, as a socket event would).
 */
import { type Logger, pino } from 'pino';
import { Decoder, type Packet, type ProtocolVersion } from '../../src/codec/index.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/validate.js';
import { BrokerCore } from '../../src/core/broker.js';
import type { Hooks } from '../../src/core/hooks.js';
import type { Link, LinkHandler, LinkInfo } from '../../src/core/link.js';

let nextPort = 1;

export interface MemoryLinkOptions {
  /** Bytes held for a stalled peer above which the link is congested (default 0: any byte held). */
  highWater?: number;
  /** Protocol level the broker's output is decoded at until `clientVersion` is changed (default 4). */
  clientVersion?: ProtocolVersion;
  /** The user name a TLS client certificate would vouch for (LinkInfo.certificateUsername). */
  certificateUsername?: string;
}

/** Size of the packet whose fixed header starts `bytes` (-1 when the header is cut or invalid). */
function frameSize(bytes: Buffer): number {
  let remaining = 0;
  for (let i = 1; i <= 4; i++) {
    if (i >= bytes.length) return -1;
    const b = bytes[i]!;
    remaining += (b & 0x7f) * 128 ** (i - 1);
    if ((b & 0x80) === 0) return 1 + i + remaining;
  }
  return -1;
}

export class MemoryLink implements Link {
  readonly info: LinkInfo;
  readonly highWater: number;
  /** Everything the peer has taken from the broker, in write order. */
  readonly output: Buffer[] = [];
  /** Bytes the broker wrote after end() or after the link closed (dropped, as a socket link does). */
  droppedWrites = 0;
  /** Writes that were not exactly one whole MQTT packet (the contract WebSocket framing relies on). */
  readonly framingErrors: string[] = [];
  /** The reason code given to end(), if it was called. */
  endReason: number | undefined;
  /** Times the core called pause() / resume(), for tests that check flow control. */
  pauses = 0;
  resumes = 0;
  private handler: LinkHandler | undefined;
  private isClosed = false;
  private closeScheduled = false;
  private ending = false;
  private destroyed = false;
  private paused = false;
  private stalled = false;
  private sawCongested = false;
  private readonly inbox: Buffer[] = [];
  private resumeScheduled = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readCursor = 0;
  private readonly decoder = new Decoder({ maxPacketSize: 268_435_460 });

  constructor(options: MemoryLinkOptions = {}) {
    const port = nextPort++;
    this.info = {
      transport: 'tcp',
      remoteAddress: '127.0.0.1',
      remotePort: port,
      listener: 'memory',
      certificateUsername: options.certificateUsername,
    };
    this.highWater = options.highWater ?? 0;
    this.decoder.protocolVersion = options.clientVersion ?? 4;
  }

  // ---- the Link, as the core sees it ----

  attach(handler: LinkHandler): void {
    if (this.handler !== undefined) throw new Error('MemoryLink attached twice');
    this.handler = handler;
    if (this.isClosed) handler.onClose(undefined);
    else this.scheduleInbox();
  }

  write(packet: Buffer, rest?: Buffer): void {
    const size = packet.length + (rest?.length ?? 0);
    const framed = frameSize(packet);
    if (framed !== size) {
      this.framingErrors.push(
        `write of ${size} bytes is not one packet (its header says ${framed}): ${packet.subarray(0, 8).toString('hex')}`,
      );
    }
    if (this.isClosed || this.ending || this.destroyed) {
      this.droppedWrites += size;
      return;
    }
    const chunks = rest === undefined ? [packet] : [packet, rest];
    if (this.stalled) {
      this.held.push(...chunks);
      this.heldBytes += size;
      if (this.congested) this.sawCongested = true;
    } else {
      this.output.push(...chunks);
    }
  }

  get bufferedBytes(): number {
    return this.heldBytes;
  }

  get congested(): boolean {
    return this.heldBytes > this.highWater;
  }

  pause(): void {
    this.pauses++;
    this.paused = true;
  }

  resume(): void {
    this.resumes++;
    this.paused = false;
    if (!this.isClosed) this.scheduleInbox();
  }

  end(reasonCode = 0): void {
    if (this.isClosed || this.ending || this.destroyed) return;
    this.ending = true;
    this.endReason = reasonCode;
    if (this.heldBytes === 0) this.closeSoon();
  }

  destroy(): void {
    if (this.isClosed || this.destroyed) return;
    this.destroyed = true;
    this.held = [];
    this.heldBytes = 0;
    this.closeSoon();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True from the moment the core called end() or destroy(), or the peer closed. */
  get closing(): boolean {
    return this.isClosed || this.ending || this.destroyed;
  }

  // ---- the peer, as the test drives it ----

  /**
   * The client sends `bytes`; false when the link is closed or destroyed (they are dropped). After
   * `end` they still arrive until the close, as on a half-closed socket.
   */
  deliver(bytes: Buffer): boolean {
    if (this.isClosed || this.destroyed) return false;
    if (this.handler === undefined || this.paused || this.inbox.length > 0) {
      this.inbox.push(bytes);
      return true;
    }
    this.handler.onData(bytes);
    return true;
  }

  /** Bytes sent by the client and not yet handed to the broker (it paused the link). */
  get inboxBytes(): number {
    let n = 0;
    for (const chunk of this.inbox) n += chunk.length;
    return n;
  }

  /** The client stops reading: writes are held from now on. */
  stall(): void {
    this.stalled = true;
  }

  /** The client reads again and takes everything held; onDrain if the link was seen congested. */
  drain(): void {
    this.stalled = false;
    if (this.heldBytes > 0) {
      for (const chunk of this.held) this.output.push(chunk);
      this.held = [];
      this.heldBytes = 0;
    }
    if (this.ending) this.closeSoon();
    if (this.sawCongested && !this.isClosed && !this.destroyed) {
      this.sawCongested = false;
      this.handler?.onDrain();
    }
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  /** The client goes away (or the network fails): onClose at once, unless already closed. */
  peerClose(): void {
    this.finishClose();
  }

  /** Protocol level to decode the broker's output at (the level of the client's CONNECT). */
  set clientVersion(version: ProtocolVersion) {
    this.decoder.protocolVersion = version;
  }

  get clientVersion(): ProtocolVersion {
    return this.decoder.protocolVersion;
  }

  /** Every byte the peer has taken so far. */
  get written(): Buffer {
    return Buffer.concat(this.output);
  }

  /**
   * The packets the broker wrote since the last call, decoded at `clientVersion`. Throws the
   * decoder's CodecError if the broker wrote bytes that are not MQTT (the reader is then dead).
   */
  read(): Packet[] {
    const packets: Packet[] = [];
    while (this.readCursor < this.output.length) this.decoder.push(this.output[this.readCursor++]!);
    for (let packet = this.decoder.next(); packet !== null; packet = this.decoder.next())
      packets.push(packet);
    return packets;
  }

  /** Bytes of a partial packet the reader holds: a link closed with this above 0 ended mid-packet. */
  get partialBytes(): number {
    return this.decoder.buffered;
  }

  private scheduleInbox(): void {
    if (this.resumeScheduled || this.inbox.length === 0) return;
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      while (this.inbox.length > 0 && !this.paused && !this.isClosed && !this.destroyed && this.handler) {
        this.handler.onData(this.inbox.shift()!);
      }
    });
  }

  private closeSoon(): void {
    if (this.closeScheduled || this.isClosed) return;
    this.closeScheduled = true;
    setImmediate(() => this.finishClose());
  }

  /** `closed` turns true just before onClose, as a socket link's does: the two are never seen apart. */
  private finishClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.inbox.length = 0;
    this.held = [];
    this.heldBytes = 0;
    this.handler?.onClose(undefined);
  }
}

// ---- a core whose log is watched ----

/** The message Connection logs when a handler throws: a bug in midge. */
export const INTERNAL_ERROR_MSG = 'internal error while handling a packet';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A pino logger whose records are kept (from `level` up) instead of printed. `problems` are the
 * records that mean a bug: error level and above, and the internal-error line whatever its level.
 */
export class LogCapture {
  readonly records: LogRecord[] = [];
  readonly logger: Logger;

  constructor(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' = 'warn') {
    this.logger = pino(
      { level, base: undefined },
      {
        write: (line: string) => {
          this.records.push(JSON.parse(line) as LogRecord);
        },
      },
    );
  }

  get problems(): LogRecord[] {
    return this.records.filter((r) => r.level >= 50 || r.msg === INTERNAL_ERROR_MSG);
  }

  clear(): void {
    this.records.length = 0;
  }
}

export interface MemoryBroker {
  core: BrokerCore;
  log: LogCapture;
  /** Default maxPacketSize for `connect`. */
  maxPacketSize: number;
  /** A new link accepted by the core (as a listener would), attached and ready for `deliver`. */
  connect(options?: MemoryLinkOptions & { maxPacketSize?: number }): MemoryLink;
  close(): Promise<void>;
}

/** A BrokerCore on in-memory links, with $SYS off unless asked for and the log captured. */
export function memoryBroker(input: ConfigInput = {}, hooks: Hooks = {}): MemoryBroker {
  const config = resolveConfig({ sysInterval: 0, ...input });
  const log = new LogCapture();
  const core = new BrokerCore(config, log.logger, hooks);
  const broker: MemoryBroker = {
    core,
    log,
    maxPacketSize: config.maxPacketSize,
    connect(options = {}) {
      const link = new MemoryLink(options);
      core.accept(link, { maxPacketSize: options.maxPacketSize ?? broker.maxPacketSize });
      return link;
    },
    close: () => core.close(),
  };
  return broker;
}
