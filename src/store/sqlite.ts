/**
 * The SQLite store, midge's embedded default: one file (plus its -wal) in WAL mode, written through
 * better-sqlite3, whose calls are synchronous — a commit of a few thousand changes takes a few
 * milliseconds, far less than handing it to a worker would cost.
 *
 * Durability: every commit is one transaction. With `fsync: false` (synchronous = NORMAL) a committed
 * transaction survives the process dying (kill -9, a crash) but the last ones may be lost with the
 * machine's power; with `fsync: true` (synchronous = FULL) it survives power loss as well.
 *
 * Damage: a file that is not a database, fails `PRAGMA quick_check`, or throws SQLITE_CORRUPT /
 * SQLITE_NOTADB / SQLITE_CANTOPEN while loading is moved aside (with its -wal and -shm) to
 * `<file>.damaged-<time>` and a fresh store is started; `LoadedState.recovered` says so. `open` throws
 * only for what moving files cannot fix: an unusable directory, a locked or read-only file, a schema
 * newer than this code.
 */

import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { StoreError } from './errors.js';
import { type CommitDelta, SqliteWriter } from './sqlite-commit.js';
import { fileBytes, moveAside, prepareDirectory } from './sqlite-files.js';
import { loadState } from './sqlite-load.js';
import { materializeRuns } from './sqlite-runs.js';
import { migrate, SCHEMA_VERSION } from './sqlite-schema.js';
import type { Change, LoadedState, Store, StoreStats } from './types.js';
import { checkChanges } from './validate.js';

export interface SqliteStoreOptions {
  /** The database file, e.g. `./data/midge.db`; its directory is created if missing. */
  file: string;
  /** true: a commit survives power loss (synchronous = FULL); false: it survives a process crash. */
  fsync: boolean;
  log?: Logger | undefined;
}

/** How long a statement waits for a lock held by another connection before failing. */
const BUSY_TIMEOUT_MS = 5000;

/** A database that opened but failed a check. */
class DamageError extends Error {}

interface Open {
  db: Database.Database;
  writer: SqliteWriter;
  /** A commit failed and was rolled back: the writer must read its state again before the next one. */
  stale: boolean;
  transaction: (changes: readonly Change[], nextMessageId: number) => CommitDelta;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  readonly #fsync: boolean;
  readonly #log: Logger | undefined;

  #open: Open | undefined;
  #sessions = 0;
  #messages = 0;
  #messageBytes = 0;
  /** The persisted `next_message_id`. */
  #nextMessageId = 1;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    this.#fsync = options.fsync;
    this.#log = options.log;
  }

  async open(): Promise<LoadedState> {
    if (this.#open !== undefined) {
      throw new StoreError('STORE_ALREADY_OPEN', `the store ${this.file} is already open`);
    }
    prepareDirectory(this.file);
    let db: Database.Database | undefined;
    try {
      db = this.#connect();
      return this.#prepare(db);
    } catch (err) {
      this.#open = undefined;
      const damage = damageOf(err);
      if (damage === undefined) {
        if (db !== undefined) closeQuietly(db);
        throw unavailable(err, this.file);
      }
      // Moved while still open: closing the last connection would otherwise delete the -wal (and
      // could checkpoint into the file), and what it holds belongs with the damaged file.
      let moved: string;
      try {
        moved = moveAside(this.file);
      } finally {
        if (db !== undefined) closeQuietly(db);
      }
      const recovered =
        `The store ${this.file} was damaged (${damage}); it was moved to ${moved} ` +
        'and midge started with an empty store.';
      this.#log?.error({ file: this.file, moved, reason: damage }, recovered);
      let fresh: Database.Database | undefined;
      try {
        fresh = this.#connect();
        const state = this.#prepare(fresh);
        state.recovered = recovered;
        return state;
      } catch (again) {
        this.#open = undefined;
        if (fresh !== undefined) closeQuietly(fresh);
        throw unavailable(again, this.file);
      }
    }
  }

  async commit(changes: readonly Change[]): Promise<void> {
    const open = this.#open;
    if (open === undefined) throw new StoreError('STORE_NOT_OPEN', `the store ${this.file} is not open`);
    if (changes.length === 0) return;
    checkChanges(changes);
    let delta: CommitDelta;
    try {
      if (open.stale) {
        open.writer.reset(this.#nextMessageId);
        open.stale = false;
      }
      delta = open.transaction(changes, this.#nextMessageId);
    } catch (err) {
      // Rolled back: the writer's client numbers and inline messages no longer match the file.
      open.stale = true;
      throw commitError(err, this.file);
    }
    this.#sessions += delta.sessions;
    this.#messages += delta.messages;
    this.#messageBytes += delta.messageBytes;
    this.#nextMessageId = delta.nextMessageId;
  }

  stats(): StoreStats {
    return {
      sessions: this.#sessions,
      messages: this.#messages,
      messageBytes: this.#messageBytes,
      fileBytes: fileBytes(this.file),
    };
  }

  async close(): Promise<void> {
    const open = this.#open;
    if (open === undefined) return;
    this.#open = undefined;
    try {
      // A file at rest holds no runs (sqlite-runs.ts): only a crash leaves some for the next open.
      open.db.transaction(() => materializeRuns(open.db))();
    } catch (err) {
      this.#log?.warn(
        { err, file: this.file },
        'store: writing out runs at close failed (the next open will)',
      );
    }
    try {
      open.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.#log?.warn({ err, file: this.file }, 'store: WAL checkpoint at close failed');
    }
    open.db.close();
  }

  #connect(): Database.Database {
    return new Database(this.file, { timeout: BUSY_TIMEOUT_MS });
  }

  /** Sets the connection up, checks, migrates and loads it; throws on damage (open moves it aside). */
  #prepare(db: Database.Database): LoadedState {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${this.#fsync ? 'FULL' : 'NORMAL'}`);
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -32000');
    db.pragma('journal_size_limit = 67108864');
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') throw new DamageError(`quick_check: ${String(check)}`);
    const from = migrate(db, this.file);
    if (from !== 0 && from < SCHEMA_VERSION) {
      this.#log?.info({ file: this.file, from, to: SCHEMA_VERSION }, 'store: schema migrated');
    }
    const writer = new SqliteWriter(db);
    const transaction = db.transaction((changes: readonly Change[], next: number) =>
      writer.apply(changes, next),
    );
    this.#open = { db, writer, stale: false, transaction };
    const { state, bytes, inline } = loadState(db, this.file, this.#log);
    writer.reset(state.nextMessageId, inline);
    this.#sessions = state.sessions.length;
    this.#messages = state.messages.size;
    this.#messageBytes = bytes;
    this.#nextMessageId = state.nextMessageId;
    return state;
  }
}

function closeQuietly(db: Database.Database): void {
  try {
    db.close();
  } catch {
    // A handle to a damaged file may fail to close; nothing more can be done with it.
  }
}

/** Why the error means the file is damaged, or undefined when it does not. */
function damageOf(err: unknown): string | undefined {
  if (err instanceof DamageError) return err.message.replace(/\s+/g, ' ');
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (/^SQLITE_(CORRUPT|NOTADB|CANTOPEN)/.test(code)) return `${code}: ${(err as Error).message}`;
  return undefined;
}

function unavailable(err: unknown, file: string): Error {
  if (err instanceof StoreError) return err;
  return new StoreError('STORE_UNAVAILABLE', `cannot open the store ${file}: ${(err as Error).message}`, {
    cause: err,
  });
}

function commitError(err: unknown, file: string): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
    return new StoreError('STORE_BAD_CHANGE', `commit to ${file} refused: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return new StoreError('STORE_WRITE_FAILED', `commit to ${file} failed: ${(err as Error).message}`, {
    cause: err,
  });
}
