/**
 * Fixed-header rejections, the maximum packet size, and fail-stop. Each of these must be decided from
 * the fixed header alone: the tests push no body, to prove the decoder did not wait for one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError, Decoder } from '../../../src/codec/index.js';
import { decodeError, type Rejection, str } from './helpers.js';

const headerOnly: Rejection[] = [
  {
    name: 'packet type 0 is reserved',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x00, // fixed header: type 0
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'packet type 15 (AUTH) below MQTT 5 is reserved',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xf0, // fixed header: type 15
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'PUBREL flags must be 0b0010 [MQTT-2.2.2-1/2]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x60, // fixed header: PUBREL with flags 0
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'SUBSCRIBE flags must be 0b0010 [MQTT-2.2.2-1/2]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x80, // fixed header: SUBSCRIBE with flags 0
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'UNSUBSCRIBE flags must be 0b0010 [MQTT-2.2.2-1/2]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xa3, // fixed header: UNSUBSCRIBE with flags 0b0011
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'CONNECT flags must be 0 [MQTT-2.2.2-1/2]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x12, // fixed header: CONNECT with flags 0b0010
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'PUBACK flags must be 0 [MQTT-2.2.2-1/2]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x48, // fixed header: PUBACK with flags 0b1000
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'PUBLISH QoS 3 [MQTT-3.3.1-4]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x36, // fixed header: PUBLISH with both QoS bits set
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'remaining length with a fifth byte',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, // fixed header: PUBLISH
      0xff, 0xff, 0xff, 0xff, // remaining length: four bytes, the last still continued
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'PINGREQ remaining length must be 0',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xc0, 0x01, // fixed header: PINGREQ, remaining length 1
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'PINGRESP remaining length must be 0',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xd0, 0x80, 0x01, // fixed header: PINGRESP, remaining length 128
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 DISCONNECT remaining length must be 0',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 0x01, // fixed header: DISCONNECT, remaining length 1
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 PUBACK remaining length must be 2',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x40, 0x03, // fixed header: PUBACK, remaining length 3
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 CONNACK remaining length must be 2',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x03, // fixed header: CONNACK, remaining length 3
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1 UNSUBACK remaining length must be 2',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xb0, 0x04, // fixed header: UNSUBACK, remaining length 4
    ],
    code: 'MALFORMED_PACKET',
  },
];

for (const r of headerOnly) {
  test(`rejects from the fixed header alone: ${r.name}`, () => {
    assert.equal(decodeError(r.bytes, r.version).code, r.code);
  });
}

test('PACKET_TOO_LARGE is raised from the fixed header of a huge packet, before its body', () => {
  const decoder = new Decoder({ maxPacketSize: 1024 });
  // biome-ignore format: a byte table keeps one field per line
  decoder.push(Buffer.from([
    0x30, // fixed header: PUBLISH
    0xff, 0xff, 0xff, 0x7f, // remaining length 268,435,455: the largest there is
  ]));
  assert.equal(decoder.buffered, 5);
  assert.throws(
    () => decoder.next(),
    (err) => err instanceof CodecError && err.code === 'PACKET_TOO_LARGE' && err.reasonCode === 0x95,
  );
});

test('maximum packet size counts the whole packet, fixed header included', () => {
  // PINGREQ-sized limits are silly but exact: a 7-byte PUBLISH (2 header + 5 body).
  const publish = [0x30, 0x05, 0x00, 0x01, ...str('t'), ...str('ab')];
  assert.equal(decodeError(publish, 4, 6).code, 'PACKET_TOO_LARGE');
  const decoder = new Decoder({ maxPacketSize: 7 });
  decoder.push(Buffer.from(publish));
  assert.equal(decoder.next()?.type, 'publish');
});

test('a maximum packet size lowered after the fixed header still applies to that packet', () => {
  const decoder = new Decoder({ maxPacketSize: 100 });
  decoder.push(Buffer.from([0x30, 0x05, 0x00])); // PUBLISH header, first byte of its body
  assert.equal(decoder.next(), null);
  decoder.maxPacketSize = 6;
  assert.throws(() => decoder.next(), { code: 'PACKET_TOO_LARGE' });
});

test('after an error the decoder is dead: later calls throw the same error and it holds nothing', () => {
  const decoder = new Decoder({ maxPacketSize: 100 });
  decoder.push(Buffer.from([0xc0, 0x00, 0x00, 0x00, 0xc0, 0x00])); // PINGREQ, then type 0, then more
  assert.deepStrictEqual(decoder.next(), { type: 'pingreq' });
  let first: unknown;
  try {
    decoder.next();
  } catch (err) {
    first = err;
  }
  assert.ok(first instanceof CodecError && first.code === 'MALFORMED_PACKET');
  assert.equal(decoder.buffered, 0);
  assert.throws(
    () => decoder.next(),
    (err) => err === first,
  );
  assert.throws(
    () => decoder.push(Buffer.from([0xc0, 0x00])),
    (err) => err === first,
  );
});

test('CodecError carries a stable code, the MQTT 5 reason code and a message', () => {
  const err = decodeError([0x36], 4);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'CodecError');
  assert.equal(err.code, 'MALFORMED_PACKET');
  assert.equal(err.reasonCode, 0x81);
  assert.match(err.message, /QoS 3/);
});
