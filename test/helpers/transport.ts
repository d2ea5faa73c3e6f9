/**
 * Transports for tests: the four listener types with the TLS fixtures filled in, the URL and MQTT.js
 * options that reach each, and the broker calls the transport suites need beyond `startBroker`.
 *
 * Fixture files are found from the repository root: the first directory, walking up from this compiled
 * file, whose package.json is named "midge" (this works from dist/test/helpers and from test/helpers);
 * a private build outside the repository (e.g. /tmp/tr-build) falls back to the same walk from
 * `process.cwd()`, since `npm test` and `node --test` are run from the repository root.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IClientOptions } from 'mqtt';
import type WebSocket from 'ws';
import type { ListenerConfig } from '../../src/config/schema.js';
import type { Broker, ListenerAddress } from '../../src/index.js';

export const TRANSPORTS = ['tcp', 'tls', 'ws', 'wss'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** A `listeners` entry as a test writes it: `type` plus any keys. */
export type ListenerInput = Partial<ListenerConfig> & { type: Transport };

function isMidgeRoot(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'midge';
  } catch {
    return false;
  }
}

function findRootFrom(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (isMidgeRoot(dir)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The repository root (see the note at the top of this file). */
export const REPO_ROOT: string = (() => {
  const root =
    findRootFrom(path.dirname(fileURLToPath(import.meta.url))) ?? findRootFrom(path.resolve(process.cwd()));
  if (root === undefined) {
    throw new Error('cannot find the midge repository root (run the tests from the repository root)');
  }
  return root;
})();

const TLS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'tls');

/** Absolute paths of the TLS fixtures (test/fixtures/tls/README.md). */
export const TLS_FIXTURES = {
  dir: TLS_DIR,
  ca: path.join(TLS_DIR, 'ca.pem'),
  server: path.join(TLS_DIR, 'server.pem'),
  serverKey: path.join(TLS_DIR, 'server-key.pem'),
  server2: path.join(TLS_DIR, 'server2.pem'),
  server2Key: path.join(TLS_DIR, 'server2-key.pem'),
  client: path.join(TLS_DIR, 'client.pem'),
  clientKey: path.join(TLS_DIR, 'client-key.pem'),
} as const;

/** The contents of one fixture file. */
export function fixture(name: keyof Omit<typeof TLS_FIXTURES, 'dir'>): Buffer {
  return readFileSync(TLS_FIXTURES[name]);
}

export function isSecure(type: Transport): boolean {
  return type === 'tls' || type === 'wss';
}

export function isWebSocket(type: Transport): boolean {
  return type === 'ws' || type === 'wss';
}

/** A loopback listener on an ephemeral port; tls/wss get the fixture server certificate, key and CA. */
export function listenerOf(type: Transport, extra: Partial<ListenerConfig> = {}): ListenerInput {
  const base: ListenerInput = { type, host: '127.0.0.1', port: 0 };
  if (isSecure(type)) {
    base.cert = TLS_FIXTURES.server;
    base.key = TLS_FIXTURES.serverKey;
    base.ca = TLS_FIXTURES.ca;
  }
  return { ...base, ...extra };
}

const SCHEME: Record<Transport, string> = { tcp: 'mqtt', tls: 'mqtts', ws: 'ws', wss: 'wss' };

/** The URL MQTT.js connects to for a bound listener; WebSocket listeners get `wsPath` (default /mqtt). */
export function urlOf(address: ListenerAddress, wsPath = '/mqtt'): string {
  const type = address.type as Transport;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const base = `${SCHEME[type]}://${host}:${address.port}`;
  return isWebSocket(type) ? `${base}${wsPath}` : base;
}

/**
 * MQTT.js options that make a tls/wss connection trust only the fixture CA and check the server's
 * name ('localhost', which the fixture certificate carries as a SAN beside IP 127.0.0.1). For wss the
 * name goes through `wsOptions`, which MQTT.js hands to ws (and so to tls.connect) as is.
 */
export function trustOptions(type: Transport, extra: IClientOptions = {}): IClientOptions {
  if (!isSecure(type)) return extra;
  const options: IClientOptions = {
    ca: fixture('ca'),
    rejectUnauthorized: true,
    servername: 'localhost',
    ...extra,
  };
  if (type === 'wss') {
    // ws passes unknown client options on to https.request and so to tls.connect.
    const wsOptions: WebSocket.ClientOptions & { servername: string } = {
      servername: 'localhost',
      ...((extra.wsOptions ?? {}) as WebSocket.ClientOptions),
    };
    options.wsOptions = wsOptions;
  }
  return options;
}

/** The client certificate (CN=device-42) as MQTT.js / tls.connect options. */
export function clientCertificate(): { cert: Buffer; key: Buffer } {
  return { cert: fixture('client'), key: fixture('clientKey') };
}

/** The address of the `index`-th listener of `type` (config order). */
export function addressOf(
  addresses: readonly ListenerAddress[],
  type: Transport,
  index = 0,
): ListenerAddress {
  const found = addresses.filter((a) => a.type === type)[index];
  if (!found) {
    throw new Error(`no ${type} listener #${index} among ${addresses.map((a) => a.type).join(', ')}`);
  }
  return found;
}

/** `broker.reloadCertificates()`, failing clearly while the broker does not have it. */
export async function reloadCertificates(broker: Broker): Promise<void> {
  const reload = (broker as unknown as { reloadCertificates?: () => Promise<void> }).reloadCertificates;
  if (typeof reload !== 'function') throw new Error('broker.reloadCertificates() does not exist');
  await reload.call(broker);
}
