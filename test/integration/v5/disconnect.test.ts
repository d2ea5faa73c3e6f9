/**
 * The broker's DISCONNECT to MQTT 5 clients (MQTT 5.0 §3.14, §4.13): before closing a v5 connection it
 * says why, with the reason code the spec gives for the case, never with a Session Expiry Interval
 * [MQTT-3.14.2-2], and sends nothing after it [MQTT-3.14.4-1]. Malformed Packet (0x81) and Protocol Error
 * (0x82) follow the spec's classification: a wrong property identifier for the packet, a value of the
 * wrong type or a length that does not fit is malformed (§2.2.2.2); a property repeated where it may
 * appear once, or a forbidden value, is a Protocol Error.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { waitFor } from '../../helpers/mqtt.js';
import { frame, str } from '../../helpers/raw.js';
import { codeName, connect5, expectDisconnect, publish5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('DISCONNECT from the broker', () => {
  test('takeover: the old connection gets DISCONNECT 0x8E, then the close [MQTT-3.1.4-3]', async () => {
    const b = await scope.broker();
    const { raw: old } = await scope.rawConnectV5(b.port, { clientId: 'dc-takeover' });
    await scope.rawConnectV5(b.port, { clientId: 'dc-takeover' });
    await expectDisconnect(old, 0x8e, 'taken-over connection');
  });

  test('takeover: MQTT.js sees DISCONNECT 0x8E on the old client', async () => {
    const b = await scope.broker();
    const old = await scope.connect(b.url, { ...V5, clientId: 'dc-takeover-mqttjs' });
    const disconnected = waitFor(old, 'disconnect');
    await scope.connect(b.url, { ...V5, clientId: 'dc-takeover-mqttjs' });
    const [packet] = (await disconnected) as [{ reasonCode?: number }];
    assert.equal(packet.reasonCode, 0x8e);
  });

  test('keep alive timeout: DISCONNECT 0x8D, then the close [MQTT-3.1.2-22]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-keepalive', keepalive: 1 });
    await expectDisconnect(raw, 0x8d, 'silent client with keep alive 1 s', 4000);
  });

  test('broker.close(): DISCONNECT 0x8B Server shutting down', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-shutdown' });
    const closing = b.close();
    await expectDisconnect(raw, 0x8b, 'broker closing');
    await closing;
  });

  test('a packet over maxPacketSize: DISCONNECT 0x95 Packet too large (§3.2.2.3.6)', async () => {
    const b = await scope.broker({ maxPacketSize: 1024 });
    const { raw, connack } = await scope.rawConnectV5(b.port, { clientId: 'dc-too-large' });
    assert.equal(connack.properties?.maximumPacketSize, 1024);
    raw.send(publish5({ topic: 'v5/dc/big', payload: Buffer.alloc(2048, 0x61) }));
    await expectDisconnect(raw, 0x95, '2 KiB PUBLISH with maxPacketSize 1024');
  });

  test('a fixed header announcing a packet over maxPacketSize: DISCONNECT 0x95 before the body', async () => {
    const b = await scope.broker({ maxPacketSize: 1024 });
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-too-large-header' });
    raw.send([
      0x30, // PUBLISH, QoS 0
      0x80, // remaining length byte 1: 0, continuation
      0x80, // remaining length byte 2: 0, continuation
      0x40, // remaining length byte 3: 64 x 128^2 = 1,048,576 (the body is never sent)
    ]);
    await expectDisconnect(raw, 0x95, 'header announcing 1 MiB');
  });

  test('a second CONNECT: DISCONNECT 0x82 Protocol Error [MQTT-3.1.0-2]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-twice' });
    raw.send(connect5({ clientId: 'dc-twice' }));
    await expectDisconnect(raw, 0x82, 'second CONNECT');
  });

  test('a property not valid for PUBLISH (Session Expiry Interval): DISCONNECT 0x81 Malformed (§2.2.2.2)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-wrong-prop' });
    raw.send(publish5({ topic: 'v5/dc/prop', payload: 'x', properties: { sessionExpiryInterval: 10 } }));
    await expectDisconnect(raw, 0x81, 'Session Expiry Interval on a PUBLISH');
  });

  test('an unknown property identifier: DISCONNECT 0x81 Malformed (§2.2.2.2)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-unknown-prop' });
    raw.send(
      frame(0x30, [
        ...str('v5/dc/u'), // topic name
        0x02, // property length 2
        0x7f, // property identifier 0x7f: not defined
        0x00, // a value byte
        0x78, // payload 'x'
      ]),
    );
    await expectDisconnect(raw, 0x81, 'property identifier 0x7f');
  });

  test('a property length running past the end of the packet: DISCONNECT 0x81 Malformed', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-bad-length' });
    raw.send(
      frame(0x30, [
        ...str('v5/dc/l'), // topic name
        0x20, // property length 32, but only 3 bytes follow
        0x01, // Payload Format Indicator
        0x00, // value 0
        0x78, // payload 'x'
      ]),
    );
    await expectDisconnect(raw, 0x81, 'property length 32 with 3 bytes left');
  });

  test('a property value cut short (Content Type longer than the block): DISCONNECT 0x81 Malformed', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-short-value' });
    raw.send(
      frame(0x30, [
        ...str('v5/dc/s'), // topic name
        0x04, // property length 4
        0x03, // Content Type
        0x00, // string length MSB
        0x09, // string length LSB: 9, but only 1 byte is left in the property block
        0x61, // 'a'
        0x78, // payload 'x'
      ]),
    );
    await expectDisconnect(raw, 0x81, 'Content Type overrunning its property block');
  });

  test('a property repeated where it may appear once: DISCONNECT 0x82 Protocol Error (§3.3.2.3.9)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-repeated' });
    raw.send(
      frame(0x30, [
        ...str('v5/dc/r'), // topic name
        0x08, // property length 8
        0x03, // Content Type
        ...str('a'), // 'a'
        0x03, // Content Type again
        ...str('b'), // 'b'
        0x78, // payload 'x'
      ]),
    );
    await expectDisconnect(raw, 0x82, 'Content Type twice');
  });

  test('PUBLISH with QoS 3: DISCONNECT 0x81 Malformed [MQTT-3.3.1-4]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-qos3' });
    raw.send(publish5({ topic: 'v5/dc/q3', payload: 'x', qos: 3, id: 1 }));
    await expectDisconnect(raw, 0x81, 'QoS 3');
  });

  test('PUBREL with flags 0000: DISCONNECT 0x81 Malformed [MQTT-3.6.1-1]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-pubrel-flags' });
    raw.send([
      0x60, // PUBREL with flags 0000 instead of 0010
      0x02, // remaining length 2
      0x00, // packet identifier MSB
      0x01, // packet identifier LSB
    ]);
    await expectDisconnect(raw, 0x81, 'PUBREL flags 0000');
  });

  test('a topic name that is not valid UTF-8: DISCONNECT 0x81 Malformed [MQTT-1.5.4-1]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'dc-utf8' });
    raw.send(publish5({ topic: Buffer.from([0x76, 0xc3, 0x28]), payload: 'x' })); // 'v', then a broken pair
    await expectDisconnect(raw, 0x81, 'ill-formed UTF-8 topic');
  });

  test('a malformed v5 CONNECT is refused with CONNACK 0x81 or closed, never with DISCONNECT [MQTT-3.14.0-1]', async () => {
    const b = await scope.broker();
    const raw = await scope.rawV5(b.port);
    raw.send(
      frame(0x10, [
        ...str('MQTT'), // protocol name
        5, // protocol version 5
        0x02, // connect flags: clean start
        0x00, // keep alive MSB
        0x00, // keep alive LSB
        0x02, // property length 2
        0x7f, // property identifier 0x7f: not defined
        0x00, // a value byte
        ...str('dc-bad-connect'), // client identifier
      ]),
    );
    const first = await raw.next().catch(() => undefined);
    if (first !== undefined) {
      assert.equal(first.packet.cmd, 'connack', `got ${first.packet.cmd.toUpperCase()}`);
      const code = (first.packet as { reasonCode?: number }).reasonCode;
      assert.equal(code, 0x81, `CONNACK ${codeName(code)}`);
    }
    await raw.expectClosedSilently('after refusing a malformed CONNECT');
  });
});
