/**
 * The Eclipse Paho JavaScript client (node_modules/paho-mqtt/paho-mqtt.js) in a real Chromium, against
 * midge's ws and wss listeners, beside native MQTT.js clients on TCP. Paho speaks MQTT 3.1
 * (`mqttVersion: 3`, subprotocol "mqttv3.1") and 3.1.1 (`mqttVersion: 4`, subprotocol "mqtt"); every
 * connect here names the version, so Paho's silent fallback from 4 to 3 never hides a failure.
 * The page (pages/paho.html) exposes `window.t`; every assertion is made here, in Node.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { nextMessage } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';
import { call, openPage, type PageMessage, pattern, useBrowserEnv, waitReady } from './harness.js';

interface SocketRecord {
  url: string;
  offered: string[];
  protocol: string | null;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const getEnv = useBrowserEnv();
const scope = new Scope();
afterEach(() => scope.close());

async function pahoPage(contextOptions = {}) {
  const env = await getEnv();
  const context = await env.newContext(contextOptions);
  return openPage(context, env.pageUrl('paho.html'));
}

describe('Paho JavaScript client over WebSocket', () => {
  for (const [mqttVersion, subprotocol, name] of [
    [4, 'mqtt', 'MQTT 3.1.1'],
    [3, 'mqttv3.1', 'MQTT 3.1'],
  ] as const) {
    test(`${name} (mqttVersion ${mqttVersion}) over the "${subprotocol}" subprotocol`, async () => {
      const env = await getEnv();
      const clientId = `paho-v${mqttVersion}`;
      const page = await pahoPage();
      await call(page, 'connect', 'a', env.wsUrl, { clientId, mqttVersion });
      const sockets = await call<SocketRecord[]>(page, 'sockets');
      assert.equal(sockets.length, 1, 'one WebSocket: no fallback to another version');
      assert.deepEqual(sockets[0]?.offered, [subprotocol]);
      assert.equal(sockets[0]?.protocol, subprotocol, 'negotiated WebSocket subprotocol');
      assert.deepEqual(env.connectOf(clientId), { clientId, protocolVersion: mqttVersion, transport: 'ws' });
      assert.deepEqual(await call(page, 'subscribe', 'a', `version/paho/${mqttVersion}`, 2), [2]);
      await call(page, 'publish', 'a', `version/paho/${mqttVersion}`, { text: name }, { qos: 2 });
      const m = await call<PageMessage>(page, 'next', 'a');
      assert.equal(m.text, name);
      assert.equal(m.qos, 2);
    });
  }

  test('publish and subscribe at QoS 0, 1 and 2 between two clients in the page', async () => {
    const env = await getEnv();
    const page = await pahoPage();
    await call(page, 'connect', 'sub', env.wsUrl, { clientId: 'paho-qos-sub', mqttVersion: 4 });
    await call(page, 'connect', 'pub', env.wsUrl, { clientId: 'paho-qos-pub', mqttVersion: 4 });
    assert.deepEqual(await call(page, 'subscribe', 'sub', 'page/paho/#', 2), [2]);
    for (const qos of [0, 1, 2]) {
      await call(page, 'publish', 'pub', `page/paho/${qos}`, { text: `at qos ${qos}` }, { qos });
      const m = await call<PageMessage>(page, 'next', 'sub');
      assert.equal(m.topic, `page/paho/${qos}`);
      assert.equal(m.text, `at qos ${qos}`);
      assert.equal(m.qos, qos);
      assert.equal(m.retain, false);
    }
    assert.equal(await call(page, 'unread', 'sub'), 0);
  });

  test('browser publishes, a native TCP client receives (QoS 0, 1, 2)', async () => {
    const env = await getEnv();
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-b2n-native' });
    await native.subscribeAsync('b2n/paho/#', { qos: 2 });
    const page = await pahoPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'paho-b2n', mqttVersion: 4 });
    for (const qos of [0, 1, 2]) {
      await call(page, 'publish', 'a', `b2n/paho/${qos}`, { text: `from paho ${qos}` }, { qos });
      const m = await nextMessage(native);
      assert.equal(m.topic, `b2n/paho/${qos}`);
      assert.equal(m.payload.toString(), `from paho ${qos}`);
      assert.equal(m.packet.qos, qos);
    }
  });

  test('a native TCP client publishes, the browser receives (QoS 0, 1, 2)', async () => {
    const env = await getEnv();
    const page = await pahoPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'paho-n2b', mqttVersion: 4 });
    await call(page, 'subscribe', 'a', 'n2b/paho/#', 2);
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-n2b-native' });
    for (const qos of [0, 1, 2] as const) {
      await native.publishAsync(`n2b/paho/${qos}`, `from tcp ${qos}`, { qos });
      const m = await call<PageMessage>(page, 'next', 'a');
      assert.equal(m.topic, `n2b/paho/${qos}`);
      assert.equal(m.text, `from tcp ${qos}`);
      assert.equal(m.qos, qos);
    }
  });

  test('a retained message is delivered on subscribe, with the retain flag', async () => {
    const env = await getEnv();
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-retain-native' });
    await native.publishAsync('retained/paho/state', 'on', { qos: 1, retain: true });
    const page = await pahoPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'paho-retain', mqttVersion: 4 });
    await call(page, 'subscribe', 'a', 'retained/paho/#', 1);
    const m = await call<PageMessage>(page, 'next', 'a');
    assert.equal(m.topic, 'retained/paho/state');
    assert.equal(m.text, 'on');
    assert.equal(m.retain, true);
    assert.equal(m.qos, 1);
    await native.publishAsync('retained/paho/state', '', { qos: 1, retain: true }); // clear it
  });

  test('the will is published when the tab is closed without DISCONNECT', async () => {
    const env = await getEnv();
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-will-native' });
    await native.subscribeAsync('will/paho', { qos: 2 });
    const page = await pahoPage();
    await call(page, 'connect', 'a', env.wsUrl, {
      clientId: 'paho-will',
      mqttVersion: 4,
      will: { topic: 'will/paho', text: 'paho tab closed', qos: 2 },
    });
    await page.close(); // no DISCONNECT
    const m = await nextMessage(native);
    assert.equal(m.topic, 'will/paho');
    assert.equal(m.payload.toString(), 'paho tab closed');
    assert.equal(m.packet.qos, 2);
  });

  test('a persistent session (cleanSession false) is resumed after a reload, with what was queued', async () => {
    const env = await getEnv();
    const clientId = 'paho-persistent';
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-persistent-native' });
    await native.subscribeAsync('gone/paho-persistent', { qos: 1 });
    const page = await pahoPage();
    // Start from no session, then make the persistent one.
    await call(page, 'connect', 'a', env.wsUrl, { clientId, mqttVersion: 4, cleanSession: true });
    await call(page, 'end', 'a');
    await call(page, 'connect', 'a', env.wsUrl, {
      clientId,
      mqttVersion: 4,
      cleanSession: false,
      will: { topic: 'gone/paho-persistent', text: 'away', qos: 1 },
    });
    await call(page, 'subscribe', 'a', 'persist/paho', 1);

    await page.reload({ timeout: 5000 });
    await waitReady(page);
    // The will says the broker has seen the old connection go: what follows is queued for the session.
    assert.equal((await nextMessage(native)).payload.toString(), 'away');
    await native.publishAsync('persist/paho', 'while paho was away', { qos: 1 });

    // No subscribe after the reload: the message can only come from the resumed session.
    await call(page, 'connect', 'a', env.wsUrl, { clientId, mqttVersion: 4, cleanSession: false });
    const m = await call<PageMessage>(page, 'next', 'a');
    assert.equal(m.topic, 'persist/paho');
    assert.equal(m.text, 'while paho was away');
    assert.equal(m.qos, 1);
    await call(page, 'end', 'a');
  });

  test('a client id of 64 characters', async () => {
    const env = await getEnv();
    const clientId = `paho-${'y'.repeat(51)}-64chars`;
    assert.equal(clientId.length, 64);
    const page = await pahoPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId, mqttVersion: 4 });
    assert.deepEqual(env.connectOf(clientId), { clientId, protocolVersion: 4, transport: 'ws' });
    await call(page, 'subscribe', 'a', 'id64/paho', 1);
    await call(page, 'publish', 'a', 'id64/paho', { text: 'long id' }, { qos: 1 });
    assert.equal((await call<PageMessage>(page, 'next', 'a')).text, 'long id');
  });

  test('a 1 MiB payload round trip: browser to browser and TCP, and TCP to browser', async () => {
    const env = await getEnv();
    const big = pattern(1024 * 1024);
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-big-native' });
    await native.subscribeAsync('big/paho/from-browser', { qos: 1 });
    const page = await pahoPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'paho-big', mqttVersion: 4 });
    await call(page, 'subscribe', 'a', 'big/paho/#', 1);

    await call(page, 'publish', 'a', 'big/paho/from-browser', { pattern: big.length }, { qos: 1 });
    const echoed = await call<PageMessage>(page, 'next', 'a');
    assert.equal(echoed.length, big.length);
    assert.equal(echoed.sha256, sha256(big));
    const atNative = await nextMessage(native);
    assert.ok(atNative.payload.equals(big), 'TCP client got the exact 1 MiB');

    await native.publishAsync('big/paho/from-tcp', big, { qos: 1 });
    const fromTcp = await call<PageMessage>(page, 'next', 'a');
    assert.equal(fromTcp.topic, 'big/paho/from-tcp');
    assert.equal(fromTcp.sha256, sha256(big));
  });
});

describe('Paho JavaScript client over secure WebSocket (wss)', () => {
  // See mqttjs.test.ts: the context's ignoreHTTPSErrors applies to WebSockets, only in that context.
  test('connects and round-trips through a context that accepts the test certificate', async () => {
    const env = await getEnv();
    const page = await pahoPage({ ignoreHTTPSErrors: true });
    await call(page, 'connect', 'a', env.wssUrl, { clientId: 'paho-wss', mqttVersion: 4 });
    assert.deepEqual(env.connectOf('paho-wss'), {
      clientId: 'paho-wss',
      protocolVersion: 4,
      transport: 'wss',
    });
    const native = await scope.connect(env.tcpUrl, { clientId: 'paho-wss-native' });
    await native.subscribeAsync('wss/paho/up', { qos: 1 });
    await call(page, 'subscribe', 'a', 'wss/paho/down', 1);
    await call(page, 'publish', 'a', 'wss/paho/up', { text: 'paho over tls' }, { qos: 1 });
    assert.equal((await nextMessage(native)).payload.toString(), 'paho over tls');
    await native.publishAsync('wss/paho/down', 'back to paho', { qos: 1 });
    assert.equal((await call<PageMessage>(page, 'next', 'a')).text, 'back to paho');
  });

  test('control: a context that does not accept the certificate cannot connect', async () => {
    const env = await getEnv();
    const page = await pahoPage();
    await assert.rejects(
      call(page, 'connect', 'a', env.wssUrl, { clientId: 'paho-wss-untrusted', mqttVersion: 4 }, 3000),
      /connect failed/,
    );
    assert.equal(env.connectOf('paho-wss-untrusted'), undefined);
  });
});
