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

export function sysValues(broker: BrokerCore): Array<[topic: string, value: string]> {
  const stats = broker.stats;
  let connected = 0;
  for (const session of broker.sessions.values()) if (session.output !== null) connected++;
  if (connected > stats.maxConnected) stats.maxConnected = connected;
  const total = broker.sessions.size;
  return [
    ['$SYS/broker/version', `midge ${VERSION}`],
    ['$SYS/broker/uptime', `${Math.floor((Date.now() - stats.startedAt) / 1000)} seconds`],
    ['$SYS/broker/clients/connected', String(connected)],
    ['$SYS/broker/clients/disconnected', String(total - connected)],
    ['$SYS/broker/clients/total', String(total)],
    ['$SYS/broker/clients/maximum', String(stats.maxConnected)],
    ['$SYS/broker/messages/received', String(stats.messagesReceived)],
    ['$SYS/broker/messages/sent', String(stats.messagesSent)],
    ['$SYS/broker/messages/dropped', String(stats.messagesDropped)],
    ['$SYS/broker/bytes/received', String(stats.bytesReceived)],
    ['$SYS/broker/bytes/sent', String(stats.bytesSent)],
    ['$SYS/broker/retained messages/count', String(broker.retained.size)],
    ['$SYS/broker/subscriptions/count', String(broker.subscriptions.size)],
    ['$SYS/broker/heap/current', String(process.memoryUsage().heapUsed)],
    ...limitValues(broker),
    ...storeValues(broker),
  ];
}

/** What the limits and the permissions refused (docs/security.md lists them). */
function limitValues(broker: BrokerCore): Array<[topic: string, value: string]> {
  const stats = broker.stats;
  const admission = broker.admission;
  const budget = broker.queueBudget;
  const values: Array<[topic: string, value: string]> = [
    ['$SYS/broker/connections/current', String(admission.connections)],
    ['$SYS/broker/connections/refused/max connections', String(admission.refused['max connections'])],
    ['$SYS/broker/connections/refused/per address', String(admission.refused['per address'])],
    ['$SYS/broker/connections/refused/connect rate', String(admission.refused['connect rate'])],
    ['$SYS/broker/connections/refused/auth blocked', String(admission.refused['auth blocked'])],
    ['$SYS/broker/auth/failures', String(admission.authFailures)],
    ['$SYS/broker/queues/bytes', String(budget.bytes)],
    ['$SYS/broker/queues/dropped qos0', String(budget.droppedQos0)],
    ['$SYS/broker/queues/refused', String(budget.refused)],
    ['$SYS/broker/publish rate/refused', String(stats.publishRateRefused)],
    ['$SYS/broker/publish rate/throttled', String(stats.publishRateThrottled)],
    ['$SYS/broker/acl/denied/publish', String(stats.publishDenied)],
    ['$SYS/broker/acl/denied/subscribe', String(stats.subscribeDenied)],
  ];
  for (const [code, count] of stats.closed) {
    values.push([`$SYS/broker/connections/closed/${code.toLowerCase().replaceAll('_', ' ')}`, String(count)]);
  }
  return values;
}

function storeValues(broker: BrokerCore): Array<[topic: string, value: string]> {
  const store = broker.store;
  const journal = broker.journal;
  if (store === undefined || journal === undefined) return [];
  const stats = store.stats();
  return [
    ['$SYS/broker/store/sessions', String(stats.sessions)],
    ['$SYS/broker/store/messages/count', String(stats.messages)],
    ['$SYS/broker/store/messages/bytes', String(stats.messageBytes)],
    ['$SYS/broker/store/file/bytes', String(stats.fileBytes)],
    ['$SYS/broker/store/dropped', String(journal.refused)],
    ['$SYS/broker/store/commit failures', String(journal.failures)],
  ];
}
