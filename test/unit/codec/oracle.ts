/**
 * mqtt-packet as an oracle: its packet objects mapped to ours and back, and a normal form both sides
 * are compared in. Field names differ (cmd/type, messageId/packetId, granted/reasonCodes,
 * keepalive/keepAlive, nl/rap/rh); MQTT 5 byte-valued flags are booleans there and 0/1 here; user
 * properties are a name → value(s) object there and an ordered list of pairs here.
 */
import { generate, parser } from 'mqtt-packet';
import type { Packet, Properties, ProtocolVersion, UserProperty } from '../../../src/codec/index.js';

type Loose = Record<string, unknown>;

// Byte properties mqtt-packet reads and writes as booleans.
const BOOLEAN_KEYS = [
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
];

function defined(obj: Loose): Loose {
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return obj;
}

/** Parses bytes with mqtt-packet; throws its error, if any. */
export function mqttParse(bytes: Buffer, version: ProtocolVersion): Loose[] {
  const p = parser({ protocolVersion: version });
  const out: Loose[] = [];
  let error: unknown;
  p.on('packet', (packet) => out.push(packet as unknown as Loose));
  p.on('error', (err) => {
    error = err;
  });
  p.parse(bytes);
  if (error !== undefined) throw error;
  return out;
}

export function mqttGenerate(packet: Loose, version: ProtocolVersion): Buffer {
  return generate(packet as unknown as Parameters<typeof generate>[0], { protocolVersion: version });
}

function propsFromMqtt(theirs: unknown): Properties | undefined {
  if (theirs === undefined || theirs === null) return undefined;
  const out: Loose = {};
  for (const [key, value] of Object.entries(theirs as Loose)) {
    if (BOOLEAN_KEYS.includes(key)) out[key] = value ? 1 : 0;
    else if (key === 'subscriptionIdentifier')
      out.subscriptionIdentifiers = Array.isArray(value) ? value : [value];
    else if (key === 'userProperties') {
      const pairs: UserProperty[] = [];
      for (const [name, v] of Object.entries(value as Record<string, string | string[]>)) {
        for (const one of Array.isArray(v) ? v : [v]) pairs.push([name, one]);
      }
      out.userProperties = pairs;
    } else out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : (out as Properties);
}

function propsToMqtt(ours: Properties | undefined): Loose | undefined {
  if (ours === undefined) return undefined;
  const out: Loose = {};
  for (const [key, value] of Object.entries(ours)) {
    if (BOOLEAN_KEYS.includes(key)) out[key] = value === 1;
    else if (key === 'subscriptionIdentifiers') {
      const ids = value as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (key === 'userProperties') {
      const map: Record<string, string | string[]> = Object.create(null);
      for (const [name, v] of value as UserProperty[]) {
        const prev = map[name];
        map[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      out.userProperties = map;
    } else out[key] = value;
  }
  return out;
}

/** mqtt-packet's object → ours. */
export function fromMqtt(m: Loose, version: ProtocolVersion): Packet {
  const props = propsFromMqtt(m.properties);
  switch (m.cmd) {
    case 'connect': {
      const w = m.will as Loose | undefined;
      return defined({
        type: 'connect',
        protocolName: m.protocolId,
        protocolVersion: m.protocolVersion,
        clean: m.clean,
        keepAlive: m.keepalive,
        clientId: m.clientId,
        will:
          w &&
          defined({
            topic: w.topic,
            payload: w.payload,
            qos: w.qos,
            retain: w.retain,
            properties: propsFromMqtt(w.properties),
          }),
        username: m.username,
        password: m.password,
        properties: props,
      }) as unknown as Packet;
    }
    case 'connack':
      return defined({
        type: 'connack',
        sessionPresent: m.sessionPresent,
        reasonCode: version === 5 ? m.reasonCode : m.returnCode,
        properties: props,
      }) as unknown as Packet;
    case 'publish':
      return defined({
        type: 'publish',
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        packetId: (m.qos as number) > 0 ? m.messageId : undefined,
        properties: props,
      }) as unknown as Packet;
    case 'subscribe':
      return defined({
        type: 'subscribe',
        packetId: m.messageId,
        subscriptions: (m.subscriptions as Loose[]).map((s) =>
          version === 5
            ? { topic: s.topic, qos: s.qos, noLocal: s.nl, retainAsPublished: s.rap, retainHandling: s.rh }
            : { topic: s.topic, qos: s.qos },
        ),
        properties: props,
      }) as unknown as Packet;
    case 'suback':
      return defined({
        type: 'suback',
        packetId: m.messageId,
        reasonCodes: m.granted,
        properties: props,
      }) as unknown as Packet;
    case 'unsubscribe':
      return defined({
        type: 'unsubscribe',
        packetId: m.messageId,
        topics: m.unsubscriptions,
        properties: props,
      }) as unknown as Packet;
    case 'unsuback':
      return defined({
        type: 'unsuback',
        packetId: m.messageId,
        reasonCodes: version === 5 ? m.granted : undefined,
        properties: props,
      }) as unknown as Packet;
    case 'pingreq':
    case 'pingresp':
      return { type: m.cmd };
    case 'disconnect':
    case 'auth':
      return defined({ type: m.cmd, reasonCode: m.reasonCode, properties: props }) as unknown as Packet;
    default:
      return defined({
        type: m.cmd,
        packetId: m.messageId,
        reasonCode: m.reasonCode,
        properties: props,
      }) as unknown as Packet;
  }
}

/** Ours → mqtt-packet's object, ready for generate(). */
export function toMqtt(p: Packet, version: ProtocolVersion): Loose {
  const properties = 'properties' in p ? propsToMqtt(p.properties) : undefined;
  switch (p.type) {
    case 'connect':
      return defined({
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepAlive,
        clientId: p.clientId,
        will: p.will && defined({ ...p.will, properties: propsToMqtt(p.will.properties) }),
        username: p.username,
        password: p.password,
        properties,
      });
    case 'connack':
      return defined({
        cmd: 'connack',
        sessionPresent: p.sessionPresent,
        [version === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode,
        properties,
      });
    case 'publish':
      return defined({
        cmd: 'publish',
        topic: p.topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.packetId,
        properties,
      });
    case 'subscribe':
      return defined({
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({
          topic: s.topic,
          qos: s.qos,
          nl: s.noLocal ?? false,
          rap: s.retainAsPublished ?? false,
          rh: s.retainHandling ?? 0,
        })),
        properties,
      });
    case 'suback':
      return defined({ cmd: 'suback', messageId: p.packetId, granted: p.reasonCodes, properties });
    case 'unsubscribe':
      return defined({ cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topics, properties });
    case 'unsuback':
      return defined({ cmd: 'unsuback', messageId: p.packetId, granted: p.reasonCodes, properties });
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type };
    // mqtt-packet writes `reasonCode` as given, undefined included: spell out the default.
    case 'disconnect':
    case 'auth':
      return defined({ cmd: p.type, reasonCode: p.reasonCode ?? 0, properties });
    default:
      return defined({ cmd: p.type, messageId: p.packetId, reasonCode: p.reasonCode ?? 0, properties });
  }
}

function normalProps(props: Properties | undefined): Loose | undefined {
  if (props === undefined) return undefined;
  const out: Loose = { ...props };
  if (props.userProperties !== undefined) {
    // mqtt-packet keeps the order of values per name, but not the order between names.
    const groups = new Map<string, string[]>();
    for (const [name, value] of props.userProperties) groups.set(name, [...(groups.get(name) ?? []), value]);
    out.userProperties = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return out;
}

/**
 * The form both sides are compared in: user properties grouped by name, and an omitted MQTT 5 reason
 * code written as the 0x00 it means (§3.4.2.1, §3.14.2.1, §3.15.2.1).
 */
export function normal(p: Packet, version: ProtocolVersion): Loose {
  const out: Loose = { ...p };
  if ('properties' in p) out.properties = normalProps(p.properties);
  if (p.type === 'connect' && p.will !== undefined) {
    out.will = defined({ ...p.will, properties: normalProps(p.will.properties) });
  }
  if (
    version === 5 &&
    (p.type === 'puback' ||
      p.type === 'pubrec' ||
      p.type === 'pubrel' ||
      p.type === 'pubcomp' ||
      p.type === 'disconnect' ||
      p.type === 'auth')
  ) {
    out.reasonCode = p.reasonCode ?? 0;
  }
  return defined(out);
}
