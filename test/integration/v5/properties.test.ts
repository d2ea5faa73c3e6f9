/**
 * PUBLISH properties (MQTT 5.0 §3.3.2.3): forwarded unaltered to v5 subscribers, in order, never to
 * 3.1.1 subscribers; the payload format check; request/response through Response Topic and Correlation
 * Data (§4.10).
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { nextMessage, waitFor } from '../../helpers/mqtt.js';
import { publish, suback, subscribe } from '../../helpers/raw.js';
import { codeName, publish5, subscribe5, userPropertyPairs } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { userProps, V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('PUBLISH properties', () => {
  test('forwarded unaltered to a v5 subscriber [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'props-sub' });
    await sub.subscribeAsync('v5/props/all', { qos: 1 });
    const pub = await scope.connect(b.url, { ...V5, clientId: 'props-pub' });
    await pub.publishAsync('v5/props/all', '{"t":21.5}', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: 'v5/props/reply',
        correlationData: Buffer.from([0x00, 0x01, 0xfe, 0xff]),
        userProperties: { unit: 'celsius', sensor: ['a', 'b'] },
      },
    });
    const m = await nextMessage(sub);
    const p = m.packet.properties;
    assert.equal(m.payload.toString(), '{"t":21.5}');
    assert.equal(p?.payloadFormatIndicator, true);
    assert.equal(p?.contentType, 'application/json');
    assert.equal(p?.responseTopic, 'v5/props/reply');
    assert.deepEqual(p?.correlationData, Buffer.from([0x00, 0x01, 0xfe, 0xff]));
    assert.deepEqual(userProps(m.packet), { unit: 'celsius', sensor: ['a', 'b'] });
  });

  test('User Properties keep their order on the wire, repeated names included [MQTT-3.3.2-18]', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnectV5(b.port, { clientId: 'order-sub' });
    sub.send(subscribe5(1, [{ filter: 'v5/props/order', qos: 0 }]));
    await sub.expect('suback');
    const pairs: Array<[string, string]> = [
      ['b', '1'],
      ['a', '2'],
      ['b', '3'],
      ['c', ''],
      ['a', '4'],
    ];
    const { raw: pub } = await scope.rawConnectV5(b.port, { clientId: 'order-pub' });
    pub.send(
      publish5({
        topic: 'v5/props/order',
        payload: 'ordered',
        qos: 1,
        id: 1,
        properties: { userProperties: pairs },
      }),
    );
    await pub.expect('puback');
    const { bytes, packet } = await sub.expect('publish');
    assert.equal(packet.payload.toString(), 'ordered');
    assert.deepEqual(userPropertyPairs(bytes), pairs);
  });

  test('Message Expiry Interval is forwarded with the remaining time, at most the original [MQTT-3.3.2-6]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'mei-sub' });
    await sub.subscribeAsync('v5/props/mei', { qos: 1 });
    const pub = await scope.connect(b.url, { ...V5, clientId: 'mei-pub' });
    await pub.publishAsync('v5/props/mei', 'fresh', { qos: 1, properties: { messageExpiryInterval: 60 } });
    const m = await nextMessage(sub);
    const left = m.packet.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left > 0 && left <= 60, `remaining expiry ${left}`);
  });

  test('a message without properties reaches a v5 subscriber without them', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnectV5(b.port, { clientId: 'noprops-sub' });
    sub.send(subscribe5(1, [{ filter: 'v5/props/none', qos: 0 }]));
    await sub.expect('suback');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'noprops-pub' });
    await pub.publishAsync('v5/props/none', 'bare', { qos: 1 });
    const { bytes, packet } = await sub.expect('publish');
    assert.equal(packet.payload.toString(), 'bare');
    assert.deepEqual(
      [...bytes],
      [
        0x30, // PUBLISH, QoS 0
        0x14, // remaining length 20
        0x00, // topic length MSB
        0x0d, // topic length LSB: 13
        ...Buffer.from('v5/props/none'), // topic
        0x00, // property length 0 [MQTT-2.2.2-1]
        ...Buffer.from('bare'), // payload
      ],
    );
  });

  test('a 3.1.1 subscriber gets a v5 message without any properties', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnect(b.port, { clientId: 'v4-sub' });
    sub.send(subscribe(1, [['v5/props/to311', 0]]));
    await sub.expectBytes(suback(1, [0]), 'SUBACK granting QoS 0');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'v5-pub-to-311' });
    await pub.publishAsync('v5/props/to311', 'plain', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        contentType: 'text/plain',
        responseTopic: 'v5/props/back',
        correlationData: Buffer.from('id-1'),
        userProperties: { k: 'v' },
      },
    });
    await sub.expectBytes(
      [...publish({ topic: 'v5/props/to311', payload: 'plain' })],
      'a 3.1.1 PUBLISH: topic and payload, nothing else',
    );
  });

  test('a 3.1.1 publisher reaches a v5 subscriber; the message carries no properties', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'v5-sub-from-311' });
    await sub.subscribeAsync('v5/props/from311', { qos: 1 });
    const pub = await scope.connect(b.url, { clientId: 'v4-pub' });
    await pub.publishAsync('v5/props/from311', 'from 3.1.1', { qos: 1 });
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'from 3.1.1');
    assert.equal(m.packet.properties, undefined);
  });

  test('Payload Format Indicator 1 with invalid UTF-8 at QoS 1: PUBACK 0x99, not delivered (§3.3.2.3.2)', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'pfi-sub' });
    await sub.subscribeAsync('v5/props/pfi', { qos: 1 });
    const { raw: pub } = await scope.rawConnectV5(b.port, { clientId: 'pfi-pub' });
    pub.send(
      publish5({
        topic: 'v5/props/pfi',
        payload: Buffer.from([0x61, 0xff, 0xfe, 0x62]), // 'a', two bytes never valid in UTF-8, 'b'
        qos: 1,
        id: 5,
        properties: { payloadFormatIndicator: 1 },
      }),
    );
    const { packet: ack } = await pub.expect('puback');
    assert.equal(ack.messageId, 5);
    assert.equal(
      ack.reasonCode,
      0x99,
      `PUBACK reason ${codeName(ack.reasonCode)}, expected 0x99 Payload format invalid`,
    );

    // The connection goes on; a valid UTF-8 message is the first the subscriber sees.
    pub.send(
      publish5({
        topic: 'v5/props/pfi',
        payload: 'grüße',
        qos: 1,
        id: 6,
        properties: { payloadFormatIndicator: 1 },
      }),
    );
    const { packet: ack2 } = await pub.expect('puback');
    assert.equal(ack2.reasonCode, 0x00);
    const m = await nextMessage(sub);
    assert.equal(m.payload.toString(), 'grüße', 'the invalid payload was not delivered');
    assert.equal(m.packet.properties?.payloadFormatIndicator, true);
  });

  test('request/response: the responder answers on the Response Topic with the Correlation Data (§4.10)', async () => {
    const b = await scope.broker();
    const requester = await scope.connect(b.url, { ...V5, clientId: 'requester' });
    const responder = await scope.connect(b.url, { ...V5, clientId: 'responder' });
    await requester.subscribeAsync('v5/rr/replies/requester', { qos: 1 });
    await responder.subscribeAsync('v5/rr/requests', { qos: 1 });
    responder.on('message', (_topic, payload, packet) => {
      const replyTo = packet.properties?.responseTopic;
      if (replyTo === undefined) return;
      responder.publish(replyTo, `answer to ${payload.toString()}`, {
        qos: 1,
        properties: { correlationData: packet.properties?.correlationData },
      });
    });

    const correlation = Buffer.from('req-42');
    await requester.publishAsync('v5/rr/requests', 'what time is it', {
      qos: 1,
      properties: { responseTopic: 'v5/rr/replies/requester', correlationData: correlation },
    });
    const reply = await nextMessage(requester);
    assert.equal(reply.topic, 'v5/rr/replies/requester');
    assert.equal(reply.payload.toString(), 'answer to what time is it');
    assert.deepEqual(reply.packet.properties?.correlationData, correlation);
  });

  test('request/response with Response Information as the reply topic prefix (§4.10.1)', async () => {
    const b = await scope.broker();
    const { client: requester, connack: ack } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: 'rr-info',
      properties: { requestResponseInformation: true },
    });
    const base = ack.properties?.responseInformation;
    assert.equal(base, 'response/rr-info');
    const replyTopic = `${base}/1`;
    await requester.subscribeAsync(replyTopic, { qos: 1 });
    const responder = await scope.connect(b.url, { ...V5, clientId: 'rr-info-responder' });
    await responder.subscribeAsync('v5/rr/info/requests', { qos: 1 });
    const request = waitFor(responder, 'message');

    await requester.publishAsync('v5/rr/info/requests', 'ping', {
      qos: 1,
      properties: { responseTopic: replyTopic, correlationData: Buffer.from([7]) },
    });
    const [, , packet] = (await request) as [string, Buffer, { properties?: { responseTopic?: string } }];
    assert.equal(packet.properties?.responseTopic, replyTopic);
    await responder.publishAsync(replyTopic, 'pong', {
      qos: 1,
      properties: { correlationData: Buffer.from([7]) },
    });
    const reply = await nextMessage(requester);
    assert.equal(reply.payload.toString(), 'pong');
    assert.deepEqual(reply.packet.properties?.correlationData, Buffer.from([7]));
  });
});
