/**
 * PUBLISH (MQTT 3.1.1 §3.3, MQTT 5.0 §3.3): the hot path both ways.
 *
 * Decoding: the payload is a view into the receive buffer (zero-copy when the packet lay in one chunk).
 * Encoding: the broker encodes a message's head once per subscriber shape and writes the shared payload
 * after it as a second chunk, so the head is its own function; encode() is head and payload in one
 * exactly-sized buffer.
 */
import { protocolError } from './errors.js';
import type { ProtocolVersion, PublishPacket, QoS } from './packets.js';
import { propertiesLength, readProperties, writeProperties } from './properties.js';
import { type Reader, utf8Length, vbiSize, writeString, writeU16, writeVbi } from './wire.js';

const PUBLISH = 3;

/** `flags` is the low nibble of the fixed header; QoS 3 was refused there [MQTT-3.3.1-4]. */
export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = ((flags >> 1) & 3) as QoS;
  const topic = r.string();
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: r.buf,
    qos,
    retain: (flags & 1) !== 0,
    dup: (flags & 8) !== 0,
  };
  if (qos > 0) {
    const packetId = r.u16();
    if (packetId === 0) throw protocolError('PUBLISH with QoS > 0 has packet identifier 0 [MQTT-2.3.1-1]');
    packet.packetId = packetId;
  }
  if (version === 5) {
    const properties = readProperties(r, PUBLISH);
    if (properties !== undefined) packet.properties = properties;
    // §3.3.2.1: an empty topic name stands for the one its Topic Alias maps to.
    if (topic.length === 0 && properties?.topicAlias === undefined) {
      throw protocolError('empty topic name without a topic alias (MQTT 5.0 §3.3.2.1)');
    }
  }
  packet.payload = r.buf.subarray(r.pos, r.end);
  r.pos = r.end;
  return packet;
}

type PublishHead = Omit<PublishPacket, 'payload'>;

function headBodyLength(packet: PublishHead, topicLen: number, propLen: number, version: ProtocolVersion) {
  let n = 2 + topicLen;
  if (packet.qos > 0) n += 2;
  if (version === 5) n += vbiSize(propLen) + propLen;
  return n;
}

function writeHead(
  buf: Buffer,
  packet: PublishHead,
  version: ProtocolVersion,
  remaining: number,
  propLen: number,
): number {
  buf[0] = (PUBLISH << 4) | (packet.dup ? 8 : 0) | (packet.qos << 1) | (packet.retain ? 1 : 0);
  let off = writeVbi(buf, 1, remaining);
  off = writeString(buf, off, packet.topic);
  if (packet.qos > 0) off = writeU16(buf, off, packet.packetId ?? 0);
  if (version === 5) off = writeProperties(buf, off, packet.properties, propLen);
  return off;
}

/** Everything of a PUBLISH before its payload; `head + payload` equals encode(packet). */
export function encodePublishHead(
  packet: PublishHead,
  payloadLength: number,
  version: ProtocolVersion,
): Buffer {
  const propLen = version === 5 ? propertiesLength(packet.properties) : 0;
  const body = headBodyLength(packet, utf8Length(packet.topic), propLen, version);
  const remaining = body + payloadLength;
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + body);
  writeHead(buf, packet, version, remaining, propLen);
  return buf;
}

export function encodePublish(packet: PublishPacket, version: ProtocolVersion): Buffer {
  const propLen = version === 5 ? propertiesLength(packet.properties) : 0;
  const remaining =
    headBodyLength(packet, utf8Length(packet.topic), propLen, version) + packet.payload.length;
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  const off = writeHead(buf, packet, version, remaining, propLen);
  packet.payload.copy(buf, off);
  return buf;
}
