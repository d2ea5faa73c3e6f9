/**
 * The ACL file (src/auth/acl.ts) through real sockets: refused PUBLISHes (MQTT 5 reason codes, 3.1.1
 * silent drop), refused and partly granted SUBSCRIBEs (retained messages included), $SYS, wills, the
 * %c pattern, and reloads that take effect on connected clients.
 *
 * Most tests need no authentication: with an ACL but no credentials configured, anonymous clients from
 * 127.0.0.1 are accepted, and `client <id>` sections give each test client its rules. Where a username
 * matters, an authenticate hook that accepts everyone lets the CONNECT's username through.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { ConfigInput } from '../../src/config/schema.js';
import type { BrokerOptions } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import {
  messagesUntil,
  nextMessage,
  subackCodes,
  unreadCount,
  WAIT_MS,
  withTimeout,
} from '../helpers/mqtt.js';
import { ack, connack, connect, publish, pubrel, suback, subscribe } from '../helpers/raw.js';
import { ack5, connect5, publish5, subscribe5 } from '../helpers/raw5.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
const brokers: TestBroker[] = [];
afterEach(async () => {
  try {
    await scope.close();
  } finally {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  }
});

/** Writes `lines` as an ACL file in a new temporary directory; returns its path. */
function writeAcl(lines: string[], file?: string): string {
  const path = file ?? join(mkdtempSync(join(tmpdir(), 'midge-acl-')), 'acl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function start(overrides: ConfigInput = {}, options: BrokerOptions = {}): Promise<TestBroker> {
  const b = await startBroker(overrides, options);
  brokers.push(b);
  return b;
}

/** The rules most tests share: one client per role. */
const RULES = [
  '# test ACL',
  'client writer',
  'topic readwrite #',
  'client reader',
  'topic read #',
  'topic deny secret/#',
  'client limited',
  'topic readwrite open/#',
  'client sysreader',
  'topic read $SYS/#',
  'all',
  'pattern readwrite devices/%c/#',
];

async function aclBroker(overrides: ConfigInput = {}): Promise<TestBroker> {
  return start({ aclFile: writeAcl(RULES), ...overrides });
}

/** The reason code of MQTT.js's PUBACK for a QoS 1 PUBLISH (0 when accepted). */
async function pubackCode(client: MqttClient, topic: string, payload = 'x'): Promise<number> {
  try {
    const packet = await withTimeout(client.publishAsync(topic, payload, { qos: 1 }), WAIT_MS, 'PUBACK');
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'number') throw error;
    return code;
  }
}

/** A reader subscribed to '#' at QoS 1 (granted in part by RULES: not secret/#). */
async function reader(b: TestBroker): Promise<MqttClient> {
  const client = await scope.connect(b.url, { clientId: 'reader' });
  assert.deepEqual(await subackCodes(client, ['#']), [1]);
  return client;
}

describe('ACL: PUBLISH', () => {
  test('MQTT 5: a refused PUBLISH gets PUBACK 0x87 / PUBREC 0x87 and reaches nobody', async () => {
    const b = await aclBroker();
    const sub = await reader(b);
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'limited' });
    raw.send(publish5({ topic: 'closed/q1', payload: 'no', qos: 1, id: 1 }));
    assert.equal((await raw.expect('puback')).packet.reasonCode, 0x87);
    raw.send(publish5({ topic: 'closed/q2', payload: 'no', qos: 2, id: 2 }));
    assert.equal((await raw.expect('pubrec')).packet.reasonCode, 0x87);
    raw.send(publish5({ topic: 'closed/q0', payload: 'no', qos: 0 }));
    // The refused QoS 2 holds no packet id: the same id is a new message, routed.
    raw.send(publish5({ topic: 'open/q2', payload: 'yes', qos: 2, id: 2 }));
    assert.equal((await raw.expect('pubrec')).packet.reasonCode ?? 0, 0);
    raw.send(ack5(0x62, 2));
    assert.equal((await raw.expect('pubcomp')).packet.reasonCode ?? 0, 0);
    // The reader may read closed/#: had anything refused been routed, it would come before this.
    const first = await nextMessage(sub);
    assert.equal(first.topic, 'open/q2');
    assert.equal(b.broker.core.stats.publishDenied, 3);
  });

  test('3.1.1: a refused PUBLISH is acknowledged as usual (no code for it) and dropped', async () => {
    const b = await aclBroker();
    const sub = await reader(b);
    const { raw } = await scope.rawConnect(b.port, { clientId: 'limited' });
    raw.send(publish({ topic: 'closed/q1', payload: 'no', qos: 1, id: 7 }));
    await raw.expectBytes(ack(0x40, 7), 'PUBACK 7');
    raw.send(publish({ topic: 'closed/q2', payload: 'no', qos: 2, id: 8 }));
    await raw.expectBytes(ack(0x50, 8), 'PUBREC 8');
    raw.send(pubrel(8));
    await raw.expectBytes(ack(0x70, 8), 'PUBCOMP 8');
    raw.send(publish({ topic: 'closed/q0', payload: 'no', qos: 0 }));
    raw.send(publish({ topic: 'open/marker', payload: 'yes', qos: 1, id: 9 }));
    await raw.expectBytes(ack(0x40, 9), 'PUBACK 9');
    const first = await nextMessage(sub);
    assert.equal(first.topic, 'open/marker');
    assert.equal(unreadCount(sub), 0);
    assert.equal(b.broker.core.stats.publishDenied, 3);
  });

  test('a retained PUBLISH that is refused is not retained', async () => {
    const b = await aclBroker();
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'limited' });
    raw.send(publish5({ topic: 'closed/retained', payload: 'no', qos: 1, id: 1, retain: true }));
    assert.equal((await raw.expect('puback')).packet.reasonCode, 0x87);
    assert.equal(b.broker.core.retained.size, 0);
  });
});

describe('ACL: SUBSCRIBE', () => {
  test('a refused filter gets 0x80 (3.1.1) / 0x87 (MQTT 5); the others in the packet are granted', async () => {
    const b = await aclBroker();
    const r311 = await scope.raw(b.port);
    r311.send(connect({ clientId: 'limited' }));
    await r311.expectBytes(connack(false, 0), 'CONNACK');
    r311.send(
      subscribe(1, [
        ['closed/#', 1],
        ['open/#', 1],
        ['#', 0],
      ]),
    );
    // '#' touches open/# (and devices/limited/#): granted, with a check per message.
    await r311.expectBytes(suback(1, [0x80, 1, 0]), 'SUBACK');
    r311.destroy();
    const { raw: r5 } = await scope.rawConnectV5(b.port, { clientId: 'limited' });
    r5.send(
      subscribe5(2, [
        { filter: 'closed/#', qos: 1 },
        { filter: 'open/#', qos: 1 },
      ]),
    );
    assert.deepEqual((await r5.expect('suback')).packet.granted, [0x87, 1]);
    assert.ok(b.broker.core.stats.subscribeDenied >= 2);
  });

  test('granted in part (read #, deny secret/#): public/x arrives, secret/x does not, retained too', async () => {
    const b = await aclBroker();
    const writer = await scope.connect(b.url, { clientId: 'writer' });
    await writer.publishAsync('public/retained', 'p', { qos: 1, retain: true });
    await writer.publishAsync('secret/retained', 's', { qos: 1, retain: true });
    const sub = await reader(b);
    await writer.publishAsync('secret/live', 's', { qos: 1 });
    await writer.publishAsync('public/live', 'p', { qos: 1 });
    const { match, before } = await messagesUntil(sub, (m) => m.topic === 'public/live');
    assert.deepEqual(
      before.map((m) => m.topic),
      ['public/retained'],
    );
    assert.equal(before[0]?.packet.retain, true);
    assert.equal(match.payload.toString(), 'p');
    // A filter inside the denied tree is refused outright.
    assert.deepEqual(await subackCodes(sub, ['secret/#', 'secret/x']), [0x80, 0x80]);
  });

  test('$SYS is not readable through #; only a rule naming $SYS gives it', async () => {
    const b = await aclBroker({ sysInterval: 60 });
    const sub = await scope.connect(b.url, { clientId: 'reader' });
    assert.deepEqual(await subackCodes(sub, ['$SYS/#', '$SYS/broker/version']), [0x80, 0x80]);
    const sys = await scope.connect(b.url, { clientId: 'sysreader', protocolVersion: 5 });
    assert.deepEqual(await subackCodes(sys, ['$SYS/#']), [1]);
    // The broker published its values at start, retained: the subscriber gets them at once.
    const first = await nextMessage(sys);
    assert.match(first.topic, /^\$SYS\/broker\//);
    const none = await scope.connect(b.url, { clientId: 'limited', protocolVersion: 5 });
    assert.deepEqual(await subackCodes(none, ['$SYS/#']), [0x87]);
  });
});

describe('ACL: will', () => {
  test('a will on a topic the client may not publish to refuses the CONNECT (5 / 0x87)', async () => {
    const b = await aclBroker();
    const r311 = await scope.raw(b.port);
    r311.send(connect({ clientId: 'limited', will: { topic: 'closed/will', payload: 'bye' } }));
    await r311.expectBytes(connack(false, 5), 'CONNACK 5');
    await r311.expectClosedSilently('after the refusal');
    const r5 = await scope.rawV5(b.port);
    r5.send(connect5({ clientId: 'limited', will: { topic: 'closed/will', payload: 'bye' } }));
    assert.equal((await r5.expect('connack')).packet.reasonCode, 0x87);
    await r5.expectClosedSilently('after the refusal');
    // Control: a will it may publish is fine.
    await scope.rawConnect(b.port, { clientId: 'limited', will: { topic: 'open/will', payload: 'bye' } });
  });
});

describe('ACL: patterns', () => {
  test('%c: each client gets devices/<its client id>/# and not another device', async () => {
    const b = await aclBroker();
    const dev1 = await scope.connect(b.url, { clientId: 'dev-1' });
    assert.deepEqual(
      await subackCodes(dev1, ['devices/dev-1/#', 'devices/dev-2/#', 'devices/+/x']),
      [1, 0x80, 1],
    );
    assert.equal(await pubackCode(dev1, 'devices/dev-1/t'), 0);
    assert.equal((await nextMessage(dev1)).topic, 'devices/dev-1/t');
    const dev2 = await scope.connect(b.url, { clientId: 'dev-2', protocolVersion: 5 });
    assert.equal(await pubackCode(dev2, 'devices/dev-1/x'), 0x87);
    assert.equal(await pubackCode(dev2, 'devices/dev-2/x'), 0);
    // devices/+/x was granted in part to dev-1: dev-2's devices/dev-2/x (above) is not for it, its own is.
    assert.equal(await pubackCode(dev1, 'devices/dev-1/x'), 0);
    assert.equal((await nextMessage(dev1)).topic, 'devices/dev-1/x');
    assert.equal(unreadCount(dev1), 0);
  });
});

describe('ACL: reload', () => {
  const BEFORE = [
    'client watcher',
    'topic read news/#',
    'topic read control/#',
    'client pub',
    'topic write news/#',
    'topic write control/#',
  ];
  const AFTER = [
    'client watcher',
    'topic read control/#',
    'client pub',
    'topic write news/#',
    'topic write control/#',
    'topic write fresh/#',
  ];

  test('broker.reload(): a revoked subscription stops delivering, a newly allowed topic is publishable', async () => {
    const aclFile = writeAcl(BEFORE);
    const b = await start({ aclFile });
    const watcher = await scope.connect(b.url, { clientId: 'watcher' });
    assert.deepEqual(await subackCodes(watcher, ['news/#', 'control/#']), [1, 1]);
    const pub = await scope.connect(b.url, { clientId: 'pub', protocolVersion: 5 });
    assert.equal(await pubackCode(pub, 'news/1'), 0);
    assert.equal((await nextMessage(watcher)).topic, 'news/1');
    assert.equal(await pubackCode(pub, 'fresh/1'), 0x87);

    writeAcl(AFTER, aclFile);
    await b.broker.reload();

    const session = b.broker.core.sessions.get('watcher');
    assert.equal(session?.subscriptions.has('news/#'), false, 'news/# is removed from the session');
    assert.equal(await pubackCode(pub, 'news/2'), 0);
    assert.equal(await pubackCode(pub, 'control/after'), 0);
    const next = await nextMessage(watcher);
    assert.equal(next.topic, 'control/after', 'news/2 was delivered after the reload revoked news/#');
    assert.equal(await pubackCode(pub, 'fresh/2'), 0);
    // The revoked filter cannot be subscribed again either.
    assert.deepEqual(await subackCodes(watcher, ['news/#']), [0x80]);
  });

  test('a broken ACL on reload is logged and the rules in force stay', async () => {
    const aclFile = writeAcl(BEFORE);
    const b = await start({ aclFile });
    const pub = await scope.connect(b.url, { clientId: 'pub', protocolVersion: 5 });
    writeAcl([...AFTER, 'topic raed x/#'], aclFile);
    await b.broker.reload();
    // Still BEFORE: fresh/# is not writable.
    assert.equal(await pubackCode(pub, 'fresh/1'), 0x87);
    assert.equal(await pubackCode(pub, 'news/1'), 0);
  });
});

describe('ACL: sessions kept across connections', () => {
  /** alice reads private/#, bob public/#, writer writes everything; anyone is let in (by username). */
  const USERS = [
    'user alice',
    'topic read private/#',
    'user bob',
    'topic read public/#',
    'user writer',
    'topic write #',
  ];
  const letIn = { hooks: { authenticate: () => true } };

  test('a resumed session is held to the new connection’s permissions: subscriptions it may not read are gone', async () => {
    const b = await start({ aclFile: writeAcl(USERS) }, letIn);
    const alice = await scope.connect(b.url, { clientId: 'device', clean: false, username: 'alice' });
    assert.deepEqual(await subackCodes(alice, ['private/#']), [1]);
    await alice.endAsync();
    const { client: bob, connack: ack1 } = await scope.connectWithAck(b.url, {
      clientId: 'device',
      clean: false,
      username: 'bob',
    });
    assert.equal(ack1.sessionPresent, true);
    assert.equal(b.broker.core.sessions.get('device')?.subscriptions.has('private/#'), false);
    const writer = await scope.connect(b.url, { clientId: 'w', username: 'writer' });
    assert.deepEqual(await subackCodes(bob, ['public/#']), [1]);
    await writer.publishAsync('private/live', 'secret', { qos: 1 });
    await writer.publishAsync('public/marker', 'm', { qos: 1 });
    assert.equal((await nextMessage(bob)).topic, 'public/marker');
  });

  test('messages queued for an offline session are not delivered to a user who may not read them', async () => {
    const b = await start({ aclFile: writeAcl(USERS) }, letIn);
    const alice = await scope.connect(b.url, { clientId: 'device', clean: false, username: 'alice' });
    assert.deepEqual(await subackCodes(alice, ['private/#']), [1]);
    await alice.endAsync();
    const writer = await scope.connect(b.url, { clientId: 'w', username: 'writer' });
    await writer.publishAsync('private/queued', 'for alice only', { qos: 1 });
    // bob takes the session over: alice's queued message must not go to him.
    const bob = await scope.connect(b.url, { clientId: 'device', clean: false, username: 'bob' });
    assert.deepEqual(await subackCodes(bob, ['public/#']), [1]);
    await writer.publishAsync('public/marker', 'm', { qos: 1 });
    const first = await nextMessage(bob);
    assert.equal(first.topic, 'public/marker', `bob received ${first.topic}: "${first.payload}"`);
  });

  test('an ACL reload also holds offline sessions: nothing published after the revocation is queued', async () => {
    const aclFile = writeAcl(USERS);
    const b = await start({ aclFile }, letIn);
    const alice = await scope.connect(b.url, { clientId: 'device', clean: false, username: 'alice' });
    assert.deepEqual(await subackCodes(alice, ['private/#', 'public/#']), [1, 0x80]);
    await alice.endAsync();
    writeAcl(['user alice', 'topic read public/#', 'user writer', 'topic write #'], aclFile);
    await b.broker.reload();
    const writer = await scope.connect(b.url, { clientId: 'w', username: 'writer' });
    await writer.publishAsync('private/after-revocation', 'not for alice any more', { qos: 1 });
    const back = await scope.connect(b.url, { clientId: 'device', clean: false, username: 'alice' });
    assert.deepEqual(await subackCodes(back, ['public/#']), [1]);
    await writer.publishAsync('public/marker', 'm', { qos: 1 });
    const first = await nextMessage(back);
    assert.equal(first.topic, 'public/marker', `alice received ${first.topic}: "${first.payload}"`);
  });
});
