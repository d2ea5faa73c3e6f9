/**
 * Quality of service (MQTT 3.1.1 §4.3): delivery at min(publish QoS, granted QoS), and the exact QoS 1
 * and QoS 2 flows in both directions, spoken byte by byte over a raw socket.
 */

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { TestBroker } from '../helpers/broker.js';
import { nextMessage } from '../helpers/mqtt.js';
import { ack, puback, pubcomp, publish, pubrec, pubrel, suback, subscribe } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

type QoS = 0 | 1 | 2;
const LEVELS: readonly QoS[] = [0, 1, 2];

describe('delivery QoS is min(publish QoS, granted QoS) [MQTT-3.8.4-6]', () => {
  const shared = new Scope();
  let b: TestBroker;
  let pub: MqttClient;
  let sub: MqttClient;

  before(async () => {
    b = await shared.broker();
    pub = await shared.connect(b.url, { clientId: 'qos-pub' });
    sub = await shared.connect(b.url, { clientId: 'qos-sub' });
    for (const q of LEVELS) {
      const granted = await sub.subscribeAsync(`qos/sub${q}`, { qos: q });
      assert.equal(granted[0]?.qos, q, `SUBACK grants QoS ${q}`);
    }
  });
  after(() => shared.close());

  for (const subQos of LEVELS) {
    for (const pubQos of LEVELS) {
      const expected = Math.min(subQos, pubQos);
      test(`published at QoS ${pubQos}, subscribed at QoS ${subQos} -> delivered at QoS ${expected}`, async () => {
        const payload = `p${pubQos}s${subQos}`;
        await pub.publishAsync(`qos/sub${subQos}`, payload, { qos: pubQos });
        const m = await nextMessage(sub);
        assert.equal(m.topic, `qos/sub${subQos}`);
        assert.equal(m.payload.toString(), payload);
        assert.equal(m.packet.qos, expected);
      });
    }
  }
});

describe('exact QoS flows over a raw socket', () => {
  const scope = new Scope();
  afterEach(() => scope.close());

  test('QoS 1 PUBLISH is answered by PUBACK with the same packet id [MQTT-4.3.2-2]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'raw-q1' });
    raw.send(publish({ topic: 'flow/q1', payload: 'one', qos: 1, id: 0x1234 }));
    await raw.expectBytes(ack(0x40, 0x1234), 'PUBACK id 0x1234');
  });

  test('QoS 2 PUBLISH -> PUBREC, PUBREL -> PUBCOMP, same packet id [MQTT-4.3.3-2]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'raw-q2' });
    raw.send(publish({ topic: 'flow/q2', payload: 'two', qos: 2, id: 0x0102 }));
    await raw.expectBytes(ack(0x50, 0x0102), 'PUBREC id 0x0102');
    raw.send(pubrel(0x0102));
    await raw.expectBytes(ack(0x70, 0x0102), 'PUBCOMP id 0x0102');
  });

  test('QoS 2 PUBLISH resent with DUP before PUBREL is delivered once; PUBREC is sent again [MQTT-4.3.3-2]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'dup-sub' });
    await sub.subscribeAsync('flow/dup', { qos: 2 });
    const { raw } = await scope.rawConnect(b.port, { clientId: 'dup-pub' });

    raw.send(publish({ topic: 'flow/dup', payload: 'once', qos: 2, id: 7 }));
    await raw.expectBytes(ack(0x50, 7), 'PUBREC id 7');
    raw.send(publish({ topic: 'flow/dup', payload: 'once', qos: 2, id: 7, dup: true }));
    await raw.expectBytes(ack(0x50, 7), 'PUBREC id 7 again, for the DUP');
    raw.send(pubrel(7));
    await raw.expectBytes(ack(0x70, 7), 'PUBCOMP id 7');
    // Marker at the same QoS on the same topic: it must be the very next message after 'once'.
    raw.send(publish({ topic: 'flow/dup', payload: 'marker', qos: 2, id: 8 }));
    await raw.expectBytes(ack(0x50, 8), 'PUBREC id 8');
    raw.send(pubrel(8));
    await raw.expectBytes(ack(0x70, 8), 'PUBCOMP id 8');

    const first = await nextMessage(sub);
    assert.equal(first.payload.toString(), 'once');
    const second = await nextMessage(sub);
    assert.equal(second.payload.toString(), 'marker', 'the DUP must not be delivered a second time');
  });

  test('PUBREL for an unknown packet id still gets PUBCOMP', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'raw-unknown-rel' });
    raw.send(pubrel(99));
    await raw.expectBytes(ack(0x70, 99), 'PUBCOMP id 99');
  });

  test('outbound QoS 1: non-zero packet id, PUBACK completes the flow', async () => {
    // maxInflight 1: the second message can only be sent once the first is acknowledged, so its arrival
    // proves the broker took the PUBACK.
    const b = await scope.broker({ maxInflight: 1 });
    const { raw } = await scope.rawConnect(b.port, { clientId: 'raw-out-q1' });
    raw.send(subscribe(1, [['out/q1', 1]]));
    await raw.expectBytes(suback(1, [1]), 'SUBACK granting QoS 1');
    const pub = await scope.connect(b.url, { clientId: 'out-q1-pub' });
    await pub.publishAsync('out/q1', 'm1', { qos: 1 });
    await pub.publishAsync('out/q1', 'm2', { qos: 1 });

    const { packet: p1 } = await raw.expect('publish');
    assert.equal(p1.qos, 1);
    assert.equal(p1.dup, false, 'first delivery has DUP 0 [MQTT-3.3.1-3]');
    assert.ok(p1.messageId !== undefined && p1.messageId !== 0, 'QoS 1 PUBLISH has a non-zero packet id');
    assert.equal(p1.payload.toString(), 'm1');
    raw.send(puback(p1.messageId));

    const { packet: p2 } = await raw.expect('publish');
    assert.equal(p2.payload.toString(), 'm2');
    assert.ok(p2.messageId !== undefined && p2.messageId !== 0);
    raw.send(puback(p2.messageId));
  });

  test('outbound QoS 2: PUBLISH -> PUBREC -> PUBREL (flags 0010) -> PUBCOMP completes the flow', async () => {
    const b = await scope.broker({ maxInflight: 1 });
    const { raw } = await scope.rawConnect(b.port, { clientId: 'raw-out-q2' });
    raw.send(subscribe(2, [['out/q2', 2]]));
    await raw.expectBytes(suback(2, [2]), 'SUBACK granting QoS 2');
    const pub = await scope.connect(b.url, { clientId: 'out-q2-pub' });
    await pub.publishAsync('out/q2', 'm1', { qos: 2 });
    await pub.publishAsync('out/q2', 'm2', { qos: 2 });

    const { packet: p1 } = await raw.expect('publish');
    assert.equal(p1.qos, 2);
    assert.ok(p1.messageId !== undefined && p1.messageId !== 0, 'QoS 2 PUBLISH has a non-zero packet id');
    assert.equal(p1.payload.toString(), 'm1');
    raw.send(pubrec(p1.messageId));
    await raw.expectBytes(ack(0x62, p1.messageId), 'PUBREL with the same id [MQTT-3.6.1-1]');
    raw.send(pubcomp(p1.messageId));

    const { packet: p2 } = await raw.expect('publish');
    assert.equal(p2.payload.toString(), 'm2', 'the next message flows once PUBCOMP is in');
    assert.ok(p2.messageId !== undefined && p2.messageId !== 0);
    raw.send(pubrec(p2.messageId));
    await raw.expectBytes(ack(0x62, p2.messageId), 'PUBREL for the second message');
    raw.send(pubcomp(p2.messageId));
  });

  test('a QoS 1 message to a QoS 0 subscription arrives as QoS 0 without a packet id', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'raw-out-q0' });
    raw.send(subscribe(3, [['out/q0', 0]]));
    await raw.expectBytes(suback(3, [0]), 'SUBACK granting QoS 0');
    const pub = await scope.connect(b.url, { clientId: 'out-q0-pub' });
    await pub.publishAsync('out/q0', 'x', { qos: 1 });
    const { bytes, packet } = await raw.expect('publish');
    assert.equal(packet.qos, 0);
    assert.deepEqual(
      [...bytes],
      [
        0x30, // PUBLISH, DUP 0, QoS 0, RETAIN 0
        0x09, // remaining length 9
        0x00, // topic length MSB
        0x06, // topic length LSB
        ...Buffer.from('out/q0'), // topic
        0x78, // payload 'x' (no packet id at QoS 0)
      ],
    );
  });
});
