/**
 * Everything a transport test opens, closed in `close()` whatever state the test left it in: brokers
 * (started with hooks, which `Scope.broker` does not take), MQTT.js and raw TCP clients (through a
 * `Scope`), raw WebSocket clients, TLS / TCP sockets opened by hand, and temporary directories.
 * Use one per file with `afterEach(() => scope.close())`.
 *
 * `AuthRecorder` is an authenticate hook that accepts everyone and remembers what it was shown.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { ConfigInput } from '../../src/config/schema.js';
import type { AuthenticateRequest, BrokerOptions } from '../../src/index.js';
import { startBroker, type TestBroker } from './broker.js';
import { type Connected, WAIT_MS, withTimeout } from './mqtt.js';
import type { RawClient } from './raw.js';
import { Scope } from './scope.js';
import { type WsOpenOptions, WsRawClient } from './ws-raw.js';

const BROKER_CLOSE_MS = 10_000;

export class TransportScope {
  private readonly inner = new Scope();
  private readonly brokers: TestBroker[] = [];
  private readonly wsClients = new Set<WsRawClient>();
  private readonly sockets = new Set<net.Socket>();
  private readonly dirs: string[] = [];

  /** Starts a broker (see startBroker) whose close is idempotent, so a test may close it itself. */
  async broker(overrides: ConfigInput = {}, options: BrokerOptions = {}): Promise<TestBroker> {
    const b = await startBroker(overrides, options);
    let closing: Promise<void> | undefined;
    const tracked: TestBroker = {
      ...b,
      close: () => {
        closing ??= b.close();
        return closing;
      },
    };
    this.brokers.push(tracked);
    return tracked;
  }

  connectWithAck(url: string, opts: IClientOptions = {}, timeoutMs = WAIT_MS): Promise<Connected> {
    return this.inner.connectWithAck(url, opts, timeoutMs);
  }

  connect(url: string, opts: IClientOptions = {}, timeoutMs = WAIT_MS): Promise<MqttClient> {
    return this.inner.connect(url, opts, timeoutMs);
  }

  /** A raw TCP client to 127.0.0.1:`port` that sends nothing yet. */
  raw(port: number, timeoutMs = WAIT_MS): Promise<RawClient> {
    return this.inner.raw(port, timeoutMs);
  }

  /** Opens a raw WebSocket client (rejects if the upgrade is refused). */
  async ws(url: string, options: WsOpenOptions = {}): Promise<WsRawClient> {
    const c = await WsRawClient.open(url, options);
    this.wsClients.add(c);
    return c;
  }

  /** Tracks a socket the test opened itself, so it is destroyed at cleanup. */
  track<S extends net.Socket>(socket: S): S {
    this.sockets.add(socket);
    return socket;
  }

  /**
   * tls.connect to 127.0.0.1:`port` (trusting nothing unless `options` say so); resolves after the
   * handshake, rejects with the handshake error, or if it neither completes nor fails in time.
   */
  tlsConnect(port: number, options: tls.ConnectionOptions = {}, timeoutMs = WAIT_MS): Promise<tls.TLSSocket> {
    const socket = this.track(tls.connect({ host: '127.0.0.1', port, ...options }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new Error(`TLS handshake with port ${port} neither completed nor failed within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        socket.on('error', () => {}); // a later reset is the test's business, not an uncaught error
        resolve(socket);
      });
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.once('error', onError);
    });
  }

  /** A plain TCP socket to 127.0.0.1:`port`, connected. */
  tcpConnect(port: number, timeoutMs = WAIT_MS): Promise<net.Socket> {
    const socket = this.track(net.connect({ host: '127.0.0.1', port }));
    socket.on('error', () => {}); // resets are expected in these tests; they show up as 'close'
    return withTimeout(
      new Promise<net.Socket>((resolve) => socket.once('connect', () => resolve(socket))),
      timeoutMs,
      `TCP connect to port ${port}`,
    );
  }

  /** A fresh temporary directory, removed at cleanup. */
  async tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'midge-transport-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Closes everything: raw WebSockets and sockets, then clients, then brokers, then directories. */
  async close(): Promise<void> {
    const failures: string[] = [];
    for (const c of this.wsClients) c.terminate();
    this.wsClients.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    try {
      await this.inner.close();
    } catch (e) {
      failures.push((e as Error).message);
    }
    const brokers = this.brokers.splice(0);
    await Promise.all(
      brokers.map((b) =>
        withTimeout(b.close(), BROKER_CLOSE_MS, `closing broker on port ${b.port}`).catch((e: unknown) => {
          failures.push((e as Error).message);
        }),
      ),
    );
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  }
}

/** An authenticate hook that accepts every client and keeps each request, by client id. */
export class AuthRecorder {
  readonly requests: AuthenticateRequest[] = [];
  readonly hooks: NonNullable<BrokerOptions['hooks']> = {
    authenticate: (request) => {
      this.requests.push(request);
      return true;
    },
  };

  /** The last request the hook saw from `clientId`; throws if it saw none. */
  of(clientId: string): AuthenticateRequest {
    for (let i = this.requests.length - 1; i >= 0; i--) {
      const r = this.requests[i]!;
      if (r.clientId === clientId) return r;
    }
    throw new Error(
      `the authenticate hook saw no CONNECT from '${clientId}' (saw: ${this.requests.map((r) => r.clientId).join(', ') || 'none'})`,
    );
  }
}
