/** MQTT 5 property rejections (MQTT 5.0 §2.2.2): identifiers, placement, repeats, values, lengths. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeError, decodeOne, type Rejection, str } from './helpers.js';

/** A 5.0 QoS 0 PUBLISH to topic 't' with the given property bytes and payload 'x'. */
function publishWith(props: number[]): number[] {
  // biome-ignore format: a byte table keeps one field per line
  return [
    0x30, 2 + 1 + 1 + props.length + 1, // fixed header: PUBLISH QoS 0, remaining length
    0x00, 0x01, ...str('t'), // topic
    props.length, // properties length
    ...props, // properties
    ...str('x'), // payload
  ];
}

/** A 5.0 CONNECT with the given property bytes. */
function connectWith(props: number[]): number[] {
  // biome-ignore format: a byte table keeps one field per line
  return [
    0x10, 10 + 1 + props.length + 3, // fixed header: CONNECT, remaining length
    0x00, 0x04, ...str('MQTT'), // protocol name
    0x05, // protocol level 5
    0x02, // connect flags: clean
    0x00, 0x00, // keep alive
    props.length, // properties length
    ...props, // properties
    0x00, 0x01, ...str('c'), // client id
  ];
}

const rejections: Rejection[] = [
  {
    name: 'an unknown property identifier',
    version: 5,
    bytes: publishWith([0x04, 0x00]), // identifier 4 is not defined
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a property identifier with the continuation bit set',
    version: 5,
    bytes: publishWith([0x81, 0x00]), // a two-byte identifier: none exists
    code: 'MALFORMED_PACKET',
  },
  {
    // §2.2.2.2: an identifier not valid for its packet type makes a Malformed Packet.
    name: 'a property not allowed on PUBLISH (session expiry interval)',
    version: 5,
    bytes: publishWith([0x11, 0x00, 0x00, 0x00, 0x01]),
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a will-only property among the CONNECT properties (will delay interval)',
    version: 5,
    bytes: connectWith([0x18, 0x00, 0x00, 0x00, 0x01]),
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a once-only property twice (message expiry interval)',
    version: 5,
    bytes: publishWith([0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'a once-only property twice, the first time with value 0 (topic alias maximum)',
    version: 5,
    bytes: connectWith([0x22, 0x00, 0x00, 0x22, 0x00, 0x01]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'subscription identifier 0 (§3.8.2.1.2)',
    version: 5,
    bytes: publishWith([0x0b, 0x00]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'subscription identifier twice on SUBSCRIBE (§3.8.2.1.2)',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x0a, // fixed header: SUBSCRIBE, remaining length 10
      0x00, 0x01, // packet id 1
      0x04, // properties length
      0x0b, 0x01, // subscription identifier 1
      0x0b, 0x02, // subscription identifier 2
      0x00, 0x01, ...str('a'), // filter
      0x00, // options
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'receive maximum 0 (§3.1.2.11.3)',
    version: 5,
    bytes: connectWith([0x21, 0x00, 0x00]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'maximum packet size 0 (§3.1.2.11.4)',
    version: 5,
    bytes: connectWith([0x27, 0x00, 0x00, 0x00, 0x00]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'request problem information 2 (§3.1.2.11.7)',
    version: 5,
    bytes: connectWith([0x17, 0x02]),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'a value running past the properties length',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x0a, // fixed header: PUBLISH QoS 0, remaining length 10
      0x00, 0x01, ...str('t'), // topic
      0x02, // properties length 2, but the property below takes 5
      0x02, 0x00, 0x00, 0x00, 0x01, // message expiry interval
      ...str('x'), // payload
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a properties length running past the end of the packet',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x05, // fixed header: PUBLISH QoS 0, remaining length 5
      0x00, 0x01, ...str('t'), // topic
      0x09, // properties length 9, with 1 byte left in the packet
      0x01, // a property identifier
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a user property whose value is not UTF-8',
    version: 5,
    bytes: publishWith([0x26, 0x00, 0x01, ...str('k'), 0x00, 0x01, 0xfe]),
    code: 'MALFORMED_PACKET',
  },
];

for (const r of rejections) {
  test(`properties: rejects ${r.name}`, () => {
    assert.equal(decodeError(r.bytes, r.version).code, r.code);
  });
}

test('properties: subscription identifiers may repeat on PUBLISH, in order (§3.3.2.3.8)', () => {
  const packet = decodeOne(publishWith([0x0b, 0x05, 0x0b, 0x03]), 5);
  assert.ok(packet.type === 'publish');
  assert.deepStrictEqual(packet.properties, { subscriptionIdentifiers: [5, 3] });
});
