/**
 * fast-check arbitraries for valid packets, per protocol version. "Valid" is what a correct peer may
 * send; the few cases mqtt-packet cannot represent or gets wrong are excluded here, each with the spec
 * section it contradicts, so the differential test compares only what both sides should agree on.
 */
import fc from 'fast-check';
import type {
  Packet,
  Properties,
  ProtocolVersion,
  QoS,
  Subscription,
  UserProperty,
  Will,
} from '../../../src/codec/index.js';

/** MQTT strings: any code point but U+0000 [MQTT-1.5.3-2]; mostly ASCII, sometimes astral. */
export const mqttString = (minLength = 0, maxLength = 12): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', minLength, maxLength }),
      fc.string({ unit: 'binary', minLength, maxLength }),
    )
    .map((s) => s.replaceAll('\0', '\u0001'));

const binary = fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u16nz = fc.integer({ min: 1, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u32nz = fc.integer({ min: 1, max: 0xffffffff });
const bit = fc.constantFrom(0, 1);
const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = u16nz;

// mqtt-packet keeps user properties in an object keyed by name and tests `if (obj[name])` before
// turning a repeated name into a list, so a repeat after an empty value overwrites it; MQTT 5.0
// §3.3.2.3.7 lets a name appear more than once with any values. Values are therefore non-empty here.
const userProperties = fc.array(fc.tuple(mqttString(0, 6), mqttString(1, 6)), {
  minLength: 1,
  maxLength: 3,
}) as fc.Arbitrary<UserProperty[]>;

/** Optional properties from `model`; {} becomes undefined, as the decoder yields. */
function props(
  model: { [K in keyof Properties]: fc.Arbitrary<Properties[K]> },
): fc.Arbitrary<Properties | undefined> {
  return fc
    .record(model, { requiredKeys: [], noNullPrototype: true })
    .map((p) => (Object.keys(p).length === 0 ? undefined : (p as Properties)));
}

const willProps = props({
  payloadFormatIndicator: bit,
  messageExpiryInterval: u32,
  contentType: mqttString(),
  responseTopic: mqttString(1),
  correlationData: binary,
  willDelayInterval: u32,
  userProperties,
});

const connectProps = props({
  sessionExpiryInterval: u32,
  authenticationMethod: mqttString(1),
  authenticationData: binary,
  requestProblemInformation: bit,
  requestResponseInformation: bit,
  receiveMaximum: u16nz,
  topicAliasMaximum: u16,
  maximumPacketSize: u32nz,
  userProperties,
}).map((p) => {
  // MQTT 5.0 §3.1.2.11.10: authentication data without a method is a Protocol Error.
  if (p?.authenticationData !== undefined && p.authenticationMethod === undefined) {
    const { authenticationData: _dropped, ...rest } = p;
    return Object.keys(rest).length === 0 ? undefined : rest;
  }
  return p;
});

const connackProps = props({
  sessionExpiryInterval: u32,
  assignedClientIdentifier: mqttString(1),
  serverKeepAlive: u16,
  authenticationMethod: mqttString(1),
  authenticationData: binary,
  responseInformation: mqttString(),
  serverReference: mqttString(),
  reasonString: mqttString(),
  receiveMaximum: u16nz,
  topicAliasMaximum: u16,
  maximumQoS: bit,
  retainAvailable: bit,
  userProperties,
  maximumPacketSize: u32nz,
  wildcardSubscriptionAvailable: bit,
  subscriptionIdentifiersAvailable: bit,
  sharedSubscriptionAvailable: bit,
});

const publishProps = props({
  payloadFormatIndicator: bit,
  messageExpiryInterval: u32,
  contentType: mqttString(),
  responseTopic: mqttString(1),
  correlationData: binary,
  subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 268435455 }), { minLength: 1, maxLength: 3 }),
  topicAlias: u16nz,
  userProperties,
});

const ackProps = props({ reasonString: mqttString(), userProperties });
const subscribeProps = props({
  subscriptionIdentifiers: fc.integer({ min: 1, max: 268435455 }).map((id) => [id]),
  userProperties,
});
const unsubscribeProps = props({ userProperties });
const disconnectProps = props({
  sessionExpiryInterval: u32,
  serverReference: mqttString(),
  reasonString: mqttString(),
  userProperties,
});
const authProps = props({
  authenticationMethod: mqttString(1),
  authenticationData: binary,
  reasonString: mqttString(),
  userProperties,
});

/** Sets `key` on `obj` only when defined: decoded packets never carry a key set to undefined. */
function withOptional<T extends object>(obj: T, extra: Record<string, unknown>): T {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (obj as Record<string, unknown>)[k] = v;
  return obj;
}

function connect(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const v5 = version === 5;
  const will = fc
    .record({
      topic: mqttString(1),
      payload: binary,
      qos,
      retain: fc.boolean(),
      properties: v5 ? willProps : fc.constant(undefined),
    })
    .map(({ properties, ...w }) => withOptional<Will>(w, { properties }));
  return fc
    .record({
      clean: fc.boolean(),
      keepAlive: u16,
      // 3.1 client ids are 1–23 characters (3.1 §3.1); mqtt-packet refuses an empty one at level 3.
      clientId: mqttString(version === 3 ? 1 : 0),
      will: fc.option(will, { nil: undefined }),
      username: fc.option(mqttString(), { nil: undefined }),
      password: fc.option(binary, { nil: undefined }),
      properties: v5 ? connectProps : fc.constant(undefined),
    })
    .map(({ will, username, password, properties, clean, clientId, keepAlive }) =>
      withOptional<Packet>(
        {
          type: 'connect',
          protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
          protocolVersion: version,
          // 3.1.1: a zero-byte client id needs clean session [MQTT-3.1.3-7]; 5.0 dropped the rule.
          clean: clean || (!v5 && clientId === ''),
          keepAlive,
          clientId,
        },
        // Below 5.0 a password needs a user name [MQTT-3.1.2-22].
        { will, username, password: v5 || username !== undefined ? password : undefined, properties },
      ),
    );
}

function subscription(version: ProtocolVersion): fc.Arbitrary<Subscription> {
  if (version !== 5) return fc.record({ topic: mqttString(1), qos }, { noNullPrototype: true });
  return fc.record(
    {
      topic: mqttString(1),
      qos,
      noLocal: fc.boolean(),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    },
    { noNullPrototype: true },
  );
}

const ackTypes = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;
const pubackCodes = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const pubrelCodes = [0x00, 0x92];
const connackCodes = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
];
const subackCodes = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const unsubackCodes = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const disconnectCodes = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x93, 0x94, 0x95, 0xa2,
];
const authCodes = [0x00, 0x18, 0x19];

/** Any valid packet at `version` (CONNECT included, at that level). */
export function packet(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const v5 = version === 5;
  const none = fc.constant(undefined);
  const publish = fc
    .record({
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
      payload: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      properties: v5 ? publishProps : none,
      topic: mqttString(1, 20),
    })
    .map(({ qos, dup, packetId, properties, ...rest }) =>
      withOptional<Packet>(
        // [MQTT-3.3.1-2]: DUP is 0 for QoS 0, and a packet id exists only for QoS > 0.
        { type: 'publish', qos, dup: qos > 0 && dup, ...rest },
        { packetId: qos > 0 ? packetId : undefined, properties },
      ),
    );
  // MQTT 5.0 §3.3.2.1: with a topic alias the topic name may be empty.
  const aliased = fc.record({ payload: binary, alias: u16nz }).map(
    ({ payload, alias }): Packet => ({
      type: 'publish',
      topic: '',
      payload,
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: alias },
    }),
  );
  const ack = fc
    .record({
      type: fc.constantFrom(...ackTypes),
      packetId,
      reasonCode: v5 ? fc.option(fc.constantFrom(...pubackCodes), { nil: undefined }) : none,
      properties: v5 ? ackProps : none,
    })
    .map(({ type, packetId, reasonCode, properties }) => {
      // PUBREL and PUBCOMP have their own, shorter list (§3.6.2.1, §3.7.2.1).
      const code =
        reasonCode !== undefined && (type === 'pubrel' || type === 'pubcomp')
          ? pubrelCodes[reasonCode & 1]
          : reasonCode;
      return withOptional<Packet>({ type, packetId }, { reasonCode: code, properties });
    });
  const arbs: fc.Arbitrary<Packet>[] = [
    connect(version),
    fc
      .record({
        sessionPresent: fc.boolean(),
        reasonCode: v5 ? fc.constantFrom(...connackCodes) : fc.integer({ min: 0, max: 5 }),
        properties: v5 ? connackProps : none,
      })
      .map(({ properties, ...rest }) => withOptional<Packet>({ type: 'connack', ...rest }, { properties })),
    publish,
    ack,
    fc
      .record({
        packetId,
        subscriptions: fc.array(subscription(version), { minLength: 1, maxLength: 4 }),
        properties: v5 ? subscribeProps : none,
      })
      .map(({ properties, ...rest }) => withOptional<Packet>({ type: 'subscribe', ...rest }, { properties })),
    fc
      .record({
        packetId,
        reasonCodes: fc.array(fc.constantFrom(...(v5 ? subackCodes : [0, 1, 2, 0x80])), {
          minLength: 1,
          maxLength: 4,
        }),
        properties: v5 ? ackProps : none,
      })
      .map(({ properties, ...rest }) => withOptional<Packet>({ type: 'suback', ...rest }, { properties })),
    fc
      .record({
        packetId,
        topics: fc.array(mqttString(1), { minLength: 1, maxLength: 4 }),
        properties: v5 ? unsubscribeProps : none,
      })
      .map(({ properties, ...rest }) =>
        withOptional<Packet>({ type: 'unsubscribe', ...rest }, { properties }),
      ),
    fc
      .record({
        packetId,
        reasonCodes: v5 ? fc.array(fc.constantFrom(...unsubackCodes), { minLength: 1, maxLength: 4 }) : none,
        properties: v5 ? ackProps : none,
      })
      .map(({ packetId, ...rest }) => withOptional<Packet>({ type: 'unsuback', packetId }, rest)),
    fc.constantFrom<Packet>({ type: 'pingreq' }, { type: 'pingresp' }),
    fc
      .record({
        reasonCode: v5 ? fc.option(fc.constantFrom(...disconnectCodes), { nil: undefined }) : none,
        properties: v5 ? disconnectProps : none,
      })
      .map((rest) => withOptional<Packet>({ type: 'disconnect' }, rest)),
  ];
  if (v5) {
    arbs.push(aliased);
    arbs.push(
      fc
        .record({
          reasonCode: fc.option(fc.constantFrom(...authCodes), { nil: undefined }),
          properties: authProps,
        })
        .map((rest) => withOptional<Packet>({ type: 'auth' }, rest)),
    );
  }
  return fc.oneof(...arbs);
}
