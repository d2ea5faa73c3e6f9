/**
 * Retained messages (MQTT 3.1.1 §3.3.1.3). "No retained message" is proven with a marker: after the
 * SUBACK, the subscriber publishes a marker to the topic itself, which must be the first message.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { nextMessage, nextMessages } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

/** Subscribes, then publishes a QoS 1 marker to `markerTopic` (which `filter` must match). */
async function subscribeThenMarker(
  client: MqttClient,
  filter: string,
  markerTopic: string,
  qos: 0 | 1 | 2 = 1,
): Promise<void> {
  await client.subscribeAsync(filter, { qos });
  await client.publishAsync(markerTopic, 'marker', { qos: 1 });
}

describe('retained messages', () => {
  test('a retained message goes to a later subscriber with RETAIN 1 [MQTT-3.3.1-6]', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-pub' });
    await pub.publishAsync('ret/one', 'kept', { qos: 1, retain: true });
    const sub = await scope.connect(b.url, { clientId: 'ret-sub' });
    await subscribeThenMarker(sub, 'ret/one', 'ret/one');
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'kept');
    assert.equal(m.packet.retain, true, 'RETAIN 1 on a retained message sent for a new subscription');
    assert.equal(m.packet.qos, 1);
    const marker = await nextMessage(sub);
    assert.equal(marker.payload.toString(), 'marker');
    assert.equal(marker.packet.retain, false);
  });

  test('a newer retained message replaces the older one [MQTT-3.3.1-5]', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-replace-pub' });
    await pub.publishAsync('ret/replace', 'old', { qos: 1, retain: true });
    await pub.publishAsync('ret/replace', 'new', { qos: 1, retain: true });
    const sub = await scope.connect(b.url, { clientId: 'ret-replace-sub' });
    await subscribeThenMarker(sub, 'ret/replace', 'ret/replace');
    const [m1, m2] = await nextMessages(sub, 2);
    assert.equal(m1?.payload.toString(), 'new');
    assert.equal(m2?.payload.toString(), 'marker', 'only the newest retained message is kept');
  });

  test('a retained message with an empty payload deletes the retained message [MQTT-3.3.1-10]', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-del-pub' });
    await pub.publishAsync('ret/del', 'doomed', { qos: 1, retain: true });
    await pub.publishAsync('ret/del', '', { qos: 1, retain: true });
    const sub = await scope.connect(b.url, { clientId: 'ret-del-sub' });
    await subscribeThenMarker(sub, 'ret/del', 'ret/del');
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'marker', `got '${m.payload.toString()}' (retain ${m.packet.retain})`);
  });

  test('an empty retained message is still forwarded to current subscribers [MQTT-3.3.1-10]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'ret-empty-live' });
    await sub.subscribeAsync('ret/empty-live', { qos: 1 });
    const pub = await scope.connect(b.url, { clientId: 'ret-empty-live-pub' });
    await pub.publishAsync('ret/empty-live', '', { qos: 1, retain: true });
    const m = await nextMessage(sub);
    assert.equal(m.payload.length, 0);
    assert.equal(m.packet.retain, false, 'forwarded with RETAIN 0 [MQTT-3.3.1-9]');
  });

  test('a retained QoS 0 message with an empty payload is not stored [MQTT-3.3.1-11]', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-empty0-pub' });
    await pub.publishAsync('ret/empty0', '', { qos: 0, retain: true });
    await pub.publishAsync('ret/sync', 'x', { qos: 1 }); // processed after the QoS 0 publish
    const sub = await scope.connect(b.url, { clientId: 'ret-empty0-sub' });
    await subscribeThenMarker(sub, 'ret/empty0', 'ret/empty0');
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'marker', `got '${m.payload.toString()}' (retain ${m.packet.retain})`);
  });

  test('a wildcard subscription receives every matching retained message, and only those', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-wild-pub' });
    for (const t of ['rw/a', 'rw/b', 'rw/c/d', 'other/x', 'rwx/a']) {
      await pub.publishAsync(t, t, { qos: 1, retain: true });
    }
    const sub = await scope.connect(b.url, { clientId: 'ret-wild-sub' });
    await subscribeThenMarker(sub, 'rw/#', 'rw/marker');
    // The spec does not order retained messages against later publications, so take four messages in
    // any order: the three retained ones and the marker. A stray retained message would be among them.
    const got = await nextMessages(sub, 4);
    assert.deepEqual(got.map((m) => [m.topic, m.packet.retain]).sort(), [
      ['rw/a', true],
      ['rw/b', true],
      ['rw/c/d', true],
      ['rw/marker', false],
    ]);
  });

  test('forwarding to an existing subscriber clears RETAIN [MQTT-3.3.1-9]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { clientId: 'ret-live-sub' });
    await sub.subscribeAsync('ret/live', { qos: 1 });
    const pub = await scope.connect(b.url, { clientId: 'ret-live-pub' });
    await pub.publishAsync('ret/live', 'now', { qos: 1, retain: true });
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'now');
    assert.equal(m.packet.retain, false);
  });

  test('a retained message is delivered at min(its QoS, the granted QoS)', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-qos-pub' });
    await pub.publishAsync('ret/qos', 'q2', { qos: 2, retain: true });
    const sub = await scope.connect(b.url, { clientId: 'ret-qos-sub' });
    await subscribeThenMarker(sub, 'ret/qos', 'ret/qos', 1);
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'q2');
    assert.equal(m.packet.qos, 1);
  });

  test('resubscribing re-sends matching retained messages [MQTT-3.8.4-3]', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { clientId: 'ret-resub-pub' });
    await pub.publishAsync('ret/resub', 'again', { qos: 1, retain: true });
    const sub = await scope.connect(b.url, { clientId: 'ret-resub-sub' });
    await sub.subscribeAsync('ret/resub', { qos: 1 });
    const m1 = await nextMessage(sub);
    assert.equal(m1.payload.toString(), 'again');
    await sub.subscribeAsync('ret/resub', { qos: 1 });
    const m2 = await nextMessage(sub);
    assert.equal(m2.payload.toString(), 'again');
    assert.equal(m2.packet.retain, true);
  });
});
