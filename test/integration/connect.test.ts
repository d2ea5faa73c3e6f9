/**
 * CONNECT / CONNACK over TCP (MQTT 3.1.1 §3.1, §3.2, §4.1), for 3.1.1 and 3.1 clients.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { assertRoundTrip, nextMessage, waitClientClosed } from '../helpers/mqtt.js';
import { connack, connect, PINGREQ } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('CONNECT and CONNACK', () => {
  test('a 3.1.1 client connects; a new clean session has session present 0 [MQTT-3.2.2-1]', async () => {
    const b = await scope.broker();
    const { client, connack } = await scope.connectWithAck(b.url, { clientId: 'c311', clean: true });
    assert.equal(connack.returnCode, 0);
    assert.equal(connack.sessionPresent, false);
    await assertRoundTrip(client, 'connect/311');
  });

  test('a 3.1 (MQIsdp, level 3) client connects and works', async () => {
    const b = await scope.broker();
    const { client, connack } = await scope.connectWithAck(b.url, {
      clientId: 'c31',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
    });
    assert.equal(connack.returnCode, 0);
    await assertRoundTrip(client, 'connect/31');
  });

  test('CONNACK bytes for a new clean session are 20 02 00 00 [MQTT-3.2.2-1]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'raw-clean', clean: true }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted, session present 0');
  });

  test('a new session with clean session 0 has session present 0 [MQTT-3.2.2-3]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'raw-new-persistent', clean: false }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted, session present 0');
  });

  test('a 3.1 CONNACK from a raw 3.1 client is 20 02 00 00', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'raw-31', protocolName: 'MQIsdp', protocolLevel: 3 }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted');
  });

  test('a zero-length client id with clean session 1 is accepted with a generated id [MQTT-3.1.3-6]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: '', clean: true }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted');

    // Two such clients at once must get distinct identities: neither may take the other over.
    const first = await scope.connect(b.url, { clientId: '', clean: true });
    const second = await scope.connect(b.url, { clientId: '', clean: true });
    await assertRoundTrip(first, 'connect/empty-id/1');
    await assertRoundTrip(second, 'connect/empty-id/2');
    assert.equal(first.connected, true, 'the first empty-id client is still connected');
    raw.send(PINGREQ);
    await raw.expect('pingresp');
  });

  test('a zero-length client id with clean session 0 gets CONNACK 2, then the close [MQTT-3.1.3-8]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: '', clean: false }));
    await raw.expectBytes(connack(false, 2), 'CONNACK identifier rejected');
    await raw.expectClosedSilently('after CONNACK 2 [MQTT-3.2.2-5]');
  });

  test('a 3.1 client id longer than 23 is accepted up to maxClientIdLength (midge choice)', async () => {
    const b = await scope.broker({ maxClientIdLength: 64 });
    const raw = await scope.raw(b.port);
    const id = 'x'.repeat(40);
    raw.send(connect({ clientId: id, protocolName: 'MQIsdp', protocolLevel: 3 }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted for a 40-byte 3.1 client id');
    raw.send(PINGREQ);
    await raw.expect('pingresp');
  });

  test('a client id exactly maxClientIdLength long is accepted', async () => {
    const b = await scope.broker({ maxClientIdLength: 32 });
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'y'.repeat(32) }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted for a 32-byte client id');
  });

  test('a client id longer than maxClientIdLength gets CONNACK 2, then the close (3.1.1)', async () => {
    const b = await scope.broker({ maxClientIdLength: 32 });
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'y'.repeat(33) }));
    await raw.expectBytes(connack(false, 2), 'CONNACK identifier rejected');
    await raw.expectClosedSilently('after CONNACK 2');
  });

  test('a client id longer than maxClientIdLength gets CONNACK 2, then the close (3.1)', async () => {
    const b = await scope.broker({ maxClientIdLength: 32 });
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'y'.repeat(33), protocolName: 'MQIsdp', protocolLevel: 3 }));
    await raw.expectBytes(connack(false, 2), 'CONNACK identifier rejected');
    await raw.expectClosedSilently('after CONNACK 2');
  });

  test('MQTT.js sees the refusal of an over-long client id as an error', async () => {
    const b = await scope.broker({ maxClientIdLength: 24 }); // the smallest allowed is 23
    await assert.rejects(scope.connectWithAck(b.url, { clientId: 'z'.repeat(25) }), /connect failed|closed/);
  });

  test('an unsupported protocol level (6, name MQTT) gets CONNACK 1, then the close [MQTT-3.1.2-2]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'level6', protocolName: 'MQTT', protocolLevel: 6 }));
    await raw.expectBytes(connack(false, 1), 'CONNACK unacceptable protocol version');
    await raw.expectClosedSilently('after CONNACK 1');
  });

  test('a first packet other than CONNECT closes the connection without CONNACK [MQTT-3.1.0-1]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(PINGREQ);
    await raw.expectClosedSilently('PINGREQ before CONNECT');
  });

  test('a PUBLISH before CONNECT closes the connection without CONNACK [MQTT-3.1.0-1]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send([
      0x30, // PUBLISH, QoS 0
      0x05, // remaining length 5
      0x00, // topic length MSB
      0x01, // topic length LSB
      0x74, // 't'
      0x68, // payload 'h'
      0x69, // payload 'i'
    ]);
    await raw.expectClosedSilently('PUBLISH before CONNECT');
  });

  test('a second CONNECT is a protocol violation: the connection closes [MQTT-3.1.0-2]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'twice' }));
    await raw.expectBytes(connack(false, 0), 'first CONNACK');
    raw.send(connect({ clientId: 'twice' }));
    await raw.expectClosedSilently('after the second CONNECT');
  });

  test('the reserved CONNECT flag set closes the connection [MQTT-3.1.2-3]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'reserved-flag', extraFlags: 0x01 }));
    await raw.expectClosedSilently('CONNECT with reserved flag bit 0 set');
  });

  test('a connection that sends no CONNECT within connectTimeout is closed', async () => {
    const b = await scope.broker({ connectTimeout: 300 });
    const raw = await scope.raw(b.port);
    const start = Date.now();
    await raw.expectClosedSilently('silent connection', 3000);
    assert.ok(Date.now() - start >= 200, `closed after ${Date.now() - start} ms, before connectTimeout`);
  });

  test('a second connection with the same client id takes over: the first is closed [MQTT-3.1.4-2]', async () => {
    const b = await scope.broker();
    const first = await scope.connect(b.url, { clientId: 'same-id' });
    const firstClosed = waitClientClosed(first, 3000);
    const second = await scope.connect(b.url, { clientId: 'same-id' });
    await firstClosed;
    await assertRoundTrip(second, 'connect/takeover');
  });

  test('takeover of a raw connection: the old socket is closed, the new one works [MQTT-3.1.4-2]', async () => {
    const b = await scope.broker();
    const { raw: old } = await scope.rawConnect(b.port, { clientId: 'raw-same' });
    const { raw: fresh } = await scope.rawConnect(b.port, { clientId: 'raw-same' });
    await old.waitClosed(3000);
    fresh.send(PINGREQ);
    await fresh.expect('pingresp');
  });

  test('takeover keeps a persistent session: subscriptions survive on the new connection', async () => {
    const b = await scope.broker();
    const first = await scope.connect(b.url, { clientId: 'takeover-session', clean: false });
    await first.subscribeAsync('connect/takeover/session', { qos: 1 });
    const firstClosed = waitClientClosed(first, 3000);
    const { client: second, connack: ack } = await scope.connectWithAck(b.url, {
      clientId: 'takeover-session',
      clean: false,
    });
    await firstClosed;
    assert.equal(ack.sessionPresent, true, 'session present after takeover');
    const pub = await scope.connect(b.url, { clientId: 'takeover-pub' });
    await pub.publishAsync('connect/takeover/session', 'still here', { qos: 1 });
    const m = await nextMessage(second);
    assert.equal(m.topic, 'connect/takeover/session');
    assert.equal(m.payload.toString(), 'still here');
  });
});
