/**
 * PINGREQ, PINGRESP, DISCONNECT and AUTH (MQTT 3.1.1 §3.12–3.14, MQTT 5.0 §3.12–3.15): packets that are
 * at most a reason code and properties.
 *
 * MQTT 5 DISCONNECT and AUTH may omit both when the reason is 0x00 and there are no properties
 * (Remaining Length 0, §3.14.2.1, §3.15.2.1); a Remaining Length of 1 means a reason code alone
 * (§3.14.2.2.1: "If the Remaining Length is less than 2, a value of 0 is used"). AUTH is read the same way.
 */
import { malformed } from './errors.js';
import type { AuthPacket, DisconnectPacket, ProtocolVersion } from './packets.js';
import { propertiesLength, readProperties, writeProperties } from './properties.js';
import { AUTH_CODES, DISCONNECT_CODES } from './reason-codes.js';
import { type Reader, vbiSize, writeVbi } from './wire.js';

const PINGREQ = Buffer.from([12 << 4, 0]);
const PINGRESP = Buffer.from([13 << 4, 0]);
const DISCONNECT = 14;
const AUTH = 15;

/** Fresh copies: a caller may hand the buffer to a socket that keeps it, or scribble on it. */
export function encodePing(type: 'pingreq' | 'pingresp'): Buffer {
  return Buffer.from(type === 'pingreq' ? PINGREQ : PINGRESP);
}

function decodeReasonAndProps(
  r: Reader,
  packet: DisconnectPacket | AuthPacket,
  kind: number,
  valid: Uint8Array,
): void {
  if (r.pos === r.end) return;
  const reasonCode = r.u8();
  // [MQTT-3.14.2-1], [MQTT-3.15.2-1]: one of the listed codes.
  if (valid[reasonCode] !== 1)
    throw malformed(`invalid ${packet.type} reason code 0x${reasonCode.toString(16)}`);
  packet.reasonCode = reasonCode;
  if (r.pos === r.end) return;
  const properties = readProperties(r, kind);
  if (properties !== undefined) packet.properties = properties;
}

export function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' };
  if (version === 5) decodeReasonAndProps(r, packet, DISCONNECT, DISCONNECT_CODES);
  return packet;
}

export function decodeAuth(r: Reader): AuthPacket {
  const packet: AuthPacket = { type: 'auth' };
  decodeReasonAndProps(r, packet, AUTH, AUTH_CODES);
  return packet;
}

/** DISCONNECT (any version) and AUTH (5.0 only; the caller never asks for it below 5). */
export function encodeReasonAndProps(
  packet: DisconnectPacket | AuthPacket,
  version: ProtocolVersion,
): Buffer {
  const first = (packet.type === 'auth' ? AUTH : DISCONNECT) << 4;
  const reasonCode = packet.reasonCode ?? 0;
  const propLen = version === 5 ? propertiesLength(packet.properties) : 0;
  if (version !== 5 || (reasonCode === 0 && propLen === 0)) {
    const buf = Buffer.allocUnsafe(2);
    buf[0] = first;
    buf[1] = 0;
    return buf;
  }
  // DISCONNECT may stop after its reason code when there are no properties (§3.14.2.2.1); AUTH has
  // no such rule (§3.15.2.2.1), so it always carries its property length.
  const withProps = propLen !== 0 || packet.type === 'auth';
  const remaining = withProps ? 1 + vbiSize(propLen) + propLen : 1;
  const buf = Buffer.allocUnsafe(1 + vbiSize(remaining) + remaining);
  buf[0] = first;
  let off = writeVbi(buf, 1, remaining);
  buf[off++] = reasonCode;
  if (withProps) writeProperties(buf, off, packet.properties, propLen);
  return buf;
}
