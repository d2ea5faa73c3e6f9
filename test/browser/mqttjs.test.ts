/**
 * MQTT.js's browser bundle (node_modules/mqtt/dist/mqtt.min.js) in a real Chromium, against midge's ws
 * and wss listeners, beside native MQTT.js clients on TCP. The page (pages/mqttjs.html) exposes
 * `window.t`; every assertion is made here, in Node. See harness.ts for how the browser is run.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { nextMessage } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';
import { call, openPage, type PageMessage, pattern, useBrowserEnv, waitReady } from './harness.js';

interface Connack {
  sessionPresent: boolean;
  returnCode: number | null;
  reasonCode: number | null;
}
interface SocketRecord {
  url: string;
  offered: string[];
  protocol: string | null;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const getEnv = useBrowserEnv();
const scope = new Scope();
afterEach(() => scope.close());

/** A fresh context with the MQTT.js test page open. */
async function mqttjsPage(contextOptions = {}) {
  const env = await getEnv();
  const context = await env.newContext(contextOptions);
  return openPage(context, env.pageUrl('mqttjs.html'));
}

describe('MQTT.js browser bundle over WebSocket', () => {
  test('connects with MQTT 3.1.1 over the "mqtt" subprotocol', async () => {
    const env = await getEnv();
    const page = await mqttjsPage();
    const connack = await call<Connack>(page, 'connect', 'a', env.wsUrl, { clientId: 'mqttjs-v4' });
    assert.equal(connack.returnCode, 0);
    assert.equal(connack.sessionPresent, false);
    const [socket] = await call<SocketRecord[]>(page, 'sockets');
    assert.equal(socket?.protocol, 'mqtt', 'negotiated WebSocket subprotocol');
    assert.deepEqual(env.connectOf('mqttjs-v4'), {
      clientId: 'mqttjs-v4',
      protocolVersion: 4,
      transport: 'ws',
    });
    assert.equal(await call(page, 'connected', 'a'), true);
  });

  test('connects with MQTT 3.1 (MQIsdp) over the "mqttv3.1" subprotocol', async () => {
    const env = await getEnv();
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, {
      clientId: 'mqttjs-v3',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
    });
    const [socket] = await call<SocketRecord[]>(page, 'sockets');
    assert.deepEqual(socket?.offered, ['mqttv3.1']);
    assert.equal(socket?.protocol, 'mqttv3.1', 'negotiated WebSocket subprotocol');
    assert.equal(env.connectOf('mqttjs-v3')?.protocolVersion, 3);
    await call(page, 'subscribe', 'a', 'v3/mqttjs', { qos: 1 });
    await call(page, 'publish', 'a', 'v3/mqttjs', { text: 'old protocol' }, { qos: 1 });
    const m = await call<PageMessage>(page, 'next', 'a');
    assert.equal(m.text, 'old protocol');
  });

  test('publish and subscribe at QoS 0, 1 and 2 between two clients in the page', async () => {
    const env = await getEnv();
    const page = await mqttjsPage();
    await call(page, 'connect', 'sub', env.wsUrl, { clientId: 'mqttjs-qos-sub' });
    await call(page, 'connect', 'pub', env.wsUrl, { clientId: 'mqttjs-qos-pub' });
    const granted = await call(page, 'subscribe', 'sub', 'page/mqttjs/#', { qos: 2 });
    assert.deepEqual(granted, [{ topic: 'page/mqttjs/#', qos: 2 }]);
    for (const qos of [0, 1, 2]) {
      await call(page, 'publish', 'pub', `page/mqttjs/${qos}`, { text: `at qos ${qos}` }, { qos });
      const m = await call<PageMessage>(page, 'next', 'sub');
      assert.equal(m.topic, `page/mqttjs/${qos}`);
      assert.equal(m.text, `at qos ${qos}`);
      assert.equal(m.qos, qos);
      assert.equal(m.retain, false);
    }
    assert.equal(await call(page, 'unread', 'sub'), 0);
  });

  test('browser publishes, a native TCP client receives (QoS 0, 1, 2)', async () => {
    const env = await getEnv();
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-b2n-native' });
    await native.subscribeAsync('b2n/mqttjs/#', { qos: 2 });
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'mqttjs-b2n' });
    for (const qos of [0, 1, 2]) {
      await call(page, 'publish', 'a', `b2n/mqttjs/${qos}`, { text: `from the browser ${qos}` }, { qos });
      const m = await nextMessage(native);
      assert.equal(m.topic, `b2n/mqttjs/${qos}`);
      assert.equal(m.payload.toString(), `from the browser ${qos}`);
      assert.equal(m.packet.qos, qos);
    }
  });

  test('a native TCP client publishes, the browser receives (QoS 0, 1, 2)', async () => {
    const env = await getEnv();
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'mqttjs-n2b' });
    await call(page, 'subscribe', 'a', 'n2b/mqttjs/#', { qos: 2 });
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-n2b-native' });
    for (const qos of [0, 1, 2] as const) {
      await native.publishAsync(`n2b/mqttjs/${qos}`, `from tcp ${qos}`, { qos });
      const m = await call<PageMessage>(page, 'next', 'a');
      assert.equal(m.topic, `n2b/mqttjs/${qos}`);
      assert.equal(m.text, `from tcp ${qos}`);
      assert.equal(m.qos, qos);
    }
  });

  test('a retained message is delivered on subscribe, with the retain flag', async () => {
    const env = await getEnv();
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-retain-native' });
    await native.publishAsync('retained/mqttjs/state', 'on', { qos: 1, retain: true });
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'mqttjs-retain' });
    await call(page, 'subscribe', 'a', 'retained/mqttjs/+', { qos: 1 });
    const m = await call<PageMessage>(page, 'next', 'a');
    assert.equal(m.topic, 'retained/mqttjs/state');
    assert.equal(m.text, 'on');
    assert.equal(m.retain, true);
    assert.equal(m.qos, 1);
    await native.publishAsync('retained/mqttjs/state', '', { qos: 1, retain: true }); // clear it
  });

  test('the will is published when the tab is closed without DISCONNECT', async () => {
    const env = await getEnv();
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-will-native' });
    await native.subscribeAsync('will/mqttjs', { qos: 1 });
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, {
      clientId: 'mqttjs-will',
      will: { topic: 'will/mqttjs', payload: 'tab closed', qos: 1, retain: false },
    });
    await page.close(); // no DISCONNECT: the page and its WebSocket just go
    const m = await nextMessage(native);
    assert.equal(m.topic, 'will/mqttjs');
    assert.equal(m.payload.toString(), 'tab closed');
    assert.equal(m.packet.qos, 1);
  });

  test('a persistent session (clean=false) is resumed after a reload, with what was queued', async () => {
    const env = await getEnv();
    const clientId = 'mqttjs-persistent';
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-persistent-native' });
    await native.subscribeAsync('gone/mqttjs-persistent', { qos: 1 });
    const page = await mqttjsPage();
    // Start from no session, then make the persistent one.
    await call(page, 'connect', 'a', env.wsUrl, { clientId, clean: true });
    await call(page, 'end', 'a');
    const first = await call<Connack>(page, 'connect', 'a', env.wsUrl, {
      clientId,
      clean: false,
      will: { topic: 'gone/mqttjs-persistent', payload: 'away', qos: 1 },
    });
    assert.equal(first.sessionPresent, false);
    await call(page, 'subscribe', 'a', 'persist/mqttjs', { qos: 1 });

    await page.reload({ timeout: 5000 });
    await waitReady(page);
    // The will says the broker has seen the old connection go: what follows is queued for the session.
    assert.equal((await nextMessage(native)).payload.toString(), 'away');
    await native.publishAsync('persist/mqttjs', 'while you were away', { qos: 1 });

    const again = await call<Connack>(page, 'connect', 'a', env.wsUrl, { clientId, clean: false });
    assert.equal(again.sessionPresent, true, 'session present after reload');
    const m = await call<PageMessage>(page, 'next', 'a');
    assert.equal(m.topic, 'persist/mqttjs');
    assert.equal(m.text, 'while you were away');
    assert.equal(m.qos, 1);
    await call(page, 'end', 'a');
  });

  test('MQTT 5 properties round trip: user properties, content type, response topic, correlation data', async () => {
    const env = await getEnv();
    const responder = await scope.connect(env.tcpUrl, {
      clientId: 'mqttjs-v5-responder',
      protocolVersion: 5,
    });
    await responder.subscribeAsync('v5/mqttjs/request', { qos: 1 });
    const page = await mqttjsPage();
    const connack = await call<Connack>(page, 'connect', 'a', env.wsUrl, {
      clientId: 'mqttjs-v5',
      protocolVersion: 5,
    });
    assert.equal(connack.reasonCode, 0);
    assert.equal(env.connectOf('mqttjs-v5')?.protocolVersion, 5);
    await call(page, 'subscribe', 'a', 'v5/mqttjs/response', { qos: 1 });

    await call(
      page,
      'publish',
      'a',
      'v5/mqttjs/request',
      { text: '{"op":"ping"}' },
      {
        qos: 1,
        properties: {
          userProperties: { app: 'browser', tag: ['one', 'two'] },
          contentType: 'application/json',
          responseTopic: 'v5/mqttjs/response',
          correlationData: '00ff10ab',
        },
      },
    );
    const request = await nextMessage(responder);
    const p = request.packet.properties ?? {};
    assert.equal(request.payload.toString(), '{"op":"ping"}');
    assert.deepEqual(
      { ...p.userProperties },
      { app: 'browser', tag: ['one', 'two'] },
      'user properties, in order',
    );
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, 'v5/mqttjs/response');
    assert.deepEqual(p.correlationData, Buffer.from('00ff10ab', 'hex'));

    await responder.publishAsync(p.responseTopic!, '{"op":"pong"}', {
      qos: 1,
      properties: {
        correlationData: p.correlationData,
        contentType: 'application/json',
        userProperties: { app: 'node' },
      },
    });
    const response = await call<PageMessage>(page, 'next', 'a');
    assert.equal(response.topic, 'v5/mqttjs/response');
    assert.equal(response.text, '{"op":"pong"}');
    assert.equal(response.properties?.correlationData, '00ff10ab');
    assert.equal(response.properties?.contentType, 'application/json');
    assert.deepEqual(response.properties?.userProperties, { app: 'node' });
  });

  test('a client id of 64 characters', async () => {
    const env = await getEnv();
    const clientId = `browser-${'x'.repeat(48)}-64chars`;
    assert.equal(clientId.length, 64);
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId });
    assert.deepEqual(env.connectOf(clientId), { clientId, protocolVersion: 4, transport: 'ws' });
    await call(page, 'subscribe', 'a', 'id64/mqttjs', { qos: 1 });
    await call(page, 'publish', 'a', 'id64/mqttjs', { text: 'long id' }, { qos: 1 });
    assert.equal((await call<PageMessage>(page, 'next', 'a')).text, 'long id');
  });

  test('a 1 MiB payload round trip: browser to browser and TCP, and TCP to browser', async () => {
    const env = await getEnv();
    const big = pattern(1024 * 1024);
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-big-native' });
    await native.subscribeAsync('big/mqttjs/from-browser', { qos: 1 });
    const page = await mqttjsPage();
    await call(page, 'connect', 'a', env.wsUrl, { clientId: 'mqttjs-big' });
    await call(page, 'subscribe', 'a', 'big/mqttjs/#', { qos: 1 });

    await call(page, 'publish', 'a', 'big/mqttjs/from-browser', { pattern: big.length }, { qos: 1 });
    const echoed = await call<PageMessage>(page, 'next', 'a');
    assert.equal(echoed.length, big.length);
    assert.equal(echoed.sha256, sha256(big));
    const atNative = await nextMessage(native);
    assert.equal(atNative.payload.length, big.length);
    assert.ok(atNative.payload.equals(big), 'TCP client got the exact 1 MiB');

    await native.publishAsync('big/mqttjs/from-tcp', big, { qos: 1 });
    const fromTcp = await call<PageMessage>(page, 'next', 'a');
    assert.equal(fromTcp.topic, 'big/mqttjs/from-tcp');
    assert.equal(fromTcp.length, big.length);
    assert.equal(fromTcp.sha256, sha256(big));
  });
});

describe('MQTT.js browser bundle over secure WebSocket (wss)', () => {
  // The fixture certificate is self-signed by the test CA, which Chromium does not know. The context
  // option ignoreHTTPSErrors (Playwright: Security.setIgnoreCertificateErrors for that context) does
  // apply to WebSockets; it is scoped to this one context, so the control below still fails.
  test('connects and round-trips through a context that accepts the test certificate', async () => {
    const env = await getEnv();
    const page = await mqttjsPage({ ignoreHTTPSErrors: true });
    await call(page, 'connect', 'a', env.wssUrl, { clientId: 'mqttjs-wss' });
    assert.deepEqual(env.connectOf('mqttjs-wss'), {
      clientId: 'mqttjs-wss',
      protocolVersion: 4,
      transport: 'wss',
    });
    const [socket] = await call<SocketRecord[]>(page, 'sockets');
    assert.equal(socket?.protocol, 'mqtt');
    const native = await scope.connect(env.tcpUrl, { clientId: 'mqttjs-wss-native' });
    await native.subscribeAsync('wss/mqttjs/up', { qos: 1 });
    await call(page, 'subscribe', 'a', 'wss/mqttjs/down', { qos: 1 });
    await call(page, 'publish', 'a', 'wss/mqttjs/up', { text: 'over tls' }, { qos: 1 });
    assert.equal((await nextMessage(native)).payload.toString(), 'over tls');
    await native.publishAsync('wss/mqttjs/down', 'back over tls', { qos: 1 });
    assert.equal((await call<PageMessage>(page, 'next', 'a')).text, 'back over tls');
  });

  test('control: a context that does not accept the certificate cannot connect', async () => {
    const env = await getEnv();
    const page = await mqttjsPage();
    await assert.rejects(
      call(page, 'connect', 'a', env.wssUrl, { clientId: 'mqttjs-wss-untrusted' }, 3000),
      /closed before CONNACK|connect failed/,
    );
    assert.equal(env.connectOf('mqttjs-wss-untrusted'), undefined);
  });
});
