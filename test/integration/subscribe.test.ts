/**
 * Subscriptions (MQTT 3.1.1 §3.8-§3.11, §4.7): wildcards, $-topics, overlapping subscriptions, SUBACK
 * return codes, UNSUBSCRIBE, resubscription, and per-topic order.
 *
 * "Nothing else arrived" is always proven with a marker published after the message under test on a
 * path the same subscriber receives, at the same QoS: the marker must be the next message.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { nextMessage, nextMessages } from '../helpers/mqtt.js';
import { ack, hex, puback, suback, subscribe, unsubscribe } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

/** Asserts the next message's topic and payload. */
async function expectNext(client: MqttClient, topic: string, payload: string): Promise<void> {
  const m = await nextMessage(client);
  assert.deepEqual(
    { topic: m.topic, payload: m.payload.toString() },
    { topic, payload },
    `expected ${topic} '${payload}'`,
  );
}

describe('subscriptions', () => {
  test("'+' matches exactly one level, including an empty one [MQTT-4.7.1-3]", async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'plus' });
    await sub.subscribeAsync('w/+/c', { qos: 1 });
    const pub = await scope.connect(b.url, { clientId: 'plus-pub' });
    for (const t of ['w/b/c', 'w//c', 'w/b/x/c', 'w/c', 'w/b', 'x/b/c', 'w/b/c/']) {
      await pub.publishAsync(t, t, { qos: 1 });
    }
    await pub.publishAsync('w/marker/c', 'marker', { qos: 1 });
    await expectNext(sub, 'w/b/c', 'w/b/c');
    await expectNext(sub, 'w//c', 'w//c');
    await expectNext(sub, 'w/marker/c', 'marker');
  });

  test("'#' matches the parent and every level below it [MQTT-4.7.1-2]", async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'hash' });
    await sub.subscribeAsync('h/#', { qos: 1 });
    const pub = await scope.connect(b.url, { clientId: 'hash-pub' });
    for (const t of ['h', 'hx/a', 'h/a', 'x/h', 'h/a/b/c', 'h/']) await pub.publishAsync(t, t, { qos: 1 });
    await pub.publishAsync('h/marker', 'marker', { qos: 1 });
    await expectNext(sub, 'h', 'h');
    await expectNext(sub, 'h/a', 'h/a');
    await expectNext(sub, 'h/a/b/c', 'h/a/b/c');
    await expectNext(sub, 'h/', 'h/');
    await expectNext(sub, 'h/marker', 'marker');
  });

  test("'$' topics are not matched by '#' or '+/bar', but are by '$foo/#' [MQTT-4.7.2-1]", async () => {
    const b = await scope.broker();
    const all = await scope.connect(b.url, { clientId: 'dollar-all' });
    await all.subscribeAsync('#', { qos: 1 });
    const plus = await scope.connect(b.url, { clientId: 'dollar-plus' });
    await plus.subscribeAsync('+/bar', { qos: 1 });
    const dollar = await scope.connect(b.url, { clientId: 'dollar-foo' });
    await dollar.subscribeAsync('$foo/#', { qos: 1 });

    const pub = await scope.connect(b.url, { clientId: 'dollar-pub' });
    await pub.publishAsync('$foo/bar', 'dollar', { qos: 1 });
    await pub.publishAsync('m/bar', 'marker', { qos: 1 });

    await expectNext(all, 'm/bar', 'marker');
    await expectNext(plus, 'm/bar', 'marker');
    await expectNext(dollar, '$foo/bar', 'dollar');
  });

  test('overlapping subscriptions deliver once, at the highest QoS [MQTT-3.3.5-1]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'overlap' });
    const granted = await sub.subscribeAsync({ 'a/#': { qos: 1 }, 'a/b': { qos: 2 } });
    assert.deepEqual(
      granted.map((g) => [g.topic, g.qos]),
      [
        ['a/#', 1],
        ['a/b', 2],
      ],
    );
    const pub = await scope.connect(b.url, { clientId: 'overlap-pub' });
    await pub.publishAsync('a/b', 'msg', { qos: 2 });
    await pub.publishAsync('a/b', 'marker', { qos: 2 });
    const [m1, m2] = await nextMessages(sub, 2);
    assert.equal(m1?.payload.toString(), 'msg');
    assert.equal(m1?.packet.qos, 2, 'delivered at the maximum QoS of the matching subscriptions');
    assert.equal(m2?.payload.toString(), 'marker', 'the message must arrive once, not once per subscription');
  });

  test('overlapping subscriptions on a raw socket: one PUBLISH on the wire', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'overlap-raw' });
    raw.send(
      subscribe(5, [
        ['o/#', 0],
        ['o/+', 1],
        ['o/x', 2],
      ]),
    );
    await raw.expectBytes(suback(5, [0, 1, 2]), 'SUBACK 0, 1, 2');
    const pub = await scope.connect(b.url, { clientId: 'overlap-raw-pub' });
    await pub.publishAsync('o/x', 'once', { qos: 1 });
    await pub.publishAsync('o/x', 'marker', { qos: 0 });
    const { packet: p1 } = await raw.expect('publish');
    assert.equal(p1.payload.toString(), 'once');
    assert.equal(p1.qos, 1, 'min(publish QoS 1, max granted QoS 2)');
    assert.ok(p1.messageId !== undefined);
    raw.send(puback(p1.messageId));
    const { packet: p2 } = await raw.expect('publish');
    assert.equal(p2.payload.toString(), 'marker', 'a second copy of "once" arrived');
  });

  test('SUBACK returns the granted QoS per filter, 0x80 for invalid filters; the valid ones work', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'suback-mix' });
    raw.send(
      subscribe(10, [
        ['ok/1', 0],
        ['a/#/b', 1], // '#' not last [MQTT-4.7.1-2]
        ['ok/2', 2],
        ['a+', 1], // '+' not alone in its level [MQTT-4.7.1-3]
        ['ok/3', 1],
      ]),
    );
    await raw.expectBytes(suback(10, [0x00, 0x80, 0x02, 0x80, 0x01]), 'SUBACK 00 80 02 80 01 [MQTT-3.9.3-1]');

    const pub = await scope.connect(b.url, { clientId: 'suback-mix-pub' });
    await pub.publishAsync('ok/1', 'one', { qos: 0 });
    const { packet: p1 } = await raw.expect('publish');
    assert.deepEqual([p1.topic, p1.payload.toString(), p1.qos], ['ok/1', 'one', 0]);
    await pub.publishAsync('ok/3', 'three', { qos: 1 });
    const { packet: p3 } = await raw.expect('publish');
    assert.deepEqual([p3.topic, p3.payload.toString(), p3.qos], ['ok/3', 'three', 1]);
    assert.ok(p3.messageId !== undefined);
    raw.send(puback(p3.messageId));
  });

  test('beyond maxSubscriptionsPerClient new filters get 0x80; re-subscribing a held one still works', async () => {
    const b = await scope.broker({ maxSubscriptionsPerClient: 2 });
    const { raw } = await scope.rawConnect(b.port, { clientId: 'sub-limit' });
    raw.send(
      subscribe(11, [
        ['lim/1', 0],
        ['lim/2', 1],
        ['lim/3', 1], // a third filter: over the limit
        ['lim/1', 2], // replaces a held filter: allowed
      ]),
    );
    await raw.expectBytes(suback(11, [0x00, 0x01, 0x80, 0x02]), 'SUBACK 00 01 80 02');
    raw.send(unsubscribe(12, ['lim/2']));
    await raw.expect('unsuback');
    raw.send(subscribe(13, [['lim/3', 1]]));
    await raw.expectBytes(suback(13, [0x01]), 'room again after UNSUBSCRIBE');
  });

  test('SUBACK via MQTT.js carries the granted QoS for each filter [MQTT-3.9.3-1]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'granted' });
    const granted = await sub.subscribeAsync({ 'g/0': { qos: 0 }, 'g/1': { qos: 1 }, 'g/2': { qos: 2 } });
    assert.deepEqual(
      granted.map((g) => [g.topic, g.qos]),
      [
        ['g/0', 0],
        ['g/1', 1],
        ['g/2', 2],
      ],
    );
  });

  test('UNSUBSCRIBE stops delivery; UNSUBACK carries the same packet id [MQTT-3.10.4-4]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'unsub' });
    raw.send(
      subscribe(0x0a0b, [
        ['u/1', 0],
        ['u/marker', 0],
      ]),
    );
    await raw.expectBytes(suback(0x0a0b, [0, 0]), 'SUBACK');
    const pub = await scope.connect(b.url, { clientId: 'unsub-pub' });
    await pub.publishAsync('u/1', 'before', { qos: 0 });
    const { packet: p1 } = await raw.expect('publish');
    assert.equal(p1.payload.toString(), 'before');

    raw.send(unsubscribe(0x0b0c, ['u/1']));
    await raw.expectBytes(ack(0xb0, 0x0b0c), 'UNSUBACK id 0x0b0c');
    await pub.publishAsync('u/1', 'after', { qos: 0 });
    await pub.publishAsync('u/marker', 'marker', { qos: 0 });
    const { packet: p2, bytes } = await raw.expect('publish');
    assert.equal(p2.topic, 'u/marker', `got ${hex(bytes)} after UNSUBSCRIBE`);
  });

  test('UNSUBSCRIBE of a filter never subscribed still gets UNSUBACK [MQTT-3.10.4-5]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'unsub-none' });
    raw.send(unsubscribe(0x0042, ['never/subscribed', 'nor/this']));
    await raw.expectBytes(ack(0xb0, 0x0042), 'UNSUBACK id 0x0042');
  });

  test('subscribing again to the same filter replaces its QoS [MQTT-3.8.4-3]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'resub' });
    const g1 = await sub.subscribeAsync('rq/1', { qos: 2 });
    assert.equal(g1[0]?.qos, 2);
    const g2 = await sub.subscribeAsync('rq/1', { qos: 0 });
    assert.equal(g2[0]?.qos, 0);
    const pub = await scope.connect(b.url, { clientId: 'resub-pub' });
    await pub.publishAsync('rq/1', 'msg', { qos: 2 });
    await pub.publishAsync('rq/1', 'marker', { qos: 2 });
    const [m1, m2] = await nextMessages(sub, 2);
    assert.equal(m1?.payload.toString(), 'msg');
    assert.equal(m1?.packet.qos, 0, 'delivered at the replaced QoS 0');
    assert.equal(m2?.payload.toString(), 'marker', 'the old subscription must not deliver a second copy');
  });

  test('a burst of 200 QoS 1 messages on one topic arrives in order [MQTT-4.6.0-6]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'order-sub' });
    await sub.subscribeAsync('order/t', { qos: 1 });
    const pub = await scope.connect(b.url, { clientId: 'order-pub' });
    const count = 200;
    await Promise.all(
      Array.from({ length: count }, (_, i) => pub.publishAsync('order/t', String(i), { qos: 1 })),
    );
    const got = await nextMessages(sub, count);
    assert.deepEqual(
      got.map((m) => Number(m.payload.toString())),
      Array.from({ length: count }, (_, i) => i),
    );
  });
});
