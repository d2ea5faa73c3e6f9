/**
 * MQTT 5 sessions (MQTT 5.0 §3.1.2.4 Clean Start, §3.1.2.11.2 Session Expiry Interval, §4.1): a session
 * outlives its connection exactly as long as its expiry interval says, Clean Start 1 discards it, and
 * DISCONNECT may change the interval, but not from 0 to non-zero (§3.14.2.2.2).
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { nextMessage } from '../../helpers/mqtt.js';
import { disconnect5, expectDisconnect, subscribe5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { elapse, V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('MQTT 5 session expiry', () => {
  test('Session Expiry Interval absent (0): the session ends with the connection; session present 0 after', async () => {
    const b = await scope.broker();
    const first = await scope.connect(b.url, { ...V5, clientId: 'sei-zero', clean: false });
    await first.subscribeAsync('v5/sess/zero', { qos: 1 });
    await first.endAsync();

    const pub = await scope.connect(b.url, { ...V5, clientId: 'sei-zero-pub' });
    await pub.publishAsync('v5/sess/zero', 'nobody keeps this', { qos: 1 });

    const { client, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-zero',
      clean: false,
    });
    assert.equal(ack.sessionPresent, false, 'no session survived [MQTT-3.1.2-6]');
    await client.subscribeAsync('v5/sess/zero', { qos: 1 });
    await pub.publishAsync('v5/sess/zero', 'marker', { qos: 1 });
    const m = await nextMessage(client);
    assert.equal(m.payload.toString(), 'marker', 'the message published while away was not queued');
  });

  test('Session Expiry Interval N > 0: resumed within N with session present 1, queued QoS 1 delivered [MQTT-3.1.2-23]', async () => {
    const b = await scope.broker();
    const props = { sessionExpiryInterval: 60 };
    const first = await scope.connect(b.url, { ...V5, clientId: 'sei-60', clean: true, properties: props });
    await first.subscribeAsync('v5/sess/kept', { qos: 1 });
    await first.endAsync();

    const pub = await scope.connect(b.url, { ...V5, clientId: 'sei-60-pub' });
    await pub.publishAsync('v5/sess/kept', 'q1', { qos: 1 });
    await pub.publishAsync('v5/sess/kept', 'q2', { qos: 1 });

    const { client, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-60',
      clean: false,
      properties: props,
    });
    assert.equal(ack.sessionPresent, true, 'session present 1 [MQTT-3.2.2-3]');
    assert.equal((await nextMessage(client)).payload.toString(), 'q1');
    assert.equal((await nextMessage(client)).payload.toString(), 'q2');
  });

  test('after the Session Expiry Interval has passed the session is gone: session present 0 [MQTT-4.1.0-2]', async () => {
    const b = await scope.broker();
    const props = { sessionExpiryInterval: 1 };
    const first = await scope.connect(b.url, { ...V5, clientId: 'sei-1', properties: props });
    await first.subscribeAsync('v5/sess/expired', { qos: 1 });
    await first.endAsync();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sei-1-pub' });
    await pub.publishAsync('v5/sess/expired', 'expires with the session', { qos: 1 });

    await elapse(2500); // the 1 s expiry, with margin

    const { client, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-1',
      clean: false,
      properties: props,
    });
    assert.equal(ack.sessionPresent, false, 'the expired session is not resumed');
    await client.subscribeAsync('v5/sess/expired', { qos: 1 });
    await pub.publishAsync('v5/sess/expired', 'marker', { qos: 1 });
    assert.equal((await nextMessage(client)).payload.toString(), 'marker', 'the queued message went with it');
  });

  test('the session survives a dropped socket (no DISCONNECT) within its expiry', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'sei-drop',
      properties: { sessionExpiryInterval: 30 },
    });
    raw.send(subscribe5(1, [{ filter: 'v5/sess/drop', qos: 1 }]));
    await raw.expect('suback');
    raw.destroy();
    await raw.waitClosed();

    const pub = await scope.connect(b.url, { ...V5, clientId: 'sei-drop-pub' });
    await pub.publishAsync('v5/sess/drop', 'after the drop', { qos: 1 });
    const { client, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-drop',
      clean: false,
      properties: { sessionExpiryInterval: 30 },
    });
    assert.equal(ack.sessionPresent, true);
    assert.equal((await nextMessage(client)).payload.toString(), 'after the drop');
  });

  test('Clean Start 1 discards the existing session: session present 0, queued messages gone [MQTT-3.1.2-4]', async () => {
    const b = await scope.broker();
    const props = { sessionExpiryInterval: 60 };
    const first = await scope.connect(b.url, { ...V5, clientId: 'sei-clean', properties: props });
    await first.subscribeAsync('v5/sess/clean', { qos: 1 });
    await first.endAsync();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sei-clean-pub' });
    await pub.publishAsync('v5/sess/clean', 'discarded', { qos: 1 });

    const { client, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-clean',
      clean: true,
      properties: props,
    });
    assert.equal(ack.sessionPresent, false, 'Clean Start 1 gives session present 0 [MQTT-3.2.2-2]');
    await client.subscribeAsync('v5/sess/clean', { qos: 1 });
    await pub.publishAsync('v5/sess/clean', 'marker', { qos: 1 });
    assert.equal((await nextMessage(client)).payload.toString(), 'marker', 'the old queue was discarded');
  });

  test('DISCONNECT with Session Expiry Interval 0 ends a session that had a non-zero one (§3.14.2.2.2)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, {
      clientId: 'sei-shorten',
      properties: { sessionExpiryInterval: 60 },
    });
    raw.send(subscribe5(1, [{ filter: 'v5/sess/shorten', qos: 1 }]));
    await raw.expect('suback');
    raw.send(disconnect5(0x00, { sessionExpiryInterval: 0 }));
    raw.socket.end();
    await raw.waitClosed();

    const { connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-shorten',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(ack.sessionPresent, false, 'the DISCONNECT set the expiry to 0: no session kept');
  });

  test('DISCONNECT changing the Session Expiry Interval from 0 to non-zero gets DISCONNECT 0x82 (§3.14.2.2.2)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'sei-grow' }); // expiry absent: 0
    raw.send(disconnect5(0x00, { sessionExpiryInterval: 60 }));
    // The server's DISCONNECT carries no Session Expiry Interval [MQTT-3.14.2-2] (checked by the helper).
    await expectDisconnect(raw, 0x82, 'DISCONNECT raising the expiry from 0');

    const { connack: ack } = await scope.connectWithAck(b.url, { ...V5, clientId: 'sei-grow', clean: false });
    assert.equal(ack.sessionPresent, false, 'the invalid DISCONNECT did not keep the session');
  });

  test('a taken-over v5 session keeps its subscriptions (session present 1)', async () => {
    const b = await scope.broker();
    const props = { sessionExpiryInterval: 60 };
    const first = await scope.connect(b.url, { ...V5, clientId: 'sei-takeover', properties: props });
    await first.subscribeAsync('v5/sess/takeover', { qos: 1 });
    const { client, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'sei-takeover',
      clean: false,
      properties: props,
    });
    assert.equal(ack.sessionPresent, true);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sei-takeover-pub' });
    await pub.publishAsync('v5/sess/takeover', 'still subscribed', { qos: 1 });
    assert.equal((await nextMessage(client)).payload.toString(), 'still subscribed');
  });
});
