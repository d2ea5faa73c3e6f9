/**
 * MQTT 5 packets for raw-socket tests (MQTT 5.0 §2.2.2 properties, §3 packets), in the style of raw.ts:
 * every byte a builder emits is commented. Open the socket with `RawClient.openV5` (or
 * `Scope.rawV5`/`Scope.rawConnectV5`) so that what the broker sends back is decoded as MQTT 5.
 *
 * Also here: an independent reader of the properties of a PUBLISH exactly as the broker wrote them
 * (mqtt-packet folds User Properties into an object and loses their order, which [MQTT-3.3.2-18] makes
 * significant), and `expectDisconnect` for the broker's DISCONNECT-then-close.
 */

import { frame, hex, id16, type PacketOf, RAW_WAIT_MS, RawClient, str, varint } from './raw.js';

/** Property identifiers (MQTT 5.0 §2.2.2.2, Table 2-4). */
export const PropId = {
  payloadFormatIndicator: 0x01,
  messageExpiryInterval: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionIdentifier: 0x0b,
  sessionExpiryInterval: 0x11,
  assignedClientIdentifier: 0x12,
  serverKeepAlive: 0x13,
  authenticationMethod: 0x15,
  authenticationData: 0x16,
  requestProblemInformation: 0x17,
  willDelayInterval: 0x18,
  requestResponseInformation: 0x19,
  responseInformation: 0x1a,
  serverReference: 0x1c,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumQoS: 0x24,
  retainAvailable: 0x25,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
  wildcardSubscriptionAvailable: 0x28,
  subscriptionIdentifiersAvailable: 0x29,
  sharedSubscriptionAvailable: 0x2a,
} as const;

/**
 * Properties a test may put on a packet it sends. Each is written at most once, in the order below
 * (order between different identifiers carries no meaning, §2.2.2.2); User Properties keep their order.
 * The builders do not check which packet may carry which property, so a test can send a forbidden one.
 */
export interface RawProperties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: string | Buffer;
  subscriptionIdentifier?: number;
  sessionExpiryInterval?: number;
  authenticationMethod?: string;
  authenticationData?: string | Buffer;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumPacketSize?: number;
  userProperties?: ReadonlyArray<readonly [string, string]>;
}

/** Two Byte Integer, big-endian (§1.5.2). */
export function u16(n: number): number[] {
  return [
    (n >> 8) & 0xff, // MSB
    n & 0xff, // LSB
  ];
}

/** Four Byte Integer, big-endian (§1.5.3). */
export function u32(n: number): number[] {
  return [
    (n >>> 24) & 0xff, // most significant byte
    (n >>> 16) & 0xff,
    (n >>> 8) & 0xff,
    n & 0xff, // least significant byte
  ];
}

/** A property block (§2.2.2): Property Length as a variable byte integer, then identifier + value pairs. */
export function properties(p: RawProperties = {}): number[] {
  const body: number[] = [];
  const bin = (v: string | Buffer) => str(typeof v === 'string' ? Buffer.from(v) : v);
  if (p.payloadFormatIndicator !== undefined) {
    body.push(
      PropId.payloadFormatIndicator, // 0x01 Payload Format Indicator
      p.payloadFormatIndicator, // byte: 0 unspecified bytes, 1 UTF-8 character data
    );
  }
  if (p.messageExpiryInterval !== undefined) {
    body.push(
      PropId.messageExpiryInterval, // 0x02 Message Expiry Interval
      ...u32(p.messageExpiryInterval), // four byte integer, seconds
    );
  }
  if (p.contentType !== undefined) {
    body.push(
      PropId.contentType, // 0x03 Content Type
      ...str(p.contentType), // UTF-8 string
    );
  }
  if (p.responseTopic !== undefined) {
    body.push(
      PropId.responseTopic, // 0x08 Response Topic
      ...str(p.responseTopic), // UTF-8 string
    );
  }
  if (p.correlationData !== undefined) {
    body.push(
      PropId.correlationData, // 0x09 Correlation Data
      ...bin(p.correlationData), // binary data: two-byte length, bytes
    );
  }
  if (p.subscriptionIdentifier !== undefined) {
    body.push(
      PropId.subscriptionIdentifier, // 0x0b Subscription Identifier
      ...varint(p.subscriptionIdentifier), // variable byte integer
    );
  }
  if (p.sessionExpiryInterval !== undefined) {
    body.push(
      PropId.sessionExpiryInterval, // 0x11 Session Expiry Interval
      ...u32(p.sessionExpiryInterval), // four byte integer, seconds
    );
  }
  if (p.authenticationMethod !== undefined) {
    body.push(
      PropId.authenticationMethod, // 0x15 Authentication Method
      ...str(p.authenticationMethod), // UTF-8 string
    );
  }
  if (p.authenticationData !== undefined) {
    body.push(
      PropId.authenticationData, // 0x16 Authentication Data
      ...bin(p.authenticationData), // binary data
    );
  }
  if (p.requestProblemInformation !== undefined) {
    body.push(
      PropId.requestProblemInformation, // 0x17 Request Problem Information
      p.requestProblemInformation, // byte: 0 or 1
    );
  }
  if (p.willDelayInterval !== undefined) {
    body.push(
      PropId.willDelayInterval, // 0x18 Will Delay Interval
      ...u32(p.willDelayInterval), // four byte integer, seconds
    );
  }
  if (p.requestResponseInformation !== undefined) {
    body.push(
      PropId.requestResponseInformation, // 0x19 Request Response Information
      p.requestResponseInformation, // byte: 0 or 1
    );
  }
  if (p.receiveMaximum !== undefined) {
    body.push(
      PropId.receiveMaximum, // 0x21 Receive Maximum
      ...u16(p.receiveMaximum), // two byte integer
    );
  }
  if (p.topicAliasMaximum !== undefined) {
    body.push(
      PropId.topicAliasMaximum, // 0x22 Topic Alias Maximum
      ...u16(p.topicAliasMaximum), // two byte integer
    );
  }
  if (p.topicAlias !== undefined) {
    body.push(
      PropId.topicAlias, // 0x23 Topic Alias
      ...u16(p.topicAlias), // two byte integer
    );
  }
  if (p.maximumPacketSize !== undefined) {
    body.push(
      PropId.maximumPacketSize, // 0x27 Maximum Packet Size
      ...u32(p.maximumPacketSize), // four byte integer, bytes
    );
  }
  for (const [name, value] of p.userProperties ?? []) {
    body.push(
      PropId.userProperty, // 0x26 User Property
      ...str(name), // UTF-8 string pair: name
      ...str(value), // value
    );
  }
  return [
    ...varint(body.length), // property length
    ...body, // the properties
  ];
}

export interface RawWill5 {
  topic: string;
  payload: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  properties?: RawProperties;
}

export interface RawConnect5Options {
  clientId: string;
  /** Clean Start (§3.1.2.4); default true. */
  clean?: boolean;
  /** Seconds; 0 (default) turns keep alive off. */
  keepalive?: number;
  properties?: RawProperties;
  will?: RawWill5;
  username?: string;
  password?: string;
}

/** CONNECT, protocol version 5 (§3.1). */
export function connect5(o: RawConnect5Options): Buffer {
  const will = o.will;
  const flags =
    (o.username !== undefined ? 0x80 : 0) | // bit 7: user name present
    (o.password !== undefined ? 0x40 : 0) | // bit 6: password present
    (will?.retain ? 0x20 : 0) | // bit 5: will retain
    ((will?.qos ?? 0) << 3) | // bits 4-3: will QoS
    (will ? 0x04 : 0) | // bit 2: will flag
    ((o.clean ?? true) ? 0x02 : 0); // bit 1: clean start; bit 0 reserved, 0
  const keepalive = o.keepalive ?? 0;
  const willPayload = will
    ? typeof will.payload === 'string'
      ? Buffer.from(will.payload)
      : will.payload
    : [];
  const body = [
    ...str('MQTT'), // protocol name
    5, // protocol version 5
    flags, // connect flags
    ...u16(keepalive), // keep alive, seconds
    ...properties(o.properties), // CONNECT properties
    ...str(o.clientId), // payload: client identifier
    ...(will ? properties(will.properties) : []), // payload: will properties
    ...(will ? str(will.topic) : []), // payload: will topic
    ...(will ? str(willPayload) : []), // payload: will payload (binary data)
    ...(o.username !== undefined ? str(o.username) : []), // payload: user name
    ...(o.password !== undefined ? str(o.password) : []), // payload: password
  ];
  return frame(0x10, body); // 0x10: CONNECT, flags 0
}

export interface RawPublish5Options {
  /** A string, or raw bytes; '' with a topicAlias property uses the alias (§3.3.2.3.4). */
  topic: string | Buffer;
  payload?: string | Buffer;
  qos?: number;
  /** Required for QoS 1 and 2. */
  id?: number;
  dup?: boolean;
  retain?: boolean;
  properties?: RawProperties;
}

/** PUBLISH, MQTT 5 (§3.3): topic, packet identifier (QoS > 0), properties, payload. */
export function publish5(o: RawPublish5Options): Buffer {
  const qos = o.qos ?? 0;
  const first =
    0x30 | // PUBLISH
    (o.dup ? 0x08 : 0) | // bit 3: DUP
    ((qos & 0x03) << 1) | // bits 2-1: QoS
    (o.retain ? 0x01 : 0); // bit 0: RETAIN
  const payload = o.payload === undefined ? [] : [...Buffer.from(o.payload)];
  return frame(first, [
    ...str(o.topic), // topic name
    ...(qos > 0 ? id16(o.id ?? 1) : []), // packet identifier, only for QoS > 0
    ...properties(o.properties), // PUBLISH properties
    ...payload, // application message
  ]);
}

/**
 * PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70 (§3.4-§3.7). Without a reason code the packet is the
 * short form, remaining length 2, meaning 0x00 Success (§3.4.2.1).
 */
export function ack5(first: 0x40 | 0x50 | 0x62 | 0x70, id: number, reasonCode?: number): Buffer {
  return frame(first, [
    ...id16(id), // the packet identifier being acknowledged
    ...(reasonCode === undefined ? [] : [reasonCode]), // reason code; property length omitted: none
  ]);
}

export interface RawSubscription5 {
  filter: string | Buffer;
  qos?: number;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  /** 0 send retained on subscribe, 1 only if new, 2 never; 3 is a Protocol Error. */
  retainHandling?: number;
}

/** SUBSCRIBE, MQTT 5 (§3.8): 0x82 [MQTT-3.8.1-1], packet id, properties, (filter, options) pairs. */
export function subscribe5(
  id: number,
  subscriptions: readonly RawSubscription5[],
  props?: RawProperties,
): Buffer {
  const body = [
    ...id16(id), // packet identifier
    ...properties(props), // SUBSCRIBE properties (Subscription Identifier, User Properties)
  ];
  for (const s of subscriptions) {
    body.push(
      ...str(s.filter), // topic filter
      (s.qos ?? 0) | // subscription options, bits 1-0: maximum QoS
        (s.noLocal ? 0x04 : 0) | // bit 2: No Local
        (s.retainAsPublished ? 0x08 : 0) | // bit 3: Retain As Published
        ((s.retainHandling ?? 0) << 4), // bits 5-4: Retain Handling; bits 7-6 reserved, 0
    );
  }
  return frame(0x82, body);
}

/** UNSUBSCRIBE, MQTT 5 (§3.10): 0xa2 [MQTT-3.10.1-1], packet id, properties, topic filters. */
export function unsubscribe5(id: number, filters: readonly string[]): Buffer {
  const body = [
    ...id16(id), // packet identifier
    ...properties(), // UNSUBSCRIBE properties: none
  ];
  for (const filter of filters) body.push(...str(filter)); // topic filter
  return frame(0xa2, body);
}

/** DISCONNECT, MQTT 5 (§3.14): reason code and properties; the two-byte form when both are absent. */
export function disconnect5(reasonCode = 0x00, props?: RawProperties): Buffer {
  if (reasonCode === 0x00 && props === undefined) {
    return Buffer.from([
      0xe0, // DISCONNECT, flags 0
      0x00, // remaining length 0: reason 0x00 Normal disconnection, no properties
    ]);
  }
  return frame(0xe0, [
    reasonCode, // disconnect reason code
    ...properties(props), // DISCONNECT properties
  ]);
}

/** AUTH (§3.15): 0xf0, reason code, properties. */
export function auth5(reasonCode: number, props?: RawProperties): Buffer {
  return frame(0xf0, [
    reasonCode, // authenticate reason code
    ...properties(props), // AUTH properties
  ]);
}

/**
 * Opens a raw MQTT 5 connection, sends CONNECT and requires CONNACK reason code 0x00 (read the session
 * present flag and the properties from the returned CONNACK).
 */
export async function rawConnect5(
  port: number,
  options: RawConnect5Options,
  timeoutMs = RAW_WAIT_MS,
): Promise<{ raw: RawClient; connack: PacketOf<'connack'> }> {
  const raw = await RawClient.openV5(port, timeoutMs);
  try {
    raw.send(connect5(options));
    const { packet, bytes } = await raw.expect('connack', timeoutMs);
    if (packet.reasonCode !== 0) {
      throw new Error(
        `CONNACK for '${options.clientId}' refused with reason code ${codeName(packet.reasonCode)} (${hex(bytes)})`,
      );
    }
    return { raw, connack: packet };
  } catch (e) {
    raw.destroy();
    throw e;
  }
}

/** `0x8e` for failure messages. */
export function codeName(code: number | undefined): string {
  return code === undefined ? 'none' : `0x${code.toString(16).padStart(2, '0')}`;
}

/**
 * The next packet must be a DISCONNECT with `reasonCode`, without a Session Expiry Interval
 * [MQTT-3.14.2-2]; then the broker must close the connection and send nothing more [MQTT-3.14.4-1/2].
 */
export async function expectDisconnect(
  raw: RawClient,
  reasonCode: number,
  what: string,
  timeoutMs = RAW_WAIT_MS,
): Promise<PacketOf<'disconnect'>> {
  let got: Awaited<ReturnType<RawClient['next']>>;
  try {
    got = await raw.next(timeoutMs);
  } catch (e) {
    throw new Error(`${what}: expected DISCONNECT ${codeName(reasonCode)}: ${(e as Error).message}`);
  }
  if (got.packet.cmd !== 'disconnect') {
    throw new Error(
      `${what}: expected DISCONNECT ${codeName(reasonCode)}, got ${got.packet.cmd.toUpperCase()} (${hex(got.bytes)})`,
    );
  }
  const packet = got.packet as PacketOf<'disconnect'>;
  if (packet.reasonCode !== reasonCode) {
    throw new Error(
      `${what}: expected DISCONNECT ${codeName(reasonCode)}, got DISCONNECT ${codeName(packet.reasonCode)} (${hex(got.bytes)})`,
    );
  }
  if (packet.properties?.sessionExpiryInterval !== undefined) {
    throw new Error(`${what}: the broker's DISCONNECT carries a Session Expiry Interval [MQTT-3.14.2-2]`);
  }
  await raw.expectClosedSilently(`${what}: after DISCONNECT ${codeName(reasonCode)}`, timeoutMs);
  return packet;
}

export type RawPropertyValue = number | string | Buffer | readonly [string, string];

const BYTE_IDS = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);
const U16_IDS = new Set([0x13, 0x21, 0x22, 0x23]);
const U32_IDS = new Set([0x02, 0x11, 0x18, 0x27]);
const STRING_IDS = new Set([0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c, 0x1f]);
const BINARY_IDS = new Set([0x09, 0x16]);

/**
 * The properties of a PUBLISH exactly as they are on the wire, in order, as [identifier, value]. Written
 * apart from both the broker's codec and mqtt-packet, so it can judge them.
 */
export function publishProperties(bytes: Buffer): Array<[number, RawPropertyValue]> {
  if (bytes[0]! >> 4 !== 3) throw new Error(`not a PUBLISH: ${hex(bytes.subarray(0, 8))}`);
  const qos = (bytes[0]! >> 1) & 0x03;
  let pos = 1;
  while (bytes[pos]! & 0x80) pos++; // remaining length: skip its continuation bytes
  pos++;
  pos += 2 + bytes.readUInt16BE(pos); // topic name
  if (qos > 0) pos += 2; // packet identifier
  const readVbi = (): number => {
    let value = 0;
    let multiplier = 1;
    for (;;) {
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return value;
      multiplier *= 128;
    }
  };
  const readLengthPrefixed = (): Buffer => {
    const len = bytes.readUInt16BE(pos);
    const value = bytes.subarray(pos + 2, pos + 2 + len);
    pos += 2 + len;
    return value;
  };
  const end = readVbi() + pos;
  const out: Array<[number, RawPropertyValue]> = [];
  while (pos < end) {
    const id = bytes[pos++]!;
    if (BYTE_IDS.has(id)) {
      out.push([id, bytes[pos++]!]);
    } else if (U16_IDS.has(id)) {
      out.push([id, bytes.readUInt16BE(pos)]);
      pos += 2;
    } else if (U32_IDS.has(id)) {
      out.push([id, bytes.readUInt32BE(pos)]);
      pos += 4;
    } else if (id === PropId.subscriptionIdentifier) {
      out.push([id, readVbi()]);
    } else if (STRING_IDS.has(id)) {
      out.push([id, readLengthPrefixed().toString('utf8')]);
    } else if (BINARY_IDS.has(id)) {
      out.push([id, Buffer.from(readLengthPrefixed())]);
    } else if (id === PropId.userProperty) {
      const name = readLengthPrefixed().toString('utf8');
      const value = readLengthPrefixed().toString('utf8');
      out.push([id, [name, value]]);
    } else {
      throw new Error(`unknown property identifier 0x${id.toString(16)} in ${hex(bytes)}`);
    }
  }
  if (pos !== end) throw new Error(`properties overrun their length in ${hex(bytes)}`);
  return out;
}

/** The User Properties of a PUBLISH as it was on the wire, in order, repeats included. */
export function userPropertyPairs(bytes: Buffer): Array<readonly [string, string]> {
  return publishProperties(bytes)
    .filter(([id]) => id === PropId.userProperty)
    .map(([, value]) => value as readonly [string, string]);
}
