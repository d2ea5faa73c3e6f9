/**
 * MQTT 5 flow control (MQTT 5.0 §4.9, §3.3.4) and Maximum Packet Size (§3.1.2.11.4): the broker sends a
 * subscriber at most its Receive Maximum of unacknowledged QoS 1/2 PUBLISHes, holds a publisher to its
 * own receiveMaximum, and never sends a packet larger than the subscriber allows.
 *
 * "Nothing more was sent" is proved with PINGREQ: the broker must answer it even with a full window
 * [MQTT-3.3.4-10], and its PINGRESP comes after any PUBLISH it wrote before.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { RawClient } from '../../helpers/raw.js';
import { PINGREQ } from '../../helpers/raw.js';
import { ack5, expectDisconnect, publish5, subscribe5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

/** The next packet must be PINGRESP to a PINGREQ sent now: no PUBLISH was pending before it. */
async function expectNothingPending(raw: RawClient, what: string): Promise<void> {
  raw.send(PINGREQ);
  const { packet } = await raw.next();
  assert.equal(packet.cmd, 'pingresp', `${what}: got ${packet.cmd.toUpperCase()} before PINGRESP`);
}

describe('flow control', () => {
  test('Receive Maximum 2: two of five QoS 1 PUBLISHes in flight; the third after one PUBACK [MQTT-3.3.4-9]', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnectV5(b.port, {
      clientId: 'rm2-sub',
      properties: { receiveMaximum: 2 },
    });
    sub.send(subscribe5(1, [{ filter: 'v5/flow/rm', qos: 1 }]));
    await sub.expect('suback');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'rm2-pub' });
    for (let i = 1; i <= 5; i++) await pub.publishAsync('v5/flow/rm', `m${i}`, { qos: 1 });

    const { packet: p1 } = await sub.expect('publish');
    const { packet: p2 } = await sub.expect('publish');
    assert.deepEqual([p1.payload.toString(), p2.payload.toString()], ['m1', 'm2']);
    await expectNothingPending(sub, 'with 2 unacknowledged and Receive Maximum 2');

    sub.send(ack5(0x40, p1.messageId!));
    const { packet: p3 } = await sub.expect('publish');
    assert.equal(p3.payload.toString(), 'm3', 'one PUBACK frees one slot');
    await expectNothingPending(sub, 'window full again');

    sub.send(ack5(0x40, p2.messageId!));
    sub.send(ack5(0x40, p3.messageId!));
    const { packet: p4 } = await sub.expect('publish');
    const { packet: p5 } = await sub.expect('publish');
    assert.deepEqual([p4.payload.toString(), p5.payload.toString()], ['m4', 'm5']);
    sub.send(ack5(0x40, p4.messageId!));
    sub.send(ack5(0x40, p5.messageId!));
  });

  test("the smaller of the client's Receive Maximum and maxInflight bounds the window", async () => {
    const b = await scope.broker({ maxInflight: 1 });
    const { raw: sub } = await scope.rawConnectV5(b.port, {
      clientId: 'rm-vs-inflight',
      properties: { receiveMaximum: 5 },
    });
    sub.send(subscribe5(1, [{ filter: 'v5/flow/inflight', qos: 1 }]));
    await sub.expect('suback');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'rm-vs-inflight-pub' });
    await pub.publishAsync('v5/flow/inflight', 'a', { qos: 1 });
    await pub.publishAsync('v5/flow/inflight', 'b', { qos: 1 });
    const { packet: first } = await sub.expect('publish');
    await expectNothingPending(sub, 'maxInflight 1');
    sub.send(ack5(0x40, first.messageId!));
    const { packet: second } = await sub.expect('publish');
    assert.equal(second.payload.toString(), 'b');
    sub.send(ack5(0x40, second.messageId!));
  });

  test('CONNACK announces receiveMaximum; a client exceeding it gets DISCONNECT 0x93 (§4.9, [MQTT-3.3.4-7])', async () => {
    const b = await scope.broker({ receiveMaximum: 2 });
    const { raw, connack } = await scope.rawConnectV5(b.port, { clientId: 'rm-exceed' });
    assert.equal(connack.properties?.receiveMaximum, 2);
    for (const id of [1, 2]) {
      raw.send(publish5({ topic: 'v5/flow/exceed', payload: `q2-${id}`, qos: 2, id }));
      const { packet } = await raw.expect('pubrec');
      assert.equal(packet.messageId, id);
    }
    // Two QoS 2 messages without PUBREL are still unacknowledged (no PUBCOMP yet): a third is one too many.
    raw.send(publish5({ topic: 'v5/flow/exceed', payload: 'q2-3', qos: 2, id: 3 }));
    await expectDisconnect(raw, 0x93, 'third unacknowledged QoS 2 PUBLISH with Receive Maximum 2');
  });

  test('completing a QoS 2 flow (PUBREL -> PUBCOMP) frees a slot of the receive maximum', async () => {
    const b = await scope.broker({ receiveMaximum: 2 });
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'rm-free' });
    for (const id of [1, 2]) {
      raw.send(publish5({ topic: 'v5/flow/free', payload: `q2-${id}`, qos: 2, id }));
      await raw.expect('pubrec');
    }
    raw.send(ack5(0x62, 1)); // PUBREL 1
    const { packet: comp } = await raw.expect('pubcomp');
    assert.equal(comp.messageId, 1);
    raw.send(publish5({ topic: 'v5/flow/free', payload: 'q2-3', qos: 2, id: 3 }));
    const { packet: rec } = await raw.expect('pubrec');
    assert.equal(rec.messageId, 3, 'the third is accepted once the first completed');
  });

  test('a message larger than the subscriber Maximum Packet Size is not sent; a later small one is [MQTT-3.1.2-24]', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnectV5(b.port, {
      clientId: 'mps-sub',
      properties: { maximumPacketSize: 200 },
    });
    sub.send(subscribe5(1, [{ filter: 'v5/flow/mps', qos: 0 }]));
    await sub.expect('suback');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'mps-pub' });
    await pub.publishAsync('v5/flow/mps', Buffer.alloc(1024, 0x61), { qos: 1 });
    await pub.publishAsync('v5/flow/mps', 'small', { qos: 1 });
    const { bytes, packet } = await sub.expect('publish');
    assert.equal(packet.payload.toString(), 'small', 'the 1 KiB message was sent to a 200-byte client');
    assert.ok(bytes.length <= 200);
  });

  test('an oversize QoS 1 message does not take an inflight slot [MQTT-3.1.2-25]', async () => {
    const b = await scope.broker();
    const { raw: sub } = await scope.rawConnectV5(b.port, {
      clientId: 'mps-q1-sub',
      properties: { maximumPacketSize: 200, receiveMaximum: 1 },
    });
    sub.send(subscribe5(1, [{ filter: 'v5/flow/mps-q1', qos: 1 }]));
    await sub.expect('suback');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'mps-q1-pub' });
    await pub.publishAsync('v5/flow/mps-q1', Buffer.alloc(1024, 0x62), { qos: 1 });
    await pub.publishAsync('v5/flow/mps-q1', 'small-1', { qos: 1 });
    const { packet: p1 } = await sub.expect('publish');
    assert.equal(p1.payload.toString(), 'small-1', 'the window of 1 was not held by the discarded message');
    sub.send(ack5(0x40, p1.messageId!));
    await pub.publishAsync('v5/flow/mps-q1', 'small-2', { qos: 1 });
    const { packet: p2 } = await sub.expect('publish');
    assert.equal(p2.payload.toString(), 'small-2', 'the discarded message is not retried either');
    sub.send(ack5(0x40, p2.messageId!));
  });
});
