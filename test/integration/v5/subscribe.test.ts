/**
 * MQTT 5 SUBSCRIBE options and acknowledgements (MQTT 5.0 §3.8.3.1, §3.9.3, §3.11.3): No Local, Retain
 * As Published, Retain Handling, Subscription Identifiers, and the SUBACK / UNSUBACK reason codes.
 *
 * Re-subscriptions go over raw sockets: MQTT.js does not send a SUBSCRIBE for a filter it already holds
 * at the same QoS.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { nextMessage } from '../../helpers/mqtt.js';
import type { RawClient } from '../../helpers/raw.js';
import { expectDisconnect, type RawSubscription5, subscribe5, unsubscribe5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { subscriptionIds, V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

/** Sends SUBSCRIBE and returns the SUBACK reason codes. */
async function subscribeCodes(
  raw: RawClient,
  id: number,
  subs: readonly RawSubscription5[],
  props?: Parameters<typeof subscribe5>[2],
): Promise<number[]> {
  raw.send(subscribe5(id, subs, props));
  const { packet } = await raw.expect('suback');
  assert.equal(packet.messageId, id, 'SUBACK has the SUBSCRIBE packet id [MQTT-3.8.4-2]');
  return packet.granted as number[];
}

describe('No Local', () => {
  test("with No Local 1 a client does not get its own messages, but gets others' [MQTT-3.8.3-3]", async () => {
    const b = await scope.broker();
    const me = await scope.connect(b.url, { ...V5, clientId: 'nl-me' });
    await me.subscribeAsync('v5/sub/nl', { qos: 1, nl: true });
    const other = await scope.connect(b.url, { ...V5, clientId: 'nl-other' });
    await me.publishAsync('v5/sub/nl', 'mine', { qos: 1 });
    await other.publishAsync('v5/sub/nl', 'theirs', { qos: 1 });
    const m = await nextMessage(me);
    assert.equal(m.payload.toString(), 'theirs', 'the client received its own message');
  });

  test('with No Local 0 (default) a client gets its own messages', async () => {
    const b = await scope.broker();
    const me = await scope.connect(b.url, { ...V5, clientId: 'nl0-me' });
    await me.subscribeAsync('v5/sub/nl0', { qos: 1 });
    await me.publishAsync('v5/sub/nl0', 'mine', { qos: 1 });
    assert.equal((await nextMessage(me)).payload.toString(), 'mine');
  });
});

describe('Retain As Published', () => {
  test('RAP 1 keeps the RETAIN flag on normal forwarding, RAP 0 clears it [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async () => {
    const b = await scope.broker();
    const keep = await scope.connect(b.url, { ...V5, clientId: 'rap-keep' });
    await keep.subscribeAsync('v5/sub/rap', { qos: 1, rap: true });
    const clear = await scope.connect(b.url, { ...V5, clientId: 'rap-clear' });
    await clear.subscribeAsync('v5/sub/rap', { qos: 1, rap: false });
    const pub = await scope.connect(b.url, { ...V5, clientId: 'rap-pub' });
    await pub.publishAsync('v5/sub/rap', 'retained live', { qos: 1, retain: true });
    await pub.publishAsync('v5/sub/rap', 'not retained', { qos: 1, retain: false });

    const k1 = await nextMessage(keep);
    const k2 = await nextMessage(keep);
    assert.deepEqual(
      [
        [k1.payload.toString(), k1.packet.retain],
        [k2.payload.toString(), k2.packet.retain],
      ],
      [
        ['retained live', true],
        ['not retained', false],
      ],
    );
    const c1 = await nextMessage(clear);
    assert.equal(c1.payload.toString(), 'retained live');
    assert.equal(c1.packet.retain, false, 'RAP 0 clears RETAIN on a forwarded message');
  });
});

describe('Retain Handling', () => {
  async function setup(clientId: string, topic: string) {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { ...V5, clientId: `${clientId}-pub` });
    await pub.publishAsync(topic, 'stored', { qos: 1, retain: true });
    const { raw } = await scope.rawConnectV5(b.port, { clientId });
    return { pub, raw };
  }

  /** The next PUBLISH on `raw` is the retained message, with RETAIN 1 (§3.3.1.3). */
  async function expectRetained(raw: RawClient, what: string) {
    const { packet } = await raw.expect('publish');
    assert.equal(packet.payload.toString(), 'stored', what);
    assert.equal(packet.retain, true, `${what}: a message sent because of a subscription has RETAIN 1`);
  }

  /** Publishes a live marker; it must be the next PUBLISH on `raw`: no retained message came first. */
  async function expectMarkerNext(
    pub: Awaited<ReturnType<typeof setup>>['pub'],
    raw: RawClient,
    topic: string,
  ) {
    await pub.publishAsync(topic, 'marker', { qos: 1 });
    const { packet } = await raw.expect('publish');
    assert.equal(packet.payload.toString(), 'marker', 'a retained message was sent');
  }

  test('0: retained messages are sent on every SUBSCRIBE, re-subscriptions included [MQTT-3.3.1-9] [MQTT-3.8.4-4]', async () => {
    const { raw } = await setup('rh0', 'v5/sub/rh0');
    assert.deepEqual(
      await subscribeCodes(raw, 1, [{ filter: 'v5/sub/rh0', qos: 1, retainHandling: 0 }]),
      [1],
    );
    await expectRetained(raw, 'first subscribe');
    assert.deepEqual(
      await subscribeCodes(raw, 2, [{ filter: 'v5/sub/rh0', qos: 1, retainHandling: 0 }]),
      [1],
    );
    await expectRetained(raw, 're-subscribe');
  });

  test('1: retained messages only when the subscription is new [MQTT-3.3.1-10]', async () => {
    const { pub, raw } = await setup('rh1', 'v5/sub/rh1');
    assert.deepEqual(
      await subscribeCodes(raw, 1, [{ filter: 'v5/sub/rh1', qos: 0, retainHandling: 1 }]),
      [0],
    );
    await expectRetained(raw, 'new subscription');
    assert.deepEqual(
      await subscribeCodes(raw, 2, [{ filter: 'v5/sub/rh1', qos: 0, retainHandling: 1 }]),
      [0],
    );
    await expectMarkerNext(pub, raw, 'v5/sub/rh1');
  });

  test('2: retained messages are never sent at subscribe time [MQTT-3.3.1-11]', async () => {
    const { pub, raw } = await setup('rh2', 'v5/sub/rh2');
    assert.deepEqual(
      await subscribeCodes(raw, 1, [{ filter: 'v5/sub/rh2', qos: 0, retainHandling: 2 }]),
      [0],
    );
    await expectMarkerNext(pub, raw, 'v5/sub/rh2');
  });

  test('3 is a Protocol Error: DISCONNECT 0x82 (§3.8.3.1)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'rh3' });
    raw.send(subscribe5(1, [{ filter: 'v5/sub/rh3', qos: 0, retainHandling: 3 }]));
    await expectDisconnect(raw, 0x82, 'Retain Handling 3');
  });
});

describe('Subscription Identifiers', () => {
  test('a message carries the identifier of the subscription it matched (§3.8.2.1.2)', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'sid-one' });
    await sub.subscribeAsync('v5/sub/sid/one', { qos: 1, properties: { subscriptionIdentifier: 268435455 } });
    await sub.subscribeAsync('v5/sub/sid/none', { qos: 1 });
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sid-one-pub' });
    await pub.publishAsync('v5/sub/sid/one', 'with id', { qos: 1 });
    await pub.publishAsync('v5/sub/sid/none', 'without id', { qos: 1 });
    const withId = await nextMessage(sub);
    assert.deepEqual(subscriptionIds(withId.packet), [268435455], 'the largest identifier survives');
    const withoutId = await nextMessage(sub);
    assert.deepEqual(subscriptionIds(withoutId.packet), [], 'a subscription without identifier adds none');
  });

  test('overlapping subscriptions with ids 1 and 2: one message carrying both [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async () => {
    const b = await scope.broker();
    const sub = await scope.connect(b.url, { ...V5, clientId: 'sid-overlap' });
    await sub.subscribeAsync('v5/sub/ov/#', { qos: 1, properties: { subscriptionIdentifier: 1 } });
    await sub.subscribeAsync('v5/sub/ov/+/x', { qos: 1, properties: { subscriptionIdentifier: 2 } });
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sid-overlap-pub' });
    await pub.publishAsync('v5/sub/ov/a/x', 'both', { qos: 1 });
    await pub.publishAsync('v5/sub/ov/a', 'only #', { qos: 1 });

    const both = await nextMessage(sub);
    assert.equal(both.payload.toString(), 'both');
    assert.deepEqual(subscriptionIds(both.packet), [1, 2]);
    const next = await nextMessage(sub);
    assert.equal(next.payload.toString(), 'only #', "'both' was delivered once, not once per subscription");
    assert.deepEqual(subscriptionIds(next.packet), [1]);
  });

  test('a retained message sent on subscribe carries the subscription identifier', async () => {
    const b = await scope.broker();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'sid-retained-pub' });
    await pub.publishAsync('v5/sub/sid/retained', 'stored', { qos: 1, retain: true });
    const sub = await scope.connect(b.url, { ...V5, clientId: 'sid-retained' });
    await sub.subscribeAsync('v5/sub/sid/retained', { qos: 1, properties: { subscriptionIdentifier: 77 } });
    const m = await nextMessage(sub);
    assert.equal(m.packet.retain, true);
    assert.deepEqual(subscriptionIds(m.packet), [77]);
  });

  test('Subscription Identifier 0 is a Protocol Error: DISCONNECT 0x82 (§3.8.2.1.2)', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'sid-zero' });
    raw.send(subscribe5(1, [{ filter: 'v5/sub/sid/zero' }], { subscriptionIdentifier: 0 }));
    await expectDisconnect(raw, 0x82, 'Subscription Identifier 0');
  });
});

describe('SUBACK and UNSUBACK reason codes', () => {
  test('granted QoS per filter, 0x8F for invalid filters, in order [MQTT-3.8.4-7] [MQTT-3.9.3-1]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'suback-codes' });
    const codes = await subscribeCodes(raw, 1, [
      { filter: 'v5/sub/ok/2', qos: 2 },
      { filter: 'v5/sub/#/bad', qos: 1 },
      { filter: 'v5/sub/ok/0', qos: 0 },
      { filter: 'v5/sub/bad+', qos: 0 },
      { filter: 'v5/sub/ok/1', qos: 1 },
    ]);
    assert.deepEqual(codes, [0x02, 0x8f, 0x00, 0x8f, 0x01]);
  });

  test('beyond maxSubscriptionsPerClient: 0x97 Quota exceeded; a re-subscription is still granted', async () => {
    const b = await scope.broker({ maxSubscriptionsPerClient: 2 });
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'suback-quota' });
    const codes = await subscribeCodes(raw, 1, [
      { filter: 'v5/sub/q/a', qos: 0 },
      { filter: 'v5/sub/q/b', qos: 1 },
      { filter: 'v5/sub/q/c', qos: 2 },
    ]);
    assert.deepEqual(codes, [0x00, 0x01, 0x97]);
    assert.deepEqual(await subscribeCodes(raw, 2, [{ filter: 'v5/sub/q/a', qos: 2 }]), [0x02]);
  });

  test('$share/... gets 0x9E when sharedSubscriptions: false; other filters are granted', async () => {
    const b = await scope.broker({ sharedSubscriptions: false });
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'suback-noshare' });
    const codes = await subscribeCodes(raw, 1, [
      { filter: '$share/g/v5/sub/shared', qos: 1 },
      { filter: 'v5/sub/plain', qos: 1 },
    ]);
    assert.deepEqual(codes, [0x9e, 0x01]);
  });

  test('No Local 1 on a shared subscription gets DISCONNECT 0x82 [MQTT-3.8.3-4]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'share-nolocal' });
    raw.send(subscribe5(1, [{ filter: '$share/g/v5/sub/nl', qos: 1, noLocal: true }]));
    await expectDisconnect(raw, 0x82, 'No Local on $share/g/...');
  });

  test('reserved bits of the subscription options set: DISCONNECT 0x81 [MQTT-3.8.3-5]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'sub-reserved' });
    raw.send([
      0x82, // SUBSCRIBE, flags 0010
      0x0b, // remaining length 11
      0x00, // packet identifier MSB
      0x01, // packet identifier LSB
      0x00, // property length 0
      0x00, // topic filter length MSB
      0x05, // topic filter length LSB
      ...Buffer.from('v5/rs'), // topic filter
      0xc1, // options: QoS 1 with reserved bits 7-6 set
    ]);
    await expectDisconnect(raw, 0x81, 'reserved subscription option bits');
  });

  test('UNSUBACK: 0x00 for a filter that had a subscription, 0x11 for one that had none [MQTT-3.11.3-1]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'unsuback-codes' });
    await subscribeCodes(raw, 1, [{ filter: 'v5/sub/u/a', qos: 1 }]);
    raw.send(unsubscribe5(2, ['v5/sub/u/none', 'v5/sub/u/a', 'v5/sub/u/a']));
    const { packet } = await raw.expect('unsuback');
    assert.equal(packet.messageId, 2, 'UNSUBACK has the UNSUBSCRIBE packet id [MQTT-3.10.4-5]');
    // Handled as a sequence of single UNSUBSCRIBEs [MQTT-3.10.4-6]: the second 'a' finds nothing left.
    assert.deepEqual(packet.granted, [0x11, 0x00, 0x11]);
  });
});
