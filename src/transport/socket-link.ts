/**
 * A Link over a Node stream socket (net.Socket or tls.TLSSocket).
 *
 * Writes are gathered per turn (see flush.ts): small batches are joined into one Buffer (cheaper
 * than writev for many tiny packets), large ones go out corked as one writev without copying.
 */
import type { Socket } from 'node:net';
import type { Link, LinkHandler, LinkInfo } from '../core/link.js';
import { type Flushable, scheduleFlush } from './flush.js';

/**
 * Bytes waiting for one client beyond which the link counts as congested (and publishers feeding it
 * are held back). Well above the socket's own 16 KiB mark so that a busy but healthy subscriber takes
 * large batches per turn instead of pausing its publishers every turn.
 */
const HIGH_WATER = 256 * 1024;
/** Batches of small chunks (on average below this) are joined into one Buffer; others go corked. */
const JOIN_CHUNK = 2048;

export class SocketLink implements Link, Flushable {
  readonly info: LinkInfo;
  closed = false;
  private readonly socket: Socket;
  private handler: LinkHandler | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private dirty = false;
  private waitingDrain = false;
  private ending = false;
  private held: Buffer[] | undefined = [];

  constructor(socket: Socket, info: LinkInfo) {
    this.socket = socket;
    this.info = info;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.handler) this.handler.onData(chunk);
      else this.held?.push(chunk);
    });
    socket.on('drain', () => {
      if (this.waitingDrain && !this.congested) {
        this.waitingDrain = false;
        this.handler?.onDrain();
      }
    });
    socket.on('error', () => {
      // 'close' follows; the cause is reported there.
    });
    socket.on('close', () => this.onSocketClose());
    // Read nothing until the core attaches, so no byte is lost or processed early.
    socket.pause();
  }

  attach(handler: LinkHandler): void {
    this.handler = handler;
    const held = this.held;
    this.held = undefined;
    if (held) for (const chunk of held) handler.onData(chunk);
    if (this.closed) handler.onClose(undefined);
    else this.socket.resume();
  }

  get bufferedBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  get congested(): boolean {
    return this.bufferedBytes > HIGH_WATER;
  }

  write(chunk: Buffer): void {
    if (this.closed || this.ending) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (!this.dirty) {
      this.dirty = true;
      scheduleFlush(this);
    }
    if (!this.waitingDrain && this.congested) this.waitingDrain = true;
  }

  flush(): void {
    this.dirty = false;
    if (this.closed || this.pending.length === 0) return;
    const pending = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const socket = this.socket;
    if (pending.length === 1) {
      socket.write(pending[0]!);
    } else if (bytes < JOIN_CHUNK * pending.length) {
      socket.write(Buffer.concat(pending, bytes));
    } else {
      socket.cork();
      for (const chunk of pending) socket.write(chunk);
      socket.uncork();
    }
    if (this.waitingDrain && !this.congested) {
      // The kernel took everything at once: no 'drain' will come, so report it here.
      this.waitingDrain = false;
      this.handler?.onDrain();
    }
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.flush();
    this.ending = true;
    this.socket.end();
    // A peer that never reads would hold the socket open forever: bound the graceful close.
    setTimeout(() => this.destroy(), 2000).unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.handler?.onClose(undefined);
  }
}
