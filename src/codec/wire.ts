/**
 * Wire primitives (MQTT 5.0 §1.5, MQTT 3.1.1 §1.5): a bounds-checked cursor for decoding one packet that
 * lies in one contiguous Buffer, and offset-returning writers for encoding into an exactly-sized one.
 *
 * Invariant: every read checks against `end`, the end of the current packet (or of the property block
 * being read), so a field that runs past it is MALFORMED_PACKET and never reads the next packet's bytes.
 */
import { isUtf8 } from 'node:buffer';
import { malformed } from './errors.js';

const EMPTY = Buffer.alloc(0);

/** Present on every Node.js Buffer (it is what toString('latin1') calls), though not in @types/node. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

export class Reader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;

  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Drops the reference to the packet's buffer, so it does not pin a chunk between packets. */
  release(): void {
    this.buf = EMPTY;
  }

  left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw malformed('packet ends inside a one-byte field');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw malformed('packet ends inside a two-byte integer');
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw malformed('packet ends inside a four-byte integer');
    this.pos = p + 4;
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** Variable Byte Integer: at most four bytes [MQTT-1.5.5-1]; a fifth is malformed. */
  vbi(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 128;
    }
    throw malformed('variable byte integer longer than four bytes');
  }

  /** UTF-8 Encoded String: two-byte length, then well-formed UTF-8 without U+0000 [MQTT-1.5.3-1/2]. */
  string(): string {
    const len = this.u16();
    const start = this.pos;
    if (start + len > this.end) throw malformed('string runs past the end of the packet');
    this.pos = start + len;
    return decodeUtf8(this.buf, start, start + len);
  }

  /** Binary Data: two-byte length, then bytes; a view into the packet's buffer, not a copy. */
  binary(): Buffer {
    const len = this.u16();
    const start = this.pos;
    if (start + len > this.end) throw malformed('binary data runs past the end of the packet');
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }
}

/**
 * Decodes bytes [start, end) as an MQTT string. Pure ASCII (the usual topic) takes the latin1 path:
 * for bytes 0x01–0x7F latin1 and UTF-8 both map byte b to U+00b, so the result is identical and the
 * UTF-8 validation can be skipped. A 0x00 byte in well-formed UTF-8 can only be U+0000 (lead and
 * continuation bytes of longer sequences are >= 0x80, and the overlong C0 80 is not well-formed).
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  let seen = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === 0) throw malformed('string contains U+0000 [MQTT-1.5.3-2]');
    seen |= b;
  }
  // latin1Slice is Buffer's own binding behind toString('latin1'), without its argument handling: on
  // a 30-byte topic that is a third of the decoding time.
  if (seen < 0x80) return (buf as Buffer & Latin1Slicer).latin1Slice(start, end);
  // isUtf8 rejects overlong forms and encoded surrogates U+D800–U+DFFF [MQTT-1.5.3-1].
  if (!isUtf8(buf.subarray(start, end))) throw malformed('string is not well-formed UTF-8 [MQTT-1.5.3-1]');
  return buf.toString('utf8', start, end);
}

export function vbiSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

export function writeVbi(buf: Buffer, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

export function writeU16(buf: Buffer, off: number, n: number): number {
  buf[off] = n >>> 8;
  buf[off + 1] = n & 0xff;
  return off + 2;
}

export function writeU32(buf: Buffer, off: number, n: number): number {
  buf[off] = n >>> 24;
  buf[off + 1] = (n >>> 16) & 0xff;
  buf[off + 2] = (n >>> 8) & 0xff;
  buf[off + 3] = n & 0xff;
  return off + 4;
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s); // utf8 is the default, and naming it costs a third more
}

/** Writes a length-prefixed string; the buffer is exactly sized, so `write` never truncates. */
export function writeString(buf: Buffer, off: number, s: string): number {
  const n = s.length === 0 ? 0 : buf.write(s, off + 2, 'utf8');
  buf[off] = n >>> 8;
  buf[off + 1] = n & 0xff;
  return off + 2 + n;
}

export function writeBinary(buf: Buffer, off: number, b: Buffer): number {
  const n = b.length;
  buf[off] = n >>> 8;
  buf[off + 1] = n & 0xff;
  b.copy(buf, off + 2);
  return off + 2 + n;
}
