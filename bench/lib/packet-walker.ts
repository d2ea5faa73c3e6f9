// Counts PUBLISH packets in an MQTT byte stream by walking fixed headers only: payloads are skipped,
// never decoded or copied. Packets may be split anywhere across chunks (even inside the remaining-
// length bytes), so the walker keeps its position as a few numbers between feed() calls. It never
// keeps a reference to the chunk, which lets the caller reuse one read buffer (net `onread`).
// Non-PUBLISH packets (CONNACK, SUBACK, ...) are rare and small: their bodies are collected and
// handed to `onControl`.
// For the QoS 1 scenario the walker also takes `AckHooks`: it reads the packet identifier of each QoS
// 1/2 PUBLISH (2-byte topic length, skip the topic, 2-byte id; the payload is still skipped) and of
// each PUBACK, and hands them over without allocating (except for a packet split across chunks).

import { PacketType } from './mqtt-bytes.js';

const EXPECT_HEADER = 0;
const EXPECT_LENGTH = 1;
const IN_BODY = 2;

/** Largest non-PUBLISH body collected; anything larger is a protocol error for this benchmark. */
const MAX_CONTROL_BODY = 64 * 1024;

export type ControlHandler = (type: number, flags: number, body: Buffer) => void;

export interface AckHooks {
  /** A QoS 1/2 PUBLISH arrived with this packet identifier (it is counted in `publishes` as well). */
  publishId(packetId: number): void;
  /** A PUBACK arrived for this packet identifier (instead of going to `onControl`). */
  puback(packetId: number): void;
  /**
   * Optional (latency scenario): the payload of that QoS 1/2 PUBLISH is buf[start, end), a view valid
   * only during the call.
   */
  payload?(buf: Buffer, start: number, end: number): void;
}

export class PacketWalker {
  /** Completed PUBLISH packets seen so far. */
  publishes = 0;
  /** Bytes fed so far. */
  bytes = 0;

  private stage = EXPECT_HEADER;
  private type = 0;
  private flags = 0;
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  private control: Buffer | null = null;
  private controlPos = 0;

  constructor(
    private readonly onControl: ControlHandler,
    private readonly acks: AckHooks | null = null,
  ) {}

  /**
   * Walks buf[start, end). Throws on a malformed remaining length, an oversized control packet or a
   * QoS 1/2 PUBLISH too short to hold its packet identifier.
   */
  feed(buf: Buffer, start: number, end: number): void {
    let pos = start;
    let count = 0;
    this.bytes += end - start;
    while (pos < end) {
      if (this.stage === EXPECT_HEADER) {
        const b0 = buf[pos]!;
        // Fast path: a whole PUBLISH with a one-byte remaining length lies inside this chunk.
        if (b0 >> 4 === PacketType.PUBLISH && pos + 1 < end) {
          const b1 = buf[pos + 1]!;
          if (b1 < 0x80) {
            const next = pos + 2 + b1;
            if (next <= end) {
              // QoS bits set (and asked to): the packet id follows the topic.
              if ((b0 & 0x06) !== 0 && this.acks !== null) {
                const idAt = pos + 4 + ((buf[pos + 2]! << 8) | buf[pos + 3]!);
                if (idAt + 2 > next) throw new Error('QoS 1/2 PUBLISH without a packet identifier');
                this.acks.publishId((buf[idAt]! << 8) | buf[idAt + 1]!);
                this.acks.payload?.(buf, idAt + 2, next);
              }
              count++;
              pos = next;
              continue;
            }
          }
        }
        // Fast path: a whole PUBACK (0x40 0x02 <id>) inside this chunk.
        if (b0 === 0x40 && this.acks !== null && pos + 3 < end && buf[pos + 1] === 0x02) {
          this.acks.puback((buf[pos + 2]! << 8) | buf[pos + 3]!);
          pos += 4;
          continue;
        }
        this.type = b0 >> 4;
        this.flags = b0 & 0x0f;
        this.lengthValue = 0;
        this.lengthMultiplier = 1;
        this.lengthBytes = 0;
        this.stage = EXPECT_LENGTH;
        pos++;
      } else if (this.stage === EXPECT_LENGTH) {
        const b = buf[pos++]!;
        this.lengthValue += (b & 0x7f) * this.lengthMultiplier;
        this.lengthMultiplier *= 128;
        this.lengthBytes++;
        if (b & 0x80) {
          if (this.lengthBytes >= 4) throw new Error('malformed remaining length (more than 4 bytes)');
          continue;
        }
        this.remaining = this.lengthValue;
        // Collected: control packets, and a QoS 1/2 PUBLISH split across chunks (for its packet id).
        const wantsId = this.type === PacketType.PUBLISH && (this.flags & 0x06) !== 0 && this.acks !== null;
        if (this.type !== PacketType.PUBLISH || wantsId) {
          if (this.remaining > MAX_CONTROL_BODY) {
            throw new Error(`unexpected ${this.remaining}-byte packet of type ${this.type}`);
          }
          this.control = Buffer.alloc(this.remaining);
          this.controlPos = 0;
        }
        this.stage = IN_BODY;
        if (this.remaining === 0) count += this.finish();
      } else {
        const take = Math.min(this.remaining, end - pos);
        if (this.control !== null) {
          buf.copy(this.control, this.controlPos, pos, pos + take);
          this.controlPos += take;
        }
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) count += this.finish();
      }
    }
    this.publishes += count;
  }

  /** Ends the current packet; returns 1 if it was a PUBLISH (to be counted), else 0. */
  private finish(): number {
    this.stage = EXPECT_HEADER;
    if (this.type === PacketType.PUBLISH) {
      const body = this.control;
      if (body !== null) {
        // A QoS 1/2 PUBLISH that came in pieces (collected above for its packet id).
        this.control = null;
        if (body.length < 4 || body.length < 4 + body.readUInt16BE(0)) {
          throw new Error('QoS 1/2 PUBLISH without a packet identifier');
        }
        const idAt = 2 + body.readUInt16BE(0);
        this.acks?.publishId(body.readUInt16BE(idAt));
        this.acks?.payload?.(body, idAt + 2, body.length);
      }
      return 1;
    }
    const body = this.control ?? Buffer.alloc(0);
    this.control = null;
    if (this.type === PacketType.PUBACK && this.acks !== null && body.length === 2) {
      this.acks.puback(body.readUInt16BE(0));
      return 0;
    }
    this.onControl(this.type, this.flags, body);
    return 0;
  }
}
