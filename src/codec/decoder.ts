/**
 * The streaming decoder: bytes in, whole packets out, "need more bytes" is `null`.
 *
 * Invariants:
 * - Bounded: the fixed header is checked (type, flags, Remaining Length, maximum packet size) as soon
 *   as its bytes are here, before any body byte is waited for, so a peer can never make the caller
 *   hold more than `maxPacketSize` bytes of one packet. After next() returns null, `buffered` is less
 *   than the pending packet's size (or is a partial fixed header of at most 4 bytes).
 * - Zero-copy when it can: chunks are kept as a list; a packet lying in one chunk is decoded in place
 *   (PUBLISH payloads are views into it); only a packet spanning chunks is copied, once, into a buffer
 *   of exactly its body's size.
 * - Fail-stop: the first CodecError kills the decoder; every later call throws it again.
 */
import { decodeAck } from './acks.js';
import { decodeConnack, decodeConnect } from './connect.js';
import { decodeAuth, decodeDisconnect } from './control.js';
import { CodecError, malformed } from './errors.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { decodePublish } from './publish.js';
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from './subscribe.js';
import { Reader } from './wire.js';

export interface DecoderOptions {
  /** Largest whole packet accepted, fixed header included, in bytes. */
  maxPacketSize: number;
}

// Required low nibble of the fixed header per packet type [MQTT-2.2.2-1/2]; -1: PUBLISH carries flags.
const REQUIRED_FLAGS = [0, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** Remaining Length a packet type must have at a protocol level, or -1 when it varies. */
function fixedRemaining(type: number, version: ProtocolVersion): number {
  if (type === 12 || type === 13) return 0; // PINGREQ, PINGRESP (§3.12.1, §3.13.1)
  if (version === 5) return -1;
  if (type === 14) return 0; // DISCONNECT (3.1.1 §3.14.1)
  if (type === 2 || (type >= 4 && type <= 7) || type === 11) return 2; // CONNACK, acks, UNSUBACK
  return -1;
}

const ACK_TYPES = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/**
 * One Reader for every decoder: a packet body is decoded in one synchronous call that resets it first
 * and releases it after, so no two decoders ever use it at once (and an idle connection holds none).
 */
const reader = new Reader();

export class Decoder {
  /** Version used for packets other than CONNECT; a decoded CONNECT sets it to its own level. */
  protocolVersion: ProtocolVersion = 4;
  /** May be changed between packets; it also applies to a packet whose header is already read. */
  maxPacketSize: number;

  private chunks: (Buffer | undefined)[] = [];
  /** Index in `chunks` of the first chunk holding unread bytes, and the first unread byte in it. */
  private ci = 0;
  private head = 0;
  private held = 0;
  /** Size of the packet whose fixed header has been read (-1: none yet), and that header's size. */
  private total = -1;
  private headerLen = 0;
  private first = 0;
  private failure: unknown;
  private dead = false;

  constructor(options: DecoderOptions) {
    this.maxPacketSize = options.maxPacketSize;
  }

  /** Bytes held, not yet returned as packets. */
  get buffered(): number {
    return this.held;
  }

  push(chunk: Buffer): void {
    if (this.dead) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.held += chunk.length;
  }

  next(): Packet | null {
    if (this.dead) throw this.failure;
    try {
      return this.step();
    } catch (err) {
      this.dead = true;
      this.failure = err;
      this.chunks = [];
      this.ci = 0;
      this.held = 0;
      reader.release();
      throw err;
    }
  }

  private step(): Packet | null {
    if (this.total < 0 && !this.readFixedHeader()) return null;
    const total = this.total;
    if (total > this.maxPacketSize) throw tooLarge(total, this.maxPacketSize);
    if (this.held < total) return null;

    const bodyLen = total - this.headerLen;
    const chunk = this.chunks[this.ci]!;
    let buf: Buffer;
    let start: number;
    if (chunk.length - this.head >= total) {
      buf = chunk;
      start = this.head + this.headerLen;
      this.head += total;
      if (this.head === chunk.length) this.dropChunk();
    } else {
      buf = Buffer.allocUnsafe(bodyLen);
      start = 0;
      this.take(this.headerLen, buf);
    }
    this.held -= total;
    this.total = -1;
    if (this.ci === this.chunks.length) {
      this.chunks = [];
      this.ci = 0;
    } else if (this.ci > 64) {
      this.chunks = this.chunks.slice(this.ci);
      this.ci = 0;
    }
    return this.decodeBody(this.first, buf, start, start + bodyLen);
  }

  /** Reads and checks the fixed header; false when its bytes are not all here yet. */
  private readFixedHeader(): boolean {
    if (this.held === 0) return false;
    // The chunk at `ci` always has an unread byte when anything is held; the header is read from it
    // directly while it lasts, and through byteAt() only when it spans chunks.
    const chunk = this.chunks[this.ci]!;
    const h = this.head;
    const first = chunk[h]!;
    const type = first >> 4;
    const flags = first & 0x0f;
    if (type === 0) throw malformed('reserved packet type 0');
    // AUTH exists from MQTT 5 on; below it type 15 is reserved (3.1.1 §2.2.1).
    if (type === 15 && this.protocolVersion !== 5) throw malformed('reserved packet type 15 before MQTT 5');
    const required = REQUIRED_FLAGS[type]!;
    if (required >= 0 ? flags !== required : (flags & 6) === 6) {
      throw malformed(
        required >= 0
          ? `invalid fixed-header flags 0x${flags.toString(16)} for packet type ${type} [MQTT-2.2.2-1/2]`
          : 'PUBLISH with QoS 3 [MQTT-3.3.1-4]',
      );
    }
    let remaining = 0;
    let mul = 1;
    let i = 1;
    for (;;) {
      if (i >= this.held) return false;
      const b = h + i < chunk.length ? chunk[h + i]! : this.byteAt(i);
      remaining += (b & 0x7f) * mul;
      if (b < 0x80) break;
      // The Remaining Length is at most four bytes (3.1.1 §2.2.3, 5.0 §1.5.5).
      if (i === 4) throw malformed('remaining length longer than four bytes');
      mul *= 128;
      i++;
    }
    const expected = fixedRemaining(type, this.protocolVersion);
    if (expected >= 0 && remaining !== expected) {
      throw malformed(`packet type ${type} must have remaining length ${expected}, not ${remaining}`);
    }
    const total = i + 1 + remaining;
    if (total > this.maxPacketSize) throw tooLarge(total, this.maxPacketSize);
    this.total = total;
    this.headerLen = i + 1;
    this.first = first;
    return true;
  }

  private byteAt(i: number): number {
    let k = this.ci;
    let idx = this.head + i;
    let chunk = this.chunks[k]!;
    while (idx >= chunk.length) {
      idx -= chunk.length;
      chunk = this.chunks[++k]!;
    }
    return chunk[idx]!;
  }

  private dropChunk(): void {
    this.chunks[this.ci] = undefined; // collectable before the list is compacted
    this.ci++;
    this.head = 0;
  }

  /** Consumes `skip` bytes, then exactly `out.length` bytes copied into `out`. */
  private take(skip: number, out: Buffer): void {
    let outOff = -skip;
    while (outOff < out.length) {
      const chunk = this.chunks[this.ci]!;
      const avail = chunk.length - this.head;
      const n = Math.min(avail, out.length - outOff);
      const from = outOff < 0 ? Math.min(-outOff, n) : 0;
      if (from < n) chunk.copy(out, outOff + from, this.head + from, this.head + n);
      outOff += n;
      if (n === avail) this.dropChunk();
      else this.head += n;
    }
  }

  private decodeBody(first: number, buf: Buffer, start: number, end: number): Packet {
    const r = reader;
    r.reset(buf, start, end);
    const type = first >> 4;
    const version = this.protocolVersion;
    let packet: Packet;
    switch (type) {
      case 1:
        packet = decodeConnect(r);
        break;
      case 2:
        packet = decodeConnack(r, version);
        break;
      case 3:
        packet = decodePublish(r, first & 0x0f, version);
        break;
      case 4:
      case 5:
      case 6:
      case 7:
        packet = decodeAck(r, ACK_TYPES[type - 4]!, type, version);
        break;
      case 8:
        packet = decodeSubscribe(r, version);
        break;
      case 9:
        packet = decodeSuback(r, version);
        break;
      case 10:
        packet = decodeUnsubscribe(r, version);
        break;
      case 11:
        packet = decodeUnsuback(r, version);
        break;
      case 12:
        packet = { type: 'pingreq' };
        break;
      case 13:
        packet = { type: 'pingresp' };
        break;
      case 14:
        packet = decodeDisconnect(r, version);
        break;
      default:
        packet = decodeAuth(r);
    }
    // Every field is read; anything left is not part of any field (3.1.1 §1.5 / 5.0 §4.13).
    if (r.pos !== r.end) throw malformed(`${r.end - r.pos} trailing bytes after the last field`);
    r.release();
    if (packet.type === 'connect') this.protocolVersion = packet.protocolVersion;
    return packet;
  }
}

function tooLarge(size: number, max: number): CodecError {
  return new CodecError('PACKET_TOO_LARGE', `packet of ${size} bytes exceeds the maximum of ${max}`);
}
