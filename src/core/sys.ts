/**
 * Counters the broker keeps, and their publication under $SYS/broker/... every sysInterval seconds
 * (names follow Mosquitto's, so existing dashboards read them unchanged). Published retained, so a
 * new subscriber sees the latest values at once.
 */
import type { BrokerCore } from './broker.js';
import type { CloseCode } from './errors.js';

export class BrokerStats {
  readonly startedAt = Date.now();
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** Deliveries dropped: full queues, congested QoS 0 links. */
  messagesDropped = 0;
  connectionsAccepted = 0;
  maxConnected = 0;
  /** MQTT 5 QoS 1/2 PUBLISHes refused (0x97), and times a client was throttled, by maxPublishRate. */
  publishRateRefused = 0;
  publishRateThrottled = 0;
  /** PUBLISHes and subscriptions the client's permissions (ACL) did not allow. */
  publishDenied = 0;
  subscribeDenied = 0;
  /** Connections the broker closed, by reason (errors.ts). */
  readonly closed = new Map<CloseCode, number>();

  countClose(code: CloseCode): void {
    this.closed.set(code, (this.closed.get(code) ?? 0) + 1);
  }
}

export const VERSION = '0.1.0';

/**
 * One measurement, published as a $SYS topic (its value as decimal text) and as a Prometheus metric
 * (`midge_` + `name`, with `labels`) on /metrics: one list, so the two never disagree.
 */
export interface Metric {
  topic: string;
  name: string;
  labels?: Record<string, string>;
  type: 'counter' | 'gauge';
  help: string;
  value: number;
}

const TRANSPORTS = ['tcp', 'tls', 'ws', 'wss'] as const;
const PROTOCOLS = [
  [3, '3.1'],
  [4, '3.1.1'],
  [5, '5.0'],
] as const;

export function metrics(broker: BrokerCore): Metric[] {
  const stats = broker.stats;
  let connected = 0;
  let queued = 0;
  for (const session of broker.sessions.values()) {
    if (session.output !== null) connected++;
    queued += session.queue.length;
  }
  if (connected > stats.maxConnected) stats.maxConnected = connected;
  const total = broker.sessions.size;
  const byTransport = new Map<string, number>();
  const byProtocol = new Map<number, number>();
  for (const connection of broker.connections) {
    if (connection.state !== 'connected') continue;
    const transport = connection.link.info.transport;
    byTransport.set(transport, (byTransport.get(transport) ?? 0) + 1);
    byProtocol.set(connection.version, (byProtocol.get(connection.version) ?? 0) + 1);
  }
  const memory = process.memoryUsage();
  const g = (
    topic: string,
    name: string,
    help: string,
    value: number,
    labels?: Record<string, string>,
  ): Metric =>
    labels === undefined
      ? { topic, name, type: 'gauge', help, value }
      : { topic, name, labels, type: 'gauge', help, value };
  const c = (
    topic: string,
    name: string,
    help: string,
    value: number,
    labels?: Record<string, string>,
  ): Metric => ({
    ...g(topic, name, help, value, labels),
    type: 'counter',
  });
  const list: Metric[] = [
    g('$SYS/broker/clients/connected', 'clients_connected', 'Connected clients.', connected),
    g(
      '$SYS/broker/clients/disconnected',
      'clients_disconnected',
      'Persistent sessions whose client is offline.',
      total - connected,
    ),
    g('$SYS/broker/clients/total', 'clients_total', 'Sessions, connected or not.', total),
    g(
      '$SYS/broker/clients/maximum',
      'clients_maximum',
      'Most clients connected at once since start.',
      stats.maxConnected,
    ),
    ...TRANSPORTS.map((t) =>
      g(
        `$SYS/broker/clients/transport/${t}`,
        'clients_by_transport',
        'Connected clients by transport.',
        byTransport.get(t) ?? 0,
        {
          transport: t,
        },
      ),
    ),
    ...PROTOCOLS.map(([level, name]) =>
      g(
        `$SYS/broker/clients/protocol/${name}`,
        'clients_by_protocol',
        'Connected clients by MQTT version.',
        byProtocol.get(level) ?? 0,
        { version: name },
      ),
    ),
    c(
      '$SYS/broker/messages/received',
      'messages_received_total',
      'PUBLISH packets received.',
      stats.messagesReceived,
    ),
    c('$SYS/broker/messages/sent', 'messages_sent_total', 'PUBLISH packets sent.', stats.messagesSent),
    c(
      '$SYS/broker/messages/dropped',
      'messages_dropped_total',
      'Deliveries dropped (full queues, congested QoS 0).',
      stats.messagesDropped,
    ),
    c(
      '$SYS/broker/bytes/received',
      'bytes_received_total',
      'Bytes received from clients.',
      stats.bytesReceived,
    ),
    c('$SYS/broker/bytes/sent', 'bytes_sent_total', 'Bytes sent to clients.', stats.bytesSent),
    g('$SYS/broker/retained messages/count', 'retained_messages', 'Retained messages.', broker.retained.size),
    g(
      '$SYS/broker/subscriptions/count',
      'subscriptions',
      'Subscriptions (not shared).',
      broker.subscriptions.size,
    ),
    g('$SYS/broker/queues/messages', 'queued_messages', 'Messages waiting in client queues.', queued),
    g('$SYS/broker/heap/current', 'heap_used_bytes', 'V8 heap in use.', memory.heapUsed),
    g('$SYS/broker/memory/rss', 'resident_memory_bytes', 'Resident set size of the process.', memory.rss),
    ...limitMetrics(broker, g, c),
    ...storeMetrics(broker, g, c),
  ];
  return list;
}

type Make = (
  topic: string,
  name: string,
  help: string,
  value: number,
  labels?: Record<string, string>,
) => Metric;

/** What the limits and the permissions refused (docs/security.md lists them). */
function limitMetrics(broker: BrokerCore, g: Make, c: Make): Metric[] {
  const stats = broker.stats;
  const admission = broker.admission;
  const budget = broker.queueBudget;
  const refused = (reason: keyof typeof admission.refused) =>
    c(
      `$SYS/broker/connections/refused/${reason}`,
      'connections_refused_total',
      'Connections refused by a limit.',
      admission.refused[reason],
      { reason },
    );
  const list = [
    g('$SYS/broker/connections/current', 'connections', 'Open network connections.', admission.connections),
    refused('max connections'),
    refused('per address'),
    refused('connect rate'),
    refused('auth blocked'),
    c('$SYS/broker/auth/failures', 'auth_failures_total', 'Failed logins.', admission.authFailures),
    g(
      '$SYS/broker/queues/bytes',
      'queued_bytes',
      'Topic and payload bytes queued for all clients.',
      budget.bytes,
    ),
    c(
      '$SYS/broker/queues/dropped qos0',
      'queue_budget_dropped_qos0_total',
      'QoS 0 messages not queued above 80 % of maxQueuedBytesTotal.',
      budget.droppedQos0,
    ),
    c(
      '$SYS/broker/queues/refused',
      'queue_budget_refused_total',
      'QoS 1/2 PUBLISHes refused at maxQueuedBytesTotal.',
      budget.refused,
    ),
    c(
      '$SYS/broker/publish rate/refused',
      'publish_rate_refused_total',
      'PUBLISHes refused by maxPublishRate (0x97).',
      stats.publishRateRefused,
    ),
    c(
      '$SYS/broker/publish rate/throttled',
      'publish_rate_throttled_total',
      'Times a client was throttled by maxPublishRate.',
      stats.publishRateThrottled,
    ),
    c(
      '$SYS/broker/acl/denied/publish',
      'acl_denied_total',
      'PUBLISHes and subscriptions the permissions refused.',
      stats.publishDenied,
      { action: 'publish' },
    ),
    c(
      '$SYS/broker/acl/denied/subscribe',
      'acl_denied_total',
      'PUBLISHes and subscriptions the permissions refused.',
      stats.subscribeDenied,
      { action: 'subscribe' },
    ),
  ];
  for (const [code, count] of stats.closed) {
    list.push(
      c(
        `$SYS/broker/connections/closed/${code.toLowerCase().replaceAll('_', ' ')}`,
        'connections_closed_total',
        'Connections the broker closed, by reason (docs/errors.md).',
        count,
        { code },
      ),
    );
  }
  return list;
}

function storeMetrics(broker: BrokerCore, g: Make, c: Make): Metric[] {
  const store = broker.store;
  const journal = broker.journal;
  if (store === undefined || journal === undefined) return [];
  const stats = store.stats();
  return [
    g('$SYS/broker/store/sessions', 'store_sessions', 'Sessions in the store.', stats.sessions),
    g('$SYS/broker/store/messages/count', 'store_messages', 'Messages in the store.', stats.messages),
    g(
      '$SYS/broker/store/messages/bytes',
      'store_message_bytes',
      'Topic and payload bytes in the store.',
      stats.messageBytes,
    ),
    g('$SYS/broker/store/file/bytes', 'store_file_bytes', 'Size of the store on disk.', stats.fileBytes),
    c(
      '$SYS/broker/store/dropped',
      'store_dropped_total',
      'Messages not queued because the store was at maxStoreBytes.',
      journal.refused,
    ),
    c(
      '$SYS/broker/store/commit failures',
      'store_commit_failures_total',
      'Store commits that failed.',
      journal.failures,
    ),
  ];
}

export function uptimeSeconds(broker: BrokerCore): number {
  return Math.floor((Date.now() - broker.stats.startedAt) / 1000);
}

/** The $SYS topics and their values: Mosquitto's names, plus midge's own. */
export function sysValues(broker: BrokerCore): Array<[topic: string, value: string]> {
  return [
    ['$SYS/broker/version', `midge ${VERSION}`],
    ['$SYS/broker/uptime', `${uptimeSeconds(broker)} seconds`],
    ...metrics(broker).map((m): [string, string] => [m.topic, String(m.value)]),
  ];
}

/** The same as Prometheus text exposition (format 0.0.4). */
export function prometheusText(broker: BrokerCore): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  const all = [
    ...metrics(broker),
    {
      topic: '',
      name: 'uptime_seconds',
      type: 'gauge',
      help: 'Seconds since the broker started.',
      value: uptimeSeconds(broker),
    } satisfies Metric,
  ];
  // Prometheus wants every sample of a metric after its HELP and TYPE, together.
  all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const m of all) {
    const name = `midge_${m.name}`;
    if (!seen.has(name)) {
      seen.add(name);
      lines.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} ${m.type}`);
    }
    const labels =
      m.labels === undefined
        ? ''
        : `{${Object.entries(m.labels)
            .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
            .join(',')}}`;
    lines.push(`${name}${labels} ${m.value}`);
  }
  lines.push(
    '# HELP midge_info The running midge.',
    '# TYPE midge_info gauge',
    `midge_info{version="${VERSION}"} 1`,
  );
  return `${lines.join('\n')}\n`;
}
