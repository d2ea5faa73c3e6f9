/**
 * MQTT.js clients for integration tests, and bounded waits.
 *
 * Every client gets an inbox the moment it is created (before CONNECT is even sent), so messages that a
 * persistent session delivers right after CONNACK are never missed; `nextMessage` reads from it. Every
 * wait here has a timeout and rejects with a message saying what it waited for.
 *
 * Ordering note for tests: MQTT.js emits a QoS 0/1 message as soon as the PUBLISH arrives, but a QoS 2
 * message only when the broker's PUBREL arrives. So a "marker" that must arrive after a message under
 * test has to be delivered at the same QoS as that message.
 */

import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import mqtt from 'mqtt';

/** Default bound for waiting on one event, in milliseconds. */
export const WAIT_MS = 3000;

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

type Listener = (...args: unknown[]) => void;

/** Anything with Node's `once`/`removeListener` (EventEmitter, MqttClient, net.Socket). */
export interface Emitter {
  once(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
}

/** The arguments of the next `event` on `emitter`; rejects after `timeoutMs`. */
export function waitFor(emitter: Emitter, event: string, timeoutMs = WAIT_MS): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}

export interface Message {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** Messages a client received and the test has not read yet. */
class Inbox {
  private readonly queue: Message[] = [];
  private waiter: { resolve: (m: Message) => void; timer: NodeJS.Timeout } | undefined;

  push(m: Message): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(m);
    } else {
      this.queue.push(m);
    }
  }

  next(timeoutMs: number, who: string): Promise<Message> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.waiter) return Promise.reject(new Error(`${who}: only one nextMessage() may wait at a time`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`${who}: no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, timer };
    });
  }

  get size(): number {
    return this.queue.length;
  }
}

const inboxes = new WeakMap<MqttClient, Inbox>();
const errorsOf = new WeakMap<MqttClient, Error[]>();

function nameOf(client: MqttClient): string {
  return `client '${client.options.clientId ?? '?'}'`;
}

function inboxOf(client: MqttClient): Inbox {
  const inbox = inboxes.get(client);
  if (!inbox) throw new Error(`${nameOf(client)} was not created by test/helpers/mqtt.ts`);
  return inbox;
}

/** The next message `client` received (already buffered, or the next to come). */
export function nextMessage(client: MqttClient, timeoutMs = WAIT_MS): Promise<Message> {
  return inboxOf(client).next(timeoutMs, nameOf(client));
}

/** The next `count` messages, each bounded by `timeoutMs`. */
export async function nextMessages(
  client: MqttClient,
  count: number,
  timeoutMs = WAIT_MS,
): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < count; i++) out.push(await nextMessage(client, timeoutMs));
  return out;
}

/** Reads messages until one satisfies `match`; returns it and the ones read before it. */
export async function messagesUntil(
  client: MqttClient,
  match: (m: Message) => boolean,
  timeoutMs = WAIT_MS,
): Promise<{ match: Message; before: Message[] }> {
  const before: Message[] = [];
  for (;;) {
    const m = await nextMessage(client, timeoutMs);
    if (match(m)) return { match: m, before };
    before.push(m);
  }
}

/** Number of messages received and not yet read. */
export function unreadCount(client: MqttClient): number {
  return inboxOf(client).size;
}

/** Errors MQTT.js emitted on this client (kept so an unhandled 'error' never crashes the test process). */
export function clientErrors(client: MqttClient): readonly Error[] {
  return errorsOf.get(client) ?? [];
}

export interface Connected {
  client: MqttClient;
  connack: IConnackPacket;
}

/**
 * Connects with MQTT.js (3.1.1, no reconnect unless `opts` says otherwise) and resolves with the client
 * and its CONNACK. Rejects — and closes the client — on a refused CONNACK, a close, or a timeout.
 */
export function connectWithAck(
  url: string,
  opts: IClientOptions = {},
  timeoutMs = WAIT_MS,
): Promise<Connected> {
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    ...opts,
  });
  const inbox = new Inbox();
  inboxes.set(client, inbox);
  const errors: Error[] = [];
  errorsOf.set(client, errors);
  client.on('error', (e) => errors.push(e));
  client.on('message', (topic, payload, packet) => inbox.push({ topic, payload, packet }));
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    };
    const fail = (e: Error) => {
      done();
      client.end(true);
      reject(e);
    };
    const onConnect = (connack: IConnackPacket) => {
      done();
      resolve({ client, connack });
    };
    const onError = (e: Error) => fail(new Error(`${nameOf(client)}: connect failed: ${e.message}`));
    const onClose = () => fail(new Error(`${nameOf(client)}: connection closed before CONNACK`));
    const timer = setTimeout(
      () => fail(new Error(`${nameOf(client)}: no CONNACK within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** `connectWithAck` without the CONNACK. */
export async function connect(
  url: string,
  opts: IClientOptions = {},
  timeoutMs = WAIT_MS,
): Promise<MqttClient> {
  return (await connectWithAck(url, opts, timeoutMs)).client;
}

/** Resolves when `client`'s connection has closed (at once if it already has). */
export function waitClientClosed(client: MqttClient, timeoutMs = WAIT_MS): Promise<void> {
  if (!client.connected && client.stream?.destroyed) return Promise.resolve();
  return waitFor(client, 'close', timeoutMs).then(
    () => undefined,
    () => {
      throw new Error(`${nameOf(client)}: connection still open after ${timeoutMs} ms`);
    },
  );
}

/**
 * Proves the client still works end to end: subscribes to a private topic, publishes to it at QoS 1 and
 * waits for the message to come back. Any message already unread must be read by the caller first.
 */
export async function assertRoundTrip(client: MqttClient, topic: string, timeoutMs = WAIT_MS): Promise<void> {
  const payload = `ping-${Math.random().toString(36).slice(2)}`;
  await withTimeout(
    client.subscribeAsync(topic, { qos: 1 }),
    timeoutMs,
    `${nameOf(client)} SUBSCRIBE ${topic}`,
  );
  await withTimeout(client.publishAsync(topic, payload, { qos: 1 }), timeoutMs, `${nameOf(client)} PUBLISH`);
  const { match } = await messagesUntil(
    client,
    (m) => m.topic === topic && m.payload.toString() === payload,
    timeoutMs,
  );
  if (match.payload.toString() !== payload) throw new Error('round trip returned the wrong payload');
}

/** SUBACK codes for `filters` (MQTT.js rejects a SUBACK with a failure code; the codes are in the error). */
export async function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    const granted = await withTimeout(client.subscribeAsync(filters, { qos: 1 }), WAIT_MS, 'SUBACK');
    return granted.map((g) => g.qos);
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw error;
    return granted;
  }
}
