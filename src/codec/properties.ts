/**
 * MQTT 5 properties (MQTT 5.0 §2.2.2). One table says, per identifier, its name, its wire type and the
 * packets allowed to carry it; decoding and encoding are both driven by it.
 *
 * Decoding rules: an unknown identifier is MALFORMED_PACKET (the reader cannot know its length); a known
 * one on the wrong packet, a repeat of a once-only property, or a value the spec calls a Protocol Error
 * is PROTOCOL_ERROR. A packet with no properties yields `undefined`, never `{}`, so the core's
 * `packet.properties === undefined` test is the whole cost of the common case.
 */
import { malformed, protocolError } from './errors.js';
import type { Properties, UserProperty } from './packets.js';
import {
  type Reader,
  utf8Length,
  vbiSize,
  writeBinary,
  writeString,
  writeU16,
  writeU32,
  writeVbi,
} from './wire.js';

/** Property contexts: the packet type number (1–15), and 0 for a CONNECT's Will Properties. */
export const WILL_CONTEXT = 0;

const BYTE = 1;
const U16 = 2;
const U32 = 3;
const VBI = 4;
const STRING = 5;
const BINARY = 6;
const PAIR = 7;

const ID_SUBSCRIPTION_IDENTIFIER = 11;
const ID_USER_PROPERTY = 38;

const C = (...types: number[]): number => types.reduce((mask, t) => mask | (1 << t), 0);
const WILL = WILL_CONTEXT;
const [CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP] = [1, 2, 3, 4, 5, 6, 7];
const [SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH] = [8, 9, 10, 11, 14, 15];

type Key = keyof Properties;
interface Spec {
  id: number;
  key: Key;
  type: number;
  contexts: number;
  /** The value must be 0 or 1 (`bool`) or must not be 0 (`nonzero`), else Protocol Error. */
  check?: 'bool' | 'nonzero';
}

// MQTT 5.0 §2.2.2.2, Table 2-4.
const SPECS: Spec[] = [
  { id: 1, key: 'payloadFormatIndicator', type: BYTE, contexts: C(PUBLISH, WILL) },
  { id: 2, key: 'messageExpiryInterval', type: U32, contexts: C(PUBLISH, WILL) },
  { id: 3, key: 'contentType', type: STRING, contexts: C(PUBLISH, WILL) },
  { id: 8, key: 'responseTopic', type: STRING, contexts: C(PUBLISH, WILL) },
  { id: 9, key: 'correlationData', type: BINARY, contexts: C(PUBLISH, WILL) },
  // §3.8.2.1.2: 0 is a Protocol Error.
  { id: 11, key: 'subscriptionIdentifiers', type: VBI, contexts: C(PUBLISH, SUBSCRIBE), check: 'nonzero' },
  { id: 17, key: 'sessionExpiryInterval', type: U32, contexts: C(CONNECT, CONNACK, DISCONNECT) },
  { id: 18, key: 'assignedClientIdentifier', type: STRING, contexts: C(CONNACK) },
  { id: 19, key: 'serverKeepAlive', type: U16, contexts: C(CONNACK) },
  { id: 21, key: 'authenticationMethod', type: STRING, contexts: C(CONNECT, CONNACK, AUTH) },
  { id: 22, key: 'authenticationData', type: BINARY, contexts: C(CONNECT, CONNACK, AUTH) },
  // §3.1.2.11.7 and §3.1.2.11.6: a value other than 0 or 1 is a Protocol Error.
  { id: 23, key: 'requestProblemInformation', type: BYTE, contexts: C(CONNECT), check: 'bool' },
  { id: 24, key: 'willDelayInterval', type: U32, contexts: C(WILL) },
  { id: 25, key: 'requestResponseInformation', type: BYTE, contexts: C(CONNECT), check: 'bool' },
  { id: 26, key: 'responseInformation', type: STRING, contexts: C(CONNACK) },
  { id: 28, key: 'serverReference', type: STRING, contexts: C(CONNACK, DISCONNECT) },
  {
    id: 31,
    key: 'reasonString',
    type: STRING,
    contexts: C(CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH),
  },
  // §3.1.2.11.3 / §3.2.2.3.3: Receive Maximum 0 is a Protocol Error.
  { id: 33, key: 'receiveMaximum', type: U16, contexts: C(CONNECT, CONNACK), check: 'nonzero' },
  { id: 34, key: 'topicAliasMaximum', type: U16, contexts: C(CONNECT, CONNACK) },
  // [MQTT-3.3.2-8]: a Topic Alias of 0 is not permitted.
  // Topic Alias 0 is left to the core: it answers with 0x94 Topic Alias invalid [MQTT-3.3.2-8].
  { id: 35, key: 'topicAlias', type: U16, contexts: C(PUBLISH) },
  // §3.2.2.3.4–§3.2.2.3.13: these CONNACK bytes must be 0 or 1.
  { id: 36, key: 'maximumQoS', type: BYTE, contexts: C(CONNACK), check: 'bool' },
  { id: 37, key: 'retainAvailable', type: BYTE, contexts: C(CONNACK), check: 'bool' },
  {
    id: 38,
    key: 'userProperties',
    type: PAIR,
    contexts: C(
      CONNECT,
      CONNACK,
      PUBLISH,
      WILL,
      PUBACK,
      PUBREC,
      PUBREL,
      PUBCOMP,
      SUBSCRIBE,
      SUBACK,
      UNSUBSCRIBE,
      UNSUBACK,
      DISCONNECT,
      AUTH,
    ),
  },
  // §3.1.2.11.4: Maximum Packet Size 0 is a Protocol Error.
  { id: 39, key: 'maximumPacketSize', type: U32, contexts: C(CONNECT, CONNACK), check: 'nonzero' },
  { id: 40, key: 'wildcardSubscriptionAvailable', type: BYTE, contexts: C(CONNACK), check: 'bool' },
  { id: 41, key: 'subscriptionIdentifiersAvailable', type: BYTE, contexts: C(CONNACK), check: 'bool' },
  { id: 42, key: 'sharedSubscriptionAvailable', type: BYTE, contexts: C(CONNACK), check: 'bool' },
];

const BY_ID: (Spec | undefined)[] = [];
const BY_KEY: Record<string, Spec | undefined> = Object.create(null);
for (const spec of SPECS) {
  BY_ID[spec.id] = spec;
  BY_KEY[spec.key] = spec;
}

/** Reads a property block (length, then properties) for a packet of the given context. */
export function readProperties(r: Reader, context: number): Properties | undefined {
  const len = r.vbi();
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw malformed('properties run past the end of the packet');
  const outerEnd = r.end;
  // Narrow the reader to the block, so a value running past the property length is malformed.
  r.end = end;
  const props: Record<string, unknown> = {};
  const bit = 1 << context;
  while (r.pos < end) {
    // The identifier is a Variable Byte Integer, but every defined one fits in a byte; a byte with the
    // continuation bit set is therefore an unknown identifier too.
    const id = r.buf[r.pos++]!;
    const spec = BY_ID[id];
    if (spec === undefined) throw malformed(`unknown property identifier 0x${id.toString(16)}`);
    if ((spec.contexts & bit) === 0) {
      // MQTT 5.0 §2.2.2.2: an identifier not valid for the packet type makes it a Malformed Packet.
      throw malformed(`property ${spec.key} is not allowed on this packet (MQTT 5.0 §2.2.2.2)`);
    }
    if (id === ID_USER_PROPERTY) {
      const pair: UserProperty = [r.string(), r.string()];
      const list = props.userProperties as UserProperty[] | undefined;
      if (list === undefined) props.userProperties = [pair];
      else list.push(pair);
      continue;
    }
    const value = readValue(r, spec.type);
    if (spec.check === 'nonzero' ? value === 0 : spec.check === 'bool' && value !== 0 && value !== 1) {
      throw protocolError(`property ${spec.key} has a forbidden value ${String(value)}`);
    }
    if (id === ID_SUBSCRIPTION_IDENTIFIER) {
      const list = props.subscriptionIdentifiers as number[] | undefined;
      if (list === undefined) props.subscriptionIdentifiers = [value];
      // A server sends one per matching subscription on PUBLISH (§3.3.2.3.8); once only on SUBSCRIBE.
      else if (context === PUBLISH) list.push(value as number);
      else throw protocolError('subscription identifier appears twice (MQTT 5.0 §3.8.2.1.2)');
      continue;
    }
    if (props[spec.key] !== undefined) {
      throw protocolError(`property ${spec.key} appears twice (MQTT 5.0 §2.2.2.2)`);
    }
    props[spec.key] = value;
  }
  r.end = outerEnd;
  return props as Properties;
}

function readValue(r: Reader, type: number): number | string | Buffer {
  switch (type) {
    case BYTE:
      return r.u8();
    case U16:
      return r.u16();
    case U32:
      return r.u32();
    case VBI:
      return r.vbi();
    case STRING:
      return r.string();
    default:
      return r.binary();
  }
}

/** Byte length of the properties themselves, without the property-length prefix. */
export function propertiesLength(props: Properties | undefined): number {
  if (props === undefined) return 0;
  let n = 0;
  for (const key in props) {
    const value = (props as Record<string, unknown>)[key];
    const spec = BY_KEY[key];
    if (value === undefined || spec === undefined) continue;
    switch (spec.type) {
      case BYTE:
        n += 2;
        break;
      case U16:
        n += 3;
        break;
      case U32:
        n += 5;
        break;
      case VBI:
        for (const id of value as number[]) n += 1 + vbiSize(id);
        break;
      case STRING:
        n += 3 + utf8Length(value as string);
        break;
      case BINARY:
        n += 3 + (value as Buffer).length;
        break;
      default:
        for (const [name, val] of value as UserProperty[]) n += 5 + utf8Length(name) + utf8Length(val);
    }
  }
  return n;
}

/** Writes the property-length prefix and the properties; `len` comes from propertiesLength(). */
export function writeProperties(
  buf: Buffer,
  off: number,
  props: Properties | undefined,
  len: number,
): number {
  off = writeVbi(buf, off, len);
  if (props === undefined || len === 0) return off;
  for (const key in props) {
    const value = (props as Record<string, unknown>)[key];
    const spec = BY_KEY[key];
    if (value === undefined || spec === undefined) continue;
    const id = spec.id;
    switch (spec.type) {
      case BYTE:
        buf[off++] = id;
        buf[off++] = value as number;
        break;
      case U16:
        buf[off++] = id;
        off = writeU16(buf, off, value as number);
        break;
      case U32:
        buf[off++] = id;
        off = writeU32(buf, off, value as number);
        break;
      case VBI:
        for (const v of value as number[]) {
          buf[off++] = id;
          off = writeVbi(buf, off, v);
        }
        break;
      case STRING:
        buf[off++] = id;
        off = writeString(buf, off, value as string);
        break;
      case BINARY:
        buf[off++] = id;
        off = writeBinary(buf, off, value as Buffer);
        break;
      default:
        for (const [name, val] of value as UserProperty[]) {
          buf[off++] = id;
          off = writeString(buf, off, name);
          off = writeString(buf, off, val);
        }
    }
  }
  return off;
}
