/**
 * Owns everything one test opens — brokers, MQTT.js clients, raw sockets — and closes all of it in
 * `close()`, whatever state the test left it in. Use one per file with `afterEach(() => scope.close())`
 * (or `after` for shared brokers), so a failing test never leaks a socket or a listening port.
 */

import type { IClientOptions, MqttClient } from 'mqtt';
import type { ConfigInput } from '../../src/config/schema.js';
import { startBroker, type TestBroker } from './broker.js';
import { type Connected, connectWithAck, WAIT_MS, withTimeout } from './mqtt.js';
import { type PacketOf, RAW_WAIT_MS, RawClient, type RawConnectOptions, rawConnect } from './raw.js';
import { type RawConnect5Options, rawConnect5 } from './raw5.js';

/** How long cleanup waits for one broker to close before giving up and reporting it. */
const BROKER_CLOSE_MS = 10_000;

export class Scope {
  private readonly brokers: TestBroker[] = [];
  private readonly clients = new Set<MqttClient>();
  private readonly raws = new Set<RawClient>();

  /** Starts a broker (port 0) whose close is idempotent, so a test may close it itself. */
  async broker(overrides: ConfigInput = {}): Promise<TestBroker> {
    const b = await startBroker(overrides);
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

  async connectWithAck(url: string, opts: IClientOptions = {}, timeoutMs = WAIT_MS): Promise<Connected> {
    const c = await connectWithAck(url, opts, timeoutMs);
    this.clients.add(c.client);
    return c;
  }

  async connect(url: string, opts: IClientOptions = {}, timeoutMs = WAIT_MS): Promise<MqttClient> {
    return (await this.connectWithAck(url, opts, timeoutMs)).client;
  }

  /** Opens a raw socket that sends nothing yet. */
  async raw(port: number, timeoutMs = RAW_WAIT_MS): Promise<RawClient> {
    const r = await RawClient.open(port, timeoutMs);
    this.raws.add(r);
    return r;
  }

  /** Opens a raw socket, sends CONNECT, requires CONNACK 0. */
  async rawConnect(
    port: number,
    options: RawConnectOptions,
    timeoutMs = RAW_WAIT_MS,
  ): Promise<{ raw: RawClient; connack: PacketOf<'connack'> }> {
    const r = await rawConnect(port, options, timeoutMs);
    this.raws.add(r.raw);
    return r;
  }

  /** Opens a raw socket that sends nothing yet and decodes what it receives as MQTT 5. */
  async rawV5(port: number, timeoutMs = RAW_WAIT_MS): Promise<RawClient> {
    const r = await RawClient.openV5(port, timeoutMs);
    this.raws.add(r);
    return r;
  }

  /** Opens a raw MQTT 5 socket, sends CONNECT (protocol version 5), requires CONNACK reason code 0x00. */
  async rawConnectV5(
    port: number,
    options: RawConnect5Options,
    timeoutMs = RAW_WAIT_MS,
  ): Promise<{ raw: RawClient; connack: PacketOf<'connack'> }> {
    const r = await rawConnect5(port, options, timeoutMs);
    this.raws.add(r.raw);
    return r;
  }

  /** Closes everything: raw sockets, then clients (forced, no DISCONNECT), then brokers. */
  async close(): Promise<void> {
    const failures: string[] = [];
    for (const r of this.raws) r.destroy();
    this.raws.clear();
    const clients = [...this.clients];
    this.clients.clear();
    await Promise.all(
      clients.map((c) =>
        withTimeout(c.endAsync(true), WAIT_MS, `closing client '${c.options.clientId}'`).catch(
          (e: unknown) => {
            failures.push((e as Error).message);
          },
        ),
      ),
    );
    const brokers = this.brokers.splice(0);
    await Promise.all(
      brokers.map((b) =>
        withTimeout(b.close(), BROKER_CLOSE_MS, `closing broker on port ${b.port}`).catch((e: unknown) => {
          failures.push((e as Error).message);
        }),
      ),
    );
    if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  }
}
