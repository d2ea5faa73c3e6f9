/**
 * Topic aliases (MQTT 5.0 §3.3.2.3.4): inbound, the broker resolves a client's aliases and rejects bad
 * ones; outbound, it assigns its own aliases to a subscriber that allows them (and never to one that does
 * not), within the smaller of the subscriber's Topic Alias Maximum and its own topicAliasMaximum.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { nextMessages } from '../../helpers/mqtt.js';
import type { RawClient } from '../../helpers/raw.js';
import { codeName, expectDisconnect, publish5, subscribe5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

/** A raw v5 subscriber to `filter` at QoS 0; `topicAliasMaximum` goes into its CONNECT when given. */
async function rawSubscriber(port: number, clientId: string, filter: string, topicAliasMaximum?: number) {
  const { raw } = await scope.rawConnectV5(port, {
    clientId,
    properties: topicAliasMaximum === undefined ? {} : { topicAliasMaximum },
  });
  raw.send(subscribe5(1, [{ filter, qos: 0 }]));
  await raw.expect('suback');
  return raw;
}

/** Sends a QoS 1 PUBLISH and requires PUBACK 0x00 for it. */
async function publishAcked(raw: RawClient, id: number, topic: string, payload: string, topicAlias?: number) {
  raw.send(
    publish5({ topic, payload, qos: 1, id, properties: topicAlias === undefined ? {} : { topicAlias } }),
  );
  const { packet } = await raw.expect('puback');
  assert.equal(packet.messageId, id);
  assert.equal(packet.reasonCode ?? 0, 0, `PUBACK ${codeName(packet.reasonCode)} for '${payload}'`);
}

describe('topic aliases from the client', () => {
  test('topic + alias 1, then empty topic + alias 1: both delivered with the full topic [MQTT-3.3.2-12]', async () => {
    const b = await scope.broker();
    const sub = await rawSubscriber(b.port, 'alias-in-sub', 'v5/alias/in');
    const { raw: pub } = await scope.rawConnectV5(b.port, { clientId: 'alias-in-pub' });
    await publishAcked(pub, 1, 'v5/alias/in', 'one', 1);
    await publishAcked(pub, 2, '', 'two', 1);

    for (const payload of ['one', 'two']) {
      const { packet } = await sub.expect('publish');
      assert.equal(packet.topic, 'v5/alias/in', `'${payload}' arrives with the full topic`);
      assert.equal(packet.payload.toString(), payload);
      assert.equal(packet.properties?.topicAlias, undefined, "the publisher's alias is not forwarded");
    }
  });

  test('an alias may be remapped to another topic by sending it with a new topic (§3.3.2.3.4)', async () => {
    const b = await scope.broker();
    const sub = await rawSubscriber(b.port, 'alias-remap-sub', 'v5/alias/remap/#');
    const { raw: pub } = await scope.rawConnectV5(b.port, { clientId: 'alias-remap-pub' });
    await publishAcked(pub, 1, 'v5/alias/remap/a', 'to a', 3);
    await publishAcked(pub, 2, 'v5/alias/remap/b', 'to b', 3);
    await publishAcked(pub, 3, '', 'alias 3 now means b', 3);
    const topics: string[] = [];
    for (let i = 0; i < 3; i++) topics.push((await sub.expect('publish')).packet.topic);
    assert.deepEqual(topics, ['v5/alias/remap/a', 'v5/alias/remap/b', 'v5/alias/remap/b']);
  });

  test('MQTT.js subscribers see the aliased messages with the full topic', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'alias-in-mqttjs' });
    await sub.subscribeAsync('v5/alias/mqttjs', { qos: 1 });
    const { raw: pub } = await scope.rawConnectV5(b.port, { clientId: 'alias-in-mqttjs-pub' });
    await publishAcked(pub, 1, 'v5/alias/mqttjs', 'first', 9);
    await publishAcked(pub, 2, '', 'second', 9);
    const got = await nextMessages(sub, 2);
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload.toString()]),
      [
        ['v5/alias/mqttjs', 'first'],
        ['v5/alias/mqttjs', 'second'],
      ],
    );
  });

  test('Topic Alias 0 gets DISCONNECT 0x94 (§3.3.2.3.4, [MQTT-3.3.2-8])', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'alias-zero' });
    raw.send(publish5({ topic: 'v5/alias/zero', payload: 'x', properties: { topicAlias: 0 } }));
    await expectDisconnect(raw, 0x94, 'Topic Alias 0');
  });

  test('a Topic Alias above the Topic Alias Maximum gets DISCONNECT 0x94 (§3.3.2.3.4, [MQTT-3.2.2-17])', async () => {
    const b = await scope.broker({ topicAliasMaximum: 4 });
    const { raw, connack } = await scope.rawConnectV5(b.port, { clientId: 'alias-over' });
    assert.equal(connack.properties?.topicAliasMaximum, 4);
    await publishAcked(raw, 1, 'v5/alias/over', 'alias 4 is fine', 4);
    raw.send(publish5({ topic: 'v5/alias/over', payload: 'x', properties: { topicAlias: 5 } }));
    await expectDisconnect(raw, 0x94, 'Topic Alias 5 with a maximum of 4');
  });

  test('an empty topic with an alias never mapped gets DISCONNECT 0x82 (§3.3.2.3.4)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'alias-unknown' });
    raw.send(publish5({ topic: '', payload: 'x', properties: { topicAlias: 2 } }));
    await expectDisconnect(raw, 0x82, 'empty topic, unmapped alias 2');
  });

  test('an empty topic without a Topic Alias gets DISCONNECT 0x82 (§3.3.2.1)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'alias-none' });
    raw.send(publish5({ topic: '', payload: 'x' }));
    await expectDisconnect(raw, 0x82, 'empty topic, no alias');
  });

  test('alias mappings do not carry over to a new connection [MQTT-3.3.2-7]', async () => {
    const b = await scope.broker();
    const props = { sessionExpiryInterval: 60 };
    const { raw: first } = await scope.rawConnectV5(b.port, { clientId: 'alias-conn', properties: props });
    await publishAcked(first, 1, 'v5/alias/conn', 'mapped', 1);
    await first.disconnect();
    const { raw: second } = await scope.rawConnectV5(b.port, {
      clientId: 'alias-conn',
      clean: false,
      properties: props,
    });
    second.send(publish5({ topic: '', payload: 'x', properties: { topicAlias: 1 } }));
    await expectDisconnect(second, 0x82, 'alias 1 of the previous connection');
  });
});

describe('topic aliases to the subscriber', () => {
  test('with Topic Alias Maximum 10: the first PUBLISH has topic + alias, later ones the alias alone [MQTT-3.3.2-11]', async () => {
    const b = await scope.broker();
    const sub = await rawSubscriber(b.port, 'alias-out-sub', 'v5/alias/out', 10);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'alias-out-pub' });
    for (const p of ['m1', 'm2', 'm3']) await pub.publishAsync('v5/alias/out', p, { qos: 1 });

    const { packet: p1 } = await sub.expect('publish');
    const alias = p1.properties?.topicAlias;
    assert.equal(p1.topic, 'v5/alias/out', 'the first PUBLISH names the topic');
    assert.ok(
      alias !== undefined && alias >= 1 && alias <= 10,
      `alias ${alias} within 1..10 [MQTT-3.1.2-26]`,
    );
    for (const payload of ['m2', 'm3']) {
      const { packet } = await sub.expect('publish');
      assert.equal(packet.payload.toString(), payload);
      assert.equal(packet.topic, '', `'${payload}' is sent with an empty topic`);
      assert.equal(packet.properties?.topicAlias, alias, `'${payload}' uses alias ${alias}`);
    }
  });

  test('MQTT.js with topicAliasMaximum 10 still sees the full topic on every message', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, {
      ...V5,
      clientId: 'alias-out-mqttjs',
      properties: { topicAliasMaximum: 10 },
    });
    await sub.subscribeAsync('v5/alias/out/mqttjs', { qos: 1 });
    const pub = await scope.connect(b.url, { ...V5, clientId: 'alias-out-mqttjs-pub' });
    for (const p of ['a', 'b', 'c']) await pub.publishAsync('v5/alias/out/mqttjs', p, { qos: 1 });
    const got = await nextMessages(sub, 3);
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload.toString()]),
      [
        ['v5/alias/out/mqttjs', 'a'],
        ['v5/alias/out/mqttjs', 'b'],
        ['v5/alias/out/mqttjs', 'c'],
      ],
    );
  });

  test('a subscriber without Topic Alias Maximum never gets an alias [MQTT-3.1.2-27]', async () => {
    const b = await scope.broker();
    const absent = await rawSubscriber(b.port, 'alias-absent', 'v5/alias/never');
    const zero = await rawSubscriber(b.port, 'alias-zero-max', 'v5/alias/never', 0);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'alias-never-pub' });
    for (const p of ['n1', 'n2', 'n3']) await pub.publishAsync('v5/alias/never', p, { qos: 1 });
    for (const [name, raw] of [
      ['absent', absent],
      ['0', zero],
    ] as const) {
      for (const payload of ['n1', 'n2', 'n3']) {
        const { packet } = await raw.expect('publish');
        assert.equal(packet.payload.toString(), payload);
        assert.equal(packet.topic, 'v5/alias/never', `Topic Alias Maximum ${name}: full topic`);
        assert.equal(packet.properties?.topicAlias, undefined, `Topic Alias Maximum ${name}: no alias`);
      }
    }
  });

  /** Reads `count` PUBLISHes, resolving aliases as a client must; checks every alias is within 1..max. */
  async function resolvedTopics(raw: RawClient, count: number, max: number): Promise<string[]> {
    const map = new Map<number, string>();
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const { packet } = await raw.expect('publish');
      const alias = packet.properties?.topicAlias;
      if (alias === undefined) {
        assert.notEqual(packet.topic, '', 'an empty topic needs an alias');
        topics.push(packet.topic);
        continue;
      }
      assert.ok(alias >= 1 && alias <= max, `alias ${alias} outside 1..${max} [MQTT-3.1.2-26]`);
      if (packet.topic !== '') map.set(alias, packet.topic);
      const topic = map.get(alias);
      assert.ok(topic !== undefined, `alias ${alias} used before it was mapped`);
      topics.push(topic);
    }
    return topics;
  }

  test("aliases stay within the subscriber's Topic Alias Maximum when there are more topics [MQTT-3.1.2-26]", async () => {
    const b = await scope.broker();
    const sub = await rawSubscriber(b.port, 'alias-cap-client', 'v5/alias/cap/+', 2);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'alias-cap-client-pub' });
    const sequence = ['t1', 't2', 't3', 't4', 't1', 't2', 't3', 't4', 't1', 't1'].map(
      (t) => `v5/alias/cap/${t}`,
    );
    for (const [i, topic] of sequence.entries()) await pub.publishAsync(topic, `m${i}`, { qos: 1 });
    assert.deepEqual(await resolvedTopics(sub, sequence.length, 2), sequence);
  });

  test("the broker's topicAliasMaximum also caps the aliases it assigns", async () => {
    const b = await scope.broker({ topicAliasMaximum: 1 });
    const sub = await rawSubscriber(b.port, 'alias-cap-broker', 'v5/alias/capb/+', 10);
    const pub = await scope.connect(b.url, { ...V5, clientId: 'alias-cap-broker-pub' });
    const sequence = ['x', 'y', 'x', 'x', 'y', 'y'].map((t) => `v5/alias/capb/${t}`);
    for (const [i, topic] of sequence.entries()) await pub.publishAsync(topic, `m${i}`, { qos: 1 });
    assert.deepEqual(await resolvedTopics(sub, sequence.length, 1), sequence);
  });
});
