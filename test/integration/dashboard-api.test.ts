/**
 * The HTTP side of a WebSocket listener, through real HTTP: the dashboard API (info, login, whoami,
 * the client list, disconnecting a client), /metrics, /health, who may use them (the MQTT rules: the
 * anonymous policy, the password file, the ACL's admin rule), and the client events on $SYS that
 * the dashboard shows live.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { hashPassword } from '../../src/auth/password-file.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectWithAck, nextMessage, withTimeout } from '../helpers/mqtt.js';
import { RawClient } from '../helpers/raw.js';
import { connect5, expectDisconnect } from '../helpers/raw5.js';

const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

/** A broker with a TCP listener (first) and a WebSocket listener whose HTTP side is under test. */
async function broker(overrides: ConfigInput = {}): Promise<{ b: TestBroker; http: string }> {
  const b = await startBroker({
    sysInterval: 1,
    listeners: [
      { type: 'tcp', host: '127.0.0.1', port: 0 },
      { type: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt', trustedProxies: ['127.0.0.1'] },
    ],
    ...overrides,
  });
  brokers.push(b);
  return { b, http: `http://127.0.0.1:${b.addresses[1]!.port}` };
}

async function client(url: string, options: Parameters<typeof connectWithAck>[1] = {}) {
  const c = await connectWithAck(url, { reconnectPeriod: 0, ...options });
  clients.push(c.client);
  return c.client;
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await withTimeout(fetch(url, { method, headers }), 3000, `${method} ${url}`);
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

async function users(entries: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'midge-dash-'));
  const lines = await Promise.all(
    Object.entries(entries).map(async ([u, p]) => `${u}:${await hashPassword(p, { N: 16, r: 1, p: 1 })}`),
  );
  const file = join(dir, 'users.passwd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function acl(lines: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'midge-dash-')), 'midge.acl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('dashboard API without authentication (this machine only)', () => {
  test('info, whoami, health and metrics answer a local caller', async () => {
    const { http } = await broker();
    const info = (await get(`${http}/api/info`)).json();
    assert.equal(info.mqttPath, '/mqtt');
    assert.equal(info.authRequired, false);
    assert.deepEqual((await get(`${http}/api/whoami`)).json(), { user: null, admin: true });
    const health = await get(`${http}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json().status, 'ok');
    const metrics = await get(`${http}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# TYPE midge_clients_connected gauge$/m);
    assert.match(metrics.text, /^midge_clients_by_transport\{transport="ws"\} 0$/m);
    assert.match(metrics.text, /^midge_info\{version="[^"]+"\} 1$/m);
  });

  test('a caller from another address (behind a trusted proxy) is refused', async () => {
    const { http } = await broker();
    const away = { 'x-forwarded-for': '203.0.113.7' };
    assert.equal((await get(`${http}/api/clients`, away)).status, 401);
    assert.equal((await get(`${http}/metrics`, away)).status, 401);
    assert.equal((await get(`${http}/api/info`, away)).json().authRequired, true);
  });

  test('the client list shows connected clients and offline sessions; DELETE disconnects with 0x98', async () => {
    const { b, http } = await broker();
    const sensor = await client(b.url, { clientId: 'sensor-1', clean: false, keepalive: 30 });
    await sensor.subscribeAsync('cmd/sensor-1', { qos: 1 });
    await sensor.endAsync();
    const raw = await RawClient.openV5(b.port);
    raws.push(raw);
    raw.send(connect5({ clientId: 'device-5', clean: true, keepalive: 20 }));
    await raw.expect('connack');
    const list = (await get(`${http}/api/clients`)).json().clients as Array<Record<string, unknown>>;
    const device = list.find((c) => c.clientId === 'device-5');
    const offline = list.find((c) => c.clientId === 'sensor-1');
    assert.equal(device?.connected, true);
    assert.equal(device?.transport, 'tcp');
    assert.equal(device?.protocolVersion, 5);
    assert.equal(device?.keepAlive, 20);
    assert.equal(device?.address, '127.0.0.1');
    assert.equal(offline?.connected, false);
    assert.deepEqual(offline?.subscriptions, [{ filter: 'cmd/sensor-1', qos: 1 }]);
    assert.equal(typeof offline?.disconnectedAt, 'number');
    const kicked = await get(`${http}/api/clients/device-5`, {}, 'DELETE');
    assert.equal(kicked.status, 204);
    await expectDisconnect(raw, 0x98, 'administrative action');
    assert.equal((await get(`${http}/api/clients/nobody`, {}, 'DELETE')).status, 404);
  });
});

describe('dashboard placement', () => {
  test('dashboard.path moves the page and its API; enabled false turns both off, /health stays', async () => {
    const moved = await broker({ dashboard: { enabled: true, path: '/console/' } });
    assert.equal((await get(`${moved.http}/console/api/info`)).status, 200);
    assert.equal((await get(`${moved.http}/api/info`)).status, 404);
    const page = await get(`${moved.http}/console/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/i);
    const off = await broker({ dashboard: { enabled: false, path: '/' } });
    assert.equal((await get(`${off.http}/api/info`)).status, 404);
    assert.doesNotMatch((await get(`${off.http}/`)).text, /assets\/app\.js/);
    assert.equal((await get(`${off.http}/health`)).status, 200);
  });

  test('the page and its assets are served gzipped to clients that accept it', async () => {
    const { http } = await broker();
    const response = await fetch(`${http}/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-encoding'), 'gzip');
    assert.match(response.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await response.text()).length > 10_000, 'fetch decodes it');
  });
});

describe('dashboard API with authentication', () => {
  test('login with the password file; wrong passwords are refused and count as failed logins', async () => {
    const { b, http } = await broker({ passwordFile: await users({ alice: 'right' }), maxAuthFailures: 3 });
    assert.equal((await get(`${http}/api/info`)).json().authRequired, true);
    assert.equal((await get(`${http}/api/clients`)).status, 401);
    const ok = await get(`${http}/api/login`, { authorization: basic('alice', 'right') }, 'POST');
    assert.deepEqual(ok.json(), { user: 'alice', admin: true });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await get(`${http}/api/login`, { authorization: basic('alice', 'wrong') }, 'POST')).status,
        401,
      );
    }
    // Blocked now, even with the right password, and for MQTT as well as HTTP.
    assert.equal(
      (await get(`${http}/api/login`, { authorization: basic('alice', 'right') }, 'POST')).status,
      429,
    );
    assert.ok(b.broker.core.admission.refused['auth blocked'] >= 1);
  });

  test('admin views need read access to $SYS/#; others get 403', async () => {
    const { http } = await broker({
      passwordFile: await users({ admin: 'a', viewer: 'v' }),
      aclFile: acl(['user admin', 'topic read $SYS/#', 'user viewer', 'topic read sensors/#']),
    });
    const viewer = { authorization: basic('viewer', 'v') };
    assert.deepEqual((await get(`${http}/api/whoami`, viewer)).json(), { user: 'viewer', admin: false });
    assert.equal((await get(`${http}/api/clients`, viewer)).status, 403);
    assert.equal((await get(`${http}/metrics`, viewer)).status, 403);
    assert.equal((await get(`${http}/api/clients`, { authorization: basic('admin', 'a') })).status, 200);
  });
});

describe('client events on $SYS/broker/clients/events', () => {
  test('connected, then disconnected with the will a dying device left', async () => {
    const { b } = await broker();
    const watcher = await client(b.url, { clientId: 'watcher' });
    await watcher.subscribeAsync('$SYS/broker/clients/events', { qos: 0 });
    const connected = nextMessage(watcher);
    const raw = await RawClient.openV5(b.port);
    raws.push(raw);
    raw.send(
      connect5({
        clientId: 'pump-7',
        clean: true,
        keepalive: 0,
        will: { topic: 'status/pump-7', payload: 'offline', retain: true, qos: 1 },
      }),
    );
    await raw.expect('connack');
    const up = JSON.parse((await connected).payload.toString()) as Record<string, unknown>;
    assert.equal(up.event, 'connected');
    assert.equal(up.clientId, 'pump-7');
    assert.equal(up.protocolVersion, 5);
    const gone = nextMessage(watcher);
    raw.socket.destroy();
    const down = JSON.parse((await gone).payload.toString()) as Record<string, unknown>;
    assert.equal(down.event, 'disconnected');
    assert.equal(down.reason, 'CONNECTION_LOST');
    assert.deepEqual(down.will, {
      topic: 'status/pump-7',
      payload: 'offline',
      qos: 1,
      retain: true,
      delay: 0,
    });
  });
});
