/**
 * The Client console's own MQTT connection (separate from the dashboard's): connect with any
 * credentials and options, subscribe and unsubscribe, publish with MQTT 5 properties, and a bounded log
 * of what was received and sent. Kept outside the page so it survives navigating away and back.
 */
import {
  displayProperties,
  keepPayload,
  type Message,
  type MessageProperties,
  nextMessageId,
  payloadSize,
  type QoS,
} from './message';
import {
  connectMqtt,
  errorText,
  type IClientOptions,
  type IClientPublishOptions,
  type MqttClient,
  randomId,
  reasonText,
  subackReason,
} from './mqtt';
import { Observable } from './observable';

export const MAX_LOG = 500;

export type ConsoleState = 'disconnected' | 'connecting' | 'connected';

export interface ConnectSettings {
  url: string;
  clientId: string;
  /** Use the dashboard login's username and password. */
  useLogin: boolean;
  username: string;
  password: string;
  protocolVersion: 4 | 5;
  clean: boolean;
  keepalive: number;
  /** MQTT 5: seconds the session outlives the connection (0: ends with it). */
  sessionExpiry: number;
}

export interface SubscribeSettings {
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export type PayloadEncoding = 'text' | 'hex' | 'base64';

export interface PublishSettings {
  topic: string;
  payload: string;
  encoding: PayloadEncoding;
  qos: QoS;
  retain: boolean;
  contentType: string;
  /** Seconds; empty: none */
  messageExpiry: string;
  responseTopic: string;
  correlationData: string;
  payloadFormatUtf8: boolean;
  userProperties: { key: string; value: string }[];
}

export interface ConsoleSubscription extends SubscribeSettings {
  state: 'pending' | 'granted' | 'denied';
  grantedQos?: number;
  reason?: string;
}

export interface LogEntry extends Message {
  direction: 'in' | 'out';
  /** Outgoing: what became of it (acknowledged, refused, ...). */
  status?: string;
  failed?: boolean;
  dup?: boolean;
}

export class ConsoleStore extends Observable {
  state: ConsoleState = 'disconnected';
  error: string | null = null;
  /** The settings of the connection now open (or last tried). */
  active: ConnectSettings | null = null;
  subscriptions: ConsoleSubscription[] = [];
  log: LogEntry[] = [];
  /** Form drafts, so what was typed survives leaving the page. */
  connectDraft: ConnectSettings | null = null;
  subscribeDraft: SubscribeSettings = {
    filter: '',
    qos: 0,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
  };
  publishDraft: PublishSettings = {
    topic: '',
    payload: '',
    encoding: 'text',
    qos: 0,
    retain: false,
    contentType: '',
    messageExpiry: '',
    responseTopic: '',
    correlationData: '',
    payloadFormatUtf8: false,
    userProperties: [],
  };
  private client: MqttClient | null = null;

  defaultClientId(): string {
    return randomId('midge-console-');
  }

  connect(settings: ConnectSettings, login: { username?: string; password?: string }): void {
    this.client?.end(true);
    this.active = settings;
    this.error = null;
    this.state = 'connecting';
    this.subscriptions = [];
    this.changed();
    const credentials = settings.useLogin
      ? login
      : {
          ...(settings.username !== '' ? { username: settings.username } : {}),
          ...(settings.password !== '' ? { password: settings.password } : {}),
        };
    const options: IClientOptions = {
      protocolVersion: settings.protocolVersion,
      clientId: settings.clientId,
      clean: settings.clean,
      keepalive: settings.keepalive,
      reconnectPeriod: 0,
      timerVariant: 'native', // no blob: Worker (the page's CSP forbids it)
      connectTimeout: 10_000,
      resubscribe: false,
      ...credentials,
    };
    if (settings.protocolVersion === 5 && settings.sessionExpiry > 0) {
      options.properties = { sessionExpiryInterval: settings.sessionExpiry };
    }
    let client: MqttClient;
    try {
      client = connectMqtt(settings.url, options);
    } catch (e) {
      this.state = 'disconnected';
      this.error = errorText(e);
      this.changed();
      return;
    }
    this.client = client;
    client.on('connect', (connack) => {
      if (client !== this.client) return;
      this.state = 'connected';
      this.error = null;
      this.sessionPresent = connack.sessionPresent;
      this.changed();
    });
    client.on('message', (topic, payload, packet) => {
      if (client !== this.client) return;
      this.append({
        id: nextMessageId(),
        direction: 'in',
        at: Date.now(),
        topic,
        qos: packet.qos as QoS,
        retain: packet.retain,
        dup: packet.dup,
        payload: keepPayload(payload),
        size: payload.length,
        properties: displayProperties(packet.properties as Record<string, unknown> | undefined),
      });
    });
    client.on('error', (e) => {
      if (client !== this.client) return;
      this.error = errorText(e);
      this.changed();
    });
    client.on('disconnect', (packet) => {
      if (client !== this.client) return;
      this.error = `The broker disconnected this client: ${reasonText(packet.reasonCode)}${
        packet.properties?.reasonString ? ` — ${packet.properties.reasonString}` : ''
      }`;
      this.changed();
    });
    client.on('close', () => {
      if (client !== this.client) return;
      client.end(true);
      this.client = null;
      if (this.state === 'connecting' && this.error === null) this.error = 'Could not connect';
      this.state = 'disconnected';
      for (const s of this.subscriptions) if (s.state === 'pending') s.state = 'denied';
      this.changed();
    });
  }

  sessionPresent = false;

  disconnect(): void {
    const client = this.client;
    this.client = null;
    this.state = 'disconnected';
    this.error = null;
    this.changed();
    client?.end(false);
  }

  subscribe(s: SubscribeSettings): void {
    const client = this.client;
    if (client === null || this.state !== 'connected') return;
    const v5 = this.active?.protocolVersion === 5;
    const entry: ConsoleSubscription = { ...s, state: 'pending' };
    this.subscriptions = [...this.subscriptions.filter((x) => x.filter !== s.filter), entry];
    this.changed();
    const opts = v5
      ? { qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling }
      : { qos: s.qos };
    client.subscribe(s.filter, opts, (err, granted) => {
      if (client !== this.client) return;
      const code = granted?.[0]?.qos;
      if (err || code === undefined || code >= 0x80) {
        entry.state = 'denied';
        entry.reason = subackReason(err, code);
      } else {
        entry.state = 'granted';
        entry.grantedQos = code;
      }
      this.subscriptions = [...this.subscriptions];
      this.changed();
    });
  }

  unsubscribe(filter: string): void {
    const client = this.client;
    this.subscriptions = this.subscriptions.filter((s) => s.filter !== filter);
    this.changed();
    if (client === null || this.state !== 'connected') return;
    client.unsubscribe(filter, (err) => {
      if (err && client === this.client) {
        this.error = `Unsubscribe ${filter}: ${errorText(err)}`;
        this.changed();
      }
    });
  }

  publish(topic: string, payload: Uint8Array | string, p: PublishSettings): void {
    const client = this.client;
    if (client === null || this.state !== 'connected') return;
    const v5 = this.active?.protocolVersion === 5;
    const opts: IClientPublishOptions = { qos: p.qos, retain: p.retain };
    const shown: MessageProperties = {};
    if (v5) {
      const properties: NonNullable<IClientPublishOptions['properties']> = {};
      if (p.contentType !== '') properties.contentType = shown.contentType = p.contentType;
      if (p.messageExpiry.trim() !== '') {
        const n = Number(p.messageExpiry);
        if (Number.isInteger(n) && n >= 0) properties.messageExpiryInterval = shown.messageExpiryInterval = n;
      }
      if (p.responseTopic !== '') properties.responseTopic = shown.responseTopic = p.responseTopic;
      if (p.correlationData !== '') {
        // MQTT.js writes a string as its UTF-8 bytes.
        (properties as Record<string, unknown>).correlationData = p.correlationData;
        shown.correlationData = p.correlationData;
      }
      if (p.payloadFormatUtf8) properties.payloadFormatIndicator = shown.payloadFormatIndicator = true;
      const users = p.userProperties.filter((u) => u.key !== '');
      if (users.length > 0) {
        const map: Record<string, string | string[]> = {};
        for (const { key, value } of users) {
          const prev = map[key];
          map[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
        }
        properties.userProperties = map;
        shown.userProperties = users.map((u) => [u.key, u.value]);
      }
      if (Object.keys(properties).length > 0) opts.properties = properties;
    }
    const entry: LogEntry = {
      id: nextMessageId(),
      direction: 'out',
      at: Date.now(),
      topic,
      qos: p.qos,
      retain: p.retain,
      payload: keepPayload(payload),
      size: payloadSize(payload),
      properties: Object.keys(shown).length > 0 ? shown : undefined,
      status: p.qos === 0 ? 'sent' : 'waiting for acknowledgement',
    };
    this.append(entry);
    client.publish(topic, payload as string, opts, (err) => {
      if (err) {
        entry.status = errorText(err);
        entry.failed = true;
      } else {
        entry.status = p.qos === 0 ? 'sent' : p.qos === 1 ? 'acknowledged (PUBACK)' : 'completed (PUBCOMP)';
      }
      this.log = [...this.log];
      this.changed();
    });
  }

  clearLog(): void {
    this.log = [];
    this.changed();
  }

  dispose(): void {
    this.client?.end(true);
    this.client = null;
  }

  private append(entry: LogEntry): void {
    const log = this.log.length >= MAX_LOG ? this.log.slice(this.log.length - MAX_LOG + 1) : this.log.slice();
    log.push(entry);
    this.log = log;
    this.changed();
  }
}
