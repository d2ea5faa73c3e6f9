/**
 * Counters the broker keeps, and their publication under $SYS/broker/... every sysInterval seconds
 * (names follow Mosquitto's, so existing dashboards read them unchanged). Published retained, so a
 * new subscriber sees the latest values at once.
 */
import type { BrokerCore } from './broker.js';

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
    ...storeValues(broker),
  ];
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
