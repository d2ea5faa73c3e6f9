/**
 * Loading the SQLite store at open: first the clean-up a crash or a bug may have left to do
 * (references to messages not held are dropped with a warning, then messages nothing refers to and
 * client numbers nothing uses), then every table into a LoadedState, with absent fields left out of the
 * records as the memory store does. Inline messages (sqlite-commit.ts) come back in `messages` like the
 * others; one that breaks the one-reference rule (held twice, or referred to by anything but its own
 * delivery: only a bug could write it) is moved to `messages`, which changes nothing of the state.
 */
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { QoS } from '../codec/index.js';
import { decodeIds, decodeProperties } from './serialize.js';
import type { Inline } from './sqlite-commit.js';
import { materializeRuns } from './sqlite-runs.js';
import type {
  LoadedState,
  StoredDelivery,
  StoredIncoming,
  StoredMessage,
  StoredRetained,
  StoredSession,
  StoredSubscription,
} from './types.js';

/** Columns of a delivery as loaded (raw rows: much cheaper than an object per row). */
const DELIVERY =
  'c.client_id, d.client, d.seq, d.message_id, d.qos, d.retain, d.subscription_ids, d.shared_group, ' +
  'd.packet_id, d.state, d.topic, d.payload, d.message_qos, d.message_retain, d.properties, d.expires_at, d.origin';

type DeliveryRow = [
  clientId: string,
  client: number,
  seq: number,
  messageId: number,
  qos: QoS,
  retain: number,
  subscriptionIds: string | null,
  sharedGroup: string | null,
  packetId: number | null,
  state: StoredDelivery['state'],
  /** The inline message's columns: all NULL when the delivery refers to `messages`. */
  topic: string | null,
  payload: Buffer | null,
  messageQos: QoS | null,
  messageRetain: number | null,
  properties: string | null,
  expiresAt: number | null,
  origin: string | null,
];

/**
 * The state; the bytes of its messages' topics and payloads; and the inline messages, for the writer.
 */
export function loadState(
  db: Database,
  file: string,
  log: Logger | undefined,
): { state: LoadedState; bytes: number; inline: Inline[] } {
  clean(db, file, log);
  const messages = new Map<number, StoredMessage>();
  for (const row of db.prepare('SELECT * FROM messages').iterate() as Iterable<MessageRow>) {
    const m = toMessage(row);
    messages.set(m.id, m);
  }
  const sessions = (db.prepare('SELECT * FROM sessions').all() as SessionRow[]).map(toSession);
  const subscriptions = (
    db
      .prepare('SELECT c.client_id, s.* FROM subscriptions AS s JOIN clients AS c ON c.id = s.client')
      .all() as SubscriptionRow[]
  ).map(toSubscription);

  const deliveries: StoredDelivery[] = [];
  const inline = new Map<number, Inline>();
  /** The delivery holding each inline message. */
  const holders = new Map<number, StoredDelivery>();
  /** Ids of inline messages that break the one-reference rule. */
  const misplaced = new Set<number>();
  const byClient = db
    .prepare(
      `SELECT ${DELIVERY} FROM deliveries AS d JOIN clients AS c ON c.id = d.client ORDER BY c.client_id, d.seq`,
    )
    .raw();
  for (const row of byClient.iterate() as Iterable<DeliveryRow>) {
    const d = toDelivery(row);
    deliveries.push(d);
    if (row[10] === null) continue;
    if (messages.has(d.messageId)) {
      misplaced.add(d.messageId);
      continue;
    }
    const m = inlineMessage(row);
    messages.set(m.id, m);
    inline.set(m.id, {
      id: m.id,
      client: row[1],
      seq: d.seq,
      bytes: Buffer.byteLength(m.topic) + m.payload.length,
    });
    holders.set(m.id, d);
  }
  const incoming = (
    db
      .prepare(
        'SELECT c.client_id, i.packet_id FROM incoming AS i JOIN clients AS c ON c.id = i.client ' +
          'ORDER BY c.client_id, i.packet_id',
      )
      .all() as IncomingRow[]
  ).map((r): StoredIncoming => ({ clientId: r.client_id, packetId: r.packet_id }));
  const retained = (db.prepare('SELECT topic, message_id FROM retained').all() as RetainedRow[]).map(
    (r): StoredRetained => ({ topic: r.topic, messageId: r.message_id }),
  );

  for (const d of deliveries) {
    const holder = holders.get(d.messageId);
    if (holder !== undefined && holder !== d) misplaced.add(d.messageId);
  }
  for (const r of retained) if (inline.has(r.messageId)) misplaced.add(r.messageId);
  if (misplaced.size > 0) {
    moveToMessages(db, [...misplaced]);
    for (const id of misplaced) inline.delete(id);
    log?.warn(
      { file, messages: misplaced.size },
      'store: moved inline messages with more than one reference',
    );
  }

  let bytes = 0;
  let maxId = 0;
  for (const m of messages.values()) {
    bytes += Buffer.byteLength(m.topic) + m.payload.length;
    if (m.id > maxId) maxId = m.id;
  }
  const counter = db.prepare("SELECT value FROM meta WHERE key = 'next_message_id'").pluck().get() as
    | number
    | undefined;
  const nextMessageId = Math.max(counter ?? 1, maxId + 1, 1);
  return {
    state: { sessions, subscriptions, deliveries, incoming, retained, messages, nextMessageId },
    bytes,
    inline: [...inline.values()],
  };
}
/**
 * In one transaction: drops references to messages not held (in `messages` or inline), then messages
 * nothing refers to, then client numbers nothing uses.
 */
function clean(db: Database, file: string, log: Logger | undefined): void {
  const [deliveries, retained] = db.transaction((): [number, number] => {
    // Runs never outlive an open: their live records become ordinary rows first (sqlite-runs.ts).
    materializeRuns(db);
    // The inline probe (a scan) only runs for a reference `messages` cannot answer: one a bug left.
    const missing = (id: string) =>
      `NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = ${id}) ` +
      `AND NOT EXISTS (SELECT 1 FROM deliveries AS i WHERE i.message_id = ${id} AND i.topic IS NOT NULL)`;
    const d = db
      .prepare(`DELETE FROM deliveries AS d WHERE d.topic IS NULL AND ${missing('d.message_id')}`)
      .run().changes;
    const r = db.prepare(`DELETE FROM retained AS r WHERE ${missing('r.message_id')}`).run().changes;
    db.prepare(
      'DELETE FROM messages WHERE NOT EXISTS ' +
        '(SELECT 1 FROM deliveries d WHERE d.message_id = messages.id AND d.topic IS NULL) ' +
        'AND NOT EXISTS (SELECT 1 FROM retained r WHERE r.message_id = messages.id)',
    ).run();
    db.prepare(
      'DELETE FROM clients WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.client = clients.id) ' +
        'AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.client = clients.id) ' +
        'AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.client = clients.id)',
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

/** Moves the inline messages of these ids to `messages` (a copy already there is kept). */
function moveToMessages(db: Database, ids: number[]): void {
  const json = JSON.stringify(ids);
  const which = 'topic IS NOT NULL AND message_id IN (SELECT value FROM json_each(?))';
  db.transaction(() => {
    db.prepare(
      'INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, origin) ' +
        "SELECT message_id, topic, coalesce(payload, x''), coalesce(message_qos, 0), coalesce(message_retain, 0), " +
        `properties, expires_at, origin FROM deliveries WHERE ${which} ON CONFLICT (id) DO NOTHING`,
    ).run(json);
    db.prepare(
      'UPDATE deliveries SET topic = NULL, payload = NULL, message_qos = NULL, message_retain = NULL, ' +
        `properties = NULL, expires_at = NULL, origin = NULL WHERE ${which}`,
    ).run(json);
  })();
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

/** The message held inside a delivery's row (its topic is not NULL). */
function inlineMessage(r: DeliveryRow): StoredMessage {
  return toMessage({
    id: r[3],
    topic: r[10] ?? '',
    payload: r[11] ?? Buffer.alloc(0),
    qos: r[12] ?? 0,
    retain: r[13] ?? 0,
    properties: r[14],
    expires_at: r[15],
    origin: r[16],
  });
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
    clientId: r[0],
    seq: r[2],
    messageId: r[3],
    qos: r[4],
    retain: r[5] === 1,
    state: r[9],
  };
  const ids = decodeIds(r[6]);
  if (ids !== undefined) d.subscriptionIds = ids;
  if (r[7] !== null) d.sharedGroup = r[7];
  if (r[8] !== null) d.packetId = r[8];
  return d;
}
