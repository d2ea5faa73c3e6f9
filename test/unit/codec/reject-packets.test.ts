/** Rejections in the bodies of PUBLISH, SUBSCRIBE, UNSUBSCRIBE and the acknowledgements; strings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeError, type Rejection, str } from './helpers.js';

const rejections: Rejection[] = [
  {
    name: 'a topic that is not well-formed UTF-8 [MQTT-1.5.3-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x04, // fixed header: PUBLISH QoS 0, remaining length 4
      0x00, 0x02, // topic length
      0xc3, 0x28, // topic: a lead byte followed by a non-continuation byte
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a topic holding an encoded surrogate U+D800 [MQTT-1.5.3-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x05, // fixed header: PUBLISH QoS 0, remaining length 5
      0x00, 0x03, // topic length
      0xed, 0xa0, 0x80, // topic: U+D800 in UTF-8 form
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a topic holding the overlong NUL C0 80 [MQTT-1.5.3-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x04, // fixed header: PUBLISH QoS 0, remaining length 4
      0x00, 0x02, // topic length
      0xc0, 0x80, // topic: overlong encoding of U+0000
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a topic holding U+0000 [MQTT-1.5.3-2]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x05, // fixed header: PUBLISH QoS 0, remaining length 5
      0x00, 0x03, // topic length
      ...str('a'), 0x00, ...str('b'), // topic: a, NUL, b
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a topic running past the end of the packet',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x04, // fixed header: PUBLISH QoS 0, remaining length 4
      0x00, 0x05, // topic length 5, but only 2 bytes remain
      ...str('ab'), // topic, cut short
      0xc0, 0x00, // a PINGREQ: the topic must not read into it
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a QoS 1 PUBLISH with packet id 0 [MQTT-2.3.1-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x32, 0x05, // fixed header: PUBLISH QoS 1, remaining length 5
      0x00, 0x01, ...str('t'), // topic
      0x00, 0x00, // packet id 0
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'a QoS 2 PUBLISH cut before its packet id',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x34, 0x04, // fixed header: PUBLISH QoS 2, remaining length 4
      0x00, 0x01, ...str('t'), // topic
      0x01, // half a packet id
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0: an empty topic without a topic alias (§3.3.2.1)',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x04, // fixed header: PUBLISH QoS 0, remaining length 4
      0x00, 0x00, // topic length 0
      0x00, // properties length 0: no alias
      ...str('x'), // payload
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'SUBSCRIBE with packet id 0 [MQTT-2.3.1-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x06, // fixed header: SUBSCRIBE, remaining length 6
      0x00, 0x00, // packet id 0
      0x00, 0x01, ...str('a'), // filter
      0x00, // requested QoS 0
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'SUBSCRIBE without filters [MQTT-3.8.3-3]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x02, // fixed header: SUBSCRIBE, remaining length 2
      0x00, 0x01, // packet id 1, and nothing after it
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: '3.1.1 SUBSCRIBE with reserved bits in the QoS byte [MQTT-3-8.3-4]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x06, // fixed header: SUBSCRIBE, remaining length 6
      0x00, 0x01, // packet id 1
      0x00, 0x01, ...str('a'), // filter
      0x04, // requested QoS byte: bit 2 is reserved below 5.0
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 SUBSCRIBE with QoS 3 [MQTT-3-8.3-4]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x06, // fixed header: SUBSCRIBE, remaining length 6
      0x00, 0x01, // packet id 1
      0x00, 0x01, ...str('a'), // filter
      0x03, // requested QoS 3
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'SUBSCRIBE with a filter but no options byte',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x05, // fixed header: SUBSCRIBE, remaining length 5
      0x00, 0x01, // packet id 1
      0x00, 0x01, ...str('a'), // filter, then the packet ends
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 SUBSCRIBE with reserved option bits 6-7 [MQTT-3.8.3-5]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x07, // fixed header: SUBSCRIBE, remaining length 7
      0x00, 0x01, // packet id 1
      0x00, // properties length
      0x00, 0x01, ...str('a'), // filter
      0x40, // options: bit 6 set
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 SUBSCRIBE with retain handling 3 (§3.8.3.1)',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x07, // fixed header: SUBSCRIBE, remaining length 7
      0x00, 0x01, // packet id 1
      0x00, // properties length
      0x00, 0x01, ...str('a'), // filter
      0x30, // options: retain handling 3
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: '5.0 SUBSCRIBE with QoS 3 (§3.8.3.1)',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 0x07, // fixed header: SUBSCRIBE, remaining length 7
      0x00, 0x01, // packet id 1
      0x00, // properties length
      0x00, 0x01, ...str('a'), // filter
      0x03, // options: QoS 3
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'UNSUBSCRIBE with packet id 0 [MQTT-2.3.1-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xa2, 0x05, // fixed header: UNSUBSCRIBE, remaining length 5
      0x00, 0x00, // packet id 0
      0x00, 0x01, ...str('a'), // filter
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'UNSUBSCRIBE without filters [MQTT-3.10.3-2]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xa2, 0x03, // fixed header: UNSUBSCRIBE, remaining length 3
      0x00, 0x01, // packet id 1
      0x00, // properties length, and no filter after it
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: '3.1.1 CONNACK with reserved acknowledge flags [MQTT-3.2.2-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x02, // fixed header: CONNACK, remaining length 2
      0x02, // acknowledge flags: bit 1 is reserved
      0x00, // return code 0
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 CONNACK with a reserved return code',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x02, // fixed header: CONNACK, remaining length 2
      0x00, // acknowledge flags
      0x06, // return code 6: reserved
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 CONNACK without its properties length',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x02, // fixed header: CONNACK, remaining length 2
      0x00, // acknowledge flags
      0x00, // reason code, then the required properties length is missing
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 CONNACK with a reason code CONNACK may not carry',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x03, // fixed header: CONNACK, remaining length 3
      0x00, // acknowledge flags
      0x04, // reason code: disconnect with will message, a DISCONNECT code
      0x00, // properties length
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 PUBACK with a reason code PUBACK may not carry [MQTT-3.4.2-1]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x40, 0x03, // fixed header: PUBACK, remaining length 3
      0x00, 0x01, // packet id 1
      0x92, // reason code: packet identifier not found, a PUBREL/PUBCOMP code
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 PUBCOMP with a reason code PUBCOMP may not carry [MQTT-3.7.2-1]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x70, 0x03, // fixed header: PUBCOMP, remaining length 3
      0x00, 0x01, // packet id 1
      0x10, // reason code: no matching subscribers, a PUBACK code
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 PUBACK with a byte after its properties',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x40, 0x05, // fixed header: PUBACK, remaining length 5
      0x00, 0x01, // packet id 1
      0x00, // reason code
      0x00, // properties length 0
      0x00, // trailing byte
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 SUBACK with a reserved return code [MQTT-3.9.3-2]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x90, 0x03, // fixed header: SUBACK, remaining length 3
      0x00, 0x01, // packet id 1
      0x03, // return code 3: reserved
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'SUBACK without return codes',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x90, 0x02, // fixed header: SUBACK, remaining length 2
      0x00, 0x01, // packet id 1, nothing after it
    ],
    code: 'PROTOCOL_ERROR',
  },
  {
    name: '5.0 UNSUBACK with a reason code UNSUBACK may not carry',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xb0, 0x04, // fixed header: UNSUBACK, remaining length 4
      0x00, 0x01, // packet id 1
      0x00, // properties length
      0x01, // reason code 1: a SUBACK code
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 DISCONNECT with a reason code DISCONNECT may not carry [MQTT-3.14.2-1]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 0x01, // fixed header: DISCONNECT, remaining length 1
      0x18, // reason code: continue authentication, an AUTH code
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0 AUTH with a reason code AUTH may not carry [MQTT-3.15.2-1]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xf0, 0x02, // fixed header: AUTH, remaining length 2
      0x87, // reason code: not authorized
      0x00, // properties length
    ],
    code: 'MALFORMED_PACKET',
  },
];

for (const r of rejections) {
  test(`rejects ${r.name}`, () => {
    assert.equal(decodeError(r.bytes, r.version).code, r.code);
  });
}
