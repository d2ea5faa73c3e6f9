/** A Link over a Node stream socket: net.Socket (tcp) or tls.TLSSocket (tls). */
import type { Socket } from 'node:net';
import type { LinkInfo } from '../core/link.js';
import { BufferedLink, ignore, LINK, type Linked, onTransportDrain, writeGathered } from './buffered-link.js';

/** Listeners shared by every socket (see LINK), not closures per socket. */
type LinkedSocket = Linked<Socket, SocketLink>;

function onSocketData(this: LinkedSocket, chunk: Buffer): void {
  this[LINK].received(chunk);
}

function onSocketClose(this: LinkedSocket): void {
  this[LINK].socketClosed();
}

export class SocketLink extends BufferedLink {
  private readonly socket: Socket;

  /** `head` holds bytes already read from the socket (after a PROXY header) that belong to MQTT. */
  constructor(socket: Socket, info: LinkInfo, head?: Buffer) {
    super(info);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.pause();
    (socket as LinkedSocket)[LINK] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onTransportDrain);
    // 'close' follows an error; the cause is reported there.
    socket.on('error', ignore);
    socket.on('close', onSocketClose);
    if (head !== undefined && head.length > 0) this.head = head;
  }

  private head: Buffer | undefined;

  received(chunk: Buffer): void {
    this.handler?.onData(chunk);
  }

  socketClosed(): void {
    this.closedByTransport();
  }

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
