/**
 * TLS on the tls and wss listeners: the minimum protocol version (TLS 1.2), client certificates
 * (required or optional, checked against `ca`), the certificate's CN or subject as the MQTT username,
 * and `reloadCertificates()` swapping the server certificate without dropping connections.
 *
 * Clients trust only the fixture CA (test/fixtures/tls) and check the name 'localhost'. Each test
 * starts its own broker.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import tls from 'node:tls';
import type { ListenerConfig } from '../../src/config/schema.js';
import { assertRoundTrip, withTimeout } from '../helpers/mqtt.js';
import {
  addressOf,
  clientCertificate,
  fixture,
  listenerOf,
  reloadCertificates,
  TLS_FIXTURES,
  trustOptions,
  urlOf,
} from '../helpers/transport.js';
import { AuthRecorder, TransportScope } from '../helpers/transport-scope.js';

const scope = new TransportScope();
afterEach(() => scope.close());

const SECURE = ['tls', 'wss'] as const;

/** What tls.connect needs to trust the broker: the fixture CA and the name on its certificate. */
const TRUST: tls.ConnectionOptions = { ca: fixture('ca'), servername: 'localhost', rejectUnauthorized: true };

/** A client that speaks only TLS 1.1 (OpenSSL 3 needs security level 0 for it). */
const TLS11_ONLY: tls.ConnectionOptions = {
  ...TRUST,
  minVersion: 'TLSv1.1',
  maxVersion: 'TLSv1.1',
  ciphers: 'DEFAULT@SECLEVEL=0',
};

function fingerprintOf(pem: Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

/** A broker with one tls and one wss listener, both configured with `extra`. */
async function secureBroker(extra: Partial<ListenerConfig> = {}, auth?: AuthRecorder) {
  const b = await scope.broker(
    { listeners: [listenerOf('tls', extra), listenerOf('wss', extra)] },
    auth ? { hooks: auth.hooks } : {},
  );
  return {
    b,
    port: (type: 'tls' | 'wss') => addressOf(b.addresses, type).port,
    url: (type: 'tls' | 'wss') => urlOf(addressOf(b.addresses, type)),
  };
}

/** Resolves with the error of a TLS connection that must fail (handshake, or right after it in TLS 1.3). */
async function expectTlsFailure(port: number, options: tls.ConnectionOptions, what: string): Promise<Error> {
  let socket: tls.TLSSocket;
  try {
    socket = await scope.tlsConnect(port, options);
  } catch (e) {
    return e as Error;
  }
  // TLS 1.3: the server's verdict on the client arrives after the client's handshake is done.
  return withTimeout(
    new Promise<Error>((resolve) => {
      socket.once('error', (e) => resolve(e));
      socket.once('close', () => resolve(new Error('closed by the server')));
      socket.resume();
    }),
    3000,
    `${what}: the connection should have failed`,
  );
}

describe('TLS: protocol versions', () => {
  test('control: this client really can speak TLS 1.1 (to a server that allows it)', async () => {
    const server = tls.createServer(
      {
        cert: fixture('server'),
        key: fixture('serverKey'),
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      (s) => s.end(),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      assert.ok(address !== null && typeof address === 'object');
      const socket = await scope.tlsConnect(address.port, TLS11_ONLY);
      assert.equal(socket.getProtocol(), 'TLSv1.1');
      socket.destroy();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  for (const type of SECURE) {
    test(`${type}: a TLS 1.1 client is refused (minimum TLS 1.2)`, async () => {
      const s = await secureBroker();
      await assert.rejects(scope.tlsConnect(s.port(type), TLS11_ONLY), `${type} accepted TLS 1.1`);
    });

    test(`${type}: a TLS 1.2 client is accepted`, async () => {
      const s = await secureBroker();
      const socket = await scope.tlsConnect(s.port(type), { ...TRUST, maxVersion: 'TLSv1.2' });
      assert.equal(socket.getProtocol(), 'TLSv1.2');
      assert.equal(socket.authorized, true);
    });
  }
});

describe('TLS: client certificates', () => {
  for (const type of SECURE) {
    test(`${type} with requireClientCertificate: a client without a certificate cannot connect`, async () => {
      const s = await secureBroker({ requireClientCertificate: true });
      await assert.rejects(
        scope.connectWithAck(s.url(type), trustOptions(type, { clientId: `${type}-no-cert` })),
        'MQTT.js connected without a client certificate',
      );
      // TLS 1.2 makes the refusal part of the handshake itself.
      await expectTlsFailure(
        s.port(type),
        { ...TRUST, maxVersion: 'TLSv1.2' },
        'TLS 1.2 without a certificate',
      );
    });

    test(`${type} with requireClientCertificate: the fixture client certificate connects`, async () => {
      const s = await secureBroker({ requireClientCertificate: true });
      const client = await scope.connect(
        s.url(type),
        trustOptions(type, { clientId: `${type}-with-cert`, ...clientCertificate() }),
      );
      await assertRoundTrip(client, `${type}/with-cert`);
    });

    test(`${type} by default: a certificate is optional`, async () => {
      const s = await secureBroker();
      const without = await scope.connect(s.url(type), trustOptions(type, { clientId: `${type}-opt-none` }));
      await assertRoundTrip(without, `${type}/opt-none`);
      const withCert = await scope.connect(
        s.url(type),
        trustOptions(type, { clientId: `${type}-opt-cert`, ...clientCertificate() }),
      );
      await assertRoundTrip(withCert, `${type}/opt-cert`);
    });

    test(`${type} certificateUsername 'cn': the hook sees the CN as the username`, async () => {
      const auth = new AuthRecorder();
      const s = await secureBroker({ requireClientCertificate: true, certificateUsername: 'cn' }, auth);
      await scope.connect(
        s.url(type),
        trustOptions(type, { clientId: `${type}-cn`, ...clientCertificate() }),
      );
      const seen = auth.of(`${type}-cn`);
      assert.equal(seen.username, 'device-42');
      assert.equal(seen.transport, type);
    });

    test(`${type} certificateUsername 'subject': the hook sees the subject, CN included`, async () => {
      const auth = new AuthRecorder();
      const s = await secureBroker({ requireClientCertificate: true, certificateUsername: 'subject' }, auth);
      await scope.connect(
        s.url(type),
        trustOptions(type, { clientId: `${type}-subject`, ...clientCertificate() }),
      );
      const username = auth.of(`${type}-subject`).username ?? '';
      assert.ok(username.includes('CN=device-42'), `username '${username}' contains CN=device-42`);
      assert.ok(username.includes('O=midge-test'), `username '${username}' contains O=midge-test`);
    });

    test(`${type} certificateUsername 'none' (default): the username is the client's own`, async () => {
      const auth = new AuthRecorder();
      const s = await secureBroker({ requireClientCertificate: true }, auth);
      await scope.connect(
        s.url(type),
        trustOptions(type, { clientId: `${type}-none`, username: 'alice', ...clientCertificate() }),
      );
      assert.equal(auth.of(`${type}-none`).username, 'alice');
    });
  }
});

describe('TLS: reloadCertificates()', () => {
  test('new connections get the new certificate; open ones carry on', async () => {
    // The listeners read a temporary copy of pair 1, which the test then overwrites with pair 2.
    const dir = await scope.tempDir();
    const cert = path.join(dir, 'server.pem');
    const key = path.join(dir, 'server-key.pem');
    await copyFile(TLS_FIXTURES.server, cert);
    await copyFile(TLS_FIXTURES.serverKey, key);
    const s = await secureBroker({ cert, key });
    const before = fingerprintOf(fixture('server'));
    const after = fingerprintOf(fixture('server2'));
    assert.notEqual(before, after, 'test setup: the two server certificates differ');

    const old = {
      tls: await scope.connect(s.url('tls'), trustOptions('tls', { clientId: 'reload-old-tls' })),
      wss: await scope.connect(s.url('wss'), trustOptions('wss', { clientId: 'reload-old-wss' })),
    };
    for (const type of SECURE) {
      const socket = await scope.tlsConnect(s.port(type), TRUST);
      assert.equal(socket.getPeerCertificate().fingerprint256, before, `${type} serves pair 1 at first`);
      socket.destroy();
    }

    await copyFile(TLS_FIXTURES.server2, cert);
    await copyFile(TLS_FIXTURES.server2Key, key);
    await withTimeout(reloadCertificates(s.b.broker), 3000, 'reloadCertificates()');

    for (const type of SECURE) {
      await assertRoundTrip(old[type], `reload/old/${type}`);
      const socket = await scope.tlsConnect(s.port(type), TRUST);
      const peer = socket.getPeerCertificate();
      assert.equal(peer.fingerprint256, after, `${type} serves pair 2 after the reload`);
      assert.equal(peer.serialNumber.toUpperCase(), '1002');
      socket.destroy();
      const fresh = await scope.connect(s.url(type), trustOptions(type, { clientId: `reload-new-${type}` }));
      await assertRoundTrip(fresh, `reload/new/${type}`);
    }
  });

  test('a reload that cannot read the files rejects and leaves the old certificate serving', async () => {
    const dir = await scope.tempDir();
    const cert = path.join(dir, 'server.pem');
    const key = path.join(dir, 'server-key.pem');
    await copyFile(TLS_FIXTURES.server, cert);
    await copyFile(TLS_FIXTURES.serverKey, key);
    const s = await secureBroker({ cert, key });
    // A certificate whose key does not match: pair 2's certificate with pair 1's key.
    await copyFile(TLS_FIXTURES.server2, cert);
    await assert.rejects(withTimeout(reloadCertificates(s.b.broker), 3000, 'reloadCertificates()'));
    for (const type of SECURE) {
      const socket = await scope.tlsConnect(s.port(type), TRUST);
      assert.equal(socket.getPeerCertificate().fingerprint256, fingerprintOf(fixture('server')));
      socket.destroy();
    }
  });
});
