/**
 * PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 3.1.1 §3.4–3.7, MQTT 5.0 §3.4–3.7): one shape, one codec.
 *
 * MQTT 5 short forms: Remaining Length 2 means reason 0x00 and no properties; 3 means a reason code and
 * no properties (§3.4.2.2.1: "If the Remaining Length is less than 4 there is no Property Length").
 * The encoder writes the shortest form that says the same thing; the decoder accepts all three.
 */
import { malformed } from './errors.js';
import type { AckPacket, ProtocolVersion } from './packets.js';
import { propertiesLength, readProperties, writeProperties } from './properties.js';
import { PUBACK_PUBREC_CODES, PUBREL_PUBCOMP_CODES } from './reason-codes.js';
import { type Reader, vbiSize, writeU16, writeVbi } from './wire.js';

export type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

const KIND: Record<AckType, number> = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 };

export function decodeAck<T extends AckType>(
  r: Reader,
  type: T,
  kind: number,
  version: ProtocolVersion,
): AckPacket<T> {
  const packet: AckPacket<T> = { type, packetId: r.u16() };
  if (version === 5 && r.pos < r.end) {
    const reasonCode = r.u8();
    const valid = kind <= 5 ? PUBACK_PUBREC_CODES : PUBREL_PUBCOMP_CODES;
    // [MQTT-3.4.2-1], [MQTT-3.5.2-1], [MQTT-3.6.2-1], [MQTT-3.7.2-1]: one of the listed codes.
    if (valid[reasonCode] !== 1) throw malformed(`invalid ${type} reason code ${reasonCode}`);
    packet.reasonCode = reasonCode;
    if (r.pos < r.end) {
      const properties = readProperties(r, kind);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  return packet;
}

export function encodeAck(packet: AckPacket<AckType>, version: ProtocolVersion): Buffer {
  const kind = KIND[packet.type];
  // PUBREL's reserved flags are 0b0010 [MQTT-3.6.1-1].
  const first = (kind << 4) | (kind === 6 ? 2 : 0);
  const reasonCode = packet.reasonCode ?? 0;
  const propLen = version === 5 ? propertiesLength(packet.properties) : 0;
  if (version !== 5 || (reasonCode === 0 && propLen === 0)) {
    const buf = Buffer.allocUnsafe(4);
    buf[0] = first;
    buf[1] = 2;
    writeU16(buf, 2, packet.packetId);
    return buf;
  }
  const remaining = propLen === 0 ? 3 : 3 + vbiSize(propLen) + propLen;
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  buf[0] = first;
  let off = writeVbi(buf, 1, remaining);
  off = writeU16(buf, off, packet.packetId);
  buf[off++] = reasonCode;
  if (propLen !== 0) writeProperties(buf, off, packet.properties, propLen);
  return buf;
}
