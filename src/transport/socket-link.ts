/** A Link over a Node stream socket: net.Socket (tcp) or tls.TLSSocket (tls). */
import type { Socket } from 'node:net';
import type { LinkInfo } from '../core/link.js';
import { BufferedLink, writeGathered } from './buffered-link.js';

export class SocketLink extends BufferedLink {
  private readonly socket: Socket;

  /** `head` holds bytes already read from the socket (after a PROXY header) that belong to MQTT. */
  constructor(socket: Socket, info: LinkInfo, head?: Buffer) {
    super(info);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.pause();
    socket.on('data', (chunk: Buffer) => this.handler?.onData(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', () => {
      // 'close' follows; the cause is reported there.
    });
    socket.on('close', () => this.closedByTransport());
    if (head !== undefined && head.length > 0) this.head = head;
  }

  private head: Buffer | undefined;

  protected start(): void {
    const head = this.head;
    this.head = undefined;
    if (head !== undefined) this.handler?.onData(head);
    if (!this.closed) this.socket.resume();
  }

  protected transportBuffered(): number {
    return this.socket.writableLength;
  }

  protected transmit(parts: Buffer[], bytes: number): void {
    writeGathered(this.socket, parts, bytes);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  protected close(): void {
    this.socket.end();
  }

  protected kill(): void {
    this.socket.destroy();
  }
}
