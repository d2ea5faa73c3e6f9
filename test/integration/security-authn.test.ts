/**
 * Authentication through real sockets (src/auth/security.ts): the anonymous policy, the password file
 * (with reloads), failed-login blocking, JWTs (as the password, in the WebSocket upgrade, with the AUTH
 * method JWT, expiry and re-authentication), TLS client certificates standing for the username, and the
 * application's authenticate hook beside the password file. Authorization (the ACL) has its own file,
 * security-acl.test.ts; here it only shows who a client was taken for.
 */

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { IClientOptions, MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { type Logger, pino } from 'pino';
import { hashPassword } from '../../src/auth/password-file.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { sysValues } from '../../src/core/sys.js';
import type { AuthenticateRequest, BrokerOptions } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { nextMessage, subackCodes, WAIT_MS, withTimeout } from '../helpers/mqtt.js';
import { connack, connect, PINGREQ, PINGRESP, type RawConnectOptions } from '../helpers/raw.js';
import { auth5, connect5, expectDisconnect, type RawConnect5Options, subscribe5 } from '../helpers/raw5.js';
import { Scope } from '../helpers/scope.js';
import { addressOf, clientCertificate, listenerOf, trustOptions, urlOf } from '../helpers/transport.js';
import { elapse } from '../helpers/v5.js';

const scope = new Scope();
const brokers: TestBroker[] = [];
afterEach(async () => {
  try {
    await scope.close();
  } finally {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  }
});

/** A broker on 127.0.0.1 port 0 (startBroker), closed after the test. */
async function start(overrides: ConfigInput = {}, options: BrokerOptions = {}): Promise<TestBroker> {
  const b = await startBroker(overrides, options);
  brokers.push(b);
  return b;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'midge-authn-'));
}

/** Cheap scrypt parameters: these tests are about the broker, not about the cost of a hash. */
const CHEAP = { N: 16 } as const;

/** Writes a password file with these users (cheap hashes) and returns its path. */
async function writePasswords(file: string, users: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  for (const [user, password] of Object.entries(users)) {
    lines.push(`${user}:${await hashPassword(password, CHEAP)}\n`);
  }
  writeFileSync(file, lines.join(''));
  return file;
}

/** An ACL under which a client may use only users/<its username>/#: shows who it was taken for. */
function writeUserAcl(dir: string): string {
  const file = join(dir, 'acl');
  writeFileSync(file, 'all\npattern readwrite users/%u/#\n');
  return file;
}

// ---- JWT (HS256) signed here, with node:crypto only ----

const SECRET = 'a-test-secret-of-more-than-32-bytes-0123456789';

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A compact HS256 JWT with these claims. */
function sign(claims: Record<string, unknown>, secret: string = SECRET): string {
  const input = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Now, as a JWT NumericDate (seconds). */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A token for `sub`, valid for `seconds`. */
function tokenFor(sub: string, seconds = 300): string {
  return sign({ sub, exp: nowSeconds() + seconds });
}

// ---- log capture ----

/** A pino logger (level trace) whose lines the test can read and wait for. */
class LogCapture {
  readonly lines: string[] = [];
  private readonly waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  readonly logger: Logger = pino(
    { level: 'trace', base: undefined },
    { write: (line: string) => this.push(line) },
  );

  private push(line: string): void {
    this.lines.push(line);
    for (const waiter of this.waiters) {
      if (waiter.pattern.test(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  get text(): string {
    return this.lines.join('');
  }

  /** The next line (from `from` on) matching `pattern`. */
  waitFor(pattern: RegExp, from = 0, timeoutMs = 5000): Promise<string> {
    const seen = this.lines.slice(from).find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    let waiter: { pattern: RegExp; resolve: (line: string) => void } | undefined;
    const found = new Promise<string>((resolve) => {
      waiter = { pattern, resolve };
      this.waiters.add(waiter);
    });
    return withTimeout(found, timeoutMs, `a log line matching ${pattern}`).finally(() => {
      if (waiter !== undefined) this.waiters.delete(waiter);
    });
  }
}

// ---- connecting ----

/**
 * The code of the CONNACK MQTT.js receives (3.1.1 return code, MQTT 5 reason code); the client is closed
 * afterwards whatever the outcome.
 */
async function connackCode(url: string, opts: IClientOptions = {}): Promise<number> {
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    ...opts,
  });
  client.on('error', () => {});
  const v5 = opts.protocolVersion === 5;
  try {
    return await withTimeout(
      new Promise<number>((resolve, reject) => {
        client.on('packetreceive', (packet) => {
          if (packet.cmd !== 'connack') return;
          resolve((v5 ? packet.reasonCode : packet.returnCode) ?? -1);
        });
        client.on('close', () => reject(new Error(`${url}: closed before CONNACK`)));
      }),
      WAIT_MS,
      `CONNACK from ${url}`,
    );
  } finally {
    client.end(true);
  }
}

/** A raw 3.1.1 CONNECT that must be refused with `returnCode` (exact CONNACK bytes), then closed. */
async function expectRefused(port: number, options: RawConnectOptions, returnCode: number): Promise<void> {
  const raw = await scope.raw(port);
  raw.send(connect(options));
  await raw.expectBytes(connack(false, returnCode), `CONNACK refusing '${options.clientId}'`);
  await raw.expectClosedSilently(`after refusing '${options.clientId}'`);
}

/** A raw MQTT 5 CONNECT that must be refused with `reasonCode`, then closed. */
async function expectRefused5(port: number, options: RawConnect5Options, reasonCode: number): Promise<void> {
  const raw = await scope.rawV5(port);
  raw.send(connect5(options));
  const { packet } = await raw.expect('connack');
  assert.equal(packet.reasonCode, reasonCode, `CONNACK reason code for '${options.clientId}'`);
  assert.equal(packet.sessionPresent, false);
  await raw.expectClosedSilently(`after refusing '${options.clientId}'`);
}

/**
 * Shows that `client` acts as `user` under the users/%u/# ACL: users/<user>/# is granted and its
 * messages come back; another user's tree is refused.
 */
async function assertActsAs(client: MqttClient, user: string, v5 = false): Promise<void> {
  const codes = await subackCodes(client, [`users/${user}/#`, 'users/somebody-else/#']);
  assert.deepEqual(codes, [1, v5 ? 0x87 : 0x80], `SUBACK codes for ${user}`);
  await withTimeout(client.publishAsync(`users/${user}/hello`, 'hi', { qos: 1 }), WAIT_MS, 'PUBACK');
  const message = await nextMessage(client);
  assert.equal(message.topic, `users/${user}/hello`);
}

describe('anonymous clients', () => {
  test('no authentication configured: accepted from 127.0.0.1', async () => {
    const b = await start();
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'anon-local' }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted');
    assert.equal(await connackCode(b.url, { protocolVersion: 5, clientId: 'anon-local-5' }), 0);
  });

  test('allowAnonymous false: refused, 3.1.1 return code 5 and MQTT 5 0x87', async () => {
    const b = await start({ allowAnonymous: false });
    await expectRefused(b.port, { clientId: 'anon-311' }, 5);
    await expectRefused5(b.port, { clientId: 'anon-5' }, 0x87);
  });

  test('a password file makes anonymous clients refused, unless allowAnonymous is true', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const strict = await start({ passwordFile });
    await expectRefused(strict.port, { clientId: 'anon-311' }, 5);
    await expectRefused5(strict.port, { clientId: 'anon-5' }, 0x87);
    const open = await start({ passwordFile, allowAnonymous: true });
    assert.equal(await connackCode(open.url, { clientId: 'anon-allowed' }), 0);
    assert.equal(await connackCode(open.url, { protocolVersion: 5, clientId: 'anon-allowed-5' }), 0);
    // Credentials are still checked where they are given.
    assert.equal(
      await connackCode(open.url, { clientId: 'alice-bad', username: 'alice', password: 'no' }),
      4,
    );
  });

  test('from a non-loopback address (X-Forwarded-For through a trusted proxy): refused by default', async () => {
    const ws = listenerOf('ws', { trustedProxies: ['127.0.0.1'] });
    const b = await start({ listeners: [ws] });
    const url = urlOf(addressOf(b.addresses, 'ws'));
    const remote = { wsOptions: { headers: { 'X-Forwarded-For': '203.0.113.9' } } };
    assert.equal(await connackCode(url, { clientId: 'remote-311', ...remote }), 5);
    assert.equal(await connackCode(url, { protocolVersion: 5, clientId: 'remote-5', ...remote }), 0x87);
    // Control: the same listener, no header: the client is on loopback and is accepted.
    assert.equal(await connackCode(url, { clientId: 'local-ws' }), 0);
  });

  test('from a non-loopback address: accepted with allowAnonymous true', async () => {
    const ws = listenerOf('ws', { trustedProxies: ['127.0.0.1'] });
    const b = await start({ listeners: [ws], allowAnonymous: true });
    const url = urlOf(addressOf(b.addresses, 'ws'));
    const remote = { wsOptions: { headers: { 'X-Forwarded-For': '203.0.113.9' } } };
    const client = await scope.connect(url, { clientId: 'remote-allowed', ...remote });
    assert.equal(b.broker.core.connections.size, 1);
    const [connection] = b.broker.core.connections;
    assert.equal(
      connection?.link.info.remoteAddress,
      '203.0.113.9',
      'test setup: the address is the forwarded one',
    );
    await assertRoundTripSimple(client, 'remote/anon');
  });
});

/** Subscribe, publish QoS 1, receive it back. */
async function assertRoundTripSimple(client: MqttClient, topic: string): Promise<void> {
  await withTimeout(client.subscribeAsync(topic, { qos: 1 }), WAIT_MS, 'SUBACK');
  await withTimeout(client.publishAsync(topic, 'x', { qos: 1 }), WAIT_MS, 'PUBACK');
  assert.equal((await nextMessage(client)).topic, topic);
}

describe('password file', () => {
  test('the right password is accepted; a wrong one and an unknown user get 4 / 0x86', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw', bob: 'bob-pw' });
    const b = await start({ passwordFile });
    const alice = await scope.connect(b.url, { clientId: 'alice', username: 'alice', password: 'alice-pw' });
    await assertRoundTripSimple(alice, 'pw/alice');
    assert.equal(
      await connackCode(b.url, { protocolVersion: 5, clientId: 'bob5', username: 'bob', password: 'bob-pw' }),
      0,
    );
    await expectRefused(b.port, { clientId: 'wrong', username: 'alice', password: 'bob-pw' }, 4);
    await expectRefused(b.port, { clientId: 'unknown', username: 'carol', password: 'alice-pw' }, 4);
    await expectRefused(b.port, { clientId: 'no-password', username: 'alice' }, 4);
    await expectRefused5(b.port, { clientId: 'wrong5', username: 'alice', password: 'x' }, 0x86);
    await expectRefused5(b.port, { clientId: 'unknown5', username: 'carol', password: 'x' }, 0x86);
  });

  test('no log line, even at trace level, contains a password', async () => {
    const dir = tempDir();
    const right = 'Right-Passw0rd-7f3a';
    const wrong = 'Wrong-Guess-9c2e';
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: right });
    const log = new LogCapture();
    const b = await start({ passwordFile, logLevel: 'trace' }, { logger: log.logger });
    const alice = await scope.connect(b.url, { clientId: 'alice', username: 'alice', password: right });
    await assertRoundTripSimple(alice, 'log/alice');
    await expectRefused(b.port, { clientId: 'guess', username: 'alice', password: wrong }, 4);
    await expectRefused5(b.port, { clientId: 'guess5', username: 'alice', password: wrong }, 0x86);
    await expectRefused(b.port, { clientId: 'guess-unknown', username: 'mallory', password: wrong }, 4);
    await alice.endAsync();
    assert.ok(log.lines.length > 0, 'test setup: the logger captured lines');
    for (const secret of [right, wrong]) {
      assert.ok(!log.text.includes(secret), `a log line contains the password ${secret}`);
      const b64 = Buffer.from(secret).toString('base64');
      assert.ok(!log.text.includes(b64), `a log line contains the password ${secret} in base64`);
      const hexed = Buffer.from(secret).toString('hex');
      assert.ok(!log.text.includes(hexed), `a log line contains the password ${secret} in hex`);
    }
  });

  test('reload: a user added to the file logs in after broker.reload()', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const b = await start({ passwordFile });
    await expectRefused(b.port, { clientId: 'bob-early', username: 'bob', password: 'bob-pw' }, 4);
    await writePasswords(passwordFile, { alice: 'alice-pw', bob: 'bob-pw' });
    await b.broker.reload();
    assert.equal(await connackCode(b.url, { clientId: 'bob', username: 'bob', password: 'bob-pw' }), 0);
    assert.equal(await connackCode(b.url, { clientId: 'alice', username: 'alice', password: 'alice-pw' }), 0);
  });

  test('reload: a file that changes is read again by the watcher, without a reload call', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const log = new LogCapture();
    const b = await start({ passwordFile, logLevel: 'info' }, { logger: log.logger });
    const mark = log.lines.length;
    await writePasswords(passwordFile, { alice: 'alice-pw', dave: 'dave-pw' });
    // The watcher polls every second, then waits 100 ms for the writes to settle.
    await log.waitFor(/passwordFile reloaded/, mark, 5000);
    assert.equal(await connackCode(b.url, { clientId: 'dave', username: 'dave', password: 'dave-pw' }), 0);
  });

  test('reload: a broken file is logged with its line, and the users loaded before keep working', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const log = new LogCapture();
    const b = await start({ passwordFile, logLevel: 'info' }, { logger: log.logger });
    const alice = await scope.connect(b.url, {
      clientId: 'alice-open',
      username: 'alice',
      password: 'alice-pw',
    });
    const mark = log.lines.length;
    const good = `eve:${await hashPassword('eve-pw', CHEAP)}\n`;
    writeFileSync(passwordFile, `${good}this line has no colon\n`);
    await b.broker.reload();
    const line = await log.waitFor(/passwordFile not reloaded/, mark);
    assert.ok(line.includes(`${passwordFile}:2`), `the error names the file and line 2: ${line}`);
    assert.equal(await connackCode(b.url, { clientId: 'alice', username: 'alice', password: 'alice-pw' }), 0);
    // Nothing of the broken version is used, not even its good lines.
    assert.equal(await connackCode(b.url, { clientId: 'eve', username: 'eve', password: 'eve-pw' }), 4);
    await assertRoundTripSimple(alice, 'pw/still-open');
  });
});

describe('failed logins', () => {
  test('after maxAuthFailures bad passwords, even the right one is refused (5 / 0x9F) and counted', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const b = await start({ passwordFile, maxAuthFailures: 3, authFailureWindow: 60_000 });
    for (let i = 1; i <= 3; i++) {
      await expectRefused(b.port, { clientId: `guess-${i}`, username: 'alice', password: `guess-${i}` }, 4);
    }
    const admission = b.broker.core.admission;
    assert.equal(admission.refused['auth blocked'], 0);
    await expectRefused(b.port, { clientId: 'right-311', username: 'alice', password: 'alice-pw' }, 5);
    await expectRefused5(b.port, { clientId: 'right-5', username: 'alice', password: 'alice-pw' }, 0x9f);
    assert.equal(admission.refused['auth blocked'], 2);
    const sys = new Map(sysValues(b.broker.core));
    assert.equal(sys.get('$SYS/broker/connections/refused/auth blocked'), '2');
    assert.equal(sys.get('$SYS/broker/auth/failures'), '3');
  });

  test('the block ends authFailureWindow after the first failure', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const b = await start({ passwordFile, maxAuthFailures: 2, authFailureWindow: 1000 });
    await expectRefused(b.port, { clientId: 'guess-1', username: 'alice', password: 'nope' }, 4);
    // The first failure was counted before its CONNACK was sent: the block ends by then + 1 s.
    const unblocked = Date.now() + 1000;
    await expectRefused(b.port, { clientId: 'guess-2', username: 'alice', password: 'nope' }, 4);
    await expectRefused(b.port, { clientId: 'blocked', username: 'alice', password: 'alice-pw' }, 5);
    await elapse(Math.max(0, unblocked - Date.now()) + 50);
    assert.equal(await connackCode(b.url, { clientId: 'alice', username: 'alice', password: 'alice-pw' }), 0);
  });

  test('fewer failures than maxAuthFailures do not block', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const b = await start({ passwordFile, maxAuthFailures: 3 });
    for (let i = 1; i <= 2; i++) {
      await expectRefused(b.port, { clientId: `guess-${i}`, username: 'alice', password: 'nope' }, 4);
    }
    assert.equal(await connackCode(b.url, { clientId: 'alice', username: 'alice', password: 'alice-pw' }), 0);
  });
});

describe('JWT (HS256)', () => {
  /** A broker with jwt, the users/%u/# ACL, a tcp listener and a ws listener with cookie and query names. */
  async function jwtBroker(jwt: Record<string, unknown> = {}, extra: ConfigInput = {}): Promise<TestBroker> {
    const dir = tempDir();
    return start({
      jwt: { algorithms: ['HS256'], secret: SECRET, ...jwt },
      aclFile: writeUserAcl(dir),
      listeners: [
        listenerOf('tcp'),
        listenerOf('ws', { tokenCookie: 'mqtt_token', tokenQueryParameter: 'token' }),
      ],
      ...extra,
    });
  }

  function wsUrl(b: TestBroker, query = ''): string {
    return `${urlOf(addressOf(b.addresses, 'ws'))}${query}`;
  }

  test('a token as the MQTT password is accepted; its sub becomes the username', async () => {
    const b = await jwtBroker();
    // 3.1.1 needs a username with a password: whatever it is, the token's sub replaces it.
    const c311 = await scope.connect(b.url, {
      clientId: 'jwt-311',
      username: 'mallory',
      password: tokenFor('alice'),
    });
    await assertActsAs(c311, 'alice');
    // MQTT.js (mqtt-packet) sends no password without a username, even in MQTT 5: the raw client can.
    const c5 = await scope.connect(b.url, {
      protocolVersion: 5,
      clientId: 'jwt-5',
      username: '',
      password: tokenFor('bob'),
    });
    await assertActsAs(c5, 'bob', true);
    const raw = await scope.rawV5(b.port);
    raw.send(connect5({ clientId: 'jwt-5-raw', password: tokenFor('carol') }));
    assert.equal((await raw.expect('connack')).packet.reasonCode, 0);
    assert.equal([...b.broker.core.connections].find((c) => c.clientId === 'jwt-5-raw')?.username, 'carol');
  });

  test('the secret can come from jwt.secretFile', async () => {
    const dir = tempDir();
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const b = await start({ jwt: { algorithms: ['HS256'], secretFile }, aclFile: writeUserAcl(dir) });
    const client = await scope.connect(b.url, {
      clientId: 'jwt-file',
      username: '',
      password: tokenFor('carol'),
    });
    await assertActsAs(client, 'carol');
  });

  test('an expired token, a token signed with another secret and a token without sub get 4 / 0x86', async () => {
    const b = await jwtBroker({ clockTolerance: 0 });
    const expired = sign({ sub: 'alice', exp: nowSeconds() - 5 });
    const forged = sign(
      { sub: 'alice', exp: nowSeconds() + 300 },
      'another-secret-that-is-also-long-enough!!',
    );
    const nobody = sign({ exp: nowSeconds() + 300 });
    for (const [what, token] of [
      ['expired', expired],
      ['forged', forged],
      ['no-sub', nobody],
    ] as const) {
      await expectRefused(b.port, { clientId: `${what}-311`, username: 'alice', password: token }, 4);
      await expectRefused5(b.port, { clientId: `${what}-5`, password: token }, 0x86);
    }
  });

  test('over WebSocket: the token in an Authorization: Bearer header', async () => {
    const b = await jwtBroker();
    const headers = { Authorization: `Bearer ${tokenFor('alice')}` };
    const client = await scope.connect(wsUrl(b), { clientId: 'bearer', wsOptions: { headers } });
    await assertActsAs(client, 'alice');
    const bad = { Authorization: `Bearer ${sign({ sub: 'alice', exp: nowSeconds() + 60 }, 'x'.repeat(40))}` };
    assert.equal(await connackCode(wsUrl(b), { clientId: 'bearer-bad', wsOptions: { headers: bad } }), 4);
    assert.equal(
      await connackCode(wsUrl(b), {
        protocolVersion: 5,
        clientId: 'bearer-bad5',
        wsOptions: { headers: bad },
      }),
      0x86,
    );
  });

  test('over WebSocket: a password in CONNECT comes before the token of the upgrade', async () => {
    const b = await jwtBroker();
    const headers = { Authorization: `Bearer ${tokenFor('alice')}` };
    const forged = sign({ sub: 'alice', exp: nowSeconds() + 60 }, 'x'.repeat(40));
    // The valid upgrade token does not rescue a CONNECT whose own credentials are bad.
    assert.equal(
      await connackCode(wsUrl(b), {
        clientId: 'both',
        username: 'alice',
        password: forged,
        wsOptions: { headers },
      }),
      4,
    );
  });

  test("over WebSocket: the token in the listener's cookie", async () => {
    const b = await jwtBroker();
    const headers = { Cookie: `theme=dark; mqtt_token=${tokenFor('bob')}; other=1` };
    const client = await scope.connect(wsUrl(b), {
      clientId: 'cookie',
      protocolVersion: 5,
      wsOptions: { headers },
    });
    await assertActsAs(client, 'bob', true);
    // A cookie of another name is no token: the client is anonymous, and refused.
    const other = { Cookie: `session=${tokenFor('bob')}` };
    assert.equal(await connackCode(wsUrl(b), { clientId: 'cookie-other', wsOptions: { headers: other } }), 5);
  });

  test("over WebSocket: the token in the listener's query parameter", async () => {
    const b = await jwtBroker();
    const client = await scope.connect(wsUrl(b, `?token=${tokenFor('carol')}`), { clientId: 'query' });
    await assertActsAs(client, 'carol');
    assert.equal(await connackCode(wsUrl(b, `?token=${tokenFor('carol')}x`), { clientId: 'query-bad' }), 4);
  });

  test('expiry: an MQTT 5 client gets DISCONNECT 0x87 when its token expires', async () => {
    const b = await jwtBroker({ clockTolerance: 0 });
    const exp = nowSeconds() + 2;
    const raw = await scope.rawV5(b.port);
    raw.send(connect5({ clientId: 'expiring-5', password: sign({ sub: 'alice', exp }) }));
    const { packet } = await raw.expect('connack');
    assert.equal(packet.reasonCode, 0);
    await expectDisconnect(raw, 0x87, 'token expiry', 5000);
    assert.ok(Date.now() >= exp * 1000, `closed ${exp * 1000 - Date.now()} ms before the token's exp`);
  });

  test('expiry: a 3.1.1 client with an expired token is closed', async () => {
    const b = await jwtBroker({ clockTolerance: 0 });
    const exp = nowSeconds() + 2;
    const raw = await scope.raw(b.port);
    raw.send(connect({ clientId: 'expiring-311', username: '', password: sign({ sub: 'alice', exp }) }));
    await raw.expectBytes(connack(false, 0), 'CONNACK accepted');
    await raw.expectClosedSilently('token expiry', 5000);
    assert.ok(Date.now() >= exp * 1000, `closed ${exp * 1000 - Date.now()} ms before the token's exp`);
  });

  test('MQTT 5 method JWT: re-authentication with a fresh token outlives the first token', async () => {
    const b = await jwtBroker({ clockTolerance: 0 });
    const exp = nowSeconds() + 2;
    const raw = await scope.rawV5(b.port);
    raw.send(
      connect5({
        clientId: 'reauth',
        properties: { authenticationMethod: 'JWT', authenticationData: sign({ sub: 'alice', exp }) },
      }),
    );
    const { packet } = await raw.expect('connack');
    assert.equal(packet.reasonCode, 0);
    assert.equal(packet.properties?.authenticationMethod, 'JWT');
    raw.send(auth5(0x19, { authenticationMethod: 'JWT', authenticationData: tokenFor('alice', 60) }));
    const auth = await raw.expect('auth');
    assert.equal(auth.packet.reasonCode, 0x00);
    assert.equal(auth.packet.properties?.authenticationMethod, 'JWT');
    // Past the first token's exp: still connected, and nothing came meanwhile.
    await elapse(Math.max(0, exp * 1000 - Date.now()) + 700);
    assert.deepEqual(raw.unread(), []);
    raw.send(PINGREQ);
    await raw.expectBytes(PINGRESP, 'PINGRESP after the first token expired');
  });

  test('MQTT 5 method JWT: without a re-authentication the connection ends at exp (0x87)', async () => {
    const b = await jwtBroker({ clockTolerance: 0 });
    const exp = nowSeconds() + 2;
    const raw = await scope.rawV5(b.port);
    const token = sign({ sub: 'alice', exp });
    raw.send(
      connect5({
        clientId: 'method-expiry',
        properties: { authenticationMethod: 'JWT', authenticationData: token },
      }),
    );
    assert.equal((await raw.expect('connack')).packet.reasonCode, 0);
    await expectDisconnect(raw, 0x87, 'token expiry', 5000);
    assert.ok(Date.now() >= exp * 1000, `closed ${exp * 1000 - Date.now()} ms before the token's exp`);
  });

  test('MQTT 5 method JWT: a re-authentication as another user swaps the permissions', async () => {
    const b = await jwtBroker();
    const raw = await scope.rawV5(b.port);
    raw.send(
      connect5({
        clientId: 'swap',
        properties: { authenticationMethod: 'JWT', authenticationData: tokenFor('alice') },
      }),
    );
    assert.equal((await raw.expect('connack')).packet.reasonCode, 0);
    raw.send(subscribe5(1, [{ filter: 'users/alice/#', qos: 1 }]));
    assert.deepEqual((await raw.expect('suback')).packet.granted, [1]);
    raw.send(auth5(0x19, { authenticationMethod: 'JWT', authenticationData: tokenFor('bob') }));
    assert.equal((await raw.expect('auth')).packet.reasonCode, 0);
    // alice's subscription went with alice; bob's tree is now the one allowed.
    const session = b.broker.core.sessions.get('swap');
    assert.equal(session?.subscriptions.has('users/alice/#'), false);
    raw.send(
      subscribe5(2, [
        { filter: 'users/alice/#', qos: 1 },
        { filter: 'users/bob/#', qos: 1 },
      ]),
    );
    assert.deepEqual((await raw.expect('suback')).packet.granted, [0x87, 1]);
  });

  test('MQTT 5 method JWT: a re-authentication with a bad token gets DISCONNECT 0x87', async () => {
    const b = await jwtBroker();
    const raw = await scope.rawV5(b.port);
    raw.send(
      connect5({
        clientId: 'reauth-bad',
        properties: { authenticationMethod: 'JWT', authenticationData: tokenFor('alice') },
      }),
    );
    assert.equal((await raw.expect('connack')).packet.reasonCode, 0);
    const forged = sign({ sub: 'alice', exp: nowSeconds() + 60 }, 'y'.repeat(40));
    raw.send(auth5(0x19, { authenticationMethod: 'JWT', authenticationData: forged }));
    await expectDisconnect(raw, 0x87, 're-authentication with a bad token');
  });

  test('MQTT 5 method JWT: a bad token in CONNECT gets CONNACK 0x86', async () => {
    const b = await jwtBroker();
    const expired = sign({ sub: 'alice', exp: nowSeconds() - 120 });
    await expectRefused5(
      b.port,
      {
        clientId: 'jwt-method-bad',
        properties: { authenticationMethod: 'JWT', authenticationData: expired },
      },
      0x86,
    );
  });

  test('the token and the secret never reach the log', async () => {
    const log = new LogCapture();
    const dir = tempDir();
    const b = await start(
      { jwt: { algorithms: ['HS256'], secret: SECRET }, aclFile: writeUserAcl(dir), logLevel: 'trace' },
      { logger: log.logger },
    );
    const good = tokenFor('alice');
    const forged = sign({ sub: 'alice', exp: nowSeconds() + 60 }, 'z'.repeat(40));
    const client = await scope.connect(b.url, { clientId: 'jwt-log', username: 'u', password: good });
    await assertActsAs(client, 'alice');
    await expectRefused(b.port, { clientId: 'jwt-log-bad', username: 'u', password: forged }, 4);
    await log.waitFor(/token refused/);
    for (const secret of [good, forged, SECRET, good.split('.')[2]!, forged.split('.')[2]!]) {
      assert.ok(!log.text.includes(secret), `a log line contains ${secret}`);
    }
  });
});

describe('TLS client certificate as the username', () => {
  test("certificateUsername 'cn': the certificate's user (device-42) gets that user's permissions", async () => {
    const dir = tempDir();
    const aclFile = join(dir, 'acl');
    writeFileSync(
      aclFile,
      'user device-42\ntopic readwrite devices/device-42/#\nuser admin\ntopic readwrite #\n',
    );
    const tls = listenerOf('tls', { requireClientCertificate: true, certificateUsername: 'cn' });
    const b = await start({ aclFile, listeners: [listenerOf('tcp'), tls] });
    const url = urlOf(addressOf(b.addresses, 'tls'));
    const client = await scope.connect(
      url,
      trustOptions('tls', { clientId: 'cert', ...clientCertificate() }),
    );
    const codes = await subackCodes(client, ['devices/device-42/#', 'devices/other/#']);
    assert.deepEqual(codes, [1, 0x80]);
    await withTimeout(client.publishAsync('devices/device-42/t', '21', { qos: 1 }), WAIT_MS, 'PUBACK');
    assert.equal((await nextMessage(client)).topic, 'devices/device-42/t');
    // The certificate wins over a username in CONNECT: no becoming admin by saying so.
    const claiming = await scope.connect(
      url,
      trustOptions('tls', {
        clientId: 'cert-admin',
        username: 'admin',
        password: 'x',
        ...clientCertificate(),
      }),
    );
    assert.deepEqual(await subackCodes(claiming, ['admin/#', 'devices/device-42/#']), [0x80, 1]);
    // With certificate authentication configured, an anonymous TCP client is refused.
    await expectRefused(b.port, { clientId: 'anon-tcp' }, 5);
  });
});

describe('authenticate hook beside a password file', () => {
  test('the file judges its users; the hook judges everyone else', async () => {
    const dir = tempDir();
    const passwordFile = await writePasswords(join(dir, 'passwd'), { alice: 'alice-pw' });
    const asked: Array<string | undefined> = [];
    const authenticate = (request: AuthenticateRequest) => {
      asked.push(request.username);
      return request.username === 'hookuser' && request.password?.toString() === 'hook-pw';
    };
    const b = await start({ passwordFile }, { hooks: { authenticate } });
    assert.equal(await connackCode(b.url, { clientId: 'alice', username: 'alice', password: 'alice-pw' }), 0);
    // A user in the file is refused by the file, whatever the hook would say.
    await expectRefused(b.port, { clientId: 'alice-bad', username: 'alice', password: 'hook-pw' }, 4);
    assert.deepEqual(asked, [], 'the hook is not asked about users of the file');
    assert.equal(
      await connackCode(b.url, { clientId: 'hookuser', username: 'hookuser', password: 'hook-pw' }),
      0,
    );
    // The hook's false is "not authorized".
    await expectRefused(b.port, { clientId: 'hookuser-bad', username: 'hookuser', password: 'alice-pw' }, 5);
    await expectRefused5(b.port, { clientId: 'nobody', username: 'nobody', password: 'x' }, 0x87);
    assert.deepEqual(asked, ['hookuser', 'hookuser', 'nobody']);
  });
});
