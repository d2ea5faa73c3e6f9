// Hand-encoded MQTT 3.1.1 packets for the load generator. Built once, before any load starts, so the
// hot path only ever writes ready-made Buffers. Deliberately independent of src/ (the broker's own
// codec is what is being measured) and of mqtt-packet (a library encoder would hide the bytes).

/** MQTT control packet types (high nibble of the first fixed-header byte). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  SUBSCRIBE: 8,
  SUBACK: 9,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

/** Remaining Length: 7 bits per byte, least significant group first, high bit = "more bytes follow". */
export function encodeRemainingLength(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 268_435_455) {
    throw new RangeError(`remaining length out of range: ${length}`);
  }
  const bytes: number[] = [];
  let value = length;
  do {
    let digit = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) digit |= 0x80;
    bytes.push(digit);
  } while (value > 0);
  return Buffer.from(bytes);
}

/** UTF-8 string with its 2-byte big-endian length prefix. */
function mqttString(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  if (body.length > 0xffff) throw new RangeError('MQTT string longer than 65535 bytes');
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

function packet(firstByte: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([firstByte]), encodeRemainingLength(body.length), body]);
}

/**
 * CONNECT, protocol level 4 (3.1.1), keep alive 0 (no PINGREQ needed during a run).
 *   0x10                  fixed header: type 1 (CONNECT), flags 0
 *   <len>                 remaining length
 *   0x00 0x04 'M''Q''T''T' protocol name
 *   0x04                  protocol level 4 = MQTT 3.1.1
 *   0x02 | 0x00           connect flags: clean session (0x02) or a session that outlives the
 *                         connection (0x00); no will, no username, no password
 *   0x00 0x00             keep alive = 0 seconds (disabled)
 *   <2-byte len><id>      payload: client identifier
 */
export function connectPacket(clientId: string, cleanSession = true): Buffer {
  return packet(0x10, [
    mqttString('MQTT'),
    Buffer.from([0x04]),
    Buffer.from([cleanSession ? 0x02 : 0x00]),
    Buffer.from([0x00, 0x00]),
    mqttString(clientId),
  ]);
}

/**
 * SUBSCRIBE with a single filter.
 *   0x82                  fixed header: type 8 (SUBSCRIBE), flags 0b0010 (required by the spec)
 *   <len>                 remaining length
 *   <2 bytes>             packet identifier (non-zero)
 *   <2-byte len><filter>  topic filter
 *   <qos>                 requested QoS (0, or 1 for the QoS 1 scenario)
 */
export function subscribePacket(packetId: number, filter: string, qos: 0 | 1 | 2 = 0): Buffer {
  if (packetId < 1 || packetId > 0xffff) throw new RangeError('packet id must be 1..65535');
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId, 0);
  return packet(0x82, [id, mqttString(filter), Buffer.from([qos])]);
}

/**
 * PUBLISH at QoS 0 (so no packet identifier).
 *   0x30                  fixed header: type 3 (PUBLISH), DUP 0, QoS 0, RETAIN 0
 *   <len>                 remaining length
 *   <2-byte len><topic>   topic name
 *   <payload>             application message, no length prefix (it is what remains)
 */
export function publishPacket(topic: string, payload: Buffer): Buffer {
  return packet(0x30, [mqttString(topic), payload]);
}

/**
 * `count` QoS 1 PUBLISH packets back to back, packet identifiers 1..count in order. Every packet has
 * the same length (`packetBytes`), so packets i..j are one subarray of `packets`.
 *   0x32                  fixed header: type 3 (PUBLISH), DUP 0, QoS 1 (0b01 in bits 2-1), RETAIN 0
 *   <len>                 remaining length
 *   <2-byte len><topic>   topic name
 *   <2 bytes>             packet identifier (QoS > 0 only), big-endian
 *   <payload>             application message
 */
export function publishQos1Packets(
  topic: string,
  payload: Buffer,
  count: number,
): { packets: Buffer; packetBytes: number } {
  if (count < 1 || count > 0xffff) throw new RangeError('packet id count must be 1..65535');
  const one = packet(0x32, [mqttString(topic), Buffer.alloc(2), payload]);
  const idOffset = one.length - payload.length - 2;
  const packets = repeatPacket(one, count);
  for (let i = 0; i < count; i++) packets.writeUInt16BE(i + 1, i * one.length + idOffset);
  return { packets, packetBytes: one.length };
}

/** PUBACK: 0x40 (type 4, flags 0), remaining length 2, then the packet identifier (big-endian). */
export function writePuback(out: Buffer, offset: number, packetId: number): void {
  out[offset] = 0x40;
  out[offset + 1] = 0x02;
  out[offset + 2] = packetId >> 8;
  out[offset + 3] = packetId & 0xff;
}

/** DISCONNECT: 0xE0 (type 14, flags 0), remaining length 0. */
export const DISCONNECT: Buffer = Buffer.from([0xe0, 0x00]);

/** A payload of `size` bytes: printable and recognisable in a packet capture, never decoded here. */
export function benchPayload(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = 0x61 + (i % 26); // 'a'..'z'
  return out;
}

/**
 * One Buffer holding `count` copies of `packetBytes` back to back, so a single socket.write() sends a
 * whole batch of PUBLISH packets.
 */
export function repeatPacket(packetBytes: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(packetBytes.length * count);
  for (let i = 0; i < count; i++) packetBytes.copy(out, i * packetBytes.length);
  return out;
}

/** CONNACK body = [session present flags, return code]; return code 0 means accepted. */
export function connackAccepted(body: Buffer): boolean {
  return body.length >= 2 && body[1] === 0x00;
}

/**
 * SUBACK body = [packet id (2 bytes), one return code per filter]; the return code is the granted
 * QoS, 0x80 means failure. A grant below the QoS asked for counts as refused (it would change what is
 * measured).
 */
export function subackGranted(body: Buffer, packetId: number, qos: 0 | 1 | 2 = 0): boolean {
  const granted = body[2];
  return (
    body.length >= 3 &&
    body.readUInt16BE(0) === packetId &&
    granted !== undefined &&
    granted !== 0x80 &&
    granted >= qos
  );
}
