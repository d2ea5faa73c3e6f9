// Counts PUBLISH packets in an MQTT byte stream by walking fixed headers only: payloads are skipped,
// never decoded or copied. Packets may be split anywhere across chunks (even inside the remaining-
// length bytes), so the walker keeps its position as a few numbers between feed() calls. It never
// keeps a reference to the chunk, which lets the caller reuse one read buffer (net `onread`).
// Non-PUBLISH packets (CONNACK, SUBACK, ...) are rare and small: their bodies are collected and
// handed to `onControl`.

import { PacketType } from './mqtt-bytes.js';

const EXPECT_HEADER = 0;
const EXPECT_LENGTH = 1;
const IN_BODY = 2;

/** Largest non-PUBLISH body collected; anything larger is a protocol error for this benchmark. */
const MAX_CONTROL_BODY = 64 * 1024;

export type ControlHandler = (type: number, flags: number, body: Buffer) => void;

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

  constructor(private readonly onControl: ControlHandler) {}

  /** Walks buf[start, end). Throws on a malformed remaining length or an oversized control packet. */
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
              count++;
              pos = next;
              continue;
            }
          }
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
        if (this.type !== PacketType.PUBLISH) {
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
    if (this.type === PacketType.PUBLISH) return 1;
    const body = this.control ?? Buffer.alloc(0);
    this.control = null;
    this.onControl(this.type, this.flags, body);
    return 0;
  }
}
