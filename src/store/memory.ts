/**
 * The memory store: what `--memory` runs on, and what tests restart a broker on. `commit` validates
 * the whole batch first, then applies it (so it is all or nothing), keeping copies; `open` hands out
 * fresh copies, so a second broker opened on the same instance sees exactly what the first committed.
 *
 * Invariants:
 * - `#refs` counts, per message id, the deliveries and retained entries referring to it.
 * - A message whose count drops to 0 in a commit is removed at the end of that commit; a message never
 *   referred to at all (stored alone) is removed at the next `open`, as the SQLite store does.
 * - A delivery or retained entry naming a message not held is accepted, and dropped at the next `open`.
 */
import { copyDelivery, copyMessage, copySession, copySubscription, messageSize } from './copy.js';
import { StoreError } from './errors.js';
import type {
  Change,
  LoadedState,
  Store,
  StoredDelivery,
  StoredIncoming,
  StoredMessage,
  StoredRetained,
  StoredSession,
  StoredSubscription,
  StoreStats,
} from './types.js';
import { checkChanges } from './validate.js';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;

  #opened = false;
  readonly #sessions = new Map<string, StoredSession>();
  readonly #subscriptions = new Map<string, Map<string, StoredSubscription>>();
  readonly #deliveries = new Map<string, Map<number, StoredDelivery>>();
  readonly #incoming = new Map<string, Set<number>>();
  readonly #retained = new Map<string, number>();
  readonly #messages = new Map<number, StoredMessage>();
  readonly #refs = new Map<number, number>();
  #nextMessageId = 1;
  #messageBytes = 0;

  async open(): Promise<LoadedState> {
    this.#opened = true;
    this.#dropDangling();
    for (const id of this.#messages.keys()) this.#collect(id);

    const sessions = [...this.#sessions.values()].map(copySession);
    const subscriptions: StoredSubscription[] = [];
    for (const subs of this.#subscriptions.values()) {
      for (const sub of subs.values()) subscriptions.push(copySubscription(sub));
    }
    const deliveries: StoredDelivery[] = [];
    for (const clientId of [...this.#deliveries.keys()].sort(compareStrings)) {
      const bySeq = this.#deliveries.get(clientId)!;
      for (const seq of [...bySeq.keys()].sort((a, b) => a - b))
        deliveries.push(copyDelivery(bySeq.get(seq)!));
    }
    const incoming: StoredIncoming[] = [];
    for (const [clientId, ids] of this.#incoming) {
      for (const packetId of ids) incoming.push({ clientId, packetId });
    }
    const retained: StoredRetained[] = [];
    for (const [topic, messageId] of this.#retained) retained.push({ topic, messageId });
    const messages = new Map<number, StoredMessage>();
    for (const [id, message] of this.#messages) messages.set(id, copyMessage(message));

    return {
      sessions,
      subscriptions,
      deliveries,
      incoming,
      retained,
      messages,
      nextMessageId: this.#nextMessageId,
    };
  }

  async commit(changes: readonly Change[]): Promise<void> {
    if (!this.#opened) throw new StoreError('STORE_NOT_OPEN', 'the memory store is not open');
    checkChanges(changes);
    const candidates = new Set<number>();
    for (const change of changes) this.#apply(change, candidates);
    for (const id of candidates) this.#collect(id);
  }

  stats(): StoreStats {
    return {
      sessions: this.#sessions.size,
      messages: this.#messages.size,
      messageBytes: this.#messageBytes,
      fileBytes: 0,
    };
  }

  async close(): Promise<void> {
    this.#opened = false;
  }

  #apply(c: Change, candidates: Set<number>): void {
    switch (c.type) {
      case 'message': {
        const m = c.message;
        if (m.id >= this.#nextMessageId) this.#nextMessageId = m.id + 1;
        if (this.#messages.has(m.id)) return;
        this.#messages.set(m.id, copyMessage(m));
        this.#messageBytes += messageSize(m);
        return;
      }
      case 'session':
        this.#sessions.set(c.session.clientId, copySession(c.session));
        return;
      case 'session-delete': {
        this.#sessions.delete(c.clientId);
        this.#subscriptions.delete(c.clientId);
        this.#incoming.delete(c.clientId);
        const deliveries = this.#deliveries.get(c.clientId);
        if (deliveries === undefined) return;
        for (const d of deliveries.values()) this.#unref(d.messageId, candidates);
        this.#deliveries.delete(c.clientId);
        return;
      }
      case 'subscription': {
        const s = c.subscription;
        inner(this.#subscriptions, s.clientId).set(s.filter, copySubscription(s));
        return;
      }
      case 'subscription-delete':
        removeInner(this.#subscriptions, c.clientId, (m) => m.delete(c.filter));
        return;
      case 'delivery': {
        const d = c.delivery;
        const bySeq = inner(this.#deliveries, d.clientId);
        const old = bySeq.get(d.seq);
        this.#ref(d.messageId);
        if (old !== undefined) this.#unref(old.messageId, candidates);
        bySeq.set(d.seq, copyDelivery(d));
        return;
      }
      case 'delivery-delete':
        removeInner(this.#deliveries, c.clientId, (m) => {
          const old = m.get(c.seq);
          if (old !== undefined) this.#unref(old.messageId, candidates);
          m.delete(c.seq);
        });
        return;
      case 'incoming': {
        const ids = this.#incoming.get(c.clientId);
        if (ids === undefined) this.#incoming.set(c.clientId, new Set([c.packetId]));
        else ids.add(c.packetId);
        return;
      }
      case 'incoming-delete': {
        const ids = this.#incoming.get(c.clientId);
        if (ids === undefined) return;
        ids.delete(c.packetId);
        if (ids.size === 0) this.#incoming.delete(c.clientId);
        return;
      }
      case 'retained': {
        const old = this.#retained.get(c.topic);
        this.#ref(c.messageId);
        if (old !== undefined) this.#unref(old, candidates);
        this.#retained.set(c.topic, c.messageId);
        return;
      }
      case 'retained-delete': {
        const old = this.#retained.get(c.topic);
        if (old === undefined) return;
        this.#unref(old, candidates);
        this.#retained.delete(c.topic);
        return;
      }
    }
  }

  #dropDangling(): void {
    for (const [clientId, bySeq] of this.#deliveries) {
      for (const [seq, d] of bySeq) {
        if (!this.#messages.has(d.messageId)) bySeq.delete(seq);
      }
      if (bySeq.size === 0) this.#deliveries.delete(clientId);
    }
    for (const [topic, id] of this.#retained) {
      if (!this.#messages.has(id)) this.#retained.delete(topic);
    }
    for (const id of this.#refs.keys()) {
      if (!this.#messages.has(id)) this.#refs.delete(id);
    }
  }

  #ref(id: number): void {
    this.#refs.set(id, (this.#refs.get(id) ?? 0) + 1);
  }

  #unref(id: number, candidates: Set<number>): void {
    const n = (this.#refs.get(id) ?? 0) - 1;
    if (n > 0) this.#refs.set(id, n);
    else this.#refs.delete(id);
    candidates.add(id);
  }

  /** Removes the message if nothing refers to it. */
  #collect(id: number): void {
    if (this.#refs.has(id)) return;
    const m = this.#messages.get(id);
    if (m === undefined) return;
    this.#messages.delete(id);
    this.#messageBytes -= messageSize(m);
  }
}

function inner<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  const m = outer.get(key);
  if (m !== undefined) return m;
  const created = new Map<K, V>();
  outer.set(key, created);
  return created;
}

function removeInner<K, V>(outer: Map<string, Map<K, V>>, key: string, remove: (m: Map<K, V>) => void): void {
  const m = outer.get(key);
  if (m === undefined) return;
  remove(m);
  if (m.size === 0) outer.delete(key);
}

/** The order SQLite's BINARY collation gives: by UTF-8 bytes, which code points order the same way. */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
