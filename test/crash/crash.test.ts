/**
 * Crash durability: the `midge` command on a SQLite data directory, killed with SIGKILL and restarted.
 *
 * In `sync` durability (the default) PUBACK and PUBREC come only after the transaction holding the
 * message has committed, so every message the broker acknowledged — PUBACK for QoS 1, PUBREC for QoS 2
 * (the point where the broker owns it) — must reach a persistent subscriber after the restart: at
 * least once for QoS 1, exactly once for QoS 2. Persistent sessions keep their subscriptions, queued
 * and in-flight deliveries (packet ids and states), incoming QoS 2 ids awaiting PUBREL, and retained
 * messages. `batched` promises only a clean restart and a window of loss, which is measured here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqtt from 'mqtt';
import {
  ack,
  PINGREQ,
  publish,
  pubrec,
  pubrel,
  type RawClient,
  rawConnect,
  subscribe,
} from '../helpers/raw.js';
import {
  type Crashbox as Box,
  Crashbox,
  judge,
  numbered,
  publishStream,
  type StreamItem,
  type StreamResult,
  Subscriber,
  sleep,
  some,
  until,
} from './harness.js';

/** The stream of test 1 and 4: 2,000 QoS 1 and 2,000 QoS 2 messages, and a retained one every 100. */
function headlineItems(): StreamItem[] {
  const items: StreamItem[] = [];
  for (const item of numbered(0, 4000)) {
    items.push(item);
    if (item.n % 100 === 99) {
      const k = 100_000 + item.n;
      items.push({ n: k, topic: `keep/${k}`, qos: 1, retain: true });
    }
  }
  return items;
}

/** Retained messages a fresh client gets for `filter`, by number, with their retain flags. */
async function retainedNow(
  port: number,
  filter: string,
  expected: ReadonlySet<number>,
): Promise<Map<number, boolean>> {
  const got = new Map<number, boolean>();
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: `retained-check-${port}`,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  try {
    client.on('message', (_topic, payload, packet) => got.set(Number(payload.toString()), packet.retain));
    await client.subscribeAsync(filter, { qos: 1 });
    await until(
      () => [...expected].every((n) => got.has(n)),
      5_000,
      () => `retained ${some([...expected].filter((n) => !got.has(n)))} after restart`,
    );
    await sleep(200);
    return got;
  } finally {
    client.end(true);
  }
}

/** A new QoS 1 and QoS 2 message after the restart reaches every subscriber: the subscription is back. */
async function publishAfterRestart(port: number, subscribers: Subscriber[], first: number): Promise<void> {
  const stream = await publishStream(port, numbered(first, 2), { clientId: 'after-restart-pub' });
  for (const subscriber of subscribers) {
    await until(
      () => subscriber.deliveries.filter((got) => got.n >= first).length === 2,
      5_000,
      () => `${subscriber.clientId}: a message published after the restart`,
    );
  }
  assert.equal(stream.completed.size, 1);
}

/** Merges a stream cut by a crash into the running record of the whole run. */
function merge(into: StreamResult, from: StreamResult): void {
  for (const [n, item] of from.sent) into.sent.set(n, item);
  for (const n of from.acked) into.acked.add(n);
  for (const n of from.completed) into.completed.add(n);
}

/** Sends PUBREC/PUBCOMP for every QoS 2 PUBLISH and PUBREL that comes; resolves with the payloads delivered. */
async function completeQos2(raw: RawClient, count: number): Promise<string[]> {
  const payloads: string[] = [];
  let released = 0;
  while (payloads.length < count || released < count) {
    const { packet } = await raw.next();
    if (packet.cmd === 'publish') {
      assert.equal(packet.qos, 2, 'delivered at QoS 2');
      payloads.push(packet.payload.toString());
      raw.send(pubrec(packet.messageId!));
    } else if (packet.cmd === 'pubrel') {
      released++;
      raw.send(ack(0x70, packet.messageId!));
    } else {
      assert.fail(`unexpected ${packet.cmd}`);
    }
  }
  return payloads;
}

/** Asserts that nothing arrives for `ms`. */
async function expectSilence(raw: RawClient, ms: number, what: string): Promise<void> {
  try {
    const { packet } = await raw.next(ms);
    assert.fail(`${what}: got ${packet.cmd.toUpperCase()} ${packet.cmd === 'publish' ? packet.payload : ''}`);
  } catch (error) {
    if (!/no packet from the broker/.test((error as Error).message)) throw error;
  }
}

async function withBox(run: (box: Box) => Promise<void>, config?: Record<string, unknown>): Promise<void> {
  const box = new Crashbox(config);
  try {
    await run(box);
  } catch (error) {
    const logs = box.brokers.map((broker, i) => `--- broker ${i} stderr ---\n${broker.tail()}`).join('\n');
    (error as Error).message += `\n${logs}`;
    throw error;
  } finally {
    await box.cleanup();
  }
}

describe('crash durability (SIGKILL, restart on the same data directory)', { concurrency: false }, () => {
  test('sync: every acknowledged QoS 1/2 message survives a SIGKILL mid-stream; retained too', async (t) => {
    await withBox(async (box) => {
      let broker = await box.start();
      const q2 = new Subscriber('crash-sub-q2');
      const q1 = new Subscriber('crash-sub-q1');
      box.track(() => q2.close());
      box.track(() => q1.close());
      assert.equal(await q2.connect(broker.port, [['crash/#', 2]]), false);
      assert.equal(await q1.connect(broker.port, [['crash/#', 1]]), false);
      await q2.disconnect();
      await q1.disconnect();

      const items = headlineItems();
      const stream = await publishStream(broker.port, items, {
        clientId: 'crash-pub',
        window: 100,
        killAfter: 1500,
        kill: () => broker.killNow(),
      });
      await broker.kill();
      assert.ok(stream.killed && stream.sent.size < items.length, 'killed mid-stream');
      t.diagnostic(
        `sent ${stream.sent.size} of ${items.length}, acknowledged ${stream.acked.size}, QoS 2 completed ${stream.completed.size}`,
      );

      broker = await box.start();
      assert.equal(await q2.connect(broker.port), true, 'QoS 2 subscriber: session present after restart');
      assert.equal(await q1.connect(broker.port), true, 'QoS 1 subscriber: session present after restart');
      for (const [subscriber, qos] of [
        [q2, 2],
        [q1, 1],
      ] as const) {
        await subscriber.settle(
          () => judge(stream, subscriber, qos).lost.length === 0,
          15_000,
          () =>
            `${subscriber.clientId}: acknowledged but not delivered: ${some(judge(stream, subscriber, qos).lost)}`,
        );
        const verdict = judge(stream, subscriber, qos);
        assert.deepEqual(verdict.lost, [], `${subscriber.clientId}: acknowledged messages lost`);
        assert.deepEqual(verdict.foreign, [], `${subscriber.clientId}: delivered but never published`);
        assert.deepEqual(verdict.qos2Twice, [], `${subscriber.clientId}: QoS 2 delivered twice`);
        assert.deepEqual([...subscriber.awaitingRelease], [], `${subscriber.clientId}: PUBREL never came`);
        const unackedDelivered = [...subscriber.counts().keys()].filter((n) => !stream.acked.has(n)).length;
        t.diagnostic(
          `${subscriber.clientId}: ${verdict.delivered} delivered, of which ${unackedDelivered} sent but never acknowledged; ${subscriber.resends.length} QoS 2 resends`,
        );
      }
      assert.ok(
        q1.deliveries.every((got) => got.qos === 1),
        'a QoS 1 subscription gets QoS 2 messages at QoS 1',
      );

      await publishAfterRestart(broker.port, [q2, q1], 1_000_000);

      const keep = new Set([...stream.acked].filter((n) => stream.sent.get(n)!.retain === true));
      assert.ok(keep.size > 0, 'some retained messages were acknowledged before the kill');
      const retained = await retainedNow(broker.port, 'keep/#', keep);
      for (const [n, flag] of retained) {
        assert.ok(stream.sent.get(n)?.retain === true, `retained ${n} was never published`);
        assert.equal(flag, true, `keep/${n} comes with RETAIN set`);
      }
    });
  });

  test('sync: a crash during redelivery loses nothing; unacknowledged PUBLISH comes back with DUP=1, PUBREL state is kept', async (t) => {
    await withBox(async (box) => {
      let broker = await box.start();
      let { raw } = await rawConnect(broker.port, { clientId: 'redeliver-sub', clean: false });
      raw.send(subscribe(1, [['crash/#', 2]]));
      await raw.expect('suback');
      await raw.disconnect();

      const total = 200;
      const stream = await publishStream(broker.port, numbered(0, total), { clientId: 'redeliver-pub' });
      assert.equal(stream.acked.size, total);

      // Back online: take what the broker sends and acknowledge only part of it.
      ({ raw } = await rawConnect(broker.port, { clientId: 'redeliver-sub', clean: false }));
      box.track(() => raw.destroy());
      const unacked: Array<{ id: number; n: number }> = []; // PUBLISH received, nothing answered
      const completed = new Map<number, number>(); // n -> QoS: PUBACK or PUBCOMP sent
      const awaitingPubrel = new Map<number, { n: number; complete: boolean }>(); // PUBREC sent
      const pubrelPending = new Map<number, number>(); // packet id -> n: PUBREL received, no PUBCOMP
      let q1Acked = 0;
      let q2Completing = 0;
      let q2Releasing = 0;
      const firstSeen = new Set<number>();
      for (;;) {
        let packet: Awaited<ReturnType<RawClient['next']>>['packet'];
        try {
          ({ packet } = await raw.next(400));
        } catch {
          break; // quiet: the broker waits for acknowledgements (its inflight window is full)
        }
        if (packet.cmd === 'publish') {
          const n = Number(packet.payload.toString());
          const id = packet.messageId!;
          assert.equal(packet.dup, false, 'a first delivery has DUP=0');
          firstSeen.add(n);
          if (packet.qos === 1 && q1Acked < 10) {
            q1Acked++;
            raw.send(ack(0x40, id));
            completed.set(n, 1);
          } else if (packet.qos === 2 && q2Completing < 5) {
            q2Completing++;
            raw.send(pubrec(id));
            awaitingPubrel.set(id, { n, complete: true });
          } else if (packet.qos === 2 && q2Releasing < 10) {
            q2Releasing++;
            raw.send(pubrec(id));
            awaitingPubrel.set(id, { n, complete: false });
          } else {
            unacked.push({ id, n });
          }
        } else if (packet.cmd === 'pubrel') {
          const id = packet.messageId!;
          const entry = awaitingPubrel.get(id);
          assert.ok(entry, `PUBREL ${id} for a PUBREC never sent`);
          awaitingPubrel.delete(id);
          if (entry.complete) {
            raw.send(ack(0x70, id));
            completed.set(entry.n, 2);
          } else {
            pubrelPending.set(id, entry.n);
          }
        }
      }
      assert.equal(awaitingPubrel.size, 0, 'every PUBREC was answered with PUBREL');
      assert.equal(completed.size, 15);
      assert.equal(pubrelPending.size, 10);
      assert.ok(
        unacked.length > 0 && firstSeen.size < total,
        'part sent and unacknowledged, part still queued',
      );
      t.diagnostic(
        `before the kill: ${firstSeen.size} sent, ${completed.size} completed, ${pubrelPending.size} awaiting PUBCOMP, ${unacked.length} unacknowledged`,
      );

      await broker.kill();
      broker = await box.start();
      const resumed = await rawConnect(broker.port, { clientId: 'redeliver-sub', clean: false });
      raw = resumed.raw;
      assert.equal(resumed.connack.sessionPresent, true, 'session present after restart');

      // Now acknowledge everything, and record the order things come in.
      const after: Array<{
        kind: 'publish' | 'pubrel';
        id: number;
        n?: number;
        dup?: boolean;
        qos?: number;
      }> = [];
      const deliveredAfter = new Map<number, number>();
      const pendingRec = new Set<number>();
      const seenAll = () => {
        for (let n = 0; n < total; n++) {
          if (!completed.has(n) && !deliveredAfter.has(n) && ![...pubrelPending.values()].includes(n))
            return false;
        }
        return pendingRec.size === 0 && after.filter((a) => a.kind === 'pubrel').length >= pubrelPending.size;
      };
      const deadline = Date.now() + 10_000;
      let quietSince = Date.now();
      while (!(seenAll() && Date.now() - quietSince >= 300)) {
        assert.ok(Date.now() < deadline, `redelivery incomplete: ${JSON.stringify(after.slice(-5))}`);
        let packet: Awaited<ReturnType<RawClient['next']>>['packet'];
        try {
          ({ packet } = await raw.next(100));
        } catch (error) {
          if (raw.closed) throw error;
          continue;
        }
        quietSince = Date.now();
        const id = packet.messageId!;
        if (packet.cmd === 'publish') {
          const n = Number(packet.payload.toString());
          after.push({ kind: 'publish', id, n, dup: packet.dup, qos: packet.qos });
          deliveredAfter.set(n, (deliveredAfter.get(n) ?? 0) + 1);
          if (packet.qos === 1) raw.send(ack(0x40, id));
          else {
            pendingRec.add(id);
            raw.send(pubrec(id));
          }
        } else if (packet.cmd === 'pubrel') {
          after.push({ kind: 'pubrel', id });
          pendingRec.delete(id);
          raw.send(ack(0x70, id));
        }
      }

      // The PUBRELs of the flows left at PUBREL are resent, not their PUBLISHes.
      const pubrels = after.filter((a) => a.kind === 'pubrel' && pubrelPending.has(a.id)).map((a) => a.id);
      for (const [id, n] of pubrelPending) {
        assert.ok(pubrels.includes(id), `PUBREL ${id} resent after restart`);
        assert.equal(
          deliveredAfter.get(n),
          undefined,
          `QoS 2 message ${n} (PUBREC'd) must not be delivered again`,
        );
      }
      // Every unacknowledged PUBLISH is resent with DUP=1 and its original packet id, in the original order.
      const resent = after.filter((a) => a.kind === 'publish' && a.dup === true);
      assert.deepEqual(
        resent.map((a) => `${a.id}:${a.n}`),
        unacked.map((u) => `${u.id}:${u.n}`),
        'unacknowledged PUBLISHes resent with DUP=1, original ids, original order [MQTT-4.4.0-1] [MQTT-4.6.0-1]',
      );
      // Resends (PUBRELs of the pending flows, DUP PUBLISHes) come first, before anything new.
      const resendCount = unacked.length + pubrelPending.size;
      const head = after.slice(0, resendCount);
      assert.ok(
        head.every((a) => (a.kind === 'pubrel' ? pubrelPending.has(a.id) : a.dup === true)),
        `resends before new deliveries: ${head.map((a) => `${a.kind}${a.dup ? '(dup)' : ''} ${a.id}`).join(', ')}`,
      );
      // Completed QoS 2 flows are not redelivered; completed QoS 1 may be (at least once), counted only.
      for (const [n, qos] of completed) {
        if (qos === 2)
          assert.equal(deliveredAfter.get(n), undefined, `completed QoS 2 message ${n} redelivered`);
      }
      t.diagnostic(
        `after restart: ${resent.length} DUP resends, ${pubrels.length} PUBREL resends, ` +
          `${[...completed].filter(([n, qos]) => qos === 1 && deliveredAfter.has(n)).length} PUBACK'd QoS 1 redelivered`,
      );
      for (const [n, count] of deliveredAfter)
        assert.equal(count, 1, `message ${n} delivered ${count} times after restart`);
      for (let n = 0; n < total; n++) {
        assert.ok(
          completed.has(n) || deliveredAfter.has(n) || [...pubrelPending.values()].includes(n),
          `message ${n} lost`,
        );
      }
      await raw.disconnect();
    });
  });

  test('sync: an incoming QoS 2 id awaiting PUBREL survives a crash; the resent PUBLISH is not routed twice', async () => {
    await withBox(async (box) => {
      let broker = await box.start();
      let online = (await rawConnect(broker.port, { clientId: 'q2-online', clean: false })).raw;
      box.track(() => online.destroy());
      online.send(subscribe(1, [['crash/#', 2]]));
      await online.expect('suback');
      let offline = (await rawConnect(broker.port, { clientId: 'q2-offline', clean: false })).raw;
      box.track(() => offline.destroy());
      offline.send(subscribe(1, [['crash/#', 2]]));
      await offline.expect('suback');
      await offline.disconnect();

      let pub = (await rawConnect(broker.port, { clientId: 'q2-pub', clean: false })).raw;
      box.track(() => pub.destroy());
      pub.send(publish({ topic: 'crash/q2', payload: 'nine', qos: 2, id: 9 }));
      await pub.expectBytes(ack(0x50, 9), 'PUBREC 9');
      pub.send(publish({ topic: 'crash/q2', payload: 'ten', qos: 2, id: 10 }));
      await pub.expectBytes(ack(0x50, 10), 'PUBREC 10');
      assert.deepEqual(await completeQos2(online, 2), ['nine', 'ten']);
      await sleep(300); // the online subscriber's completed flows are committed

      await broker.kill();
      broker = await box.start();

      const resumed = await rawConnect(broker.port, { clientId: 'q2-online', clean: false });
      online = resumed.raw;
      assert.equal(resumed.connack.sessionPresent, true);
      const again = await rawConnect(broker.port, { clientId: 'q2-pub', clean: false });
      pub = again.raw;
      assert.equal(again.connack.sessionPresent, true, 'publisher session present after restart');
      // Resent PUBLISH (DUP=1, id 9): acknowledged again, not routed again [MQTT-4.3.3-2].
      pub.send(publish({ topic: 'crash/q2', payload: 'nine', qos: 2, id: 9, dup: true }));
      await pub.expectBytes(ack(0x50, 9), 'PUBREC 9 for the resent PUBLISH');
      pub.send(pubrel(9));
      await pub.expectBytes(ack(0x70, 9), 'PUBCOMP 9');
      // Id 10: only the PUBREL is resent.
      pub.send(pubrel(10));
      await pub.expectBytes(ack(0x70, 10), 'PUBCOMP 10');
      await expectSilence(online, 500, 'the online subscriber already had nine and ten');

      const back = await rawConnect(broker.port, { clientId: 'q2-offline', clean: false });
      offline = back.raw;
      assert.equal(back.connack.sessionPresent, true);
      assert.deepEqual(await completeQos2(offline, 2), ['nine', 'ten'], 'queued across the crash, once each');
      await expectSilence(offline, 300, 'nothing more for the offline subscriber');

      // Id 9 was released: the same id now carries a new message.
      pub.send(publish({ topic: 'crash/q2', payload: 'nine-again', qos: 2, id: 9 }));
      await pub.expectBytes(ack(0x50, 9), 'PUBREC 9 for a new message');
      assert.deepEqual(await completeQos2(online, 1), ['nine-again']);
      pub.send(pubrel(9));
      await pub.expectBytes(ack(0x70, 9), 'PUBCOMP 9');
    });
  });

  test('batched: restarts cleanly, delivers a subset, no QoS 2 twice; acknowledged loss measured', async (t) => {
    await withBox(async (box) => {
      let broker = await box.start({ durability: 'batched' });
      const q2 = new Subscriber('batched-sub');
      box.track(() => q2.close());
      await q2.connect(broker.port, [['crash/#', 2]]);
      await q2.disconnect();
      await sleep(100); // the session is committed (batchInterval is 10 ms)

      const items = numbered(0, 4000);
      const stream = await publishStream(broker.port, items, {
        clientId: 'batched-pub',
        window: 100,
        killAfter: 1500,
        kill: () => broker.killNow(),
      });
      await broker.kill();

      broker = await box.start({ durability: 'batched' });
      assert.equal(await q2.connect(broker.port), true, 'session present after restart');
      await q2.settle(
        () => true,
        15_000,
        () => 'batched redelivery',
        500,
      );
      const verdict = judge(stream, q2, 2);
      assert.deepEqual(verdict.foreign, [], 'delivered but never published');
      assert.deepEqual(verdict.qos2Twice, [], 'QoS 2 delivered twice');
      assert.deepEqual([...q2.awaitingRelease], [], 'PUBREL never came');
      t.diagnostic(
        `batched: sent ${stream.sent.size}, acknowledged ${stream.acked.size}, delivered after restart ${verdict.delivered}, ` +
          `acknowledged but lost ${verdict.lost.length}${verdict.lost.length > 0 ? ` (${some(verdict.lost, 8)})` : ''}`,
      );
      await publishAfterRestart(broker.port, [q2], 1_000_000);
    });
  });

  test('sync: three crashes during a stream (subscriber online, offline, online); the store opens and nothing acknowledged is lost', async (t) => {
    await withBox(async (box) => {
      let broker = await box.start();
      const sub = new Subscriber('repeat-sub');
      box.track(() => sub.close());
      assert.equal(await sub.connect(broker.port, [['crash/#', 2]]), false);
      const all: StreamResult = { sent: new Map(), acked: new Set(), completed: new Set(), killed: true };
      for (let cycle = 0; cycle < 3; cycle++) {
        if (cycle > 0) {
          broker = await box.start();
          if (cycle === 2)
            assert.equal(await sub.connect(broker.port), true, `session present (cycle ${cycle})`);
        }
        const current = broker;
        const stream = await publishStream(broker.port, numbered(cycle * 1000, 1000), {
          clientId: `repeat-pub-${cycle}`,
          window: 50,
          killAfter: 300 + cycle * 150,
          kill: () => current.killNow(),
        });
        await broker.kill();
        sub.close();
        merge(all, stream);
        t.diagnostic(
          `cycle ${cycle}: sent ${stream.sent.size}, acknowledged ${stream.acked.size}; subscriber has ${sub.deliveries.length}`,
        );
      }

      broker = await box.start();
      assert.equal(await sub.connect(broker.port), true, 'session present after the last restart');
      await sub.settle(
        () => judge(all, sub, 2).lost.length === 0,
        15_000,
        () => `acknowledged but not delivered: ${some(judge(all, sub, 2).lost)}`,
      );
      const verdict = judge(all, sub, 2);
      assert.deepEqual(verdict.lost, [], 'acknowledged messages lost');
      assert.deepEqual(verdict.foreign, [], 'delivered but never published');
      assert.deepEqual(
        verdict.qos2Twice,
        [],
        `QoS 2 delivered twice: ${verdict.qos2Twice.map((n) => `#${n}: ${sub.history(n).join(', ')}`).join('; ')}`,
      );
      assert.deepEqual([...sub.awaitingRelease], [], 'PUBREL never came');
      t.diagnostic(
        `total: acknowledged ${all.acked.size}, delivered ${verdict.delivered}, QoS 2 resends ${sub.resends.length}, stray PUBRELs ${sub.strayPubrels}`,
      );
      await publishAfterRestart(broker.port, [sub], 1_000_000);
      const files = box.dataFiles();
      assert.ok(
        files.every((file) => /^midge\.db(-wal|-shm|-journal)?$/.test(file)),
        `the store was never set aside: ${files.join(', ')}`,
      );
      for (const [i, b] of box.brokers.entries()) {
        for (const line of b.warnings()) t.diagnostic(`broker ${i}: ${line}`);
      }
    });
  });

  test('sync: a PUBREL the subscriber received is not undone by a crash (no QoS 2 redelivery after release)', async (t) => {
    // The subscriber answers a whole window of QoS 2 PUBLISHes with PUBREC at once, behind a PINGREQ
    // (so the broker writes something in that turn before it records anything), and the broker is
    // killed on the first bytes that come back. A subscriber that received PUBREL for an id has
    // released it [MQTT-4.3.3-2]: if the broker then sends that id's PUBLISH again, the message is
    // delivered twice. So the broker must not send PUBREL before the 'pubrel' state is committed.
    await withBox(
      async (box) => {
        let broker = await box.start();
        let { raw } = await rawConnect(broker.port, { clientId: 'pubrel-sub', clean: false });
        box.track(() => raw.destroy());
        raw.send(subscribe(1, [['crash/#', 2]]));
        await raw.expect('suback');
        await raw.disconnect();
        const total = 2000;
        const items: StreamItem[] = numbered(0, total).map((item) => ({
          ...item,
          topic: 'crash/q2',
          qos: 2,
        }));
        await publishStream(broker.port, items, { clientId: 'pubrel-pub' });

        ({ raw } = await rawConnect(broker.port, { clientId: 'pubrel-sub', clean: false }));
        const byId = new Map<number, number>();
        while (byId.size < total) {
          const { packet } = await raw.expect('publish');
          byId.set(packet.messageId!, Number(packet.payload.toString()));
        }
        const released = new Set<number>();
        const current = broker;
        // Killed on the first bytes back (PINGRESP and PUBRELs), before they are even parsed.
        raw.socket.prependOnceListener('data', () => current.killNow());
        raw.send(Buffer.concat([Buffer.from(PINGREQ), ...[...byId.keys()].map((id) => pubrec(id))]));
        for (;;) {
          let packet: Awaited<ReturnType<RawClient['next']>>['packet'];
          try {
            ({ packet } = await raw.next());
          } catch {
            break; // closed by the kill
          }
          if (packet.cmd !== 'pubrel') continue;
          released.add(packet.messageId!); // the subscriber forgets the id (its PUBCOMP may never arrive)
          raw.send(ack(0x70, packet.messageId!));
        }
        await broker.kill();
        t.diagnostic(`PUBREL received for ${released.size} of ${total} before the kill`);

        broker = await box.start();
        const resumed = await rawConnect(broker.port, { clientId: 'pubrel-sub', clean: false });
        raw = resumed.raw;
        assert.equal(resumed.connack.sessionPresent, true);
        const again: string[] = [];
        let pubrels = 0;
        for (;;) {
          let packet: Awaited<ReturnType<RawClient['next']>>['packet'];
          try {
            ({ packet } = await raw.next(500));
          } catch {
            break;
          }
          const id = packet.messageId!;
          if (packet.cmd === 'publish') {
            if (released.has(id)) again.push(`${id}:#${packet.payload}${packet.dup ? '(dup)' : ''}`);
            raw.send(pubrec(id));
          } else if (packet.cmd === 'pubrel') {
            pubrels++;
            raw.send(ack(0x70, id));
          }
        }
        t.diagnostic(`after restart: ${pubrels} PUBREL, ${again.length} PUBLISH for released ids`);
        assert.deepEqual(
          again,
          [],
          `PUBLISH resent for ids whose PUBREL the subscriber had received (delivered twice): ${some(again, 10)}`,
        );
        await raw.disconnect();
      },
      { maxInflight: 5000 },
    );
  });

  test('sync: a packet id sent to a subscriber before a crash is not given to another message after it', async (t) => {
    // A raw publisher writes 500 QoS 2 PUBLISHes in one segment; the broker routes them to an online
    // persistent subscriber, which answers PUBREC (so it awaits PUBREL under those ids), and is killed
    // at the first one. Messages the broker never committed are not acknowledged to the publisher, so
    // they may be lost; but after the restart, every new message must be delivered: one sent under an
    // id the subscriber still awaits PUBREL for is taken for a resend and never delivered.
    await withBox(
      async (box) => {
        let broker = await box.start();
        const sub = new Subscriber('idreuse-sub');
        box.track(() => sub.close());
        await sub.connect(broker.port, [['crash/#', 2]]);
        const pub = (await rawConnect(broker.port, { clientId: 'idreuse-pub', clean: true })).raw;
        box.track(() => pub.destroy());
        const total = 2000;
        const current = broker;
        // Killed on the first bytes the subscriber gets, before they are even parsed.
        sub.socket!.prependOnceListener('data', () => current.killNow());
        pub.send(
          Buffer.concat(
            numbered(0, total).map((item) =>
              publish({ topic: 'crash/q2', payload: String(item.n), qos: 2, id: item.n + 1 }),
            ),
          ),
        );
        const acked = new Set<number>();
        for (;;) {
          let packet: Awaited<ReturnType<RawClient['next']>>['packet'];
          try {
            ({ packet } = await pub.next());
          } catch {
            break;
          }
          if (packet.cmd === 'pubrec') acked.add(packet.messageId! - 1);
        }
        await broker.kill();
        sub.close();
        t.diagnostic(
          `before the kill: subscriber got ${sub.deliveries.length}, publisher got PUBREC for ${acked.size}`,
        );

        broker = await box.start();
        assert.equal(await sub.connect(broker.port), true);
        await sub.settle(
          () => true,
          10_000,
          () => 'redelivery after restart',
        );
        const stream = await publishStream(broker.port, numbered(10_000, 200), { clientId: 'idreuse-pub-2' });
        await sub.settle(
          () => judge(stream, sub, 2).lost.length === 0,
          5_000,
          () =>
            `acknowledged after the restart, never delivered: ${some(judge(stream, sub, 2).lost)}; ` +
            `ids still awaiting PUBREL: ${some([...sub.awaitingRelease].sort((a, b) => a - b))}`,
        );
        for (const n of acked)
          assert.ok(sub.counts().has(n), `PUBREC'd before the crash, never delivered: ${n}`);
        assert.deepEqual(judge(stream, sub, 2).qos2Twice, []);
      },
      { maxInflight: 5000 },
    );
  });
});
