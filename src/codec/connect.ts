/**
 * CONNECT and CONNACK (MQTT 3.1 §3.1–3.2, MQTT 3.1.1 §3.1–3.2, MQTT 5.0 §3.1–3.2).
 *
 * A CONNECT is decoded and encoded at the level it names itself, whatever the decoder's current
 * version; the decoder then switches to that level for everything after it. Its Will payload and
 * password are copied out of the receive buffer: the session may keep them for its whole life, and a
 * view would pin the socket chunk they arrived in.
 */
import { CodecError, malformed, protocolError } from './errors.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion, QoS, Will } from './packets.js';
import { propertiesLength, readProperties, WILL_CONTEXT, writeProperties } from './properties.js';
import { CONNACK_CODES } from './reason-codes.js';
import { type Reader, utf8Length, vbiSize, writeBinary, writeString, writeU16, writeVbi } from './wire.js';

const CONNECT = 1;
const CONNACK = 2;

const FLAG_USERNAME = 0x80;
const FLAG_PASSWORD = 0x40;
const FLAG_WILL_RETAIN = 0x20;
const FLAG_WILL_QOS = 0x18;
const FLAG_WILL = 0x04;
const FLAG_CLEAN = 0x02;
const FLAG_RESERVED = 0x01;

export function decodeConnect(r: Reader): ConnectPacket {
  const protocolName = readProtocolName(r);
  const level = r.u8();
  // A known name with a level we do not speak: the core must know, to answer CONNACK return code 1
  // (3.1.1) or reason 0x84 (5.0) before closing [MQTT-3.1.2-2].
  if (protocolName === 'MQTT' ? level !== 4 && level !== 5 : level !== 3) {
    throw new CodecError(
      'UNSUPPORTED_PROTOCOL_VERSION',
      `unsupported protocol level ${level} for ${protocolName}`,
      level,
    );
  }
  const protocolVersion = level as ProtocolVersion;
  const flags = r.u8();
  if ((flags & FLAG_RESERVED) !== 0) throw malformed('reserved connect flag is set [MQTT-3.1.2-3]');
  const willQos = (flags & FLAG_WILL_QOS) >> 3;
  const hasWill = (flags & FLAG_WILL) !== 0;
  if (!hasWill && (flags & (FLAG_WILL_QOS | FLAG_WILL_RETAIN)) !== 0) {
    throw malformed('will QoS or will retain set without the will flag [MQTT-3.1.2-11/13/15]');
  }
  if (willQos === 3) throw malformed('will QoS 3 [MQTT-3.1.2-14]');
  const hasUsername = (flags & FLAG_USERNAME) !== 0;
  const hasPassword = (flags & FLAG_PASSWORD) !== 0;
  // MQTT 5.0 allows a password without a user name (§3.1.2.9); earlier levels do not.
  if (hasPassword && !hasUsername && protocolVersion !== 5) {
    throw malformed('password flag without user name flag [MQTT-3.1.2-22]');
  }
  const keepAlive = r.u16();
  const properties = protocolVersion === 5 ? readProperties(r, CONNECT) : undefined;
  if (properties?.authenticationData !== undefined && properties.authenticationMethod === undefined) {
    throw protocolError('authentication data without authentication method (MQTT 5.0 §3.1.2.11.10)');
  }
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName,
    protocolVersion,
    clean: (flags & FLAG_CLEAN) !== 0,
    keepAlive,
    clientId: r.string(),
  };
  if (properties !== undefined) packet.properties = properties;
  if (hasWill) {
    const willProperties = protocolVersion === 5 ? readProperties(r, WILL_CONTEXT) : undefined;
    const will: Will = {
      topic: r.string(),
      payload: Buffer.from(r.binary()),
      qos: willQos as QoS,
      retain: (flags & FLAG_WILL_RETAIN) !== 0,
    };
    if (willProperties !== undefined) will.properties = willProperties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.string();
  if (hasPassword) packet.password = Buffer.from(r.binary());
  return packet;
}

/** Reads the protocol name by its bytes, so a stranger's name need not be valid UTF-8 to be refused. */
function readProtocolName(r: Reader): 'MQTT' | 'MQIsdp' {
  const len = r.u16();
  const p = r.pos;
  if (p + len > r.end) throw malformed('protocol name runs past the end of the packet');
  r.pos = p + len;
  const name = r.buf.toString('latin1', p, p + len);
  if (name === 'MQTT' || name === 'MQIsdp') return name;
  // [MQTT-3.1.2-1]: not MQTT, so we must not go on reading it as MQTT.
  const level = r.pos < r.end ? r.buf[r.pos] : undefined;
  throw new CodecError(
    'UNSUPPORTED_PROTOCOL_NAME',
    `unsupported protocol name ${JSON.stringify(name)}`,
    level,
  );
}

export function encodeConnect(packet: ConnectPacket): Buffer {
  const v5 = packet.protocolVersion === 5;
  const { will, username, password } = packet;
  const propLen = v5 ? propertiesLength(packet.properties) : 0;
  let remaining = 2 + packet.protocolName.length + 1 + 1 + 2 + 2 + utf8Length(packet.clientId);
  if (v5) remaining += vbiSize(propLen) + propLen;
  let willPropLen = 0;
  if (will !== undefined) {
    if (v5) {
      willPropLen = propertiesLength(will.properties);
      remaining += vbiSize(willPropLen) + willPropLen;
    }
    remaining += 2 + utf8Length(will.topic) + 2 + will.payload.length;
  }
  if (username !== undefined) remaining += 2 + utf8Length(username);
  if (password !== undefined) remaining += 2 + password.length;

  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  buf[0] = CONNECT << 4;
  let off = writeVbi(buf, 1, remaining);
  off = writeString(buf, off, packet.protocolName);
  buf[off++] = packet.protocolVersion;
  let flags = packet.clean ? FLAG_CLEAN : 0;
  if (will !== undefined) flags |= FLAG_WILL | (will.qos << 3) | (will.retain ? FLAG_WILL_RETAIN : 0);
  if (username !== undefined) flags |= FLAG_USERNAME;
  if (password !== undefined) flags |= FLAG_PASSWORD;
  buf[off++] = flags;
  off = writeU16(buf, off, packet.keepAlive);
  if (v5) off = writeProperties(buf, off, packet.properties, propLen);
  off = writeString(buf, off, packet.clientId);
  if (will !== undefined) {
    if (v5) off = writeProperties(buf, off, will.properties, willPropLen);
    off = writeString(buf, off, will.topic);
    off = writeBinary(buf, off, will.payload);
  }
  if (username !== undefined) off = writeString(buf, off, username);
  if (password !== undefined) writeBinary(buf, off, password);
  return buf;
}

export function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8();
  // Bits 7–1 of the Connect Acknowledge Flags are reserved [MQTT-3.2.2-1] (3.1 has no flags byte
  // worth the name: it is reserved whole, and 0 is what its servers send).
  if ((flags & 0xfe) !== 0) throw malformed('reserved connack flags are set [MQTT-3.2.2-1]');
  const reasonCode = r.u8();
  const packet: ConnackPacket = { type: 'connack', sessionPresent: flags === 1, reasonCode };
  if (version === 5) {
    if (CONNACK_CODES[reasonCode] !== 1) throw malformed(`invalid CONNACK reason code ${reasonCode}`);
    const properties = readProperties(r, CONNACK);
    if (properties !== undefined) packet.properties = properties;
  } else if (reasonCode > 5) {
    throw malformed(`reserved CONNACK return code ${reasonCode} (MQTT 3.1.1 §3.2.2.3)`);
  }
  return packet;
}

export function encodeConnack(packet: ConnackPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) {
    const buf = Buffer.allocUnsafe(4);
    buf[0] = CONNACK << 4;
    buf[1] = 2;
    buf[2] = packet.sessionPresent ? 1 : 0;
    buf[3] = packet.reasonCode;
    return buf;
  }
  const propLen = propertiesLength(packet.properties);
  const remaining = 2 + vbiSize(propLen) + propLen;
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  buf[0] = CONNACK << 4;
  let off = writeVbi(buf, 1, remaining);
  buf[off++] = packet.sessionPresent ? 1 : 0;
  buf[off++] = packet.reasonCode;
  writeProperties(buf, off, packet.properties, propLen);
  return buf;
}
