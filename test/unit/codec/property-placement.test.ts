/**
 * Where each MQTT 5 property may appear (MQTT 5.0 §2.2.2.2, Table 2-4), generated from the table in
 * spec-v5.ts rather than the codec's own: every property is read on each packet (and in the Will
 * Properties) the table allows it on, and is a Protocol Error on every other one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet, Properties } from '../../../src/codec/index.js';
import { decodeError, decodeOne, str } from './helpers.js';
import { CONTEXTS, type Context, PROPERTY_TABLE, type PropertySpec, type WireType } from './spec-v5.js';

/** A value of each wire type that every property of that type accepts, and how it decodes. */
const VALUES: Record<WireType, { bytes: number[]; decoded: unknown }> = {
  // 1 suits the properties that must be 0 or 1 and those that must not be 0.
  byte: { bytes: [0x01], decoded: 1 },
  u16: { bytes: [0x00, 0x01], decoded: 1 },
  u32: { bytes: [0x00, 0x00, 0x00, 0x01], decoded: 1 },
  // Subscription Identifier, the one such property, may repeat on PUBLISH: the codec keeps a list.
  vbi: { bytes: [0x01], decoded: [1] },
  string: { bytes: [0x00, 0x01, ...str('a')], decoded: 'a' },
  binary: { bytes: [0x00, 0x01, 0x00], decoded: Buffer.from([0x00]) },
  pair: { bytes: [0x00, 0x01, ...str('k'), 0x00, 0x01, ...str('v')], decoded: [['k', 'v']] },
};

const AUTHENTICATION_DATA = 0x16;

/** The property block's contents: identifier and value. */
function propertyBytes(spec: PropertySpec): number[] {
  const bytes = [spec.id, ...VALUES[spec.type].bytes];
  // §3.1.2.11.10: Authentication Data without an Authentication Method is a Protocol Error, so a method
  // follows. It follows, so that where the data is not allowed, the data is what gets refused.
  if (spec.id === AUTHENTICATION_DATA) bytes.push(0x15, 0x00, 0x01, ...str('m'));
  return bytes;
}

function ack(first: number): (props: number[]) => number[] {
  // biome-ignore format: a byte table keeps one field per line
  return (props) => [
    first, 4 + props.length, // fixed header, remaining length
    0x00, 0x01, // packet id 1
    0x00, // reason code: success
    props.length, // properties length
    ...props, // properties
  ];
}

/** A valid 5.0 packet of each context, carrying `props` as its (or its Will's) property block. */
const CARRIERS: Record<Context, (props: number[]) => number[]> = {
  // biome-ignore format: a byte table keeps one field per line
  CONNECT: (props) => [
    0x10, 10 + 1 + props.length + 3, // fixed header: CONNECT, remaining length
    0x00, 0x04, ...str('MQTT'), // protocol name
    0x05, // protocol level 5
    0x02, // connect flags: clean start
    0x00, 0x00, // keep alive 0
    props.length, // properties length
    ...props, // properties
    0x00, 0x01, ...str('c'), // client id
  ],
  // biome-ignore format: a byte table keeps one field per line
  Will: (props) => [
    0x10, 10 + 1 + 3 + 1 + props.length + 3 + 3, // fixed header: CONNECT, remaining length
    0x00, 0x04, ...str('MQTT'), // protocol name
    0x05, // protocol level 5
    0x06, // connect flags: will (QoS 0, no retain), clean start
    0x00, 0x00, // keep alive 0
    0x00, // properties length 0
    0x00, 0x01, ...str('c'), // client id
    props.length, // will properties length
    ...props, // will properties
    0x00, 0x01, ...str('w'), // will topic
    0x00, 0x01, ...str('x'), // will payload
  ],
  // biome-ignore format: a byte table keeps one field per line
  CONNACK: (props) => [
    0x20, 3 + props.length, // fixed header: CONNACK, remaining length
    0x00, // acknowledge flags: no session present
    0x00, // reason code: success
    props.length, // properties length
    ...props, // properties
  ],
  // biome-ignore format: a byte table keeps one field per line
  PUBLISH: (props) => [
    0x30, 3 + 1 + props.length + 1, // fixed header: PUBLISH QoS 0, remaining length
    0x00, 0x01, ...str('t'), // topic
    props.length, // properties length
    ...props, // properties
    ...str('x'), // payload
  ],
  PUBACK: ack(0x40), // fixed header: PUBACK
  PUBREC: ack(0x50), // fixed header: PUBREC
  PUBREL: ack(0x62), // fixed header: PUBREL (flags 0b0010)
  PUBCOMP: ack(0x70), // fixed header: PUBCOMP
  // biome-ignore format: a byte table keeps one field per line
  SUBSCRIBE: (props) => [
    0x82, 2 + 1 + props.length + 4, // fixed header: SUBSCRIBE (flags 0b0010), remaining length
    0x00, 0x01, // packet id 1
    props.length, // properties length
    ...props, // properties
    0x00, 0x01, ...str('a'), // filter
    0x00, // options: QoS 0
  ],
  // biome-ignore format: a byte table keeps one field per line
  SUBACK: (props) => [
    0x90, 2 + 1 + props.length + 1, // fixed header: SUBACK, remaining length
    0x00, 0x01, // packet id 1
    props.length, // properties length
    ...props, // properties
    0x00, // granted QoS 0
  ],
  // biome-ignore format: a byte table keeps one field per line
  UNSUBSCRIBE: (props) => [
    0xa2, 2 + 1 + props.length + 3, // fixed header: UNSUBSCRIBE (flags 0b0010), remaining length
    0x00, 0x01, // packet id 1
    props.length, // properties length
    ...props, // properties
    0x00, 0x01, ...str('a'), // filter
  ],
  // biome-ignore format: a byte table keeps one field per line
  UNSUBACK: (props) => [
    0xb0, 2 + 1 + props.length + 1, // fixed header: UNSUBACK, remaining length
    0x00, 0x01, // packet id 1
    props.length, // properties length
    ...props, // properties
    0x00, // success
  ],
  // biome-ignore format: a byte table keeps one field per line
  DISCONNECT: (props) => [
    0xe0, 2 + props.length, // fixed header: DISCONNECT, remaining length
    0x00, // reason code: normal disconnection
    props.length, // properties length
    ...props, // properties
  ],
  // biome-ignore format: a byte table keeps one field per line
  AUTH: (props) => [
    0xf0, 2 + props.length, // fixed header: AUTH, remaining length
    0x18, // reason code: continue authentication
    props.length, // properties length
    ...props, // properties
  ],
};

function propertiesOf(packet: Packet, context: Context): Properties | undefined {
  if (context === 'Will') return packet.type === 'connect' ? packet.will?.properties : undefined;
  return 'properties' in packet ? packet.properties : undefined;
}

const where = (context: Context) => (context === 'Will' ? 'the CONNECT Will Properties' : context);

for (const spec of PROPERTY_TABLE) {
  const label = `Table 2-4: ${spec.name} (0x${spec.id.toString(16).padStart(2, '0')})`;
  for (const context of CONTEXTS) {
    const bytes = CARRIERS[context](propertyBytes(spec));
    if (spec.contexts.includes(context)) {
      test(`${label} is read on ${where(context)}`, () => {
        const properties = propertiesOf(decodeOne(bytes, 5), context);
        assert.deepStrictEqual(properties?.[spec.key], VALUES[spec.type].decoded);
      });
    } else {
      // §2.2.2.2: an identifier not valid for its packet type makes a Malformed Packet.
      test(`${label} on ${where(context)} is a Malformed Packet`, () => {
        assert.equal(decodeError(bytes, 5).code, 'MALFORMED_PACKET');
      });
    }
  }
}
