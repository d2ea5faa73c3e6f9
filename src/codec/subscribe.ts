/**
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (MQTT 3.1.1 §3.8–3.11, MQTT 5.0 §3.8–3.11).
 *
 * Topic filters are decoded as strings only; whether a filter is well-formed (wildcard placement,
 * $share syntax) is the topic layer's call, and the core answers it per filter in the SUBACK.
 */
import { malformed, protocolError } from './errors.js';
import type {
  ProtocolVersion,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { propertiesLength, readProperties, writeProperties } from './properties.js';
import { SUBACK_CODES, SUBACK_V4_CODES, UNSUBACK_CODES } from './reason-codes.js';
import { type Reader, utf8Length, vbiSize, writeString, writeU16, writeVbi } from './wire.js';

const SUBSCRIBE = 8;
const SUBACK = 9;
const UNSUBSCRIBE = 10;
const UNSUBACK = 11;

function readPacketId(r: Reader, what: string): number {
  const packetId = r.u16();
  if (packetId === 0) throw protocolError(`${what} has packet identifier 0 [MQTT-2.3.1-1]`);
  return packetId;
}

export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packet: SubscribePacket = {
    type: 'subscribe',
    packetId: readPacketId(r, 'SUBSCRIBE'),
    subscriptions: [],
  };
  if (version === 5) {
    const properties = readProperties(r, SUBSCRIBE);
    if (properties !== undefined) packet.properties = properties;
  }
  while (r.pos < r.end) {
    const topic = r.string();
    const options = r.u8();
    const qos = options & 3;
    let sub: Subscription;
    if (version === 5) {
      // [MQTT-3.8.3-5]: bits 7–6 reserved. §3.8.3.1: QoS 3 and Retain Handling 3 are Protocol Errors.
      if ((options & 0xc0) !== 0) throw malformed('reserved subscription option bits are set [MQTT-3.8.3-5]');
      if (qos === 3) throw protocolError('subscription QoS 3 (MQTT 5.0 §3.8.3.1)');
      const retainHandling = (options >> 4) & 3;
      if (retainHandling === 3) throw protocolError('retain handling 3 (MQTT 5.0 §3.8.3.1)');
      sub = {
        topic,
        qos: qos as QoS,
        noLocal: (options & 4) !== 0,
        retainAsPublished: (options & 8) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      };
    } else {
      // [MQTT-3-8.3-4]: the upper six bits are reserved, and QoS must be 0, 1 or 2.
      if (options > 2) throw malformed(`invalid requested QoS byte 0x${options.toString(16)} [MQTT-3-8.3-4]`);
      sub = { topic, qos: qos as QoS };
    }
    packet.subscriptions.push(sub);
  }
  if (packet.subscriptions.length === 0)
    throw protocolError('SUBSCRIBE without topic filters [MQTT-3.8.3-3]');
  return packet;
}

export function encodeSubscribe(packet: SubscribePacket, version: ProtocolVersion): Buffer {
  const propLen = version === 5 ? propertiesLength(packet.properties) : 0;
  let remaining = 2 + (version === 5 ? vbiSize(propLen) + propLen : 0);
  for (const sub of packet.subscriptions) remaining += 3 + utf8Length(sub.topic);
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  // SUBSCRIBE's reserved flags are 0b0010 [MQTT-3.8.1-1].
  buf[0] = (SUBSCRIBE << 4) | 2;
  let off = writeVbi(buf, 1, remaining);
  off = writeU16(buf, off, packet.packetId);
  if (version === 5) off = writeProperties(buf, off, packet.properties, propLen);
  for (const sub of packet.subscriptions) {
    off = writeString(buf, off, sub.topic);
    let options = sub.qos;
    if (version === 5) {
      if (sub.noLocal) options |= 4;
      if (sub.retainAsPublished) options |= 8;
      options |= (sub.retainHandling ?? 0) << 4;
    }
    buf[off++] = options;
  }
  return buf;
}

function readCodes(r: Reader, valid: Uint8Array, what: string): number[] {
  const codes: number[] = [];
  while (r.pos < r.end) {
    const code = r.buf[r.pos++]!;
    if (valid[code] !== 1) throw malformed(`invalid ${what} reason code 0x${code.toString(16)}`);
    codes.push(code);
  }
  // One code per filter of the request, which had at least one [MQTT-3.8.3-3], [MQTT-3.10.3-2].
  if (codes.length === 0) throw protocolError(`${what} without reason codes`);
  return codes;
}

export function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packetId = r.u16();
  const properties = version === 5 ? readProperties(r, SUBACK) : undefined;
  // [MQTT-3.9.3-2]: 3.1.1 return codes other than 0x00, 0x01, 0x02 and 0x80 are reserved.
  const reasonCodes = readCodes(r, version === 5 ? SUBACK_CODES : SUBACK_V4_CODES, 'SUBACK');
  const packet: SubackPacket = { type: 'suback', packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function encodeSuback(packet: SubackPacket, version: ProtocolVersion): Buffer {
  return encodeIdPropsCodes(SUBACK << 4, packet.packetId, packet.reasonCodes, packet.properties, version);
}

export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packetId = readPacketId(r, 'UNSUBSCRIBE');
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topics: [] };
  if (version === 5) {
    const properties = readProperties(r, UNSUBSCRIBE);
    if (properties !== undefined) packet.properties = properties;
  }
  while (r.pos < r.end) packet.topics.push(r.string());
  if (packet.topics.length === 0) throw protocolError('UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]');
  return packet;
}

export function encodeUnsubscribe(packet: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const propLen = version === 5 ? propertiesLength(packet.properties) : 0;
  let remaining = 2 + (version === 5 ? vbiSize(propLen) + propLen : 0);
  for (const topic of packet.topics) remaining += 2 + utf8Length(topic);
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  // UNSUBSCRIBE's reserved flags are 0b0010 [MQTT-3.10.1-1].
  buf[0] = (UNSUBSCRIBE << 4) | 2;
  let off = writeVbi(buf, 1, remaining);
  off = writeU16(buf, off, packet.packetId);
  if (version === 5) off = writeProperties(buf, off, packet.properties, propLen);
  for (const topic of packet.topics) off = writeString(buf, off, topic);
  return buf;
}

export function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packet: UnsubackPacket = { type: 'unsuback', packetId: r.u16() };
  // 3.1/3.1.1 UNSUBACK is the packet identifier alone (the decoder checked Remaining Length 2).
  if (version === 5) {
    const properties = readProperties(r, UNSUBACK);
    if (properties !== undefined) packet.properties = properties;
    packet.reasonCodes = readCodes(r, UNSUBACK_CODES, 'UNSUBACK');
  }
  return packet;
}

export function encodeUnsuback(packet: UnsubackPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) {
    const buf = Buffer.allocUnsafe(4);
    buf[0] = UNSUBACK << 4;
    buf[1] = 2;
    writeU16(buf, 2, packet.packetId);
    return buf;
  }
  return encodeIdPropsCodes(UNSUBACK << 4, packet.packetId, packet.reasonCodes ?? [], packet.properties, 5);
}

/** SUBACK (every version) and MQTT 5 UNSUBACK: packet id, properties (5.0 only), one byte per code. */
function encodeIdPropsCodes(
  first: number,
  packetId: number,
  codes: number[],
  properties: SubackPacket['properties'],
  version: ProtocolVersion,
): Buffer {
  const propLen = version === 5 ? propertiesLength(properties) : 0;
  const remaining = 2 + (version === 5 ? vbiSize(propLen) + propLen : 0) + codes.length;
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  buf[0] = first;
  let off = writeVbi(buf, 1, remaining);
  off = writeU16(buf, off, packetId);
  if (version === 5) off = writeProperties(buf, off, properties, propLen);
  for (const code of codes) buf[off++] = code;
  return buf;
}
