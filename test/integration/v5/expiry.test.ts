/**
 * Message Expiry Interval (MQTT 5.0 §3.3.2.3.3): a message that waited longer than its expiry is not
 * delivered [MQTT-3.3.2-5]; one delivered later carries the time it has left [MQTT-3.3.2-6]; a retained
 * message expires too. Time has to pass here, so these tests wait 1-2.5 s on purpose.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { nextMessage } from '../../helpers/mqtt.js';
import { Scope } from '../../helpers/scope.js';
import { elapse, V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

const SESSION = { sessionExpiryInterval: 60 };

/** Creates a v5 session subscribed to `filter` at QoS 1 and leaves it offline. */
async function offlineSession(url: string, clientId: string, filter: string): Promise<void> {
  const c = await scope.connect(url, { ...V5, clientId, properties: SESSION });
  await c.subscribeAsync(filter, { qos: 1 });
  await c.endAsync();
}

async function resume(url: string, clientId: string): Promise<MqttClient> {
  const { client, connack } = await scope.connectWithAck(url, {
    ...V5,
    clientId,
    clean: false,
    properties: SESSION,
  });
  assert.equal(connack.sessionPresent, true, 'the session was kept');
  return client;
}

describe('message expiry', () => {
  test('a queued QoS 1 message whose expiry passed is not delivered [MQTT-3.3.2-5]', async () => {
    const b = await scope.broker();
    await offlineSession(b.url, 'exp-queued', 'v5/exp/queued');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'exp-queued-pub' });
    await pub.publishAsync('v5/exp/queued', 'expires', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('v5/exp/queued', 'marker', { qos: 1 }); // no expiry

    await elapse(2000);

    const client = await resume(b.url, 'exp-queued');
    const m = await nextMessage(client);
    assert.equal(m.payload.toString(), 'marker', 'the expired message was delivered');
    assert.equal(m.packet.properties?.messageExpiryInterval, undefined, 'a message without expiry gets none');
  });

  test('a queued message delivered later carries its remaining expiry, less than the original [MQTT-3.3.2-6]', async () => {
    const b = await scope.broker();
    await offlineSession(b.url, 'exp-remaining', 'v5/exp/remaining');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'exp-remaining-pub' });
    await pub.publishAsync('v5/exp/remaining', 'aging', {
      qos: 1,
      properties: { messageExpiryInterval: 60 },
    });

    await elapse(1200);

    const client = await resume(b.url, 'exp-remaining');
    const m = await nextMessage(client);
    assert.equal(m.payload.toString(), 'aging');
    const left = m.packet.properties?.messageExpiryInterval;
    assert.ok(left !== undefined, 'the forwarded message has a Message Expiry Interval');
    assert.ok(left < 60 && left >= 57, `remaining expiry ${left}, expected 57..59 after 1.2 s`);
  });

  test('a retained message whose expiry passed is not sent to a later subscriber (§3.3.2.3.3)', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'exp-retained-pub' });
    await pub.publishAsync('v5/exp/retained/a', 'expires', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await pub.publishAsync('v5/exp/retained/b', 'stays', { qos: 1, retain: true });

    await elapse(2000);

    const sub = await scope.connect(b.url, { ...V5, clientId: 'exp-retained-sub' });
    await sub.subscribeAsync('v5/exp/retained/#', { qos: 1 });
    const first = await nextMessage(sub);
    assert.equal(first.topic, 'v5/exp/retained/b', 'only the unexpired retained message is sent');
    assert.equal(first.packet.retain, true);
    await pub.publishAsync('v5/exp/retained/c', 'marker', { qos: 1 });
    const next = await nextMessage(sub);
    assert.equal(next.payload.toString(), 'marker', 'the expired retained message came after all');
  });

  test('a retained message within its expiry is sent with the remaining interval', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'exp-retained-live-pub' });
    await pub.publishAsync('v5/exp/retained-live', 'not yet', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 60 },
    });

    await elapse(1200);

    const sub = await scope.connect(b.url, { ...V5, clientId: 'exp-retained-live-sub' });
    await sub.subscribeAsync('v5/exp/retained-live', { qos: 1 });
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'not yet');
    const left = m.packet.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left < 60 && left >= 57, `remaining expiry ${left}`);
  });
});
