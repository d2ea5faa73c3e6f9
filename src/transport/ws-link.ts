/**
 * A Link over a WebSocket (ws, wss). The `ws` library does the upgrade, the frame parser and the
 * protocol edge cases (masking, fragmentation, control frames, close handshake, maxPayload); the hot
 * write path bypasses it: server frames are unmasked, so midge writes its binary frames straight to the
 * socket, all of a turn's in one system call — either one frame per MQTT packet ('one', what every
 * known client accepts) or one frame for the turn's packets ('many'). With permessage-deflate the
 * frames must be compressed, so they go through `ws.send` instead.
 *
 * Inbound, MQTT packets may be split across frames and frames may hold several packets: the bytes of
 * binary messages go to the decoder as a stream. A text frame closes the connection with 1003.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { LinkInfo } from '../core/link.js';
import { BufferedLink, ignore, writeGathered } from './buffered-link.js';

export interface WsLinkOptions {
  packetsPerFrame: 'one' | 'many';
  /** permessage-deflate was negotiated: frames go through ws.send. */
  compressed: boolean;
}

/** WebSocket close code for an MQTT 5 reason code (RFC 6455 §7.4.1). */
export function closeCode(reasonCode: number): number {
  if (reasonCode < 0x80) return 1000; // normal
  switch (reasonCode) {
    case 0x81: // malformed
    case 0x82: // protocol error
    case 0x84: // unsupported protocol version
    case 0x90: // topic name invalid
    case 0x93: // receive maximum exceeded
    case 0x94: // topic alias invalid
      return 1002; // protocol error
    case 0x95:
      return 1009; // message too big
    case 0x8b:
      return 1001; // going away
    case 0x86:
    case 0x87:
    case 0x8a:
    case 0x8c:
      return 1008; // policy violation
    case 0x89:
    case 0x97:
      return 1013; // try again later
    default:
      return 1000;
  }
}

/** The header of an unmasked, final, binary frame of `length` bytes. */
function frameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, length]);
  if (length < 65536) return Buffer.from([0x82, 126, length >>> 8, length & 0xff]);
  const header = Buffer.allocUnsafe(10);
  header[0] = 0x82;
  header[1] = 127;
  header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  header.writeUInt32BE(length >>> 0, 6);
  return header;
}

/** Writes that header into `out` at `offset`, allocating nothing; returns the offset after it. */
function writeHeader(out: Buffer, offset: number, length: number): number {
  out[offset] = 0x82;
  if (length < 126) {
    out[offset + 1] = length;
    return offset + 2;
  }
  if (length < 65536) {
    out[offset + 1] = 126;
    out[offset + 2] = length >>> 8;
    out[offset + 3] = length & 0xff;
    return offset + 4;
  }
  out[offset + 1] = 127;
  out.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
  out.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** The link a WebSocket (and its socket) feeds: shared listeners, no closures per connection. */
const LINK = Symbol('midge.link');
type Linked<T> = T & { [LINK]: WsLink };

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as Linked<WebSocket>)[LINK].received(data, isBinary);
}

function onWsClose(this: WebSocket): void {
  (this as Linked<WebSocket>)[LINK].wsClosed();
}

function onSocketDrain(this: Linked<Socket>): void {
  this[LINK].socketDrained();
}

export class WsLink extends BufferedLink {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    info: LinkInfo,
    private readonly options: WsLinkOptions,
  ) {
    super(info);
    ws.pause();
    (ws as Linked<WebSocket>)[LINK] = this;
    (socket as Linked<Socket>)[LINK] = this;
    ws.on('message', onMessage);
    ws.on('close', onWsClose);
    ws.on('error', ignore); // 'close' follows
    socket.on('drain', onSocketDrain);
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

  socketDrained(): void {
    this.drained();
  }

  protected start(): void {
    this.ws.resume();
  }

  protected transportBuffered(): number {
    return this.options.compressed ? this.ws.bufferedAmount : this.socket.writableLength;
  }

  protected transmit(parts: Buffer[], bytes: number, sizes: number[]): void {
    const many = this.options.packetsPerFrame === 'many';
    if (this.options.compressed) {
      if (many) this.ws.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
      else this.sendEach(parts, sizes);
      return;
    }
    if (many) {
      const header = frameHeader(bytes);
      parts.unshift(header);
      writeGathered(this.socket, parts, bytes + header.length);
      return;
    }
    let framed = bytes;
    for (const size of sizes) framed += headerLength(size);
    if (framed < 2048 * parts.length) {
      // Small packets: headers and packets copied into one Buffer, one write. The hot path of a
      // fan-out to WebSocket subscribers: no Buffer per header, TypedArray.set for the copies.
      const out = Buffer.allocUnsafe(framed);
      let offset = 0;
      let part = 0;
      for (const size of sizes) {
        offset = writeHeader(out, offset, size);
        let left = size;
        while (left > 0) {
          const chunk = parts[part++]!;
          out.set(chunk, offset);
          offset += chunk.length;
          left -= chunk.length;
        }
      }
      this.socket.write(out);
      return;
    }
    const socket = this.socket;
    socket.cork();
    let part = 0;
    for (const size of sizes) {
      socket.write(frameHeader(size));
      let left = size;
      while (left > 0) {
        const chunk = parts[part++]!;
        socket.write(chunk);
        left -= chunk.length;
      }
    }
    socket.uncork();
  }

  private sendEach(parts: Buffer[], sizes: number[]): void {
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
