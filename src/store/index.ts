/**
 * The store's public surface: the Store contract, both implementations and a factory. The core takes
 * a Store by injection and imports nothing else from here.
 */
import type { Logger } from 'pino';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export { StoreError, type StoreErrorCode } from './errors.js';
export { MemoryStore } from './memory.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
export { SCHEMA_VERSION } from './sqlite-schema.js';
export type {
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

export type StoreOptions =
  | { kind: 'memory' }
  | { kind: 'sqlite'; file: string; fsync: boolean; log?: Logger | undefined };

export function createStore(options: StoreOptions): Store {
  switch (options.kind) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore({ file: options.file, fsync: options.fsync, log: options.log });
  }
}
