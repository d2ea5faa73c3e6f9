/**
 * WebSocket frames as a client sends them (RFC 6455 §5.2, masked as §5.3 requires of clients), built by
 * hand so tests can also build the malformed ones: reserved bits, unmasked, a chosen length form.
 */
import { randomBytes } from 'node:crypto';

export interface FrameSpec {
  opcode?: number;
  fin?: boolean;
  /** RSV1..3 as bits 0x40, 0x20, 0x10. */
  rsv?: number;
  masked?: boolean;
  /** The masking key; random when not given. */
  mask?: Buffer;
  /** Forces a length form: 7-bit, 16-bit (126) or 64-bit (127). */
  lengthForm?: 7 | 16 | 64;
  /** Replaces the 64-bit length's value (to test the top bit). */
  length64?: bigint;
}

/** A client frame: header, masking key, masked payload. */
export function clientFrame(payload: Buffer | string, spec: FrameSpec = {}): Buffer {
  const data = Buffer.from(payload);
  const opcode = spec.opcode ?? 2;
  const fin = spec.fin ?? true;
  const masked = spec.masked ?? true;
  const form = spec.lengthForm ?? (data.length < 126 ? 7 : data.length < 65536 ? 16 : 64);
  const first = (fin ? 0x80 : 0) | (spec.rsv ?? 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (form === 7) {
    header = Buffer.from([first, maskBit | data.length]);
  } else if (form === 16) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = maskBit | 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(spec.length64 ?? BigInt(data.length), 2);
  }
  if (!masked) return Buffer.concat([header, data]);
  const mask = spec.mask ?? randomBytes(4);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([header, mask, body]);
}
