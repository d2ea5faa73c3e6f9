/**
 * What every stream transport shares: the Link's write side, gathered per event-loop turn (see
 * flush.ts) and handed to the subclass in one call, with backpressure measured in bytes.
 *
 * Invariants: `pendingBytes` counts what `write` accepted and `flush` has not yet handed over;
 * `onDrain` is reported once after `congested` was seen true and the bytes fell back below the mark;
 * `onClose` is reported exactly once.
 */
import type { Link, LinkHandler, LinkInfo } from '../core/link.js';
import { type Flushable, scheduleFlush } from './flush.js';

/**
 * Bytes waiting for one client beyond which the link counts as congested (and publishers feeding it
 * are held back). Well above a socket's own 16 KiB mark so that a busy but healthy subscriber takes
 * large batches per turn instead of pausing its publishers every turn.
 */
export const HIGH_WATER = 256 * 1024;

export abstract class BufferedLink implements Link, Flushable {
  readonly info: LinkInfo;
  closed = false;
  protected handler: LinkHandler | undefined;
  protected ending = false;
  private pending: Buffer[] = [];
  /** Byte length of each queued packet, for transports that frame packets one by one. */
  private sizes: number[] = [];
  private pendingBytes = 0;
  private dirty = false;
  private waitingDrain = false;

  constructor(info: LinkInfo) {
    this.info = info;
  }

  /** Bytes handed to the transport and not yet taken by the kernel. */
  protected abstract transportBuffered(): number;
  /** Sends a turn's packets: `parts` in order, `sizes[i]` the byte length of packet i. */
  protected abstract transmit(parts: Buffer[], bytes: number, sizes: number[]): void;
  /** Starts the flow of data events into the handler. */
  protected abstract start(): void;
  /** Closes gracefully after what was transmitted. */
  protected abstract close(reasonCode: number): void;
  /** Closes at once. */
  protected abstract kill(): void;
  abstract pause(): void;
  abstract resume(): void;

  attach(handler: LinkHandler): void {
    this.handler = handler;
    if (this.closed) handler.onClose(undefined);
    else this.start();
  }

  get bufferedBytes(): number {
    return this.pendingBytes + this.transportBuffered();
  }

  get congested(): boolean {
    return this.bufferedBytes > HIGH_WATER;
  }

  write(packet: Buffer, rest?: Buffer): void {
    if (this.closed || this.ending) return;
    this.pending.push(packet);
    let size = packet.length;
    if (rest !== undefined) {
      this.pending.push(rest);
      size += rest.length;
    }
    this.sizes.push(size);
    this.pendingBytes += size;
    if (!this.dirty) {
      this.dirty = true;
      scheduleFlush(this);
    }
    if (!this.waitingDrain && this.congested) this.waitingDrain = true;
  }

  flush(): void {
    this.dirty = false;
    if (this.closed || this.pending.length === 0) return;
    const parts = this.pending;
    const sizes = this.sizes;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.sizes = [];
    this.pendingBytes = 0;
    this.transmit(parts, bytes, sizes);
    // The kernel may have taken everything at once, in which case no 'drain' comes.
    this.drained();
  }

  /**
   * The transport's buffer emptied (or a flush went straight through): report a drain if due. Public
   * for the transports' shared 'drain' listener (onTransportDrain).
   */
  drained(): void {
    if (this.waitingDrain && !this.congested) {
      this.waitingDrain = false;
      this.handler?.onDrain();
    }
  }

  end(reasonCode = 0): void {
    if (this.closed || this.ending) return;
    this.flush();
    this.ending = true;
    this.close(reasonCode);
    // A peer that never reads would hold the connection open forever: bound the graceful close.
    setTimeout(() => this.destroy(), 2000).unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.pending = [];
    this.sizes = [];
    this.pendingBytes = 0;
    this.kill();
  }

  /** The transport closed, for whatever reason. */
  protected closedByTransport(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.sizes = [];
    this.pendingBytes = 0;
    this.handler?.onClose(undefined);
  }
}

/**
 * The link an emitter (a socket, a ws WebSocket) feeds. The transports attach module-level listeners
 * that find their link under this key, so no socket holds a closure per event.
 */
export const LINK = Symbol('midge.link');
export type Linked<T, L extends BufferedLink> = T & { [LINK]: L };

/** 'drain' of the socket a link writes to (its LINK set first). */
export function onTransportDrain(this: NodeJS.EventEmitter): void {
  (this as Linked<NodeJS.EventEmitter, BufferedLink>)[LINK].drained();
}

/** An 'error' listener that does nothing ('close' follows and reports it), shared so no socket holds a closure. */
export function ignore(): void {}

/** Small chunks (on average below this) are joined into one Buffer; larger ones go corked. */
const JOIN_CHUNK = 2048;

/** Writes `parts` to a stream socket in one system call: joined when small, corked (writev) when not. */
export function writeGathered(
  socket: NodeJS.WritableStream & { cork(): void; uncork(): void },
  parts: Buffer[],
  bytes: number,
): void {
  if (parts.length === 1) {
    socket.write(parts[0]!);
  } else if (bytes < JOIN_CHUNK * parts.length) {
    socket.write(Buffer.concat(parts, bytes));
  } else {
    socket.cork();
    for (const part of parts) socket.write(part);
    socket.uncork();
  }
}
