/**
 * Persistent sessions (MQTT 3.1.1 §3.1.2.4, §4.1, §4.4): queued messages while offline, session present,
 * clean session discarding state, resend of unacknowledged PUBLISH and PUBREL on reconnect, and the
 * per-session queue bound.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { messagesUntil, nextMessage, nextMessages } from '../helpers/mqtt.js';
import { ack, connack, connect, puback, pubcomp, pubrec, suback, subscribe } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('persistent sessions', () => {
  test('offline QoS 1/2 messages are queued and delivered in order on reconnect; QoS 0 is not (default)', async () => {
    const b = await scope.broker();
    const first = await scope.connect(b.url, { clientId: 'persist', clean: false });
    await first.subscribeAsync('sess/q', { qos: 1 });
    await first.endAsync(); // clean DISCONNECT

    const pub = await scope.connect(b.url, { clientId: 'persist-pub' });
    await pub.publishAsync('sess/q', 'm1', { qos: 1 });
    await pub.publishAsync('sess/q', 'm2', { qos: 2 });
    await pub.publishAsync('sess/q', 'm3-qos0', { qos: 0 });
    await pub.publishAsync('sess/q', 'm4', { qos: 1 }); // acknowledged, so m3 was processed before it

    const { client, connack: ack1 } = await scope.connectWithAck(b.url, {
      clientId: 'persist',
      clean: false,
    });
    assert.equal(ack1.sessionPresent, true, 'session present 1 [MQTT-3.2.2-2]');
    const got = await nextMessages(client, 3);
    assert.deepEqual(
      got.map((m) => m.payload.toString()),
      ['m1', 'm2', 'm4'],
    );
    for (const m of got) assert.equal(m.packet.qos, 1, 'delivered at the granted QoS 1');
    await pub.publishAsync('sess/q', 'marker', { qos: 1 });
    const next = await nextMessage(client);
    assert.equal(next.payload.toString(), 'marker', 'the QoS 0 message must not have been queued');
  });

  test('with queueQos0: true, offline QoS 0 messages are queued too, in order', async () => {
    const b = await scope.broker({ queueQos0: true });
    const first = await scope.connect(b.url, { clientId: 'persist-q0', clean: false });
    await first.subscribeAsync('sess/q0', { qos: 1 });
    await first.endAsync();

    const pub = await scope.connect(b.url, { clientId: 'persist-q0-pub' });
    await pub.publishAsync('sess/q0', 'm1', { qos: 1 });
    await pub.publishAsync('sess/q0', 'm2', { qos: 0 });
    await pub.publishAsync('sess/q0', 'm3', { qos: 1 });

    const { client, connack: ack1 } = await scope.connectWithAck(b.url, {
      clientId: 'persist-q0',
      clean: false,
    });
    assert.equal(ack1.sessionPresent, true);
    const got = await nextMessages(client, 3);
    assert.deepEqual(
      got.map((m) => [m.payload.toString(), m.packet.qos]),
      [
        ['m1', 1],
        ['m2', 0],
        ['m3', 1],
      ],
    );
  });

  test('reconnecting with clean session 1 gives session present 0 and drops old subscriptions [MQTT-3.1.2-6]', async () => {
    const b = await scope.broker();
    const first = await scope.connect(b.url, { clientId: 'to-clean', clean: false });
    await first.subscribeAsync('sess/old', { qos: 1 });
    await first.endAsync();

    const pub = await scope.connect(b.url, { clientId: 'to-clean-pub' });
    await pub.publishAsync('sess/old', 'queued-before-clean', { qos: 1 });

    const { client, connack: ack1 } = await scope.connectWithAck(b.url, {
      clientId: 'to-clean',
      clean: true,
    });
    assert.equal(ack1.sessionPresent, false, 'clean session 1 -> session present 0 [MQTT-3.2.2-1]');
    await client.subscribeAsync('sess/marker', { qos: 1 });
    await pub.publishAsync('sess/old', 'after-clean', { qos: 1 });
    await pub.publishAsync('sess/marker', 'marker', { qos: 1 });
    const m = await nextMessage(client);
    assert.equal(m.topic, 'sess/marker', `got '${m.topic}': ${m.payload.toString()} before the marker`);
  });

  test('after a clean session, reconnecting with clean session 0 starts a new session (present 0)', async () => {
    const b = await scope.broker();
    const first = await scope.connect(b.url, { clientId: 'cycle', clean: false });
    await first.subscribeAsync('sess/cycle', { qos: 1 });
    await first.endAsync();
    const second = await scope.connect(b.url, { clientId: 'cycle', clean: true });
    await second.endAsync();
    const { connack: ack3 } = await scope.connectWithAck(b.url, { clientId: 'cycle', clean: false });
    assert.equal(ack3.sessionPresent, false, 'the clean session discarded the old state [MQTT-3.1.2-6]');
  });

  test('an unacknowledged QoS 1 PUBLISH is resent with DUP 1 and the same packet id [MQTT-4.4.0-1]', async () => {
    const b = await scope.broker();
    const { raw: r1 } = await scope.rawConnect(b.port, { clientId: 'resend-q1', clean: false });
    r1.send(subscribe(1, [['sess/resend1', 1]]));
    await r1.expectBytes(suback(1, [1]), 'SUBACK QoS 1');

    const pub = await scope.connect(b.url, { clientId: 'resend-q1-pub' });
    await pub.publishAsync('sess/resend1', 'unacked', { qos: 1 });
    const { packet: original } = await r1.expect('publish');
    assert.equal(original.dup, false);
    assert.ok(original.messageId !== undefined);
    r1.destroy(); // no PUBACK, no DISCONNECT
    await r1.waitClosed();

    const r2 = await scope.raw(b.port);
    r2.send(connect({ clientId: 'resend-q1', clean: false }));
    await r2.expectBytes(connack(true, 0), 'CONNACK session present 1');
    const { packet: again } = await r2.expect('publish');
    assert.equal(again.payload.toString(), 'unacked');
    assert.equal(again.messageId, original.messageId, 'same packet id [MQTT-4.4.0-1]');
    assert.equal(again.dup, true, 'DUP 1 on redelivery [MQTT-3.3.1-1]');
    assert.equal(again.qos, 1);
    r2.send(puback(original.messageId));
  });

  test('QoS 2 with PUBREC sent but no PUBCOMP: the broker resends PUBREL on reconnect [MQTT-4.4.0-1]', async () => {
    const b = await scope.broker();
    const { raw: r1 } = await scope.rawConnect(b.port, { clientId: 'resend-q2', clean: false });
    r1.send(subscribe(1, [['sess/resend2', 2]]));
    await r1.expectBytes(suback(1, [2]), 'SUBACK QoS 2');

    const pub = await scope.connect(b.url, { clientId: 'resend-q2-pub' });
    await pub.publishAsync('sess/resend2', 'half-done', { qos: 2 });
    const { packet } = await r1.expect('publish');
    assert.equal(packet.qos, 2);
    assert.ok(packet.messageId !== undefined);
    r1.send(pubrec(packet.messageId));
    await r1.expectBytes(ack(0x62, packet.messageId), 'PUBREL');
    r1.destroy(); // no PUBCOMP
    await r1.waitClosed();

    const r2 = await scope.raw(b.port);
    r2.send(connect({ clientId: 'resend-q2', clean: false }));
    await r2.expectBytes(connack(true, 0), 'CONNACK session present 1');
    await r2.expectBytes(ack(0x62, packet.messageId), 'PUBREL resent with the original id (not the PUBLISH)');
    r2.send(pubcomp(packet.messageId));
    // The flow is complete: a new message flows normally.
    await pub.publishAsync('sess/resend2', 'next', { qos: 1 });
    const { packet: next } = await r2.expect('publish');
    assert.equal(next.payload.toString(), 'next');
  });

  test('maxQueuedMessages: 5 bounds the offline queue; what arrives is in order', async () => {
    const b = await scope.broker({ maxQueuedMessages: 5 });
    const first = await scope.connect(b.url, { clientId: 'bounded', clean: false });
    await first.subscribeAsync('sess/bounded', { qos: 1 });
    await first.endAsync();

    const pub = await scope.connect(b.url, { clientId: 'bounded-pub' });
    for (let i = 0; i < 10; i++) await pub.publishAsync('sess/bounded', String(i), { qos: 1 });

    const { client, connack: ack1 } = await scope.connectWithAck(b.url, {
      clientId: 'bounded',
      clean: false,
    });
    assert.equal(ack1.sessionPresent, true);
    // Publish the marker only after the first queued message arrives: by then the queue is draining, so
    // the marker cannot be the message the full queue drops.
    const firstMsg = await nextMessage(client);
    await pub.publishAsync('sess/bounded', 'marker', { qos: 1 });
    const { before } = await messagesUntil(client, (m) => m.payload.toString() === 'marker');
    const delivered = [firstMsg, ...before].map((m) => Number(m.payload.toString()));
    assert.ok(delivered.length <= 5, `delivered ${delivered.length} queued messages: ${delivered.join(',')}`);
    for (let i = 1; i < delivered.length; i++) {
      assert.ok(delivered[i]! > delivered[i - 1]!, `out of order: ${delivered.join(',')}`);
    }
  });
});
