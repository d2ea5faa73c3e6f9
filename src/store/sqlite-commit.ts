/**
 * Applying a batch of changes to the SQLite store (schema version 2): every statement prepared once
 * at open, the batch applied in order inside one transaction by the caller.
 *
 * Client ids: subscriptions, deliveries and incoming ids are keyed by the client's number in `clients`.
 * The writer keeps that table in memory (client id → number) and adds a row the first time a client id
 * is written; a client's row goes with `session-delete` (and rows nothing uses are swept at open).
 *
 * Inline messages: a message whose first reference is a delivery in the same batch, and which nothing
 * else in the batch refers to, is written inside that delivery's row (its message columns) instead of
 * in `messages`. Storing and releasing a QoS 1 message to one subscriber then costs one insert and one
 * delete in one b-tree, instead of a message row, a delivery row with its index entry, and a collection.
 * Invariant: a message is held either as one row of `messages` (shared: any number of deliveries and
 * retained entries refer to it by id) or inside exactly one delivery, which is then its only reference.
 * So a second reference to an inline message first moves it to `messages` (promotion), and an inline
 * message whose delivery is deleted or replaced is gone with it — unless a later change of the same
 * batch refers to it again (a pre-pass notes each message's last reference), in which case it is
 * promoted first, as the memory store keeps a message until the end of the commit. The writer keeps
 * the inline messages in memory (id, delivery key, bytes) so neither case needs a query, and a `delete`
 * of an inline delivery needs no RETURNING.
 *
 * Shared messages are collected incrementally: every one a change stops referring to (a delivery or
 * retained entry deleted or replaced, a session deleted) becomes a candidate, and at the end of the
 * batch the candidates nothing refers to any more are deleted (two indexed NOT EXISTS probes each, in
 * one statement for the whole batch). A message stored with no reference at all is left to the sweep
 * at open.
 *
 * References to messages are not foreign keys: a delivery or retained entry naming a message the store
 * does not hold is accepted (it costs one batch nothing) and dropped, with a warning, at the next open.
 *
 * The in-memory state (client numbers, inline messages) must match the file: after a commit that failed
 * and was rolled back, `reset` reads it again.
 */
import type { Database, Statement } from 'better-sqlite3';
import { messageSize } from './copy.js';
import { encodeIds, encodeProperties } from './serialize.js';
import { materializeRuns, type Run, RunWriter, recordParams } from './sqlite-runs.js';
import type { Change, StoredDelivery, StoredMessage, StoredSession, StoredSubscription } from './types.js';

interface Statements {
  insertClient: Statement;
  deleteClient: Statement;
  insertMessage: Statement;
  insertSession: Statement;
  updateSession: Statement;
  deleteSession: Statement;
  deleteSubscriptionsOf: Statement;
  /** The ids of the shared messages a client's deliveries refer to, plucked. */
  sharedMessagesOf: Statement;
  deleteDeliveriesOf: Statement;
  deleteIncomingOf: Statement;
  upsertSubscription: Statement;
  deleteSubscription: Statement;
  insertDelivery: Statement;
  /** The common case: an inline message with no properties or expiry, a delivery with no ids or group. */
  insertPlainInline: Statement;
  deliveryMessage: Statement;
  updateDelivery: Statement;
  /** Everything but the message: for a delivery that keeps its inline message. */
  updateDeliveryState: Statement;
  deleteDelivery: Statement;
  /** The deliveries (client, from..to): a run of deferred deletes. */
  deleteDeliveryRange: Statement;
  /** Promotion: copies an inline message from its delivery into `messages`, then clears it there. */
  copyInline: Statement;
  clearInline: Statement;
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

/** `d.topic IS NULL` lets SQLite use the partial index deliveries_message. */
const UNREFERENCED =
  'NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = m.id AND d.topic IS NULL) ' +
  'AND NOT EXISTS (SELECT 1 FROM retained AS r WHERE r.message_id = m.id)';

const DELIVERY_COLUMNS =
  'message_id, qos, retain, subscription_ids, shared_group, packet_id, state, ' +
  'topic, payload, message_qos, message_retain, properties, expires_at, origin';

function prepareStatements(db: Database): Statements {
  const p = (sql: string): Statement => db.prepare(sql);
  const pluck = (sql: string): Statement => db.prepare(sql).pluck();
  return {
    insertClient: p('INSERT INTO clients (id, client_id) VALUES (?, ?)'),
    deleteClient: p('DELETE FROM clients WHERE id = ?'),
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
    deleteSubscriptionsOf: p('DELETE FROM subscriptions WHERE client = ?'),
    sharedMessagesOf: pluck('SELECT DISTINCT message_id FROM deliveries WHERE client = ? AND topic IS NULL'),
    deleteDeliveriesOf: p('DELETE FROM deliveries WHERE client = ?'),
    deleteIncomingOf: p('DELETE FROM incoming WHERE client = ?'),
    upsertSubscription: p(
      'INSERT INTO subscriptions (client, filter, qos, no_local, retain_as_published, retain_handling, identifier) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client, filter) DO UPDATE SET qos = excluded.qos, ' +
        'no_local = excluded.no_local, retain_as_published = excluded.retain_as_published, ' +
        'retain_handling = excluded.retain_handling, identifier = excluded.identifier',
    ),
    deleteSubscription: p('DELETE FROM subscriptions WHERE client = ? AND filter = ?'),
    insertDelivery: p(
      `INSERT INTO deliveries (${DELIVERY_COLUMNS}, client, seq) ` +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client, seq) DO NOTHING',
    ),
    // Every bound parameter costs (30 ns for a number or NULL, 90 for a string): NULL is written out.
    insertPlainInline: p(
      `INSERT INTO deliveries (${DELIVERY_COLUMNS}, client, seq) ` +
        'VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?) ON CONFLICT (client, seq) DO NOTHING',
    ),
    deliveryMessage: pluck('SELECT message_id FROM deliveries WHERE client = ? AND seq = ?'),
    updateDelivery: p(
      `UPDATE deliveries SET (${DELIVERY_COLUMNS}) = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
        'WHERE client = ? AND seq = ?',
    ),
    updateDeliveryState: p(
      'UPDATE deliveries SET qos = ?, retain = ?, subscription_ids = ?, shared_group = ?, packet_id = ?, ' +
        'state = ? WHERE client = ? AND seq = ?',
    ),
    deleteDelivery: p('DELETE FROM deliveries WHERE client = ? AND seq = ?'),
    deleteDeliveryRange: p('DELETE FROM deliveries WHERE client = ? AND seq BETWEEN ? AND ?'),
    copyInline: p(
      'INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, origin) ' +
        'SELECT message_id, topic, payload, message_qos, message_retain, properties, expires_at, origin ' +
        'FROM deliveries WHERE client = ? AND seq = ? ON CONFLICT (id) DO NOTHING',
    ),
    clearInline: p(
      'UPDATE deliveries SET topic = NULL, payload = NULL, message_qos = NULL, message_retain = NULL, ' +
        'properties = NULL, expires_at = NULL, origin = NULL WHERE client = ? AND seq = ?',
    ),
    insertIncoming: p('INSERT INTO incoming (client, packet_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    deleteIncoming: p('DELETE FROM incoming WHERE client = ? AND packet_id = ?'),
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

/** A message held inside the row of its only delivery, (client, seq). */
export interface Inline {
  id: number;
  client: number;
  seq: number;
  /** Its topic's and payload's bytes, for `stats()`. */
  bytes: number;
  /** Held in a run (sqlite-runs.ts) rather than in a row of `deliveries`: which, and where. */
  run?: Run | undefined;
  index?: number;
}

/** What one batch tracks while it is applied. */
interface Batch {
  delta: CommitDelta;
  /** Per message id, the index of the last change of the batch that refers to it. */
  lastRef: Map<number, number>;
  /** Messages first recorded in this batch that nothing has referred to yet: not written so far. */
  pending: Map<number, StoredMessage>;
  /** Inline messages that went with their delivery in this batch (held until its end, as in memory). */
  ended: Set<number>;
  /** Shared messages that lost a reference. */
  candidates: Set<number>;
  /**
   * Deletes of inline deliveries not yet run, client → seqs: run at the end of the batch, one statement
   * per run of consecutive seqs (a subscriber acknowledges in order, so usually one per client), or
   * before anything else touches that client's deliveries.
   */
  deferred: Map<number, number[]>;
  /** The run each client's fresh plain deliveries of this batch go into. */
  runs: Map<number, Run>;
}

export class SqliteWriter {
  readonly #db: Database;
  readonly #s: Statements;
  /** client_id → clients.id, for every row of `clients`. */
  #clients = new Map<string, number>();
  #nextClient = 1;
  #inlineById = new Map<number, Inline>();
  /** The same inline messages by delivery: client → seq → Inline. */
  #inlineByKey = new Map<number, Map<number, Inline>>();
  /**
   * Greater than every message id stored or referred to so far, so a message recorded with an id at or
   * above it is held by nothing and referred to by nothing (the case of every new message).
   */
  #horizon = 1;
  /** The horizon before the last batch: still valid for the file when that batch is rolled back. */
  #horizonBefore = 1;
  /** The most bytes of text and blobs an inline row may hold (see inlineLimit). */
  readonly #inlineMax: number;
  /**
   * Per client, a seq above every delivery it has in `deliveries` or a run: a delivery beyond it has no
   * row to replace, so it may go into a run.
   */
  #maxSeq = new Map<number, number>();
  /** The runs (sqlite-runs.ts) this writer wrote. */
  readonly #runs: RunWriter;

  constructor(db: Database) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#runs = new RunWriter(db);
    this.#inlineMax = inlineLimit(db.pragma('page_size', { simple: true }) as number);
  }

  /**
   * Reads client numbers and inline messages from the file: at open (after the clean-up, which found
   * the inline messages already: `inline`), and after a failed commit rolled the file back.
   * `nextMessageId` is the store's.
   */
  reset(nextMessageId: number, inline?: readonly Inline[]): void {
    // After a failed commit: what earlier commits put in runs becomes ordinary rows (the loader did
    // this at open), so the writer starts from `deliveries` alone either way.
    if (inline === undefined) this.#db.transaction(() => materializeRuns(this.#db))();
    this.#runs.reset();
    this.#maxSeq = new Map();
    const maxima = this.#db.prepare('SELECT client, max(seq) FROM deliveries GROUP BY client').raw();
    for (const [client, seq] of maxima.iterate() as Iterable<[number, number]>) this.#maxSeq.set(client, seq);
    this.#clients = new Map();
    let maxClient = 0;
    const clients = this.#db.prepare('SELECT id, client_id FROM clients').raw();
    for (const [id, clientId] of clients.iterate() as Iterable<[number, string]>) {
      this.#clients.set(clientId, id);
      if (id > maxClient) maxClient = id;
    }
    this.#nextClient = maxClient + 1;
    this.#inlineById = new Map();
    this.#inlineByKey = new Map();
    let horizon = Math.max(this.#horizonBefore, nextMessageId);
    const rows =
      inline ??
      (
        this.#db
          .prepare(
            'SELECT message_id, client, seq, octet_length(topic) + coalesce(length(payload), 0) ' +
              'FROM deliveries WHERE topic IS NOT NULL',
          )
          .raw()
          .all() as [number, number, number, number][]
      ).map(([id, client, seq, bytes]): Inline => ({ id, client, seq, bytes }));
    for (const h of rows) {
      this.#addInline(h);
      if (h.id >= horizon) horizon = h.id + 1;
    }
    this.#horizon = horizon;
  }

  /** Applies the batch; run it inside a transaction. `nextMessageId` is the persisted counter. */
  apply(changes: readonly Change[], nextMessageId: number): CommitDelta {
    const s = this.#s;
    this.#horizonBefore = this.#horizon;
    const lastRef = new Map<number, number>();
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      if (c.type === 'delivery') lastRef.set(c.delivery.messageId, i);
      else if (c.type === 'retained') lastRef.set(c.messageId, i);
    }
    const b: Batch = {
      delta: { sessions: 0, messages: 0, messageBytes: 0, nextMessageId },
      lastRef,
      pending: new Map(),
      ended: new Set(),
      candidates: new Set(),
      deferred: new Map(),
      runs: new Map(),
    };
    const delta = b.delta;

    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      switch (c.type) {
        case 'message':
          this.#message(b, c.message);
          break;
        case 'session': {
          const params = sessionParams(c.session);
          if (s.insertSession.run(...params).changes === 1) delta.sessions++;
          else s.updateSession.run(...params);
          break;
        }
        case 'session-delete': {
          delta.sessions -= s.deleteSession.run(c.clientId).changes;
          const client = this.#clients.get(c.clientId);
          if (client === undefined) break;
          const inline = this.#inlineByKey.get(client);
          if (inline !== undefined) for (const h of [...inline.values()]) this.#release(b, h, i);
          b.deferred.delete(client);
          this.#runs.drop(b.runs, client);
          this.#maxSeq.delete(client);
          for (const id of s.sharedMessagesOf.all(client) as number[]) b.candidates.add(id);
          s.deleteDeliveriesOf.run(client);
          s.deleteSubscriptionsOf.run(client);
          s.deleteIncomingOf.run(client);
          s.deleteClient.run(client);
          this.#clients.delete(c.clientId);
          break;
        }
        case 'subscription':
          s.upsertSubscription.run(
            ...subscriptionParams(c.subscription, this.#client(c.subscription.clientId)),
          );
          break;
        case 'subscription-delete': {
          const client = this.#clients.get(c.clientId);
          if (client !== undefined) s.deleteSubscription.run(client, c.filter);
          break;
        }
        case 'delivery':
          this.#delivery(b, c.delivery, i);
          break;
        case 'delivery-delete': {
          const client = this.#clients.get(c.clientId);
          if (client === undefined) break;
          const inline = this.#inlineByKey.get(client)?.get(c.seq);
          if (inline !== undefined) {
            if (this.#release(b, inline, i)) b.candidates.add(inline.id);
            if (inline.run !== undefined) {
              // Still in its run (not promoted): a bit in the run's gone bitmap, no statement now.
              this.#forgetRecord(inline);
              break;
            }
            const seqs = b.deferred.get(client);
            if (seqs === undefined) b.deferred.set(client, [c.seq]);
            else seqs.push(c.seq);
            break;
          }
          this.#settle(b, client, c.seq);
          const was = s.deliveryMessage.get(client, c.seq) as number | undefined;
          if (was === undefined) break;
          s.deleteDelivery.run(client, c.seq);
          b.candidates.add(was);
          break;
        }
        case 'incoming':
          s.insertIncoming.run(this.#client(c.clientId), c.packetId);
          break;
        case 'incoming-delete': {
          const client = this.#clients.get(c.clientId);
          if (client !== undefined) s.deleteIncoming.run(client, c.packetId);
          break;
        }
        case 'retained': {
          this.#share(b, c.messageId);
          if (s.insertRetained.run(c.messageId, c.topic).changes === 1) break;
          const old = s.retainedMessage.get(c.topic);
          if (old !== c.messageId) b.candidates.add(old as number);
          s.updateRetained.run(c.messageId, c.topic);
          break;
        }
        case 'retained-delete': {
          const old = s.deleteRetained.get(c.topic) as number | undefined;
          if (old !== undefined) b.candidates.add(old);
          break;
        }
      }
    }

    for (const client of [...b.deferred.keys()]) this.#settle(b, client);
    this.#runs.write(b.runs);
    // Recorded and never referred to: stored all the same (counted in stats), swept at the next open.
    for (const m of b.pending.values()) s.insertMessage.run(...messageParams(m));
    if (b.candidates.size > 0) {
      const ids = JSON.stringify([...b.candidates]);
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

  #message(b: Batch, m: StoredMessage): void {
    const delta = b.delta;
    if (m.id >= delta.nextMessageId) delta.nextMessageId = m.id + 1;
    if (m.id >= this.#horizon) {
      // New: written with its first reference (inline if that is a delivery and the only one).
      this.#horizon = m.id + 1;
      b.pending.set(m.id, m);
      delta.messages++;
      delta.messageBytes += messageSize(m);
      return;
    }
    // Held already (a message recorded again is ignored), or stored shared.
    if (b.pending.has(m.id) || b.ended.has(m.id) || this.#inlineById.has(m.id)) return;
    if (this.#s.insertMessage.run(...messageParams(m)).changes === 1) {
      delta.messages++;
      delta.messageBytes += messageSize(m);
    }
  }

  #delivery(b: Batch, d: StoredDelivery, i: number): void {
    const s = this.#s;
    const client = this.#client(d.clientId);
    this.#settle(b, client, d.seq);
    const id = d.messageId;
    const old = this.#inlineByKey.get(client)?.get(d.seq);
    if (old?.run !== undefined) {
      if (old.id === id) {
        // The same delivery in a new state (queued → publish, publish → pubrel): in a run of this
        // batch, its record changes; in a written run, it becomes an ordinary row in its new state.
        const run = old.run;
        const pending = run.pending;
        if (pending !== undefined) {
          if (runnable(d, pending[old.index!]!.m)) pending[old.index!]!.d = d;
          else this.#materialize(old, d);
        } else if (plainDelivery(d)) {
          this.#runs.markState(run, old.index!, d);
        } else {
          this.#materialize(old, d);
        }
        return;
      }
      // Given another message: the record becomes an ordinary row, replaced below.
      this.#materialize(old);
    }
    if (old !== undefined && old.id === id) {
      // The same delivery of its inline message, in a new state.
      s.updateDeliveryState.run(
        d.qos,
        flag(d.retain),
        encodeIds(d.subscriptionIds),
        d.sharedGroup ?? null,
        d.packetId ?? null,
        d.state,
        client,
        d.seq,
      );
      return;
    }
    // The row's own inline message is replaced: it ends, or moves to `messages` if needed later on.
    if (old !== undefined && this.#release(b, old, i)) b.candidates.add(old.id);
    let inline: StoredMessage | undefined;
    let bytes = 0;
    const pending = b.pending.get(id);
    if (pending !== undefined && b.lastRef.get(id) === i) {
      bytes = messageSize(pending);
      if (bytes + variableBytes(d, pending) <= this.#inlineMax) inline = pending;
    }
    if (inline !== undefined) b.pending.delete(id);
    else this.#share(b, id);
    const above = d.seq > (this.#maxSeq.get(client) ?? 0);
    if (above) this.#maxSeq.set(client, d.seq);
    if (old === undefined && above && inline !== undefined && runnable(d, inline)) {
      const { run, index } = this.#runs.append(b.runs, client, d, inline);
      this.#addInline({ id, client, seq: d.seq, bytes, run, index });
      return;
    }
    if (old !== undefined) {
      s.updateDelivery.run(...deliveryParams(d, client, inline));
    } else if (!this.#insertDelivery(d, client, inline)) {
      const was = s.deliveryMessage.get(client, d.seq) as number;
      if (was !== id) b.candidates.add(was);
      s.updateDelivery.run(...deliveryParams(d, client, inline));
    }
    if (inline !== undefined) this.#addInline({ id, client, seq: d.seq, bytes });
  }

  /**
   * Writes a record of a run as the ordinary inline row it stands for — with the delivery's new state
   * `d` when one is given — and takes it out of the run.
   */
  #materialize(h: Inline, d?: StoredDelivery): void {
    const run = h.run!;
    const record = this.#runs.record(run, h.index!);
    if (d === undefined || runnable(d, record.m)) {
      this.#s.insertPlainInline.run(
        ...recordParams(d === undefined ? record : { d, m: record.m }, run.client),
      );
    } else {
      this.#s.insertDelivery.run(...deliveryParams(d, run.client, record.m));
    }
    this.#forgetRecord(h);
  }

  /** The record of `h` is gone from its run (materialized, or its delivery deleted). */
  #forgetRecord(h: Inline): void {
    this.#runs.forget(h.run!, h.index!);
    h.run = undefined;
    h.index = undefined;
  }

  /**
   * Runs the client's deferred deletes: all of them, or, with `seq`, only if that delivery is among
   * them (it is about to be written again or deleted by another statement).
   */
  #settle(b: Batch, client: number, seq?: number): void {
    const seqs = b.deferred.get(client);
    if (seqs === undefined || (seq !== undefined && !seqs.includes(seq))) return;
    b.deferred.delete(client);
    seqs.sort((x, y) => x - y);
    let from = seqs[0]!;
    let to = from;
    for (let k = 1; k <= seqs.length; k++) {
      const next = seqs[k];
      if (next === to + 1) {
        to = next;
        continue;
      }
      if (from === to) this.#s.deleteDelivery.run(client, from);
      else this.#s.deleteDeliveryRange.run(client, from, to);
      if (next !== undefined) from = to = next;
    }
  }

  /** Inserts the delivery unless (client, seq) is taken; false if it is. */
  #insertDelivery(d: StoredDelivery, client: number, m: StoredMessage | undefined): boolean {
    if (
      m !== undefined &&
      m.properties === undefined &&
      m.expiresAt === undefined &&
      d.subscriptionIds === undefined &&
      d.sharedGroup === undefined
    ) {
      const result = this.#s.insertPlainInline.run(
        d.messageId,
        d.qos,
        flag(d.retain),
        d.packetId ?? null,
        d.state,
        m.topic,
        m.payload,
        m.qos,
        flag(m.retain),
        m.origin ?? null,
        client,
        d.seq,
      );
      return result.changes === 1;
    }
    return this.#s.insertDelivery.run(...deliveryParams(d, client, m)).changes === 1;
  }

  /** Before a shared reference to message `id` is written: the message must be in `messages`. */
  #share(b: Batch, id: number): void {
    if (id >= this.#horizon) this.#horizon = id + 1;
    const holder = this.#inlineById.get(id);
    if (holder !== undefined) {
      this.#promote(holder);
      return;
    }
    const pending = b.pending.get(id);
    if (pending !== undefined) {
      b.pending.delete(id);
      this.#s.insertMessage.run(...messageParams(pending));
    }
  }

  /**
   * The delivery holding `h` is about to be deleted or given another message. Returns true if `h` was
   * moved to `messages` because a later change of the batch refers to it (the delivery then refers to
   * it as a shared message); false if it ended.
   */
  #release(b: Batch, h: Inline, i: number): boolean {
    if ((b.lastRef.get(h.id) ?? -1) > i) {
      this.#promote(h);
      return true;
    }
    this.#removeInline(h);
    b.ended.add(h.id);
    b.delta.messages--;
    b.delta.messageBytes -= h.bytes;
    return false;
  }

  #promote(h: Inline): void {
    if (h.run !== undefined) this.#materialize(h);
    this.#s.copyInline.run(h.client, h.seq);
    this.#s.clearInline.run(h.client, h.seq);
    this.#removeInline(h);
  }

  #addInline(h: Inline): void {
    this.#inlineById.set(h.id, h);
    let bySeq = this.#inlineByKey.get(h.client);
    if (bySeq === undefined) {
      bySeq = new Map();
      this.#inlineByKey.set(h.client, bySeq);
    }
    bySeq.set(h.seq, h);
  }

  #removeInline(h: Inline): void {
    this.#inlineById.delete(h.id);
    const bySeq = this.#inlineByKey.get(h.client);
    if (bySeq === undefined) return;
    bySeq.delete(h.seq);
    if (bySeq.size === 0) this.#inlineByKey.delete(h.client);
  }

  /** The client's number, added to `clients` if it has none. */
  #client(clientId: string): number {
    let id = this.#clients.get(clientId);
    if (id === undefined) {
      id = this.#nextClient++;
      this.#s.insertClient.run(id, clientId);
      this.#clients.set(clientId, id);
    }
    return id;
  }
}

const flag = (b: boolean): number => (b ? 1 : 0);

/** Whether a fresh inline delivery fits a run record (sqlite-runs.ts): nothing beyond the plain fields. */
function runnable(d: StoredDelivery, m: StoredMessage): boolean {
  return (
    m.properties === undefined &&
    m.expiresAt === undefined &&
    plainDelivery(d) &&
    Number.isSafeInteger(d.seq) &&
    (m.origin === undefined || m.origin.length < 0x5555)
  );
}

/** A delivery whose fields a run's record (or its state mark) can hold. */
function plainDelivery(d: StoredDelivery): boolean {
  return d.subscriptionIds === undefined && d.sharedGroup === undefined;
}

/**
 * The most bytes of text and blobs a delivery row with an inline message may hold: a row of
 * `deliveries` (a WITHOUT ROWID table) longer than SQLite's local limit for its page size (1,002 bytes
 * for 4 KiB pages) spills into an overflow page, and such rows, inserted in the middle of the table,
 * cost twice what a shared message does. 64 bytes are left for the record header and the numbers.
 */
export function inlineLimit(pageSize: number): number {
  return Math.floor(((pageSize - 12) * 64) / 255) - 23 - 64;
}

/** Bytes of an inline row's text fields besides the message's topic and payload. */
function variableBytes(d: StoredDelivery, m: StoredMessage): number {
  let n = 0;
  if (m.origin !== undefined) n += Buffer.byteLength(m.origin);
  if (m.properties !== undefined) n += Buffer.byteLength(encodeProperties(m.properties) ?? '');
  if (d.subscriptionIds !== undefined) n += (encodeIds(d.subscriptionIds) ?? '').length;
  if (d.sharedGroup !== undefined) n += Buffer.byteLength(d.sharedGroup);
  return n;
}

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

function subscriptionParams(s: StoredSubscription, client: number): unknown[] {
  return [
    client,
    s.filter,
    s.qos,
    flag(s.noLocal),
    flag(s.retainAsPublished),
    s.retainHandling,
    s.identifier ?? null,
  ];
}

/** In DELIVERY_COLUMNS order, then (client, seq), to serve both the INSERT and the UPDATE. */
function deliveryParams(d: StoredDelivery, client: number, m: StoredMessage | undefined): unknown[] {
  return [
    d.messageId,
    d.qos,
    flag(d.retain),
    encodeIds(d.subscriptionIds),
    d.sharedGroup ?? null,
    d.packetId ?? null,
    d.state,
    m === undefined ? null : m.topic,
    m === undefined ? null : m.payload,
    m === undefined ? null : m.qos,
    m === undefined ? null : flag(m.retain),
    m === undefined ? null : encodeProperties(m.properties),
    m?.expiresAt ?? null,
    m?.origin ?? null,
    client,
    d.seq,
  ];
}
