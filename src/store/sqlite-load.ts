/**
 * Loading the SQLite store at open: first the clean-up a crash or a bug may have left to do (references
 * to messages not stored are dropped with a warning, then messages nothing refers to), then every
 * table into a LoadedState, with absent fields left out of the records as the memory store does.
 */
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { QoS } from '../codec/index.js';
import { decodeIds, decodeProperties } from './serialize.js';
import type {
  LoadedState,
  StoredDelivery,
  StoredIncoming,
  StoredMessage,
  StoredRetained,
  StoredSession,
  StoredSubscription,
} from './types.js';

/** The state, and the bytes of its messages' topics and payloads. */
export function loadState(
  db: Database,
  file: string,
  log: Logger | undefined,
): { state: LoadedState; bytes: number } {
  clean(db, file, log);
  const messages = new Map<number, StoredMessage>();
  let bytes = 0;
  let maxId = 0;
  for (const row of db.prepare('SELECT * FROM messages').iterate() as Iterable<MessageRow>) {
    const m = toMessage(row);
    messages.set(m.id, m);
    bytes += Buffer.byteLength(m.topic) + m.payload.length;
    if (m.id > maxId) maxId = m.id;
  }
  const sessions = (db.prepare('SELECT * FROM sessions').all() as SessionRow[]).map(toSession);
  const subscriptions = (db.prepare('SELECT * FROM subscriptions').all() as SubscriptionRow[]).map(
    toSubscription,
  );
  const deliveries = (
    db.prepare('SELECT * FROM deliveries ORDER BY client_id, seq').all() as DeliveryRow[]
  ).map(toDelivery);
  const incoming = (
    db
      .prepare('SELECT client_id, packet_id FROM incoming ORDER BY client_id, packet_id')
      .all() as IncomingRow[]
  ).map((r): StoredIncoming => ({ clientId: r.client_id, packetId: r.packet_id }));
  const retained = (db.prepare('SELECT topic, message_id FROM retained').all() as RetainedRow[]).map(
    (r): StoredRetained => ({ topic: r.topic, messageId: r.message_id }),
  );
  const counter = db.prepare("SELECT value FROM meta WHERE key = 'next_message_id'").pluck().get() as
    | number
    | undefined;
  const nextMessageId = Math.max(counter ?? 1, maxId + 1, 1);
  return {
    state: { sessions, subscriptions, deliveries, incoming, retained, messages, nextMessageId },
    bytes,
  };
}

/** Drops references to missing messages, then messages nothing refers to, in one transaction. */
function clean(db: Database, file: string, log: Logger | undefined): void {
  const [deliveries, retained] = db.transaction((): [number, number] => {
    const missing = 'NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = message_id)';
    const d = db.prepare(`DELETE FROM deliveries WHERE ${missing}`).run().changes;
    const r = db.prepare(`DELETE FROM retained WHERE ${missing}`).run().changes;
    db.prepare(
      'DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id) ' +
        'AND NOT EXISTS (SELECT 1 FROM retained r WHERE r.message_id = messages.id)',
    ).run();
    return [d, r];
  })();
  if (deliveries > 0 || retained > 0) {
    log?.warn(
      { file, deliveries, retained },
      'store: dropped deliveries and retained entries whose message was not stored',
    );
  }
}

interface MessageRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: number;
  properties: string | null;
  expires_at: number | null;
  origin: string | null;
}

interface SessionRow {
  client_id: string;
  expiry_interval: number;
  disconnected_at: number | null;
  will_topic: string | null;
  will_payload: Buffer | null;
  will_qos: QoS | null;
  will_retain: number | null;
  will_properties: string | null;
  will_at: number | null;
}

interface SubscriptionRow {
  client_id: string;
  filter: string;
  qos: QoS;
  no_local: number;
  retain_as_published: number;
  retain_handling: 0 | 1 | 2;
  identifier: number | null;
}

interface DeliveryRow {
  client_id: string;
  seq: number;
  message_id: number;
  qos: QoS;
  retain: number;
  subscription_ids: string | null;
  shared_group: string | null;
  packet_id: number | null;
  state: StoredDelivery['state'];
}

interface IncomingRow {
  client_id: string;
  packet_id: number;
}

interface RetainedRow {
  topic: string;
  message_id: number;
}

function toMessage(r: MessageRow): StoredMessage {
  const m: StoredMessage = {
    id: r.id,
    topic: r.topic,
    payload: r.payload,
    qos: r.qos,
    retain: r.retain === 1,
  };
  const properties = decodeProperties(r.properties);
  if (properties !== undefined) m.properties = properties;
  if (r.expires_at !== null) m.expiresAt = r.expires_at;
  if (r.origin !== null) m.origin = r.origin;
  return m;
}

function toSession(r: SessionRow): StoredSession {
  const s: StoredSession = { clientId: r.client_id, expiryInterval: r.expiry_interval };
  if (r.disconnected_at !== null) s.disconnectedAt = r.disconnected_at;
  if (r.will_qos !== null) {
    s.will = {
      topic: r.will_topic ?? '',
      payload: r.will_payload ?? Buffer.alloc(0),
      qos: r.will_qos,
      retain: r.will_retain === 1,
    };
    const properties = decodeProperties(r.will_properties);
    if (properties !== undefined) s.will.properties = properties;
  }
  if (r.will_at !== null) s.willAt = r.will_at;
  return s;
}

function toSubscription(r: SubscriptionRow): StoredSubscription {
  const s: StoredSubscription = {
    clientId: r.client_id,
    filter: r.filter,
    qos: r.qos,
    noLocal: r.no_local === 1,
    retainAsPublished: r.retain_as_published === 1,
    retainHandling: r.retain_handling,
  };
  if (r.identifier !== null) s.identifier = r.identifier;
  return s;
}

function toDelivery(r: DeliveryRow): StoredDelivery {
  const d: StoredDelivery = {
    clientId: r.client_id,
    seq: r.seq,
    messageId: r.message_id,
    qos: r.qos,
    retain: r.retain === 1,
    state: r.state,
  };
  const ids = decodeIds(r.subscription_ids);
  if (ids !== undefined) d.subscriptionIds = ids;
  if (r.shared_group !== null) d.sharedGroup = r.shared_group;
  if (r.packet_id !== null) d.packetId = r.packet_id;
  return d;
}
