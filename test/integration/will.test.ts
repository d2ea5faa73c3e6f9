/**
 * Last Will and Testament (MQTT 3.1.1 §3.1.2.5-§3.1.2.7, §3.14.4): published when the connection ends
 * without DISCONNECT — socket dropped, keep-alive timeout, protocol error — and not after DISCONNECT.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { nextMessage } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('last will', () => {
  test('published with its QoS when the socket is destroyed without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-1' });
    await watcher.subscribeAsync('will/drop', { qos: 2 });
    const { raw } = await scope.rawConnect(b.port, {
      clientId: 'will-drop',
      will: { topic: 'will/drop', payload: 'gone', qos: 1, retain: false },
    });
    raw.destroy();
    const m = await nextMessage(watcher);
    assert.equal(m.topic, 'will/drop');
    assert.equal(m.payload.toString(), 'gone');
    assert.equal(m.packet.qos, 1, 'will QoS 1 [MQTT-3.1.2-14]');
    assert.equal(m.packet.retain, false);
  });

  test('a QoS 2 will is delivered at QoS 2', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-q2' });
    await watcher.subscribeAsync('will/q2', { qos: 2 });
    const { raw } = await scope.rawConnect(b.port, {
      clientId: 'will-q2',
      will: { topic: 'will/q2', payload: 'q2', qos: 2 },
    });
    raw.destroy();
    const m = await nextMessage(watcher);
    assert.equal(m.payload.toString(), 'q2');
    assert.equal(m.packet.qos, 2);
  });

  test('published on keep-alive timeout [MQTT-3.1.2-8]', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-2' });
    await watcher.subscribeAsync('will/keepalive', { qos: 1 });
    const { raw } = await scope.rawConnect(b.port, {
      clientId: 'will-keepalive',
      keepalive: 1,
      will: { topic: 'will/keepalive', payload: 'timed out', qos: 1 },
    });
    const m = await nextMessage(watcher, 4000);
    assert.equal(m.payload.toString(), 'timed out');
    await raw.waitClosed();
  });

  test('published on a protocol error (garbage after CONNECT) [MQTT-3.1.2-8]', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-3' });
    await watcher.subscribeAsync('will/garbage', { qos: 1 });
    const { raw } = await scope.rawConnect(b.port, {
      clientId: 'will-garbage',
      will: { topic: 'will/garbage', payload: 'broken', qos: 1 },
    });
    raw.send([
      0x00, // packet type 0: reserved, forbidden
      0x00, // remaining length 0
    ]);
    await raw.expectClosedSilently('after a reserved packet type');
    const m = await nextMessage(watcher);
    assert.equal(m.payload.toString(), 'broken');
  });

  test('NOT published after a clean DISCONNECT [MQTT-3.1.2-10]', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-4' });
    await watcher.subscribeAsync('will/clean', { qos: 1 });
    const { raw } = await scope.rawConnect(b.port, {
      clientId: 'will-clean',
      will: { topic: 'will/clean', payload: 'must not appear', qos: 1 },
    });
    await raw.disconnect(); // DISCONNECT, FIN, and wait for the broker to close its side
    const pub = await scope.connect(b.url, { clientId: 'will-clean-pub' });
    await pub.publishAsync('will/clean', 'marker', { qos: 1 });
    const m = await nextMessage(watcher);
    assert.equal(m.payload.toString(), 'marker', 'the will was published after DISCONNECT');
  });

  test('NOT published after MQTT.js end() (DISCONNECT) [MQTT-3.1.2-10]', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-5' });
    await watcher.subscribeAsync('will/mqttjs', { qos: 1 });
    const leaver = await scope.connect(b.url, {
      clientId: 'will-mqttjs',
      will: { topic: 'will/mqttjs', payload: 'must not appear', qos: 1, retain: false },
    });
    await leaver.endAsync();
    const pub = await scope.connect(b.url, { clientId: 'will-mqttjs-pub' });
    await pub.publishAsync('will/mqttjs', 'marker', { qos: 1 });
    const m = await nextMessage(watcher);
    assert.equal(m.payload.toString(), 'marker', 'the will was published after DISCONNECT');
  });

  test('a will with retain 1 is retained [MQTT-3.1.2-17]', async () => {
    const b = await scope.broker();
    const watcher = await scope.connect(b.url, { clientId: 'will-watch-6' });
    await watcher.subscribeAsync('will/retained', { qos: 1 });
    const { raw } = await scope.rawConnect(b.port, {
      clientId: 'will-retained',
      will: { topic: 'will/retained', payload: 'last words', qos: 1, retain: true },
    });
    raw.destroy();
    const live = await nextMessage(watcher); // the will has been published
    assert.equal(live.payload.toString(), 'last words');

    const late = await scope.connect(b.url, { clientId: 'will-late' });
    await late.subscribeAsync('will/retained', { qos: 1 });
    const m = await nextMessage(late);
    assert.equal(m.payload.toString(), 'last words');
    assert.equal(m.packet.retain, true, 'the will was stored as a retained message');
  });
});
