/**
 * The SQLite schema and its migrations. `MIGRATIONS[n]` takes a database from schema version n to
 * n + 1 (version 0 is an empty file); `migrate` runs the missing ones in one IMMEDIATE transaction at
 * open and records the version in `meta`. A file with a higher version than this code knows was written
 * by a newer midge: downgrades are not supported, so `migrate` refuses it rather than guess.
 *
 * Compatibility promise (docs/storage.md): a file written by any released midge opens in every later
 * one; a change to a table or to a stored format (serialize.ts) is a new migration, never an edit of
 * an old one.
 *
 * Version 2 (what the hot path of a QoS 1/2 message costs, docs/storage.md "Speed"): client ids are
 * numbered in `clients`, so subscriptions, deliveries and incoming ids are keyed by two integers; and a
 * message referred to by a single delivery lives inside that delivery's row (its `topic` is not NULL)
 * instead of in `messages`, so storing and releasing it touches one b-tree, not four (sqlite-commit.ts).
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

/**
 * From version 1: the `clients` table, integer client keys, the message columns of `deliveries` (all
 * NULL: every migrated delivery refers to `messages`), and the index on `deliveries.message_id` limited
 * to the deliveries that refer to `messages`.
 */
const V2 = `
CREATE TABLE clients (
  id        INTEGER PRIMARY KEY,
  client_id TEXT    NOT NULL UNIQUE
);
INSERT INTO clients (client_id)
  SELECT client_id FROM subscriptions UNION SELECT client_id FROM deliveries UNION SELECT client_id FROM incoming;

CREATE TABLE subscriptions_v2 (
  client              INTEGER NOT NULL,
  filter              TEXT    NOT NULL,
  qos                 INTEGER NOT NULL,
  no_local            INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL,
  retain_handling     INTEGER NOT NULL,
  identifier          INTEGER,
  PRIMARY KEY (client, filter)
) WITHOUT ROWID;
INSERT INTO subscriptions_v2
  SELECT c.id, s.filter, s.qos, s.no_local, s.retain_as_published, s.retain_handling, s.identifier
  FROM subscriptions AS s JOIN clients AS c ON c.client_id = s.client_id;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_v2 RENAME TO subscriptions;

CREATE TABLE deliveries_v2 (
  client           INTEGER NOT NULL,
  seq              INTEGER NOT NULL,
  message_id       INTEGER NOT NULL,
  qos              INTEGER NOT NULL,
  retain           INTEGER NOT NULL,
  subscription_ids TEXT,
  shared_group     TEXT,
  packet_id        INTEGER,
  state            TEXT    NOT NULL CHECK (state = 'queued' OR state = 'publish' OR state = 'pubrel'),
  topic            TEXT,
  payload          BLOB,
  message_qos      INTEGER,
  message_retain   INTEGER,
  properties       TEXT,
  expires_at       INTEGER,
  origin           TEXT,
  PRIMARY KEY (client, seq)
) WITHOUT ROWID;
INSERT INTO deliveries_v2 (client, seq, message_id, qos, retain, subscription_ids, shared_group, packet_id, state)
  SELECT c.id, d.seq, d.message_id, d.qos, d.retain, d.subscription_ids, d.shared_group, d.packet_id, d.state
  FROM deliveries AS d JOIN clients AS c ON c.client_id = d.client_id;
DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
CREATE INDEX deliveries_message ON deliveries (message_id) WHERE topic IS NULL;

CREATE TABLE incoming_v2 (
  client    INTEGER NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY (client, packet_id)
) WITHOUT ROWID;
INSERT INTO incoming_v2
  SELECT c.id, i.packet_id FROM incoming AS i JOIN clients AS c ON c.client_id = i.client_id;
DROP TABLE incoming;
ALTER TABLE incoming_v2 RENAME TO incoming;
`;

/**
 * From version 2: `runs`, one row per client and commit holding that commit's fresh plain deliveries,
 * and `run_marks`, which of a run's records are gone and the new state of those that changed — apart,
 * so that marking one costs a small row's update, not a rewrite of the run (sqlite-runs.ts). A version 2 file has none; nothing else changes.
 */
const V3 = `
CREATE TABLE runs (
  client    INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  records   BLOB    NOT NULL,
  PRIMARY KEY (client, first_seq)
) WITHOUT ROWID;

CREATE TABLE run_marks (
  client    INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  gone      BLOB    NOT NULL,
  states    BLOB,
  PRIMARY KEY (client, first_seq)
) WITHOUT ROWID;
`;

const MIGRATIONS: readonly Migration[] = [(db) => db.exec(V1), (db) => db.exec(V2), (db) => db.exec(V3)];

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
