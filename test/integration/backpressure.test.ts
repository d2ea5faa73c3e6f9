/**
 * Backpressure: a subscriber that stops reading must not stall the broker. With drainTimeout 500 ms,
 * the broker drops a subscriber whose socket stays blocked, while the publisher and a healthy
 * subscriber carry on.
 *
 * How the drop is observed: a paused socket does not see the broker's FIN until it reads everything the
 * kernel buffered, so the stalled subscriber carries a will, and the drop shows up as that will being
 * published (a drain-timeout close is not a DISCONNECT). The flood stops as soon as the will arrives and
 * is capped at FLOOD_MAX_BYTES either way.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type Message, messagesUntil, nextMessage, withTimeout } from '../helpers/mqtt.js';
import { suback, subscribe } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

const PAYLOAD_BYTES = 64 * 1024;
const FLOOD_MAX_BYTES = 48 * 1024 * 1024;

describe('backpressure', () => {
  test('a stalled QoS 0 subscriber is dropped after drainTimeout; others keep working', async (t) => {
    const b = await scope.broker({ drainTimeout: 500 });

    const watcher = await scope.connect(b.url, { clientId: 'bp-watcher' });
    await watcher.subscribeAsync('bp/will', { qos: 1 });
    const healthy = await scope.connect(b.url, { clientId: 'bp-healthy' });
    await healthy.subscribeAsync('bp/flood', { qos: 0 });

    const { raw: stalled } = await scope.rawConnect(b.port, {
      clientId: 'bp-stalled',
      will: { topic: 'bp/will', payload: 'stalled subscriber dropped', qos: 1 },
    });
    stalled.send(subscribe(1, [['bp/flood', 0]]));
    await stalled.expectBytes(suback(1, [0]), 'SUBACK');
    stalled.socket.pause(); // stop reading: the kernel buffers fill, then the broker's writes block

    let dropped: Message | undefined;
    const willArrived = nextMessage(watcher, 30_000).then((m) => {
      dropped = m;
      return m;
    });
    willArrived.catch(() => undefined); // awaited below

    const pub = await scope.connect(b.url, { clientId: 'bp-pub' });
    const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
    let sent = 0;
    const floodStart = Date.now();
    while (dropped === undefined && sent < FLOOD_MAX_BYTES) {
      await withTimeout(pub.publishAsync('bp/flood', payload, { qos: 0 }), 5000, 'the publisher was blocked');
      sent += PAYLOAD_BYTES;
    }
    const will = await withTimeout(
      willArrived,
      5000,
      `stalled subscriber not dropped (flooded ${sent / 1024 / 1024} MiB in ${Date.now() - floodStart} ms)`,
    );
    assert.equal(will.payload.toString(), 'stalled subscriber dropped');
    t.diagnostic(
      `dropped after ${(sent / 1024 / 1024).toFixed(1)} MiB, ${Date.now() - floodStart} ms of flood`,
    );

    // The stalled socket, once it reads what was buffered, finds the connection closed.
    stalled.socket.resume();
    await stalled.waitClosed(10_000);

    // Publisher and healthy subscriber still work.
    await pub.publishAsync('bp/flood', 'after', { qos: 1 });
    const { match } = await messagesUntil(healthy, (m) => m.payload.length < PAYLOAD_BYTES, 10_000);
    assert.equal(match.payload.toString(), 'after');
  });

  test('a stalled subscriber holds a publisher back at most publisherHoldTimeout, then its QoS 0 is dropped', async () => {
    const b = await scope.broker({
      drainTimeout: 60_000,
      publisherHoldTimeout: 200,
      maxQueuedBytes: 1024 * 1024,
    });
    const healthy = await scope.connect(b.url, { clientId: 'hold-healthy' });
    await healthy.subscribeAsync('hold/flood', { qos: 0 });
    const { raw: stalled } = await scope.rawConnect(b.port, { clientId: 'hold-stalled' });
    stalled.send(subscribe(1, [['hold/flood', 0]]));
    await stalled.expectBytes(suback(1, [0]), 'SUBACK');
    stalled.socket.pause();

    const pub = await scope.connect(b.url, { clientId: 'hold-pub' });
    const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
    // QoS 1, so each publish waits for the broker to read it and answer PUBACK. 16 MiB in all: far beyond
    // what the stalled socket's kernel buffers and its 1 MiB budget can take.
    const start = Date.now();
    for (let i = 0; i < 256; i++) {
      await withTimeout(
        pub.publishAsync('hold/flood', payload, { qos: 1 }),
        5000,
        `publish ${i} was held back`,
      );
    }
    const elapsed = Date.now() - start;
    // Held once for ~200 ms, then never again while the subscriber stays stalled.
    assert.ok(elapsed < 4000, `publishing took ${elapsed} ms`);
    await pub.publishAsync('hold/flood', 'marker', { qos: 1 });
    const { match } = await messagesUntil(healthy, (m) => m.payload.length < PAYLOAD_BYTES, 20_000);
    assert.equal(match.payload.toString(), 'marker');

    // The stalled client is still connected (drainTimeout is long), and what it could not take was dropped.
    assert.notEqual(b.broker.core.sessions.get('hold-stalled')?.output ?? null, null);
    assert.ok(b.broker.core.stats.messagesDropped > 0, 'QoS 0 messages to the stalled client were dropped');
  });

  test('a publisher whose messages also reach others is held at most fanoutHoldTimeout, however long publisherHoldTimeout', async (t) => {
    const b = await scope.broker({
      drainTimeout: 120_000,
      publisherHoldTimeout: 60_000,
      fanoutHoldTimeout: 100,
      maxQueuedBytes: 1024 * 1024,
    });
    const healthy = await scope.connect(b.url, { clientId: 'fan-healthy' });
    await healthy.subscribeAsync('fan/flood', { qos: 0 });
    let received = 0;
    let longestGap = 0;
    let last = 0;
    healthy.on('message', () => {
      const now = Date.now();
      if (received > 0) longestGap = Math.max(longestGap, now - last);
      last = now;
      received++;
    });
    const { raw: stalled } = await scope.rawConnect(b.port, { clientId: 'fan-stalled' });
    stalled.send(subscribe(1, [['fan/flood', 0]]));
    await stalled.expectBytes(suback(1, [0]), 'SUBACK');
    stalled.socket.pause();

    const pub = await scope.connect(b.url, { clientId: 'fan-pub' });
    const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
    // 16 MiB at QoS 1, each publish awaited: a 60 s hold would time the first held one out.
    for (let i = 0; i < 256; i++) {
      await withTimeout(
        pub.publishAsync('fan/flood', payload, { qos: 1 }),
        5000,
        `publish ${i} was held back`,
      );
    }
    await pub.publishAsync('fan/flood', 'marker', { qos: 1 });
    const { match } = await messagesUntil(healthy, (m) => m.payload.length < PAYLOAD_BYTES, 20_000);
    assert.equal(match.payload.toString(), 'marker');
    assert.ok(received >= 257, `the healthy subscriber got ${received} of 257`);
    t.diagnostic(`longest gap seen by the healthy subscriber: ${longestGap} ms`);
  });
});
