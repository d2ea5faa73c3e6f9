/**
 * MQTT 5 wills (MQTT 5.0 §3.1.2.5, §3.1.3.2): the Will Delay Interval, which a reconnection within it
 * cancels [MQTT-3.1.3-9] and the end of the session cuts short [MQTT-3.1.2-8]; will properties forwarded
 * like PUBLISH properties; DISCONNECT 0x04 asks for the will, DISCONNECT 0x00 discards it.
 *
 * The delays are real: these tests wait 1-2.5 s where the time itself is under test.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { nextMessage } from '../../helpers/mqtt.js';
import { disconnect5, subscribe5, userPropertyPairs } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { elapse, userProps, V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

async function watcher(url: string, clientId: string, topic: string) {
  const w = await scope.connect(url, { ...V5, clientId });
  await w.subscribeAsync(topic, { qos: 1 });
  return w;
}

describe('MQTT 5 will', () => {
  test('Will Delay Interval 2 (session expiry 10): the will is published about 2 s after the drop [MQTT-3.1.2-8]', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'wd-watch', 'v5/will/delay');
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'wd-client',
      properties: { sessionExpiryInterval: 10 },
      will: { topic: 'v5/will/delay', payload: 'late', qos: 1, properties: { willDelayInterval: 2 } },
    });
    const dropped = Date.now();
    raw.destroy();
    const m = await nextMessage(w, 5000);
    const after = Date.now() - dropped;
    assert.equal(m.payload.toString(), 'late');
    assert.ok(after >= 1900, `the will came ${after} ms after the drop, before its 2 s delay`);
  });

  test('a reconnection within the Will Delay Interval cancels the will [MQTT-3.1.3-9]', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'wd-back-watch', 'v5/will/back');
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'wd-back',
      properties: { sessionExpiryInterval: 10 },
      will: {
        topic: 'v5/will/back',
        payload: 'must not appear',
        qos: 1,
        properties: { willDelayInterval: 2 },
      },
    });
    raw.destroy();
    await raw.waitClosed();
    await scope.connect(b.url, {
      ...V5,
      clientId: 'wd-back',
      clean: false,
      properties: { sessionExpiryInterval: 10 },
    });

    await elapse(2500); // past the will delay

    const pub = await scope.connect(b.url, { ...V5, clientId: 'wd-back-pub' });
    await pub.publishAsync('v5/will/back', 'marker', { qos: 1 });
    assert.equal((await nextMessage(w)).payload.toString(), 'marker', 'the will was published anyway');
  });

  test('a Will Delay Interval longer than the session expiry: the will is published when the session ends', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'wd-expiry-watch', 'v5/will/expiry');
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'wd-expiry',
      properties: { sessionExpiryInterval: 1 },
      will: {
        topic: 'v5/will/expiry',
        payload: 'session over',
        qos: 1,
        properties: { willDelayInterval: 10 },
      },
    });
    const dropped = Date.now();
    raw.destroy();
    const m = await nextMessage(w, 5000); // well before the 10 s will delay
    const after = Date.now() - dropped;
    assert.equal(m.payload.toString(), 'session over');
    assert.ok(after >= 900, `the will came ${after} ms after the drop, before the 1 s session expiry`);
  });

  test('with session expiry 0 a delayed will is published at once: the session ends with the connection', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'wd-zero-watch', 'v5/will/zero');
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'wd-zero',
      will: { topic: 'v5/will/zero', payload: 'now', qos: 1, properties: { willDelayInterval: 30 } },
    });
    const dropped = Date.now();
    raw.destroy();
    const m = await nextMessage(w, 3000);
    assert.equal(m.payload.toString(), 'now');
    assert.ok(Date.now() - dropped < 1500, 'published when the session ended, not after the will delay');
  });

  test('will properties are forwarded like PUBLISH properties, User Properties in order [MQTT-3.1.3-10]', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnectV5(b.port, { clientId: 'wp-watch' });
    sub.send(subscribe5(1, [{ filter: 'v5/will/props', qos: 1 }]));
    await sub.expect('suback');
    const userProperties: Array<[string, string]> = [
      ['k', '1'],
      ['j', '2'],
      ['k', '3'],
    ];
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'wp-client',
      will: {
        topic: 'v5/will/props',
        payload: '{"state":"offline"}',
        qos: 1,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryInterval: 60,
          contentType: 'application/json',
          responseTopic: 'v5/will/props/ack',
          correlationData: 'will-7',
          userProperties,
        },
      },
    });
    raw.destroy();
    const { bytes, packet } = await sub.expect('publish');
    const p = packet.properties;
    assert.equal(packet.payload.toString(), '{"state":"offline"}');
    assert.equal(p?.payloadFormatIndicator, true);
    assert.equal(p?.contentType, 'application/json');
    assert.equal(p?.responseTopic, 'v5/will/props/ack');
    assert.deepEqual(p?.correlationData, Buffer.from('will-7'));
    const left = p?.messageExpiryInterval;
    assert.ok(left !== undefined && left > 0 && left <= 60, `Message Expiry Interval ${left}`);
    assert.deepEqual(userPropertyPairs(bytes), userProperties);
  });

  test('MQTT.js will properties reach an MQTT.js subscriber', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'wp-mqttjs-watch', 'v5/will/mqttjs');
    const leaver = await scope.connect(b.url, {
      ...V5,
      clientId: 'wp-mqttjs',
      will: {
        topic: 'v5/will/mqttjs',
        payload: Buffer.from('bye'),
        qos: 1,
        retain: false,
        properties: { contentType: 'text/plain', userProperties: { reason: 'crash' } },
      },
    });
    leaver.stream.destroy();
    const m = await nextMessage(w);
    assert.equal(m.payload.toString(), 'bye');
    assert.equal(m.packet.properties?.contentType, 'text/plain');
    assert.deepEqual(userProps(m.packet), { reason: 'crash' });
  });

  test('DISCONNECT with reason 0x04 publishes the will (§3.14.2.1)', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'w04-watch', 'v5/will/04');
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'w04',
      will: { topic: 'v5/will/04', payload: 'asked for', qos: 1 },
    });
    raw.send(disconnect5(0x04));
    raw.socket.end();
    const m = await nextMessage(w);
    assert.equal(m.payload.toString(), 'asked for');
  });

  test('DISCONNECT 0x00 discards the will [MQTT-3.14.4-3]', async () => {
    const b = await scope.broker();
    const w = await watcher(b.url, 'w00-watch', 'v5/will/00');
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'w00',
      will: { topic: 'v5/will/00', payload: 'must not appear', qos: 1 },
    });
    raw.send(disconnect5(0x00));
    raw.socket.end();
    await raw.waitClosed();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'w00-pub' });
    await pub.publishAsync('v5/will/00', 'marker', { qos: 1 });
    assert.equal((await nextMessage(w)).payload.toString(), 'marker', 'the will was published');
  });
});
