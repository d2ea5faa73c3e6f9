/**
 * The dashboard's own MQTT connection: MQTT 5 over WebSocket to the broker that serves the page, clean
 * session, reconnecting with exponential backoff. It subscribes to $SYS (Overview, live client events)
 * and, once the Topics page asks for it, to `#` (the topic tree); each subscription's SUBACK says
 * whether this user may read it.
 */
import type { Credentials } from './api';
import { mqttCredentials } from './api';
import { displayProperties, keepPayload, nextMessageId, type QoS } from './message';
import { connectMqtt, errorText, type MqttClient, randomId, reasonText, subackReason } from './mqtt';
import { Observable } from './observable';
import { EVENTS_TOPIC, SYS_PREFIX, SysStore } from './sys';
import { TopicStore } from './topics';

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Where a subscription stands: not asked, waiting for SUBACK, granted, or refused (with why). */
export type Access =
  | { state: 'idle' }
  | { state: 'pending' }
  | { state: 'granted'; qos: number }
  | { state: 'denied'; reason: string };

export interface ClientEvent {
  event: 'connected' | 'disconnected';
  clientId: string;
  username: string | null;
  address: string | null;
  transport: string | null;
  protocolVersion: number | null;
  at: number;
  reason?: string;
  will?: {
    topic: string;
    payload: string;
    payloadEncoding?: 'base64' | 'utf8';
    retain?: boolean;
    qos?: number;
  };
}

const SYS_FILTER = `${SYS_PREFIX}#`;
const MAX_EVENTS = 200;

export class DashboardLink extends Observable {
  state: LinkState = 'connecting';
  /** The last connection error, shown beside the status. */
  error: string | null = null;
  /** When the current state began (ms). */
  since = Date.now();
  nextRetryAt: number | null = null;
  readonly clientId = randomId('midge-dashboard-');
  sysAccess: Access = { state: 'idle' };
  topicsAccess: Access = { state: 'idle' };
  readonly sys = new SysStore();
  readonly topics = new TopicStore();
  /** Live client events, newest last. */
  readonly events: ClientEvent[] = [];
  private readonly eventListeners = new Set<(e: ClientEvent) => void>();
  private client: MqttClient | null = null;
  private wantTopics = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly credentials: Credentials | null,
  ) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.client?.end(true);
    this.client = null;
    this.sys.dispose();
    this.topics.dispose();
    this.setState('closed');
  }

  /** Reconnect now (the status button). */
  retryNow(): void {
    if (this.state === 'connected' || this.stopped) return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.open();
  }

  onEvent(listener: (e: ClientEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Subscribe to `#` now and after every reconnect (the Topics page). */
  enableTopics(): void {
    if (this.wantTopics) return;
    this.wantTopics = true;
    if (this.state === 'connected') this.subscribeTopics();
  }

  private setState(state: LinkState, error: string | null = this.error): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.error = error;
    this.changed();
  }

  private open(): void {
    this.client?.end(true);
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    this.nextRetryAt = null;
    const client = connectMqtt(this.url, {
      protocolVersion: 5,
      clientId: this.clientId,
      clean: true,
      keepalive: 60,
      // Plain timers: MQTT.js's default runs them in a blob: Worker, which the broker's
      // Content-Security-Policy (default-src 'self') forbids.
      timerVariant: 'native',
      reconnectPeriod: 0, // our own backoff (below)
      connectTimeout: 10_000,
      resubscribe: false, // subscriptions are made again on every connect, to read each SUBACK
      ...mqttCredentials(this.credentials),
    });
    this.client = client;
    client.on('connect', () => {
      if (client !== this.client) return;
      this.attempt = 0;
      this.sys.resetRates();
      this.setState('connected', null);
      this.subscribeSys(client);
      if (this.wantTopics) this.subscribeTopics();
    });
    client.on('message', (topic, payload, packet) => {
      if (client !== this.client) return;
      this.dispatch(topic, payload, packet.qos as QoS, packet.retain, packet.properties);
    });
    client.on('error', (error) => {
      if (client !== this.client) return;
      this.error = errorText(error);
      this.changed();
    });
    client.on('disconnect', (packet) => {
      if (client !== this.client) return;
      this.error = `The broker closed the connection: ${reasonText(packet.reasonCode)}`;
      this.changed();
    });
    client.on('close', () => {
      if (client !== this.client || this.stopped) return;
      client.end(true);
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.attempt++;
    // 1 s, 2 s, 4 s ... 30 s, with ±20% jitter so many dashboards do not come back at once.
    const base = Math.min(30_000, 1000 * 2 ** Math.min(this.attempt - 1, 5));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.nextRetryAt = Date.now() + delay;
    if (this.sysAccess.state === 'pending') this.sysAccess = { state: 'idle' };
    if (this.topicsAccess.state === 'pending') this.topicsAccess = { state: 'idle' };
    this.setState('reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.open();
    }, delay);
  }

  private subscribeSys(client: MqttClient): void {
    this.sysAccess = { state: 'pending' };
    this.changed();
    client.subscribe(SYS_FILTER, { qos: 0 }, (err, granted) => {
      if (client !== this.client) return;
      const code = granted?.[0]?.qos;
      this.sysAccess =
        err || code === undefined || code >= 0x80
          ? { state: 'denied', reason: subackReason(err, code) }
          : { state: 'granted', qos: code };
      this.changed();
    });
  }

  private subscribeTopics(): void {
    const client = this.client;
    if (client === null) return;
    this.topicsAccess = { state: 'pending' };
    this.changed();
    // Retain As Published: a retained publish is seen as retained, so the tree knows each topic's
    // retained value (and when it is cleared).
    client.subscribe('#', { qos: 0, rap: true }, (err, granted) => {
      if (client !== this.client) return;
      const code = granted?.[0]?.qos;
      if (err || code === undefined || code >= 0x80) {
        this.topicsAccess = { state: 'denied', reason: subackReason(err, code) };
      } else {
        this.topicsAccess = { state: 'granted', qos: code };
        this.topics.subscribed();
      }
      this.changed();
    });
  }

  private dispatch(
    topic: string,
    payload: Uint8Array,
    qos: QoS,
    retain: boolean,
    properties: Record<string, unknown> | undefined,
  ): void {
    if (topic.startsWith('$SYS/')) {
      if (topic === EVENTS_TOPIC) {
        this.receiveEvent(payload);
        return;
      }
      this.sys.receive(topic, new TextDecoder().decode(payload), retain);
      return;
    }
    this.topics.receive({
      id: nextMessageId(),
      at: Date.now(),
      topic,
      qos,
      retain,
      payload: keepPayload(payload),
      size: payload.length,
      properties: displayProperties(properties),
    });
  }

  private receiveEvent(payload: Uint8Array): void {
    let event: ClientEvent;
    try {
      event = JSON.parse(new TextDecoder().decode(payload)) as ClientEvent;
    } catch {
      return;
    }
    if (typeof event !== 'object' || event === null || typeof event.clientId !== 'string') return;
    if (typeof event.at !== 'number') event.at = Date.now();
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    for (const listener of this.eventListeners) listener(event);
    this.changed();
  }
}
