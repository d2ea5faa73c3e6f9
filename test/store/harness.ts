/**
 * What the store suites share: one entry per store kind that makes a fresh store and "restarts" it
 * (a new SqliteStore on the same file; `close` then `open` again on the same MemoryStore), a canonical
 * form of a LoadedState for comparisons, and record builders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type {
  LoadedState,
  Store,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
} from '../../src/store/types.js';

export interface Opened {
  store: Store;
  state: LoadedState;
  /** Closes the store and opens it again as a restarted broker would. */
  restart(): Promise<Opened>;
}

export interface StoreKind {
  name: 'memory' | 'sqlite';
  /** A fresh, empty, opened store. */
  fresh(): Promise<Opened>;
}

const dirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'midge-store-'));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

async function opened(store: Store, reopen: () => Store): Promise<Opened> {
  const state = await store.open();
  return {
    store,
    state,
    async restart() {
      await store.close();
      return opened(reopen(), reopen);
    },
  };
}

export const STORE_KINDS: StoreKind[] = [
  {
    name: 'memory',
    fresh() {
      const store = new MemoryStore();
      return opened(store, () => store);
    },
  },
  {
    name: 'sqlite',
    fresh() {
      const file = join(tempDir(), 'data', 'midge.db');
      return opened(new SqliteStore({ file, fsync: false }), () => new SqliteStore({ file, fsync: false }));
    },
  },
];

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** The state with its unordered lists sorted, so two loads can be compared with deepEqual. */
export function canonical(state: LoadedState): Omit<LoadedState, 'messages'> & { messages: StoredMessage[] } {
  return {
    sessions: [...state.sessions].sort(byKey((s) => s.clientId)),
    subscriptions: [...state.subscriptions].sort(byKey((s) => `${s.clientId}\u0000${s.filter}`)),
    // Deliveries keep the order the store gives: it is part of the contract.
    deliveries: state.deliveries,
    incoming: [...state.incoming].sort(
      byKey((i) => `${i.clientId}\u0000${String(i.packetId).padStart(5, '0')}`),
    ),
    retained: [...state.retained].sort(byKey((r) => r.topic)),
    messages: [...state.messages.values()].sort((a, b) => a.id - b.id),
    nextMessageId: state.nextMessageId,
    ...(state.recovered === undefined ? {} : { recovered: state.recovered }),
  };
}

export function message(id: number, extra: Partial<StoredMessage> = {}): StoredMessage {
  return { id, topic: `t/${id}`, payload: Buffer.from(`payload ${id}`), qos: 1, retain: false, ...extra };
}

export function session(clientId: string, extra: Partial<StoredSession> = {}): StoredSession {
  return { clientId, expiryInterval: 3600, ...extra };
}

export function subscription(clientId: string, filter: string, extra: Partial<StoredSubscription> = {}) {
  const sub: StoredSubscription = {
    clientId,
    filter,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    ...extra,
  };
  return sub;
}

export function delivery(
  clientId: string,
  seq: number,
  messageId: number,
  extra: Partial<StoredDelivery> = {},
) {
  const d: StoredDelivery = { clientId, seq, messageId, qos: 1, retain: false, state: 'queued', ...extra };
  return d;
}
