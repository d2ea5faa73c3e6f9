/**
 * Reads the frames a WebSocket client sends (RFC 6455 §5), in place, for a connection without
 * extensions: pure parse state, no sockets. The link (ws-link.ts) feeds it socket chunks and answers
 * what it reports through a FrameSink.
 *
 * MQTT is a byte stream, so a binary message is not reassembled: the payload bytes of binary frames
 * and their continuations go to the sink as they arrive, unmasked in place in the chunk the socket
 * delivered (the chunk is ours), a frame's payload in as many pieces as TCP cut it into; the payloads
 * of the data frames that follow one another in a chunk are moved together over the headers between
 * them and go over as one piece. Nothing is allocated per frame but that view (and, for payloads of
 * 128 bytes or more, the view bufferutil's native unmask needs); a header split across chunks or a
 * control frame's payload split across chunks (both rare) is gathered in a small buffer of its own.
 *
 * Protocol errors, reported once with the close code to answer with, after which the reader reads
 * nothing more: RSV bits set (no extension is negotiated), an unknown opcode, an unmasked frame, a
 * continuation with nothing to continue or a new message inside a fragmented one, a fragmented or
 * over-long (> 125 bytes) control frame, a close frame of 1 byte or with an invalid code, a 64-bit
 * length with its top bit set: 1002. A text frame: 1003 (MQTT is binary frames only, MQTT 5.0 §6.0).
 * A close reason that is not UTF-8: 1007. A frame, or a fragmented message in total, longer than
 * maxPayload (as ws counts it): 1009, decided from the header alone.
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';

type Unmask = (buffer: Buffer, mask: Buffer) => void;

function unmaskLoop(buffer: Buffer, mask: Buffer): void {
  const length = buffer.length;
  for (let i = 0; i < length; i++) buffer[i] = buffer[i]! ^ mask[i & 3]!;
}

/** bufferutil's native unmask (a dependency, as for ws), or the loop if it cannot be loaded. */
const nativeUnmask: Unmask = (() => {
  try {
    return (createRequire(import.meta.url)('bufferutil') as { unmask: Unmask }).unmask;
  } catch {
    return unmaskLoop;
  }
})();

/**
 * Below this many bytes the JS loop beats the call into native code and the view it needs (measured on
 * Node 20: the loop is ahead up to about 128 bytes, an MQTT packet's usual size; ws switches at 32).
 */
const NATIVE_FROM = 128;

/**
 * Payloads up to this long are moved to join the data before them (see `read`); longer ones are
 * handed over on their own, so that no chunk's bytes are moved twice at length.
 */
const MOVE_UP_TO = 4096;

/**
 * The masking key of the piece being unmasked, rotated so that the piece's first byte uses byte 0:
 * one Buffer for every reader (unmasking is synchronous), so a reader keeps its key as a number.
 */
const MASK = Buffer.alloc(4);

const EMPTY = Buffer.alloc(0);

const HEADER = 0;
const PAYLOAD = 1;
const DONE = 2;

/** The longest frame header: 2 bytes, a 64-bit extended length, the masking key. */
const MAX_HEADER = 14;

export interface FrameSink {
  /**
   * Payload bytes of a binary message, unmasked: a view into the chunk, the sink's to keep. Returns
   * false to stop reading after them (the reader's `read` then returns where it stopped).
   */
  frameData(bytes: Buffer): boolean;
  /** A ping's payload (≤ 125 bytes, a view valid only during the call): answer with a pong. */
  framePing(payload: Buffer): void;
  /** A valid close frame with its code, 1005 when it had none. The reader reads nothing more. */
  frameClose(code: number): void;
  /** A protocol violation and the close code to answer with. The reader reads nothing more. */
  frameError(code: number, reason: string): void;
}

/** Status codes a peer may send in a close frame (RFC 6455 §7.4, as ws checks them). */
export function validCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** The length of a masked frame's header, from its second byte. */
function headerSize(second: number): number {
  const length = second & 0x7f;
  return (length === 126 ? 4 : length === 127 ? 10 : 2) + ((second & 0x80) !== 0 ? 4 : 0);
}

export class FrameReader {
  private state = HEADER;
  private opcode = 0;
  private fin = false;
  /** A binary message whose frames so far had FIN 0 is open: only continuations may follow. */
  private fragmented = false;
  /** Payload bytes of the open fragmented message so far (maxPayload bounds a message, as in ws). */
  private messageLength = 0;
  /** Payload bytes of the current frame not read yet. */
  private remaining = 0;
  /** The frame's masking key (big-endian), and the key byte the next payload byte starts at. */
  private mask = 0;
  private maskOffset = 0;
  /** The bytes of a header split across chunks. */
  private partial: Buffer | undefined;
  private partialLength = 0;
  /** The payload of a control frame split across chunks. */
  private control: Buffer | undefined;
  private controlLength = 0;
  /** A protocol error found, reported once what came before it was handed over (0: none). */
  private errorCode = 0;
  private errorReason = '';

  /** `maxPayload`: the longest message accepted, in bytes; 0 for no limit. */
  constructor(private readonly maxPayload: number) {}

  /** A close frame or a protocol error was reported: nothing more is read. */
  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Reads frames from `chunk[offset..]`. Returns `chunk.length`, or less when the sink's frameData
   * returned false: the offset to call again from (the bytes from there are untouched, still masked).
   *
   * The payloads of consecutive data frames in the chunk are moved together over the headers between
   * them (the bytes are ours, and were not handed over yet) and handed over in one piece: at the end of
   * the chunk, before a control frame, before a protocol error. The decoder then sees one chunk as it
   * does over TCP, instead of one call per frame.
   */
  read(chunk: Buffer, offset: number, sink: FrameSink): number {
    const end = chunk.length;
    let p = offset;
    // Unmasked payload bytes not handed over yet: chunk[runStart..runEnd), -1 when none.
    let runStart = -1;
    let runEnd = -1;
    while (p < end) {
      const state = this.state;
      if (state === PAYLOAD) {
        const remaining = this.remaining;
        const n = end - p < remaining ? end - p : remaining;
        if (this.opcode >= 8) {
          p = this.controlPayload(chunk, p, n, sink);
          continue;
        }
        if (runStart >= 0 && n > MOVE_UP_TO) {
          // Too long to move: what came before goes first, and a run starts again from here.
          const go = sink.frameData(chunk.subarray(runStart, runEnd));
          runStart = -1;
          if (!go) return p;
        }
        this.unmask(chunk, p, n);
        if (runStart < 0) {
          runStart = p;
          runEnd = p + n;
        } else {
          chunk.copyWithin(runEnd, p, p + n);
          runEnd += n;
        }
        p += n;
        this.remaining = remaining - n;
        if (remaining === n) this.state = HEADER;
      } else if (state === HEADER) {
        if (this.partialLength === 0 && end - p >= 2) {
          const first = chunk[p]!;
          if (runStart >= 0 && (first & 0x08) !== 0) {
            // A control frame (or an invalid opcode) next: the data before it goes first.
            const go = sink.frameData(chunk.subarray(runStart, runEnd));
            runStart = -1;
            if (!go) return p;
          }
          const second = chunk[p + 1]!;
          if (!this.info(first, second)) break;
          const size = headerSize(second);
          if (end - p >= size) {
            if (!this.header(chunk, p, sink)) break;
            p += size;
          } else {
            // The rest of the header is in the next chunk(s).
            const partial = Buffer.allocUnsafe(MAX_HEADER);
            this.partial = partial;
            chunk.copy(partial, 0, p, end);
            this.partialLength = end - p;
            p = end;
          }
        } else {
          p = this.gather(chunk, p, end, sink);
        }
      } else {
        break;
      }
    }
    if (runStart >= 0) sink.frameData(chunk.subarray(runStart, runEnd));
    const code = this.errorCode;
    if (code !== 0) {
      this.errorCode = 0;
      sink.frameError(code, this.errorReason);
    }
    return end;
  }

  /** Adds header bytes to a header split across chunks; reads the header once it is whole. */
  private gather(chunk: Buffer, offset: number, end: number, sink: FrameSink): number {
    let partial = this.partial;
    if (partial === undefined) {
      partial = Buffer.allocUnsafe(MAX_HEADER);
      this.partial = partial;
    }
    let p = offset;
    let have = this.partialLength;
    if (have < 2) {
      partial[have++] = chunk[p++]!;
      this.partialLength = have;
      if (have < 2) return p;
      if (!this.info(partial[0]!, partial[1]!)) return end;
    }
    const size = headerSize(partial[1]!);
    const take = Math.min(size - have, end - p);
    chunk.copy(partial, have, p, p + take);
    have += take;
    p += take;
    if (have < size) {
      this.partialLength = have;
      return p;
    }
    this.partialLength = 0;
    // Dropped again: an idle connection keeps no buffer of its own.
    this.partial = undefined;
    if (!this.header(partial, 0, sink)) return end;
    return p;
  }

  /** Checks a frame's first two bytes (everything but the length's value). */
  private info(first: number, second: number): boolean {
    if ((first & 0x70) !== 0) return this.fail(1002, 'RSV bits set without an extension');
    const opcode = first & 0x0f;
    const fin = (first & 0x80) !== 0;
    if (opcode >= 8) {
      if (opcode > 10) return this.fail(1002, `unknown opcode ${opcode}`);
      if (!fin) return this.fail(1002, 'fragmented control frame');
      const length = second & 0x7f;
      if (length > 125) return this.fail(1002, 'control frame longer than 125 bytes');
      if (opcode === 8 && length === 1) return this.fail(1002, 'close frame of 1 byte');
    } else if (opcode === 0) {
      if (!this.fragmented) return this.fail(1002, 'continuation frame with nothing to continue');
    } else if (opcode === 1 || opcode === 2) {
      if (this.fragmented) return this.fail(1002, 'new message inside a fragmented one');
    } else {
      return this.fail(1002, `unknown opcode ${opcode}`);
    }
    if ((second & 0x80) === 0) return this.fail(1002, 'unmasked client frame');
    if (opcode === 1) return this.fail(1003, 'MQTT needs binary frames');
    this.opcode = opcode;
    this.fin = fin;
    return true;
  }

  /** Reads a whole header at `buf[p..]` whose first two bytes passed `info`. */
  private header(buf: Buffer, p: number, sink: FrameSink): boolean {
    let length = buf[p + 1]! & 0x7f;
    let q = p + 2;
    if (length === 126) {
      length = buf.readUInt16BE(q);
      q += 2;
    } else if (length === 127) {
      const high = buf.readUInt32BE(q);
      if (high > 0x7fffffff) return this.fail(1002, '64-bit length with its top bit set');
      // Beyond 2^53 - 1 a length is not exact in a number (ws answers 1009 too).
      if (high >= 2 ** 21) return this.fail(1009, 'frame length beyond 2^53 - 1');
      length = high * 2 ** 32 + buf.readUInt32BE(q + 4);
      q += 8;
    }
    this.mask = buf.readUInt32BE(q);
    this.maskOffset = 0;
    this.remaining = length;
    if (this.opcode >= 8) {
      if (length > 0) this.state = PAYLOAD;
      else this.controlFrame(EMPTY, sink);
      return this.state !== DONE;
    }
    const total = (this.opcode === 0 ? this.messageLength : 0) + length;
    if (this.maxPayload > 0 && total > this.maxPayload) {
      return this.fail(1009, `message of more than ${this.maxPayload} bytes`);
    }
    this.fragmented = !this.fin;
    this.messageLength = this.fin ? 0 : total;
    if (length > 0) this.state = PAYLOAD;
    return true;
  }

  /** `n` bytes of a control frame's payload at `chunk[p..]`; returns the offset after them. */
  private controlPayload(chunk: Buffer, p: number, n: number, sink: FrameSink): number {
    let payload: Buffer;
    if (this.control === undefined && n === this.remaining) {
      this.unmask(chunk, p, n); // all of it in this chunk: read in place
      payload = chunk.subarray(p, p + n);
    } else {
      let control = this.control;
      if (control === undefined) {
        control = Buffer.allocUnsafe(this.remaining);
        this.control = control;
      }
      chunk.copy(control, this.controlLength, p, p + n);
      this.controlLength += n;
      this.remaining -= n;
      if (this.remaining > 0) return p + n;
      payload = control;
      this.control = undefined;
      this.controlLength = 0;
      this.unmask(payload, 0, payload.length);
    }
    this.remaining = 0;
    this.state = HEADER;
    this.controlFrame(payload, sink);
    return p + n;
  }

  private controlFrame(payload: Buffer, sink: FrameSink): void {
    const opcode = this.opcode;
    if (opcode === 9) {
      sink.framePing(payload);
    } else if (opcode === 8) {
      if (payload.length === 0) {
        this.state = DONE;
        sink.frameClose(1005);
        return;
      }
      const code = payload.readUInt16BE(0);
      if (!validCloseCode(code)) this.fail(1002, `invalid close code ${code}`);
      else if (!isUtf8(payload.subarray(2))) this.fail(1007, 'close reason is not UTF-8');
      else {
        this.state = DONE;
        sink.frameClose(code);
      }
    }
    // A pong (10) needs no answer.
  }

  /** Unmasks `buf[start..start + length)` in place, continuing the frame's key where it stopped. */
  private unmask(buf: Buffer, start: number, length: number): void {
    const mask = this.mask;
    if (mask === 0) return; // an all-zero key leaves the bytes as they are
    const k = this.maskOffset;
    this.maskOffset = (k + length) & 3;
    const key = k === 0 ? mask : ((mask << (8 * k)) | (mask >>> (32 - 8 * k))) >>> 0;
    if (length >= NATIVE_FROM) {
      MASK.writeUInt32BE(key, 0);
      nativeUnmask(buf.subarray(start, start + length), MASK);
      return;
    }
    const k0 = key >>> 24;
    const k1 = (key >>> 16) & 0xff;
    const k2 = (key >>> 8) & 0xff;
    const k3 = key & 0xff;
    const end = start + length;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      buf[i] = buf[i]! ^ k0;
      buf[i + 1] = buf[i + 1]! ^ k1;
      buf[i + 2] = buf[i + 2]! ^ k2;
      buf[i + 3] = buf[i + 3]! ^ k3;
    }
    if (i < end) buf[i] = buf[i]! ^ k0;
    if (i + 1 < end) buf[i + 1] = buf[i + 1]! ^ k1;
    if (i + 2 < end) buf[i + 2] = buf[i + 2]! ^ k2;
  }

  /** Records a protocol error; `read` reports it once what came before was handed over. */
  private fail(code: number, reason: string): false {
    this.state = DONE;
    this.partial = undefined;
    this.control = undefined;
    this.errorCode = code;
    this.errorReason = reason;
    return false;
  }
}
