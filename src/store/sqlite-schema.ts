/**
 * The SQLite schema and its migrations. `MIGRATIONS[n]` takes a database from schema version n to
 * n + 1 (version 0 is an empty file); `migrate` runs the missing ones in one IMMEDIATE transaction at
 * open and records the version in `meta`. A file with a higher version than this code knows was written
 * by a newer midge: downgrades are not supported, so `migrate` refuses it rather than guess.
 *
 * Compatibility promise (docs/storage.md): a file written by any released midge opens in every later
 * one; a change to a table or to a stored format (serialize.ts) is a new migration, never an edit of
 * an old one.
 */
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';

type Migration = (db: Database) => void;

const V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE messages (
  id         INTEGER PRIMARY KEY,
  topic      TEXT    NOT NULL,
  payload    BLOB    NOT NULL,
  qos        INTEGER NOT NULL CHECK (qos BETWEEN 0 AND 2),
  retain     INTEGER NOT NULL CHECK (retain BETWEEN 0 AND 1),
  properties TEXT,
  expires_at INTEGER,
  origin     TEXT
);

CREATE TABLE sessions (
  client_id       TEXT PRIMARY KEY,
  expiry_interval INTEGER NOT NULL,
  disconnected_at INTEGER,
  will_topic      TEXT,
  will_payload    BLOB,
  will_qos        INTEGER,
  will_retain     INTEGER,
  will_properties TEXT,
  will_at         INTEGER
);

CREATE TABLE subscriptions (
  client_id           TEXT    NOT NULL,
  filter              TEXT    NOT NULL,
  qos                 INTEGER NOT NULL,
  no_local            INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL,
  retain_handling     INTEGER NOT NULL,
  identifier          INTEGER,
  PRIMARY KEY (client_id, filter)
) WITHOUT ROWID;

CREATE TABLE deliveries (
  client_id        TEXT    NOT NULL,
  seq              INTEGER NOT NULL,
  message_id       INTEGER NOT NULL,
  qos              INTEGER NOT NULL,
  retain           INTEGER NOT NULL,
  subscription_ids TEXT,
  shared_group     TEXT,
  packet_id        INTEGER,
  state            TEXT    NOT NULL CHECK (state = 'queued' OR state = 'publish' OR state = 'pubrel'),
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;
CREATE INDEX deliveries_message ON deliveries (message_id);

CREATE TABLE incoming (
  client_id TEXT    NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY (client_id, packet_id)
) WITHOUT ROWID;

CREATE TABLE retained (
  topic      TEXT    PRIMARY KEY,
  message_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX retained_message ON retained (message_id);

INSERT INTO meta (key, value) VALUES ('schema_version', 1), ('next_message_id', 1);
`;

const MIGRATIONS: readonly Migration[] = [(db) => db.exec(V1)];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").get();
  if (hasMeta === undefined) return 0;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
    | { value: number }
    | undefined;
  return row?.value ?? 0;
}

/** Brings the file to SCHEMA_VERSION; returns the version it had. */
export function migrate(db: Database, file: string): number {
  return db
    .transaction(() => {
      const from = schemaVersion(db);
      if (from > SCHEMA_VERSION) {
        throw new StoreError(
          'STORE_SCHEMA_TOO_NEW',
          `the store ${file} has schema version ${from}, but this midge knows versions up to ${SCHEMA_VERSION}: ` +
            'it was written by a newer midge, and downgrades are not supported (run the newer midge, or move the file away)',
        );
      }
      for (let v = from; v < SCHEMA_VERSION; v++) {
        MIGRATIONS[v]!(db);
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(v + 1);
      }
      return from;
    })
    .immediate();
}
