/**
 * A WebSocket connection with permessage-deflate (ws-link.ts has the link for every other one): frames
 * must be (de)compressed, so everything goes through `ws` — ws.send out, 'message' events in — which
 * also keeps the protocol's edge cases and the close handshake (closeTimeout 2 s, set in websocket.ts).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { LinkInfo } from '../core/link.js';
import { BufferedLink, ignore, LINK, type Linked, onTransportDrain } from './buffered-link.js';
import { closeCode, type WsLinkOptions } from './ws-link.js';

/** Listeners shared by every WebSocket (see LINK), not closures per connection. */
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as Linked<WebSocket, DeflateWsLink>)[LINK].received(data, isBinary);
}

function onWsClose(this: WebSocket): void {
  (this as Linked<WebSocket, DeflateWsLink>)[LINK].wsClosed();
}

export class DeflateWsLink extends BufferedLink {
  constructor(
    private readonly ws: WebSocket,
    socket: Socket,
    info: LinkInfo,
    private readonly options: WsLinkOptions,
  ) {
    super(info);
    ws.pause();
    (ws as Linked<WebSocket, DeflateWsLink>)[LINK] = this;
    (socket as Linked<Socket, DeflateWsLink>)[LINK] = this;
    ws.on('message', onMessage);
    ws.on('close', onWsClose);
    ws.on('error', ignore); // 'close' follows
    socket.on('drain', onTransportDrain);
  }

  received(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      // MQTT over WebSocket is binary frames only (MQTT 5.0 §6.0).
      this.ws.close(1003, 'MQTT needs binary frames');
      return;
    }
    this.handler?.onData(data);
  }

  wsClosed(): void {
    this.closedByTransport();
  }

  protected start(): void {
    this.ws.resume();
  }

  protected transportBuffered(): number {
    return this.ws.bufferedAmount;
  }

  protected transmit(parts: Buffer[], bytes: number, sizes: number[]): void {
    if (this.options.packetsPerFrame === 'many') {
      this.ws.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
      return;
    }
    let part = 0;
    for (const size of sizes) {
      const first = parts[part++]!;
      if (first.length === size) {
        this.ws.send(first);
      } else {
        const second = parts[part++]!;
        this.ws.send(Buffer.concat([first, second], size));
      }
    }
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    if (!this.closed) this.ws.resume();
  }

  protected close(reasonCode: number): void {
    this.ws.close(closeCode(reasonCode));
  }

  protected kill(): void {
    this.ws.terminate();
  }
}
