/**
 * Applying a batch of changes to the SQLite store: every statement prepared once at open, the batch
 * applied in order inside one transaction by the caller.
 *
 * Message garbage collection is incremental: every message a change stops referring to (a delivery or
 * retained entry deleted or replaced, a session deleted) becomes a candidate, and at the end of the
 * batch the candidates that nothing refers to any more are deleted (two indexed NOT EXISTS probes each,
 * in one statement for the whole batch). A message stored with no reference at all is left to the full
 * sweep at open.
 *
 * References to messages are not foreign keys: a delivery or retained entry naming a message the store
 * does not hold is accepted (it costs one batch nothing) and dropped, with a warning, at the next open.
 */
import type { Database, Statement } from 'better-sqlite3';
import { messageSize } from './copy.js';
import { encodeIds, encodeProperties } from './serialize.js';
import type { Change, StoredDelivery, StoredMessage, StoredSession, StoredSubscription } from './types.js';

export interface Statements {
  insertMessage: Statement;
  insertSession: Statement;
  updateSession: Statement;
  deleteSession: Statement;
  deleteSubscriptionsOf: Statement;
  /** RETURNING message_id, plucked. */
  deleteDeliveriesOf: Statement;
  deleteIncomingOf: Statement;
  upsertSubscription: Statement;
  deleteSubscription: Statement;
  insertDelivery: Statement;
  deliveryMessage: Statement;
  updateDelivery: Statement;
  deleteDelivery: Statement;
  insertIncoming: Statement;
  deleteIncoming: Statement;
  insertRetained: Statement;
  retainedMessage: Statement;
  updateRetained: Statement;
  deleteRetained: Statement;
  /** Of the message ids in a JSON array, how many nothing refers to, and their bytes. */
  unreferenced: Statement;
  /** Deletes the messages of a JSON array of ids that nothing refers to. */
  deleteUnreferenced: Statement;
  setNextMessageId: Statement;
}

const UNREFERENCED =
  'NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = m.id) ' +
  'AND NOT EXISTS (SELECT 1 FROM retained AS r WHERE r.message_id = m.id)';

export function prepareStatements(db: Database): Statements {
  const p = (sql: string): Statement => db.prepare(sql);
  const pluck = (sql: string): Statement => db.prepare(sql).pluck();
  return {
    insertMessage: p(
      'INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, origin) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    ),
    insertSession: p(
      'INSERT INTO sessions (expiry_interval, disconnected_at, will_topic, will_payload, will_qos, will_retain, ' +
        'will_properties, will_at, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING',
    ),
    updateSession: p(
      'UPDATE sessions SET expiry_interval = ?, disconnected_at = ?, will_topic = ?, will_payload = ?, will_qos = ?, ' +
        'will_retain = ?, will_properties = ?, will_at = ? WHERE client_id = ?',
    ),
    deleteSession: p('DELETE FROM sessions WHERE client_id = ?'),
    deleteSubscriptionsOf: p('DELETE FROM subscriptions WHERE client_id = ?'),
    deleteDeliveriesOf: pluck('DELETE FROM deliveries WHERE client_id = ? RETURNING message_id'),
    deleteIncomingOf: p('DELETE FROM incoming WHERE client_id = ?'),
    upsertSubscription: p(
      'INSERT INTO subscriptions (client_id, filter, qos, no_local, retain_as_published, retain_handling, identifier) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, filter) DO UPDATE SET qos = excluded.qos, ' +
        'no_local = excluded.no_local, retain_as_published = excluded.retain_as_published, ' +
        'retain_handling = excluded.retain_handling, identifier = excluded.identifier',
    ),
    deleteSubscription: p('DELETE FROM subscriptions WHERE client_id = ? AND filter = ?'),
    insertDelivery: p(
      'INSERT INTO deliveries (message_id, qos, retain, subscription_ids, shared_group, packet_id, state, client_id, seq) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, seq) DO NOTHING',
    ),
    deliveryMessage: pluck('SELECT message_id FROM deliveries WHERE client_id = ? AND seq = ?'),
    updateDelivery: p(
      'UPDATE deliveries SET message_id = ?, qos = ?, retain = ?, subscription_ids = ?, shared_group = ?, ' +
        'packet_id = ?, state = ? WHERE client_id = ? AND seq = ?',
    ),
    deleteDelivery: pluck('DELETE FROM deliveries WHERE client_id = ? AND seq = ? RETURNING message_id'),
    insertIncoming: p('INSERT INTO incoming (client_id, packet_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    deleteIncoming: p('DELETE FROM incoming WHERE client_id = ? AND packet_id = ?'),
    insertRetained: p(
      'INSERT INTO retained (message_id, topic) VALUES (?, ?) ON CONFLICT (topic) DO NOTHING',
    ),
    retainedMessage: pluck('SELECT message_id FROM retained WHERE topic = ?'),
    updateRetained: p('UPDATE retained SET message_id = ? WHERE topic = ?'),
    deleteRetained: pluck('DELETE FROM retained WHERE topic = ? RETURNING message_id'),
    // One statement for all candidates: a call per candidate costs about twice as much, and a
    // DELETE ... RETURNING two to four times as much as a SELECT then a DELETE.
    unreferenced: db.prepare(
      'SELECT count(*) AS count, coalesce(sum(octet_length(topic) + length(payload)), 0) AS bytes ' +
        `FROM messages AS m WHERE m.id IN (SELECT value FROM json_each(?)) AND ${UNREFERENCED}`,
    ),
    deleteUnreferenced: p(
      `DELETE FROM messages AS m WHERE m.id IN (SELECT value FROM json_each(?)) AND ${UNREFERENCED}`,
    ),
    setNextMessageId: p("UPDATE meta SET value = ? WHERE key = 'next_message_id'"),
  };
}

/** What a committed batch changed in the counters behind `stats()` and `nextMessageId`. */
export interface CommitDelta {
  sessions: number;
  messages: number;
  messageBytes: number;
  nextMessageId: number;
}

/** Applies the batch; run it inside a transaction. `nextMessageId` is the persisted counter. */
export function applyChanges(s: Statements, changes: readonly Change[], nextMessageId: number): CommitDelta {
  const delta: CommitDelta = { sessions: 0, messages: 0, messageBytes: 0, nextMessageId };
  const candidates = new Set<number>();
  const candidate = (id: unknown): void => {
    if (typeof id === 'number') candidates.add(id);
  };

  for (const c of changes) {
    switch (c.type) {
      case 'message': {
        const m = c.message;
        if (s.insertMessage.run(...messageParams(m)).changes === 1) {
          delta.messages++;
          delta.messageBytes += messageSize(m);
        }
        if (m.id >= delta.nextMessageId) delta.nextMessageId = m.id + 1;
        break;
      }
      case 'session': {
        const params = sessionParams(c.session);
        if (s.insertSession.run(...params).changes === 1) delta.sessions++;
        else s.updateSession.run(...params);
        break;
      }
      case 'session-delete':
        delta.sessions -= s.deleteSession.run(c.clientId).changes;
        s.deleteSubscriptionsOf.run(c.clientId);
        s.deleteIncomingOf.run(c.clientId);
        for (const id of s.deleteDeliveriesOf.all(c.clientId)) candidate(id);
        break;
      case 'subscription':
        s.upsertSubscription.run(...subscriptionParams(c.subscription));
        break;
      case 'subscription-delete':
        s.deleteSubscription.run(c.clientId, c.filter);
        break;
      case 'delivery': {
        const d = c.delivery;
        const params = deliveryParams(d);
        if (s.insertDelivery.run(...params).changes === 1) break;
        const old = s.deliveryMessage.get(d.clientId, d.seq);
        if (old !== d.messageId) candidate(old);
        s.updateDelivery.run(...params);
        break;
      }
      case 'delivery-delete':
        candidate(s.deleteDelivery.get(c.clientId, c.seq));
        break;
      case 'incoming':
        s.insertIncoming.run(c.clientId, c.packetId);
        break;
      case 'incoming-delete':
        s.deleteIncoming.run(c.clientId, c.packetId);
        break;
      case 'retained': {
        if (s.insertRetained.run(c.messageId, c.topic).changes === 1) break;
        const old = s.retainedMessage.get(c.topic);
        if (old !== c.messageId) candidate(old);
        s.updateRetained.run(c.messageId, c.topic);
        break;
      }
      case 'retained-delete':
        candidate(s.deleteRetained.get(c.topic));
        break;
    }
  }

  if (candidates.size > 0) {
    const ids = JSON.stringify([...candidates]);
    const gone = s.unreferenced.get(ids) as { count: number; bytes: number };
    if (gone.count > 0) {
      s.deleteUnreferenced.run(ids);
      delta.messages -= gone.count;
      delta.messageBytes -= gone.bytes;
    }
  }
  if (delta.nextMessageId > nextMessageId) s.setNextMessageId.run(delta.nextMessageId);
  return delta;
}

const flag = (b: boolean): number => (b ? 1 : 0);

function messageParams(m: StoredMessage): unknown[] {
  return [
    m.id,
    m.topic,
    m.payload,
    m.qos,
    flag(m.retain),
    encodeProperties(m.properties),
    m.expiresAt ?? null,
    m.origin ?? null,
  ];
}

/** Ends with client_id, to serve both the INSERT and the UPDATE. */
function sessionParams(s: StoredSession): unknown[] {
  const w = s.will;
  return [
    s.expiryInterval,
    s.disconnectedAt ?? null,
    w?.topic ?? null,
    w?.payload ?? null,
    w?.qos ?? null,
    w === undefined ? null : flag(w.retain),
    encodeProperties(w?.properties),
    s.willAt ?? null,
    s.clientId,
  ];
}

function subscriptionParams(s: StoredSubscription): unknown[] {
  return [
    s.clientId,
    s.filter,
    s.qos,
    flag(s.noLocal),
    flag(s.retainAsPublished),
    s.retainHandling,
    s.identifier ?? null,
  ];
}

/** Ends with (client_id, seq), to serve both the INSERT and the UPDATE. */
function deliveryParams(d: StoredDelivery): unknown[] {
  return [
    d.messageId,
    d.qos,
    flag(d.retain),
    encodeIds(d.subscriptionIds),
    d.sharedGroup ?? null,
    d.packetId ?? null,
    d.state,
    d.clientId,
    d.seq,
  ];
}
