/**
 * Malformed and forbidden input after a successful CONNECT. Each case must close only the offending
 * connection, publish that connection's will (a protocol-error close is not a DISCONNECT
 * [MQTT-3.1.2-8]), and leave the broker serving everyone else: after each case a healthy MQTT.js client
 * receives the will and then completes a round trip.
 *
 * One broker serves the whole file with maxPacketSize 1024 and maxTopicLevels 8.
 */

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { TestBroker } from '../helpers/broker.js';
import { assertRoundTrip, messagesUntil } from '../helpers/mqtt.js';
import { frame, publish, str } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

interface Case {
  name: string;
  bytes: readonly number[] | Buffer;
}

const CASES: Case[] = [
  {
    name: 'malformed remaining length: five bytes with the continuation bit (at most four allowed)',
    bytes: [
      0x30, // PUBLISH, QoS 0
      0xff, // remaining length byte 1, continuation
      0xff, // remaining length byte 2, continuation
      0xff, // remaining length byte 3, continuation
      0xff, // remaining length byte 4, continuation: already malformed
      0xff, // remaining length byte 5
    ],
  },
  {
    name: 'remaining length of 1 MiB over maxPacketSize 1024: closed from the header alone',
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x80, // remaining length byte 1: 0, continuation
      0x80, // remaining length byte 2: 0, continuation
      0x40, // remaining length byte 3: 64 x 128^2 = 1,048,576
      0x00, // topic length MSB (the rest of the body is never sent)
      0x01, // topic length LSB
      0x74, // 't'
    ],
  },
  {
    name: 'packet of 1025 bytes, one over maxPacketSize 1024',
    // 1 (type) + 2 (remaining length 1022) + 1022 (body) = 1025 bytes.
    bytes: frame(
      0x30, // PUBLISH, QoS 0
      [
        ...str('bad/big'), // topic: 2 + 7 bytes
        ...Buffer.alloc(1022 - 9, 0x61), // payload: 1013 x 'a'
      ],
    ),
  },
  {
    name: 'SUBSCRIBE with reserved flags 0000 instead of 0010 [MQTT-3.8.1-1]',
    bytes: [
      0x80, // SUBSCRIBE, flags 0000 (must be 0010)
      0x08, // remaining length 8
      0x00, // packet id MSB
      0x01, // packet id LSB
      0x00, // filter length MSB
      0x03, // filter length LSB
      0x61, // 'a'
      0x2f, // '/'
      0x62, // 'b'
      0x00, // requested QoS 0
    ],
  },
  {
    name: 'PUBREL with flags 0000 instead of 0010 [MQTT-3.6.1-1]',
    bytes: [
      0x60, // PUBREL, flags 0000 (must be 0010)
      0x02, // remaining length 2
      0x00, // packet id MSB
      0x01, // packet id LSB
    ],
  },
  {
    name: 'PUBLISH with QoS 3 [MQTT-3.3.1-4]',
    bytes: [
      0x36, // PUBLISH, QoS bits 11
      0x07, // remaining length 7
      0x00, // topic length MSB
      0x03, // topic length LSB
      0x61, // 'a'
      0x2f, // '/'
      0x62, // 'b'
      0x00, // packet id MSB
      0x01, // packet id LSB
    ],
  },
  {
    name: "PUBLISH topic with '+' [MQTT-3.3.2-2]",
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x05, // remaining length 5
      0x00, // topic length MSB
      0x03, // topic length LSB
      0x61, // 'a'
      0x2f, // '/'
      0x2b, // '+'
    ],
  },
  {
    name: "PUBLISH topic with '#' [MQTT-3.3.2-2]",
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x05, // remaining length 5
      0x00, // topic length MSB
      0x03, // topic length LSB
      0x61, // 'a'
      0x2f, // '/'
      0x23, // '#'
    ],
  },
  {
    name: 'PUBLISH topic with invalid UTF-8 (0xc3 followed by a non-continuation byte) [MQTT-1.5.3-1]',
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x05, // remaining length 5
      0x00, // topic length MSB
      0x03, // topic length LSB
      0x61, // 'a'
      0xc3, // lead byte of a 2-byte sequence
      0x28, // '(' — not a continuation byte
    ],
  },
  {
    name: 'PUBLISH topic with an encoded UTF-16 surrogate (U+D800) [MQTT-1.5.3-1]',
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x05, // remaining length 5
      0x00, // topic length MSB
      0x03, // topic length LSB
      0xed, // U+D800 encoded as UTF-8: byte 1
      0xa0, // byte 2
      0x80, // byte 3
    ],
  },
  {
    name: 'PUBLISH topic containing U+0000 [MQTT-1.5.3-2]',
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x05, // remaining length 5
      0x00, // topic length MSB
      0x03, // topic length LSB
      0x61, // 'a'
      0x00, // U+0000
      0x62, // 'b'
    ],
  },
  {
    name: 'PUBLISH with a zero-length topic [MQTT-4.7.3-1]',
    bytes: [
      0x30, // PUBLISH, QoS 0
      0x03, // remaining length 3
      0x00, // topic length MSB
      0x00, // topic length LSB: empty topic
      0x78, // payload 'x'
    ],
  },
  {
    name: 'PUBLISH topic with 9 levels, over maxTopicLevels 8',
    bytes: publish({ topic: 'a/b/c/d/e/f/g/h/i', payload: 'deep' }),
  },
  {
    name: 'QoS 1 PUBLISH with packet id 0 [MQTT-2.3.1-1]',
    bytes: [
      0x32, // PUBLISH, QoS 1
      0x07, // remaining length 7
      0x00, // topic length MSB
      0x03, // topic length LSB
      0x61, // 'a'
      0x2f, // '/'
      0x62, // 'b'
      0x00, // packet id MSB
      0x00, // packet id LSB: 0 is not allowed
    ],
  },
  {
    name: 'SUBSCRIBE with no topic filters [MQTT-3.8.3-3]',
    bytes: [
      0x82, // SUBSCRIBE, flags 0010
      0x02, // remaining length 2
      0x00, // packet id MSB
      0x01, // packet id LSB; no payload
    ],
  },
  {
    name: 'SUBSCRIBE requesting QoS 3 [MQTT-3.8.3-4]',
    bytes: [
      0x82, // SUBSCRIBE, flags 0010
      0x08, // remaining length 8
      0x00, // packet id MSB
      0x01, // packet id LSB
      0x00, // filter length MSB
      0x03, // filter length LSB
      0x61, // 'a'
      0x2f, // '/'
      0x62, // 'b'
      0x03, // requested QoS 3
    ],
  },
  {
    name: 'UNSUBSCRIBE with no topic filters [MQTT-3.10.3-2]',
    bytes: [
      0xa2, // UNSUBSCRIBE, flags 0010
      0x02, // remaining length 2
      0x00, // packet id MSB
      0x01, // packet id LSB; no payload
    ],
  },
  {
    name: 'packet type 15 (AUTH) on a 3.1.1 connection',
    bytes: [
      0xf0, // type 15: reserved in 3.1.1
      0x00, // remaining length 0
    ],
  },
  {
    name: 'packet type 0 (reserved)',
    bytes: [
      0x00, // type 0: reserved
      0x00, // remaining length 0
    ],
  },
];

describe('bad input closes only the offending connection, and publishes its will', () => {
  const shared = new Scope();
  const perTest = new Scope();
  let b: TestBroker;
  let healthy: MqttClient;

  before(async () => {
    b = await shared.broker({ maxPacketSize: 1024, maxTopicLevels: 8 });
    healthy = await shared.connect(b.url, { clientId: 'healthy' });
    await healthy.subscribeAsync('bad/will/#', { qos: 1 });
  });
  afterEach(() => perTest.close());
  after(() => shared.close());

  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const willTopic = `bad/will/${i}`;
      const { raw } = await perTest.rawConnect(b.port, {
        clientId: `bad-${i}`,
        will: { topic: willTopic, payload: `will ${i}`, qos: 1 },
      });
      raw.send(c.bytes);
      await raw.expectClosedSilently(c.name);
      const { match, before: others } = await messagesUntil(healthy, (m) => m.topic === willTopic);
      assert.equal(match.payload.toString(), `will ${i}`);
      assert.deepEqual(
        others.map((m) => m.topic),
        [],
        'no other message (such as an earlier case) reached the healthy client first',
      );
      await assertRoundTrip(healthy, `bad/alive/${i}`);
    });
  });

  test('a packet of exactly maxPacketSize (1024 bytes) is accepted', async () => {
    const { raw } = await perTest.rawConnect(b.port, { clientId: 'bad-boundary' });
    await healthy.subscribeAsync('bad/fits', { qos: 0 });
    // 1 (type) + 2 (remaining length 1021) + 1021 (body) = 1024 bytes.
    const bytes = frame(
      0x30, // PUBLISH, QoS 0
      [
        ...str('bad/fits'), // topic: 2 + 8 bytes
        ...Buffer.alloc(1021 - 10, 0x62), // payload: 1011 x 'b'
      ],
    );
    assert.equal(bytes.length, 1024);
    raw.send(bytes);
    const { match } = await messagesUntil(healthy, (m) => m.topic === 'bad/fits');
    assert.equal(match.payload.length, 1011);
    assert.equal(raw.closed, false);
  });
});
