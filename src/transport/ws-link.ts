/**
 * Links over a WebSocket (ws, wss), after the `ws` library did the upgrade (websocket.ts).
 *
 * Without an extension (every MQTT client in practice), WsLink owns the socket: inbound, FrameReader
 * (ws-frames.ts) parses the client's frames in the chunks the socket delivers and the payload bytes of
 * binary messages go to the decoder as a stream (MQTT packets may be split across frames and frames
 * may hold several packets), with no Receiver stream, no copy and no event per message; outbound,
 * server frames are unmasked, so midge writes its binary frames straight to the socket, all of a turn's
 * in one system call — either one frame per MQTT packet ('one', what every known client accepts) or one
 * frame for the turn's packets ('many'). WsLink answers pings, keeps the close handshake (RFC 6455
 * §7: our close frame, then the socket ended once the peer's close frame or FIN arrives, destroyed
 * after 2 s at the latest) and closes on protocol errors with the reader's close code.
 *
 * With permessage-deflate, frames must be (de)compressed: DeflateWsLink (ws-deflate-link.ts) leaves the
 * whole connection to `ws`. A text frame closes the connection with 1003 on both.
 */
import type { Socket } from 'node:net';
import type { LinkInfo } from '../core/link.js';
import { BufferedLink, ignore, LINK, type Linked, onTransportDrain, writeGathered } from './buffered-link.js';
import { FrameReader, type FrameSink } from './ws-frames.js';

export interface WsLinkOptions {
  packetsPerFrame: 'one' | 'many';
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

/** Writes a turn's packets to the socket as unmasked binary frames (see the top of this file). */
function transmitFrames(
  socket: Socket,
  parts: Buffer[],
  bytes: number,
  sizes: number[],
  many: boolean,
): void {
  if (many) {
    const header = frameHeader(bytes);
    parts.unshift(header);
    writeGathered(socket, parts, bytes + header.length);
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
    socket.write(out);
    return;
  }
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

/** Listeners shared by every socket (see LINK), not closures per connection. */
function onSocketData(this: Linked<Socket, WsLink>, chunk: Buffer): void {
  this[LINK].received(chunk);
}

function onSocketEnd(this: Linked<Socket, WsLink>): void {
  this[LINK].socketEnded();
}

function onSocketClose(this: Linked<Socket, WsLink>): void {
  this[LINK].socketClosed();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** How long the close handshake may take once our close frame is out (as BufferedLink.end allows). */
const CLOSE_TIMEOUT = 2000;

/** A close frame (unmasked, final) with a status code. */
function closeFrame(code: number): Buffer {
  return Buffer.from([0x88, 2, code >>> 8, code & 0xff]);
}

/**
 * A WebSocket connection without extensions, on its socket alone: no ws object is kept.
 *
 * Reading: socket chunks go through `pump`, which hands them to the FrameReader while the link is not
 * paused; a chunk the reader stopped in (the handler paused the link) is kept with its offset, and any
 * chunk that still arrives is queued behind it, so nothing is lost or reordered; the socket itself is
 * paused meanwhile. Once our close frame is out (our close, the peer's, or a protocol error) nothing is
 * handed over or sent any more, and the socket is read on only to see the peer's close frame or FIN.
 * 'close' of the socket is the one place the link reports closed.
 */
export class WsLink extends BufferedLink implements FrameSink {
  private readonly reader: FrameReader;
  /** The chunk being read (or held while paused), from `offset` on. */
  private input: Buffer | undefined;
  private offset = 0;
  /** Chunks that arrived while `input` was held. */
  private queue: Buffer[] | undefined;
  private paused = true;
  private reading = false;
  /** Our close frame was written: no more data goes either way. */
  private closeSent = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly many: boolean;

  /**
   * `head`: bytes read with the upgrade request that are already WebSocket frames. `maxPayload`: the
   * longest message accepted (the listener's maximum packet size).
   */
  constructor(
    private readonly socket: Socket,
    head: Buffer,
    info: LinkInfo,
    options: WsLinkOptions,
    maxPayload: number,
  ) {
    super(info);
    this.many = options.packetsPerFrame === 'many';
    this.reader = new FrameReader(maxPayload);
    if (head.length > 0) this.input = head;
    // What ws's setSocket does to the socket of an upgraded request.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.pause();
    (socket as Linked<Socket, WsLink>)[LINK] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('drain', onTransportDrain);
    // 'close' follows an error; the upgrade attached this already, once is enough.
    socket.removeListener('error', ignore);
    socket.on('error', ignore);
  }

  received(chunk: Buffer): void {
    if (this.input === undefined) {
      this.input = chunk;
      this.offset = 0;
    } else if (this.queue === undefined) {
      this.queue = [chunk];
    } else {
      this.queue.push(chunk);
    }
    this.pump();
  }

  /** Reads what was received while not paused. Not reentrant: a resume() from a handler returns here. */
  private pump(): void {
    if (this.reading) return;
    this.reading = true;
    try {
      while (!this.paused) {
        const chunk = this.input;
        if (chunk === undefined) break;
        const stopped = this.reader.read(chunk, this.offset, this);
        if (stopped < chunk.length) {
          this.offset = stopped;
          continue; // the handler paused the link (or resumed it again at once)
        }
        const queue = this.queue;
        this.input = queue?.shift();
        this.offset = 0;
        if (queue !== undefined && queue.length === 0) this.queue = undefined;
      }
    } finally {
      this.reading = false;
    }
  }

  frameData(bytes: Buffer): boolean {
    if (this.closeSent || this.closed) return true; // read on, for the peer's close frame
    this.handler?.onData(bytes);
    return !this.paused;
  }

  framePing(payload: Buffer): void {
    if (this.closeSent || !this.socket.writable) return;
    const pong = Buffer.allocUnsafe(2 + payload.length);
    pong[0] = 0x8a; // FIN, opcode pong
    pong[1] = payload.length; // ≤ 125
    payload.copy(pong, 2);
    this.socket.write(pong);
  }

  frameClose(code: number): void {
    // The peer's close frame: ours in answer (unless it is the answer to ours), then the end.
    if (!this.closeSent) this.sendClose(code === 1005 ? 1000 : code);
    this.socket.end();
  }

  frameError(code: number): void {
    if (!this.closeSent) this.sendClose(code);
    this.socket.end();
  }

  socketEnded(): void {
    // The peer's FIN (the server socket is half-open capable): end our side too, as ws does.
    this.socket.end();
  }

  socketClosed(): void {
    clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.input = undefined;
    this.queue = undefined;
    this.closedByTransport();
  }

  /** Writes our close frame; from then on the socket is only read for the peer's answer, for 2 s. */
  private sendClose(code: number): void {
    this.closeSent = true;
    const socket = this.socket;
    if (socket.writable) socket.write(closeFrame(code));
    if (this.closeTimer === undefined && !socket.destroyed) {
      this.closeTimer = setTimeout(destroySocket, CLOSE_TIMEOUT, socket).unref();
    }
    this.paused = false;
    socket.resume();
  }

  protected start(): void {
    this.paused = false;
    this.pump();
    if (!this.paused && !this.closed) this.socket.resume();
  }

  protected transportBuffered(): number {
    return this.socket.writableLength;
  }

  protected transmit(parts: Buffer[], bytes: number, sizes: number[]): void {
    if (this.closeSent) return; // nothing may follow a close frame
    transmitFrames(this.socket, parts, bytes, sizes, this.many);
  }

  pause(): void {
    if (this.closeSent) return;
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (this.closed) return;
    this.paused = false;
    this.pump();
    if (!this.paused) this.socket.resume();
  }

  protected close(reasonCode: number): void {
    if (!this.closeSent) this.sendClose(closeCode(reasonCode));
    // The reader may be done already (a close or an error), or the peer answers with its close frame.
    if (this.reader.done) this.socket.end();
    else this.pump();
  }

  protected kill(): void {
    this.socket.destroy();
  }
}
