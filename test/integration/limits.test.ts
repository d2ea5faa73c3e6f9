/**
 * The limits that keep one client (or one address) from hurting the others, each through real
 * sockets: connections in total and per address, the connect rate, slowloris on TCP and on the
 * WebSocket upgrade, a connection flood, the publish rate (MQTT 5 refusal, 3.1.1 throttling), the
 * global queue budget, and fairness between a flooding publisher and a QoS 1 client.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { ConfigInput } from '../../src/config/schema.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectWithAck, nextMessage, unreadCount, withTimeout } from '../helpers/mqtt.js';
import { publish, type RawClient, rawConnect } from '../helpers/raw.js';
import { publish5, rawConnect5 } from '../helpers/raw5.js';

const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const r of raws.splice(0)) r.destroy();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(overrides: ConfigInput = {}): Promise<TestBroker> {
  const b = await startBroker(overrides);
  brokers.push(b);
  return b;
}

async function client(url: string, options: Parameters<typeof connectWithAck>[1] = {}) {
  const c = await connectWithAck(url, { reconnectPeriod: 0, ...options });
  clients.push(c.client);
  return c.client;
}

/** A socket that opens and says nothing; resolves with it once connected. */
function silent(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    sockets.push(s);
  });
}

/** Resolves when the broker closes the socket; rejects if it is still open after `ms`. */
function closedWithin(s: net.Socket, ms: number, what: string): Promise<void> {
  if (s.destroyed || s.readableEnded) return Promise.resolve();
  return withTimeout(
    new Promise<void>((resolve) => {
      s.on('close', () => resolve());
      s.on('end', () => resolve());
      s.resume();
    }),
    ms,
    what,
  );
}

async function raw(port: number, clientId: string): Promise<RawClient> {
  const { raw: r } = await rawConnect(port, { clientId, clean: true });
  raws.push(r);
  return r;
}

async function raw5(port: number, clientId: string): Promise<RawClient> {
  const { raw: r } = await rawConnect5(port, { clientId, clean: true });
  raws.push(r);
  return r;
}

/** Polls `condition` every few ms; rejects naming `what` if it is not true within `ms`. */
function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  return withTimeout(
    (async () => {
      while (!condition()) await new Promise((r) => setTimeout(r, 5));
    })(),
    ms,
    what,
  );
}

/** True when the socket is closed without the broker having sent a byte (a refused admission). */
async function refusedAtOnce(port: number): Promise<boolean> {
  const s = await silent(port);
  let got = 0;
  s.on('data', (chunk: Buffer) => {
    got += chunk.length;
  });
  await closedWithin(s, 2000, 'a refused socket is closed at once');
  return got === 0;
}

describe('connection limits', () => {
  test('maxConnections: a socket beyond it is closed at once; a slot that frees is usable again', async () => {
    const b = await broker({ maxConnections: 2 });
    const first = await client(b.url);
    await client(b.url);
    assert.equal(await refusedAtOnce(b.port), true);
    assert.equal(b.broker.core.admission.refused['max connections'], 1);
    await first.endAsync();
    await until(() => b.broker.core.admission.connections < 2, 2000, 'the closed connection is released');
    await client(b.url);
  });

  test('maxConnectionsPerAddress: the third connection from 127.0.0.1 is refused', async () => {
    const b = await broker({ maxConnectionsPerAddress: 2 });
    await client(b.url);
    await client(b.url);
    assert.equal(await refusedAtOnce(b.port), true);
    assert.equal(b.broker.core.admission.refused['per address'], 1);
  });

  test('maxConnectRatePerAddress: a burst beyond the rate is refused, the rest served', async () => {
    const b = await broker({ maxConnectRatePerAddress: 3 });
    for (let i = 0; i < 3; i++) await client(b.url);
    assert.equal(await refusedAtOnce(b.port), true);
    assert.ok(b.broker.core.admission.refused['connect rate'] >= 1);
  });

  test('a flood of 300 sockets from one address: at most the per-address limit is held, others keep working', async () => {
    const b = await broker({ maxConnectionsPerAddress: 100, maxConnectRatePerAddress: 0 });
    const bystander = await client(b.url, { clientId: 'bystander' });
    await bystander.subscribeAsync('still/here', { qos: 1 });
    const opened = await Promise.allSettled(Array.from({ length: 300 }, () => silent(b.port)));
    assert.ok(opened.every((o) => o.status === 'fulfilled'));
    const admission = b.broker.core.admission;
    // The kernel accepted all 300; the broker decides as it gets to each.
    await until(
      () => admission.connections + admission.refused['per address'] >= 301,
      5000,
      'all 300 decided',
    );
    assert.equal(admission.connections, 100);
    assert.equal(admission.refused['per address'], 201);
    const got = nextMessage(bystander);
    await bystander.publishAsync('still/here', 'yes', { qos: 1 });
    assert.equal((await got).payload.toString(), 'yes');
  });
});

describe('slowloris', () => {
  test('TCP: a socket that sends no CONNECT, or only part of one, is closed after connectTimeout', async () => {
    const b = await broker({ connectTimeout: 300 });
    const quiet = await silent(b.port);
    const dribbling = await silent(b.port);
    dribbling.write(Buffer.from([0x10, 0x20, 0x00])); // the start of a CONNECT, never finished
    await Promise.all([
      closedWithin(quiet, 3000, 'silent socket closed'),
      closedWithin(dribbling, 3000, 'half a CONNECT closed'),
    ]);
    assert.ok((b.broker.core.stats.closed.get('CONNECT_TIMEOUT') ?? 0) >= 2);
  });

  test('WebSocket: an upgrade request whose headers never end is closed after connectTimeout', async () => {
    const b = await broker({
      connectTimeout: 300,
      listeners: [{ type: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' }],
    });
    const s = await silent(b.port);
    s.write('GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await closedWithin(s, 4000, 'an unfinished upgrade request is closed');
  });
});

describe('publish rate', () => {
  test('MQTT 5: QoS 1 beyond maxPublishRate gets PUBACK 0x97 and is not delivered', async () => {
    const b = await broker({ maxPublishRate: 5 });
    const sub = await client(b.url, { clientId: 'rate-sub' });
    await sub.subscribeAsync('rate/#', { qos: 1 });
    let delivered = 0;
    sub.on('message', () => delivered++);
    const pub = await raw5(b.port, 'rate-pub');
    for (let id = 1; id <= 12; id++) pub.send(publish5({ topic: 'rate/x', payload: String(id), qos: 1, id }));
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { packet } = await pub.expect('puback');
      codes.push(packet.reasonCode ?? 0);
    }
    const refused = codes.filter((c) => c === 0x97).length;
    assert.ok(refused >= 5, `refused ${refused} of 12 (codes ${codes.join(',')})`);
    assert.ok(
      codes.slice(0, 5).every((c) => c === 0),
      'the first five fit the burst',
    );
    // What was accepted arrives; what was refused does not.
    const accepted = 12 - refused;
    await until(() => delivered >= accepted, 3000, 'accepted messages delivered');
    assert.equal(delivered, accepted);
    assert.ok(b.broker.core.stats.publishRateRefused >= 5);
  });

  test('3.1.1: a client over the rate is throttled, not refused: every message arrives, later', async () => {
    const b = await broker({ maxPublishRate: 50 });
    const sub = await client(b.url, { clientId: 'throttle-sub' });
    await sub.subscribeAsync('slow/#', { qos: 0 });
    let delivered = 0;
    const all = new Promise<void>((resolve) => {
      sub.on('message', () => {
        if (++delivered === 100) resolve();
      });
    });
    const pub = await raw(b.port, 'throttle-pub');
    const started = Date.now();
    for (let i = 0; i < 100; i++) pub.send(publish({ topic: 'slow/x', payload: String(i), qos: 0 }));
    await withTimeout(all, 8000, 'all 100 throttled messages delivered');
    // 50 in the burst, the other 50 at 50 a second: about a second.
    assert.ok(Date.now() - started >= 700, `took ${Date.now() - started} ms`);
    assert.ok(b.broker.core.stats.publishRateThrottled >= 1);
  });
});

describe('global queue budget (maxQueuedBytesTotal)', () => {
  async function offlineSubscriber(b: TestBroker, clientId: string): Promise<void> {
    const s = await client(b.url, { clientId, clean: false });
    await s.subscribeAsync('budget/#', { qos: 1 });
    await s.endAsync();
  }

  test('MQTT 5: when the queues hold the budget, QoS 1 gets 0x97; QoS 0 stops being queued above 80 %', async () => {
    const b = await broker({ maxQueuedBytesTotal: 2000, queueQos0: true });
    await offlineSubscriber(b, 'budget-off');
    const pub = await raw5(b.port, 'budget-pub');
    const payload = Buffer.alloc(200, 1);
    const codes: number[] = [];
    for (let id = 1; id <= 15; id++) {
      pub.send(publish5({ topic: 'budget/x', payload, qos: 1, id }));
      codes.push((await pub.expect('puback')).packet.reasonCode ?? 0);
    }
    assert.ok(codes.includes(0x97), `codes ${codes.join(',')}`);
    const firstRefused = codes.indexOf(0x97);
    assert.ok(firstRefused >= 8, 'about 2000 bytes were queued before the first refusal');
    assert.ok(
      codes.slice(firstRefused).every((c) => c === 0x97),
      'refused until something drains',
    );
    const budget = b.broker.core.queueBudget;
    assert.ok(budget.bytes >= 2000 && budget.bytes < 2500, `queued ${budget.bytes} bytes`);
    pub.send(publish5({ topic: 'budget/x', payload, qos: 0 }));
    await until(() => budget.droppedQos0 > 0, 2000, 'the QoS 0 message is dropped, not queued');
    // Draining the queue frees the budget: the subscriber comes back and new messages are taken.
    const back = await client(b.url, { clientId: 'budget-off', clean: false });
    await until(
      () => unreadCount(back) >= firstRefused && budget.bytes === 0,
      3000,
      `the queue drains (${unreadCount(back)} received, ${budget.bytes} bytes queued)`,
    );
    pub.send(publish5({ topic: 'budget/x', payload, qos: 1, id: 100 }));
    assert.equal((await pub.expect('puback')).packet.reasonCode ?? 0, 0);
  });

  test('3.1.1: a QoS 1 PUBLISH while the budget is used up closes the connection', async () => {
    const b = await broker({ maxQueuedBytesTotal: 1000 });
    await offlineSubscriber(b, 'budget-off-4');
    const pub = await raw(b.port, 'budget-pub-4');
    const payload = Buffer.alloc(200, 1);
    let acked = 0;
    for (let id = 1; id <= 10 && !pub.closed; id++) {
      pub.send(publish({ topic: 'budget/y', payload, qos: 1, id }));
      try {
        await pub.expect('puback', 1000);
        acked++;
      } catch {
        break;
      }
    }
    await pub.waitClosed(2000);
    assert.ok(acked >= 4 && acked < 10, `acknowledged ${acked}`);
    assert.equal(b.broker.core.stats.closed.get('QUEUE_BUDGET_EXHAUSTED'), 1);
  });
});

describe('fairness', () => {
  test('a QoS 0 flood from one client does not stop another client QoS 1 round trips', async () => {
    const b = await broker();
    const floodSink = await client(b.url, { clientId: 'sink' });
    await floodSink.subscribeAsync('flood/#', { qos: 0 });
    const probe = await client(b.url, { clientId: 'probe' });
    await probe.subscribeAsync('probe/rt', { qos: 1 });
    const flooder = await raw(b.port, 'flooder');
    const chunk = Buffer.concat(
      Array.from({ length: 200 }, (_, i) =>
        publish({ topic: 'flood/x', payload: Buffer.alloc(64, i), qos: 0 }),
      ),
    );
    let flooding = true;
    const pump = () => {
      while (flooding && !flooder.closed && flooder.socket.write(chunk));
      if (flooding && !flooder.closed) flooder.socket.once('drain', pump);
    };
    pump();
    try {
      for (let i = 0; i < 10; i++) {
        const got = nextMessage(probe, 3000);
        await probe.publishAsync('probe/rt', `rt ${i}`, { qos: 1 });
        assert.equal((await got).payload.toString(), `rt ${i}`);
      }
    } finally {
      flooding = false;
    }
  });
});
