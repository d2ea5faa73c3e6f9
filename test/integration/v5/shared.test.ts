/**
 * Shared subscriptions (MQTT 5.0 §4.8.2), for MQTT 5 and MQTT 3.1.1 members alike: each message goes to
 * one member of each group ('round-robin' by default, 'sticky' and 'random' by configuration), groups
 * and plain subscriptions are independent, unacknowledged QoS 1 messages of a member whose session ends
 * go to another member, and a shared subscribe gets no retained messages.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { nextMessage, nextMessages } from '../../helpers/mqtt.js';
import { ack5, subscribe5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { collect, V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

/** Connects a member (MQTT 5 unless `protocolVersion` says 4) subscribed to `filter` at QoS 1. */
async function join(url: string, clientId: string, filter: string, protocolVersion: 4 | 5 = 5) {
  const c = await scope.connect(url, { protocolVersion, clientId });
  const granted = await c.subscribeAsync(filter, { qos: 1 });
  assert.equal(granted[0]?.qos, 1, `${clientId}: ${filter} granted at QoS 1`);
  return c;
}

async function publishAll(pub: MqttClient, topic: string, payloads: readonly string[]): Promise<void> {
  for (const p of payloads) await pub.publishAsync(topic, p, { qos: 1 });
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('shared subscriptions', () => {
  test('round-robin: 30 messages to 3 members (v5 and 3.1.1), each delivered once, 10 each', async () => {
    const b = await scope.broker();
    const filter = '$share/g/v5/sh/rr/#';
    const group = [
      await join(b.url, 'rr-a', filter),
      await join(b.url, 'rr-b', filter),
      await join(b.url, 'rr-c-311', filter, 4),
    ];
    const pub = await scope.connect(b.url, { ...V5, clientId: 'rr-pub' });
    const sent = range('m', 30);
    await publishAll(pub, 'v5/sh/rr/x', sent);

    const got = [];
    for (const member of group) got.push((await nextMessages(member, 10)).map((m) => m.payload.toString()));
    assert.deepEqual(got.flat().sort(), [...sent].sort(), 'every message reached exactly one member');

    // One more round: each member's next message is its marker, so none got an eleventh before it.
    await publishAll(pub, 'v5/sh/rr/x', ['k1', 'k2', 'k3']);
    const markers = [];
    for (const member of group) markers.push((await nextMessage(member)).payload.toString());
    assert.deepEqual(markers.sort(), ['k1', 'k2', 'k3']);
  });

  test('two groups on the same topic each get every message (§4.8.2)', async () => {
    const b = await scope.broker();
    const g1 = [
      await join(b.url, 'two-g1-a', '$share/g1/v5/sh/two'),
      await join(b.url, 'two-g1-b', '$share/g1/v5/sh/two'),
    ];
    const g2 = await join(b.url, 'two-g2-a', '$share/g2/v5/sh/two', 4);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'two-pub' });
    const sent = range('m', 10);
    await publishAll(pub, 'v5/sh/two', sent);

    const g1Got = [...(await nextMessages(g1[0]!, 5)), ...(await nextMessages(g1[1]!, 5))];
    assert.deepEqual(g1Got.map((m) => m.payload.toString()).sort(), [...sent].sort(), 'group g1 got all ten');
    const g2Got = await nextMessages(g2, 10);
    assert.deepEqual(
      g2Got.map((m) => m.payload.toString()),
      sent,
      'group g2 (one member) got all ten, in order',
    );
  });

  test('a plain subscriber beside a group gets every message', async () => {
    const b = await scope.broker();
    const group = [
      await join(b.url, 'plain-g-a', '$share/g/v5/sh/plain'),
      await join(b.url, 'plain-g-b', '$share/g/v5/sh/plain'),
    ];
    const plain = await join(b.url, 'plain-sub', 'v5/sh/plain');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'plain-pub' });
    const sent = range('m', 10);
    await publishAll(pub, 'v5/sh/plain', sent);
    assert.deepEqual(
      (await nextMessages(plain, 10)).map((m) => m.payload.toString()),
      sent,
    );
    const shared = [...(await nextMessages(group[0]!, 5)), ...(await nextMessages(group[1]!, 5))];
    assert.equal(
      new Set(shared.map((m) => m.payload.toString())).size,
      10,
      'the group got each message once',
    );
  });

  test("'sticky': every message goes to one member while it stays connected", async () => {
    const b = await scope.broker({ sharedSubscriptionStrategy: 'sticky' });
    const group = [
      await join(b.url, 'sticky-a', '$share/g/v5/sh/sticky'),
      await join(b.url, 'sticky-b', '$share/g/v5/sh/sticky', 4),
    ];
    const seen = collect(group);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sticky-pub' });
    const sent = range('m', 10);
    await publishAll(pub, 'v5/sh/sticky', sent);
    await seen.waitForTotal(10);
    const chosen = seen.all[0]!.who;
    assert.deepEqual(seen.payloadsOf(chosen), sent, 'all ten, in order, to the same member');
    assert.deepEqual(seen.payloadsOf(1 - chosen), [], 'the other member got none');

    await group[chosen]!.endAsync();
    await pub.publishAsync('v5/sh/sticky', 'after', { qos: 1 });
    await seen.waitForTotal(11);
    assert.deepEqual(seen.payloadsOf(1 - chosen), ['after'], 'the remaining member takes over');
    seen.stop();
  });

  test("'random': each message still goes to exactly one member", async () => {
    const b = await scope.broker({ sharedSubscriptionStrategy: 'random' });
    const group = [
      await join(b.url, 'random-a', '$share/g/v5/sh/random'),
      await join(b.url, 'random-b', '$share/g/v5/sh/random'),
      await join(b.url, 'random-c', '$share/g/v5/sh/random', 4),
    ];
    const seen = collect(group);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'random-pub' });
    const sent = range('m', 20);
    await publishAll(pub, 'v5/sh/random', sent);
    await seen.waitForTotal(20);
    // A plain subscription's marker published after them closes the window for late duplicates.
    const watcher = await join(b.url, 'random-watch', 'v5/sh/random');
    await pub.publishAsync('v5/sh/random', 'marker', { qos: 1 });
    await nextMessage(watcher);
    await seen.waitForTotal(21);
    const payloads = seen.all.map((m) => m.payload);
    assert.equal(payloads.length, 21, 'twenty messages and the marker, no duplicates');
    assert.deepEqual(payloads.filter((p) => p !== 'marker').sort(), [...sent].sort());
    seen.stop();
  });

  test('unacknowledged QoS 1 messages of a member whose session ends go to another member (§4.8.2)', async () => {
    const b = await scope.broker();
    const filter = '$share/g/v5/sh/redeliver';
    // The raw member never acknowledges; its session expiry is 0, so its session ends with the socket.
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'redeliver-raw' });
    raw.send(subscribe5(1, [{ filter, qos: 1 }]));
    await raw.expect('suback');
    const other = await join(b.url, 'redeliver-other', filter);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'redeliver-pub' });
    const sent = range('r', 4);
    await publishAll(pub, 'v5/sh/redeliver', sent);

    const held = [(await raw.expect('publish')).packet, (await raw.expect('publish')).packet];
    const first = await nextMessages(other, 2);
    raw.destroy();
    const redelivered = await nextMessages(other, 2);
    assert.deepEqual(
      redelivered.map((m) => m.payload.toString()).sort(),
      held.map((p) => p.payload.toString()).sort(),
      'the two messages the dropped member never acknowledged',
    );
    assert.deepEqual([...first, ...redelivered].map((m) => m.payload.toString()).sort(), [...sent].sort());
  });

  test('a message a member refused with PUBACK 0x80 is not sent to another member [MQTT-4.8.2-6]', async () => {
    const b = await scope.broker();
    const filter = '$share/g/v5/sh/refused';
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'refuse-raw' });
    raw.send(subscribe5(1, [{ filter, qos: 1 }]));
    await raw.expect('suback');
    const other = await join(b.url, 'refuse-other', filter);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'refuse-pub' });
    await publishAll(pub, 'v5/sh/refused', ['x1', 'x2']);

    const { packet } = await raw.expect('publish');
    raw.send(ack5(0x40, packet.messageId!, 0x80)); // PUBACK, reason 0x80 Unspecified error
    const accepted = await nextMessage(other);
    assert.notEqual(accepted.payload.toString(), packet.payload.toString());
    raw.destroy();
    await raw.waitClosed();
    await pub.publishAsync('v5/sh/refused', 'marker', { qos: 1 });
    const next = await nextMessage(other);
    assert.equal(next.payload.toString(), 'marker', 'the refused message was handed to another member');
  });

  test('a shared subscribe gets no retained messages (§4.8.2)', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'shared-retained-pub' });
    await pub.publishAsync('v5/sh/retained', 'stored', { qos: 1, retain: true });
    const member = await join(b.url, 'shared-retained', '$share/g/v5/sh/retained');
    await pub.publishAsync('v5/sh/retained', 'marker', { qos: 1 });
    const m = await nextMessage(member);
    assert.equal(m.payload.toString(), 'marker', 'the retained message was sent on a shared subscribe');
  });

  test('a member that unsubscribes leaves the group: the rest get everything', async () => {
    const b = await scope.broker();
    const leaver = await join(b.url, 'leave-a', '$share/g/v5/sh/leave');
    const stayer = await join(b.url, 'leave-b', '$share/g/v5/sh/leave');
    await leaver.unsubscribeAsync('$share/g/v5/sh/leave');
    const pub = await scope.connect(b.url, { ...V5, clientId: 'leave-pub' });
    const sent = range('m', 4);
    await publishAll(pub, 'v5/sh/leave', sent);
    assert.deepEqual(
      (await nextMessages(stayer, 4)).map((m) => m.payload.toString()),
      sent,
    );
  });
});
