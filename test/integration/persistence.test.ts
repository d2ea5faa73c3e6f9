/**
 * Restart tests for every kind of persisted state: a broker is closed and a new one opened on the same
 * store (an in-process MemoryStore instance here, the SQLite file in the SQLite tests); what a client
 * sees after the restart is what the protocol promises across a restart of a durable broker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { ConfigInput } from '../../src/config/schema.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectWithAck, nextMessage, withTimeout } from '../helpers/mqtt.js';
import { publish, pubrec, pubrel, type RawClient, rawConnect, suback, subscribe } from '../helpers/raw.js';

const open: TestBroker[] = [];
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(open.splice(0).map((b) => b.close()));
});

async function broker(store: Store, overrides: ConfigInput = {}): Promise<TestBroker> {
  const b = await startBroker(overrides, { store });
  open.push(b);
  return b;
}

async function restart(b: TestBroker, store: Store, overrides: ConfigInput = {}): Promise<TestBroker> {
  await b.close();
  return broker(store, overrides);
}

async function client(url: string, options: Parameters<typeof connectWithAck>[1]) {
  const c = await connectWithAck(url, { reconnectPeriod: 0, ...options });
  clients.push(c.client);
  return c;
}

async function raw(port: number, clientId: string, clean = false): Promise<RawClient> {
  const { raw: r } = await rawConnect(port, { clientId, clean });
  raws.push(r);
  return r;
}

describe('persistence across a restart (memory store)', () => {
  test('a persistent session keeps its subscriptions and gets what was queued, in order', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const sub = await client(b.url, { clientId: 'keep', clean: false });
    await sub.client.subscribeAsync('p/#', { qos: 1 });
    await sub.client.endAsync();
    const pub = await client(b.url, {});
    for (const n of [1, 2, 3]) await pub.client.publishAsync('p/x', `m${n}`, { qos: 1 });
    b = await restart(b, store);
    const back = await client(b.url, { clientId: 'keep', clean: false });
    assert.equal(back.connack.sessionPresent, true);
    for (const n of [1, 2, 3]) assert.equal((await nextMessage(back.client)).payload.toString(), `m${n}`);
    // The subscription itself is back: a new message after the restart arrives.
    const pub2 = await client(b.url, {});
    await pub2.client.publishAsync('p/y', 'after', { qos: 1 });
    assert.equal((await nextMessage(back.client)).payload.toString(), 'after');
  });

  test('an unacknowledged QoS 1 delivery is resent with DUP and its packet id after the restart', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const r = await raw(b.port, 'inflight');
    r.send(subscribe(1, [['i/#', 1]]));
    await r.expectBytes(suback(1, [1]), 'SUBACK');
    const pub = await client(b.url, {});
    await pub.client.publishAsync('i/1', 'unacked', { qos: 1 });
    const first = await r.expect('publish');
    r.destroy();
    b = await restart(b, store);
    const again = await raw(b.port, 'inflight');
    const resent = await again.expect('publish');
    assert.equal(resent.packet.dup, true);
    assert.equal(resent.packet.messageId, first.packet.messageId);
    assert.equal(resent.packet.payload.toString(), 'unacked');
  });

  test('a shared-subscription message given to another member leaves the stored session of the first', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const a = await raw(b.port, 'member-a');
    a.send(
      subscribe(1, [
        ['$share/g/s/#', 1],
        ['mark', 1],
      ]),
    );
    await a.expectBytes(suback(1, [1, 1]), 'SUBACK');
    const pub = await client(b.url, {});
    await pub.client.publishAsync('s/1', 'handed over', { qos: 1 });
    await a.expect('publish');
    const other = await client(b.url, { clientId: 'member-b' });
    await other.client.subscribeAsync('$share/g/s/#', { qos: 1 });
    const given = nextMessage(other.client);
    a.destroy();
    assert.equal((await given).payload.toString(), 'handed over');
    // Its PUBACK goes before the DISCONNECT: unconfirmed, the message would go back to member-a.
    await other.client.endAsync();
    b = await restart(b, store);
    const again = await raw(b.port, 'member-a');
    const marker = await client(b.url, {});
    await marker.client.publishAsync('mark', 'first', { qos: 1 });
    const firstSeen = await again.expect('publish');
    assert.equal(firstSeen.packet.topic, 'mark', 'the message given to member-b is not resent to member-a');
  });

  test('a QoS 2 delivery released with PUBREC gets its PUBREL resent after the restart', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const r = await raw(b.port, 'pubrel');
    r.send(subscribe(1, [['q/#', 2]]));
    await r.expectBytes(suback(1, [2]), 'SUBACK');
    const pub = await client(b.url, {});
    await pub.client.publishAsync('q/1', 'two', { qos: 2 });
    const delivery = await r.expect('publish');
    const id = delivery.packet.messageId!;
    r.send(pubrec(id));
    await r.expect('pubrel');
    r.destroy();
    b = await restart(b, store);
    const again = await raw(b.port, 'pubrel');
    const rel = await again.expect('pubrel');
    assert.equal(rel.packet.messageId, id);
  });

  test('an incoming QoS 2 id awaiting PUBREL survives: the resent PUBLISH is not delivered twice', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const watcher = await client(b.url, { clientId: 'watch', clean: false });
    await watcher.client.subscribeAsync('dup/#', { qos: 1 });
    const p = await raw(b.port, 'qos2-pub');
    p.send(publish({ topic: 'dup/x', payload: 'once', qos: 2, id: 9 }));
    await p.expect('pubrec');
    assert.equal((await nextMessage(watcher.client)).payload.toString(), 'once');
    p.destroy();
    await watcher.client.endAsync();
    b = await restart(b, store);
    const w2 = await client(b.url, { clientId: 'watch', clean: false });
    const p2 = await raw(b.port, 'qos2-pub');
    p2.send(publish({ topic: 'dup/x', payload: 'once', qos: 2, id: 9, dup: true }));
    await p2.expect('pubrec');
    p2.send(pubrel(9));
    await p2.expect('pubcomp');
    // A marker published after: it must be the next message, so 'once' was not delivered again.
    const pub = await client(b.url, {});
    await pub.client.publishAsync('dup/x', 'marker', { qos: 1 });
    assert.equal((await nextMessage(w2.client)).payload.toString(), 'marker');
  });

  test('retained messages, their replacement and their deletion survive', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const pub = await client(b.url, {});
    await pub.client.publishAsync('r/a', 'first', { qos: 1, retain: true });
    await pub.client.publishAsync('r/a', 'second', { qos: 1, retain: true });
    await pub.client.publishAsync('r/b', 'gone', { qos: 1, retain: true });
    await pub.client.publishAsync('r/b', '', { qos: 1, retain: true });
    b = await restart(b, store);
    const sub = await client(b.url, {});
    await sub.client.subscribeAsync('r/#', { qos: 1 });
    const m = await nextMessage(sub.client);
    assert.deepEqual([m.topic, m.payload.toString(), m.packet.retain], ['r/a', 'second', true]);
    const pub2 = await client(b.url, {});
    await pub2.client.publishAsync('r/marker', 'm', { qos: 1 });
    assert.equal((await nextMessage(sub.client)).topic, 'r/marker');
  });

  test('a clean session leaves nothing behind', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const c = await client(b.url, { clientId: 'clean', clean: true });
    await c.client.subscribeAsync('c/#', { qos: 1 });
    b = await restart(b, store);
    const again = await client(b.url, { clientId: 'clean', clean: false });
    assert.equal(again.connack.sessionPresent, false);
  });

  test('MQTT 5 session expiry counts on across the restart; an expired session is gone', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const c = await client(b.url, {
      clientId: 'short',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await c.client.subscribeAsync('e/#', { qos: 1 });
    await c.client.endAsync();
    await b.close();
    // Past the session's expiry while the broker is down.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    b = await broker(store);
    const again = await client(b.url, {
      clientId: 'short',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    assert.equal(again.connack.sessionPresent, false);
  });

  test('a queued message whose expiry passed during the restart is not delivered', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const c = await client(b.url, {
      clientId: 'exp',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await c.client.subscribeAsync('x/#', { qos: 1 });
    await c.client.endAsync();
    const pub = await client(b.url, { protocolVersion: 5 });
    await pub.client.publishAsync('x/1', 'stale', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync('x/2', 'fresh', { qos: 1 });
    await b.close();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    b = await broker(store);
    const again = await client(b.url, {
      clientId: 'exp',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal((await nextMessage(again.client)).payload.toString(), 'fresh');
  });

  test('a will waiting out its delay is published after the restart', async () => {
    const store = new MemoryStore();
    let b = await broker(store);
    const watcher = await client(b.url, { clientId: 'will-watch', clean: false });
    await watcher.client.subscribeAsync('will/#', { qos: 1 });
    const dying = await client(b.url, {
      clientId: 'will-owner',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: 'will/x',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    });
    dying.client.stream.destroy();
    await withTimeout(
      new Promise<void>((resolve) => dying.client.once('close', () => resolve())),
      3000,
      'client close',
    );
    await watcher.client.endAsync();
    b = await restart(b, store);
    const w2 = await client(b.url, { clientId: 'will-watch', clean: false });
    const m = await nextMessage(w2.client, 5000);
    assert.deepEqual([m.topic, m.payload.toString()], ['will/x', 'gone']);
  });
});

describe('the store budget (maxStoreBytes)', () => {
  test('beyond it, new messages are not queued for persistent sessions, and the drop is counted', async () => {
    const store = new MemoryStore();
    const b = await broker(store, { maxStoreBytes: 1000 });
    const sub = await client(b.url, { clientId: 'budget', clean: false });
    await sub.client.subscribeAsync('b/#', { qos: 1 });
    await sub.client.endAsync();
    const pub = await client(b.url, {});
    // The first message fills the store past its budget once committed (its PUBACK says so).
    await pub.client.publishAsync('b/1', Buffer.alloc(1500, 0x61), { qos: 1 });
    await pub.client.publishAsync('b/2', 'refused', { qos: 1 });
    assert.equal(b.broker.core.journal?.refused, 1);
    const back = await client(b.url, { clientId: 'budget', clean: false });
    assert.equal((await nextMessage(back.client)).topic, 'b/1');
    await pub.client.publishAsync('b/3', 'marker', { qos: 1 });
    assert.equal((await nextMessage(back.client)).topic, 'b/3', 'b/2 was dropped');
  });
});

describe('persistence in the SQLite store', () => {
  test('the default store keeps state in dataDir across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'midge-data-'));
    let b = await startBroker({ store: 'sqlite', dataDir });
    open.push(b);
    const pub = await client(b.url, {});
    await pub.client.publishAsync('s/retained', 'on disk', { qos: 1, retain: true });
    await b.close();
    assert.ok(readdirSync(dataDir).includes('midge.db'));
    b = await startBroker({ store: 'sqlite', dataDir });
    open.push(b);
    const sub = await client(b.url, {});
    await sub.client.subscribeAsync('s/#', { qos: 1 });
    assert.equal((await nextMessage(sub.client)).payload.toString(), 'on disk');
  });

  test('a damaged database does not stop the broker: it is moved aside and midge starts empty', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'midge-data-'));
    writeFileSync(join(dataDir, 'midge.db'), Buffer.alloc(8192, 0x5a));
    const b = await startBroker({ store: 'sqlite', dataDir });
    open.push(b);
    const c = await client(b.url, {});
    await c.client.publishAsync('ok', 'works', { qos: 1 });
    assert.ok(
      readdirSync(dataDir).some((f) => f.startsWith('midge.db.damaged-')),
      readdirSync(dataDir).join(', '),
    );
  });
});
