/**
 * The SQLite store's schema version 2 (src/store/sqlite-commit.ts): files of version 1 migrated,
 * client numbers, and messages held inline in their only delivery — placed, promoted to `messages`
 * when a second reference comes, ended with their delivery — all invisible behind `open`. Every test
 * commits the same batches to a MemoryStore beside it and checks the stats after each commit and the
 * state after a restart, then looks at where the file keeps each message.
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { inlineLimit } from '../../src/store/sqlite-commit.js';
import { decodeRun, isGone, liveRuns } from '../../src/store/sqlite-runs.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import type { Change, LoadedState, StoredMessage } from '../../src/store/types.js';
import { canonical, delivery, message, removeTempDirs, session, subscription, tempDir } from './harness.js';

after(removeTempDirs);

function newFile(): string {
  return join(tempDir(), 'midge.db');
}

/** Where the file keeps things: shared message ids, inline ones (with their delivery), client numbers. */
function layout(file: string): { shared: number[]; inline: string[]; clients: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      shared: db.prepare('SELECT id FROM messages ORDER BY id').pluck().all() as number[],
      inline: (
        db
          .prepare(
            'SELECT c.client_id, d.seq, d.message_id FROM deliveries d JOIN clients c ON c.id = d.client ' +
              'WHERE d.topic IS NOT NULL ORDER BY d.message_id',
          )
          .raw()
          .all() as [string, number, number][]
      )
        .map(([clientId, seq, id]) => `${id}@${clientId}:${seq}`)
        .concat(runRecords(db))
        .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10)),
      clients: db.prepare('SELECT client_id FROM clients ORDER BY client_id').pluck().all() as string[],
    };
  } finally {
    db.close();
  }
}

/** The live records of `runs` (schema 3: fresh plain deliveries of one commit), as `layout` names them. */
function runRecords(db: Database.Database): string[] {
  const names = new Map(
    (db.prepare('SELECT id, client_id FROM clients').raw().all() as [number, string][]).map(([id, c]) => [
      id,
      c,
    ]),
  );
  const out: string[] = [];
  for (const [client, blob, gone] of liveRuns(db)) {
    decodeRun(blob, '').forEach((r, index) => {
      if (!isGone(gone, index)) out.push(`${r.m.id}@${names.get(client)}:${r.d.seq}`);
    });
  }
  return out;
}

const counts = (store: { stats(): { sessions: number; messages: number; messageBytes: number } }) => {
  const { sessions, messages, messageBytes } = store.stats();
  return { sessions, messages, messageBytes };
};

/** A SqliteStore and a MemoryStore fed the same batches, compared after each one. */
class Twin {
  readonly file = newFile();
  readonly memory = new MemoryStore();
  sqlite = new SqliteStore({ file: this.file, fsync: false });

  async open(): Promise<void> {
    await this.memory.open();
    await this.sqlite.open();
  }

  async commit(changes: Change[]): Promise<void> {
    await this.memory.commit(changes);
    await this.sqlite.commit(changes);
    assert.deepEqual(counts(this.sqlite), counts(this.memory), 'stats after the commit');
  }

  /** Restarts both and checks they load the same state; returns it. */
  async restart(): Promise<LoadedState> {
    await this.memory.close();
    await this.sqlite.close();
    this.sqlite = new SqliteStore({ file: this.file, fsync: false });
    const fromMemory = await this.memory.open();
    const fromSqlite = await this.sqlite.open();
    assert.deepEqual(canonical(fromSqlite), canonical(fromMemory), 'state after a restart');
    assert.deepEqual(counts(this.sqlite), counts(this.memory), 'stats after a restart');
    return fromSqlite;
  }

  async close(): Promise<void> {
    await this.memory.close();
    await this.sqlite.close();
  }
}

async function twin(): Promise<Twin> {
  const t = new Twin();
  await t.open();
  return t;
}

const msg = (m: StoredMessage): Change => ({ type: 'message', message: m });
const dlv = (clientId: string, seq: number, messageId: number, extra = {}): Change => ({
  type: 'delivery',
  delivery: delivery(clientId, seq, messageId, extra),
});
const del = (clientId: string, seq: number): Change => ({ type: 'delivery-delete', clientId, seq });

/** The version 1 schema exactly as midge 0.1 created it (src/store/sqlite-schema.ts, V1). */
const V1_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL,
  qos INTEGER NOT NULL CHECK (qos BETWEEN 0 AND 2), retain INTEGER NOT NULL CHECK (retain BETWEEN 0 AND 1),
  properties TEXT, expires_at INTEGER, origin TEXT
);
CREATE TABLE sessions (
  client_id TEXT PRIMARY KEY, expiry_interval INTEGER NOT NULL, disconnected_at INTEGER, will_topic TEXT,
  will_payload BLOB, will_qos INTEGER, will_retain INTEGER, will_properties TEXT, will_at INTEGER
);
CREATE TABLE subscriptions (
  client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, no_local INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL, retain_handling INTEGER NOT NULL, identifier INTEGER,
  PRIMARY KEY (client_id, filter)
) WITHOUT ROWID;
CREATE TABLE deliveries (
  client_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id INTEGER NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, subscription_ids TEXT, shared_group TEXT, packet_id INTEGER,
  state TEXT NOT NULL CHECK (state = 'queued' OR state = 'publish' OR state = 'pubrel'),
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE TABLE incoming (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE retained (topic TEXT PRIMARY KEY, message_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX retained_message ON retained (message_id);
INSERT INTO meta (key, value) VALUES ('schema_version', 1), ('next_message_id', 1);
`;

describe('SQLite store: migration from schema version 1', () => {
  /** A version 1 file with a bit of everything, written with SQL as midge 0.1 wrote it. */
  function writeV1(file: string): void {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(V1_SCHEMA);
    const m = db.prepare(
      'INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    m.run(
      3,
      'a/ü',
      Buffer.from([0, 1, 255]),
      2,
      1,
      '{"contentType":"x","correlationData":{"$b":"AQI="},"userProperties":[["k","1"],["k","2"]]}',
      1_900_000_000_000,
      'pub',
    );
    m.run(4, 'b', Buffer.alloc(0), 1, 0, null, null, null);
    m.run(5, 'c', Buffer.from('five'), 0, 0, null, null, null);
    db.prepare(
      'INSERT INTO sessions (client_id, expiry_interval, disconnected_at, will_topic, will_payload, will_qos, ' +
        'will_retain, will_properties, will_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run('ç-client', 60, 1_800_000_000_000, 'w', Buffer.from('bye'), 1, 0, null, 1_800_000_010_000);
    db.prepare("INSERT INTO sessions (client_id, expiry_interval) VALUES ('b-client', 4294967295)").run();
    const s = db.prepare(
      'INSERT INTO subscriptions (client_id, filter, qos, no_local, retain_as_published, retain_handling, identifier) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    s.run('ç-client', '$share/g/a/+', 2, 1, 1, 2, 7);
    s.run('b-client', '#', 0, 0, 0, 0, null);
    const d = db.prepare(
      'INSERT INTO deliveries (client_id, seq, message_id, qos, retain, subscription_ids, shared_group, packet_id, state) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    d.run('ç-client', 2, 3, 2, 1, '[7]', '$share/g/a/+', 9, 'pubrel');
    d.run('ç-client', 1, 4, 1, 0, null, null, null, 'queued');
    d.run('b-client', 10, 3, 1, 0, null, null, 3, 'publish');
    d.run('a-no-session', 1, 4, 0, 0, null, null, null, 'queued');
    d.run('b-client', 11, 99, 1, 0, null, null, null, 'queued'); // message 99 is not stored
    db.prepare('INSERT INTO incoming (client_id, packet_id) VALUES (?, ?)').run('ç-client', 12);
    db.prepare('INSERT INTO retained (topic, message_id) VALUES (?, ?)').run('c', 5);
    db.prepare("UPDATE meta SET value = 100 WHERE key = 'next_message_id'").run();
    db.close();
  }

  test('every record is kept, client ids are numbered, the messages stay in `messages`', async () => {
    const file = newFile();
    writeV1(file);
    const store = new SqliteStore({ file, fsync: false });
    const state = canonical(await store.open());
    assert.equal(state.recovered, undefined);
    assert.deepEqual(state.sessions, [
      session('b-client', { expiryInterval: 0xffffffff }),
      session('ç-client', {
        expiryInterval: 60,
        disconnectedAt: 1_800_000_000_000,
        will: { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: false },
        willAt: 1_800_000_010_000,
      }),
    ]);
    assert.deepEqual(state.subscriptions, [
      subscription('b-client', '#', { qos: 0 }),
      subscription('ç-client', '$share/g/a/+', {
        qos: 2,
        noLocal: true,
        retainAsPublished: true,
        retainHandling: 2,
        identifier: 7,
      }),
    ]);
    // Ordered by client id (UTF-8 bytes), then seq; the one naming a message not stored is dropped.
    assert.deepEqual(state.deliveries, [
      delivery('a-no-session', 1, 4, { qos: 0 }),
      delivery('b-client', 10, 3, { packetId: 3, state: 'publish' }),
      delivery('ç-client', 1, 4),
      delivery('ç-client', 2, 3, {
        qos: 2,
        retain: true,
        subscriptionIds: [7],
        sharedGroup: '$share/g/a/+',
        packetId: 9,
        state: 'pubrel',
      }),
    ]);
    assert.deepEqual(state.incoming, [{ clientId: 'ç-client', packetId: 12 }]);
    assert.deepEqual(state.retained, [{ topic: 'c', messageId: 5 }]);
    assert.deepEqual(state.messages, [
      {
        id: 3,
        topic: 'a/ü',
        payload: Buffer.from([0, 1, 255]),
        qos: 2,
        retain: true,
        properties: {
          contentType: 'x',
          correlationData: Buffer.from([1, 2]),
          userProperties: [
            ['k', '1'],
            ['k', '2'],
          ],
        },
        expiresAt: 1_900_000_000_000,
        origin: 'pub',
      },
      { id: 4, topic: 'b', payload: Buffer.alloc(0), qos: 1, retain: false },
      { id: 5, topic: 'c', payload: Buffer.from('five'), qos: 0, retain: false },
    ]);
    assert.equal(state.nextMessageId, 100);
    assert.deepEqual(
      { ...store.stats(), fileBytes: 0 },
      { sessions: 2, messages: 3, messageBytes: 4 + 3 + 1 + 0 + 1 + 4, fileBytes: 0 },
    );

    // The migrated file works on: a client of version 1 keeps its number, a released message goes.
    await store.commit([
      { type: 'message', message: message(100) },
      { type: 'delivery', delivery: delivery('b-client', 12, 100) },
      { type: 'delivery-delete', clientId: 'a-no-session', seq: 1 },
      { type: 'delivery-delete', clientId: 'ç-client', seq: 1 },
    ]);
    assert.equal(store.stats().messages, 3, 'message 4 was released, message 100 came');
    await store.close();
    assert.deepEqual(layout(file), {
      shared: [3, 5],
      inline: ['100@b-client:12'],
      clients: ['a-no-session', 'b-client', 'ç-client'],
    });
    const db = new Database(file, { readonly: true });
    assert.equal(
      db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(),
      SCHEMA_VERSION,
    );
    db.close();
    const again = new SqliteStore({ file, fsync: false });
    const next = canonical(await again.open());
    assert.deepEqual(
      next.deliveries.map((d) => `${d.clientId}:${d.seq}`),
      ['b-client:10', 'b-client:12', 'ç-client:2'],
    );
    assert.deepEqual(
      next.messages.map((m) => m.id),
      [3, 5, 100],
    );
    await again.close();
    // Client numbers nothing uses any more are swept at open.
    assert.deepEqual(layout(file).clients, ['b-client', 'ç-client']);
  });

  test('a version 1 file left by a killed midge (its changes still in the WAL) is migrated whole', async () => {
    const file = newFile();
    writeV1(file);
    // writeV1 closed its connection cleanly; reopen it without closing, as a crash would leave it.
    const db = new Database(file);
    db.prepare('INSERT INTO incoming (client_id, packet_id) VALUES (?, ?)').run('b-client', 1);
    const store = new SqliteStore({ file, fsync: false });
    const state = canonical(await store.open());
    db.close();
    assert.deepEqual(state.incoming, [
      { clientId: 'b-client', packetId: 1 },
      { clientId: 'ç-client', packetId: 12 },
    ]);
    await store.close();
  });
});

describe('SQLite store: inline messages', () => {
  test('a message whose only reference is a delivery of its batch lives in that delivery', async () => {
    const t = await twin();
    await t.commit([
      { type: 'session', session: session('a') },
      msg(message(1)),
      dlv('a', 1, 1, { packetId: 1, state: 'publish' }),
      msg(message(2, { properties: { contentType: 'c', correlationData: Buffer.from([9]) }, origin: 'p' })),
      dlv('a', 2, 2, { subscriptionIds: [4], sharedGroup: '$share/g/t' }),
    ]);
    assert.deepEqual(layout(t.file), { shared: [], inline: ['1@a:1', '2@a:2'], clients: ['a'] });
    const state = await t.restart();
    assert.deepEqual(state.messages.get(2)?.properties?.correlationData, Buffer.from([9]));
    // Acknowledged: the delivery and its message go in one delete.
    await t.commit([del('a', 1)]);
    assert.deepEqual(layout(t.file).inline, ['2@a:2']);
    await t.restart();
    await t.close();
  });

  test('a delivery of an inline message changes state in place', async () => {
    const t = await twin();
    await t.commit([msg(message(1, { qos: 2 })), dlv('a', 1, 1, { qos: 2 })]);
    // The journal records the message again with each batch that refers to it: ignored.
    await t.commit([msg(message(1, { qos: 2 })), dlv('a', 1, 1, { qos: 2, packetId: 5, state: 'publish' })]);
    await t.commit([msg(message(1, { qos: 2 })), dlv('a', 1, 1, { qos: 2, packetId: 5, state: 'pubrel' })]);
    assert.deepEqual(layout(t.file).inline, ['1@a:1']);
    const state = await t.restart();
    assert.deepEqual(state.deliveries, [delivery('a', 1, 1, { qos: 2, packetId: 5, state: 'pubrel' })]);
    await t.close();
  });

  test('a message referred to more than once in its batch is shared from the start', async () => {
    const t = await twin();
    await t.commit([msg(message(1)), dlv('a', 1, 1), dlv('b', 1, 1)]);
    await t.commit([msg(message(2)), dlv('a', 2, 2), { type: 'retained', topic: 't/2', messageId: 2 }]);
    // A reference before the message itself: shared too.
    await t.commit([dlv('c', 1, 3), msg(message(3))]);
    assert.deepEqual(layout(t.file), { shared: [1, 2, 3], inline: [], clients: ['a', 'b', 'c'] });
    await t.restart();
    await t.close();
  });

  test('an inline message referred to again is moved to `messages`, and collected with its last reference', async () => {
    const t = await twin();
    await t.commit([msg(message(1)), dlv('a', 1, 1), msg(message(2)), dlv('a', 2, 2)]);
    // Later batches refer to them again: another session's delivery, a retained entry.
    await t.commit([msg(message(1)), dlv('b', 1, 1)]);
    await t.commit([msg(message(2)), { type: 'retained', topic: 'r', messageId: 2 }]);
    assert.deepEqual(layout(t.file), { shared: [1, 2], inline: [], clients: ['a', 'b'] });
    await t.restart();
    await t.commit([del('a', 1)]);
    assert.deepEqual(layout(t.file).shared, [1, 2]);
    await t.commit([del('b', 1), del('a', 2)]);
    assert.deepEqual(layout(t.file).shared, [2]);
    await t.commit([{ type: 'retained-delete', topic: 'r' }]);
    assert.deepEqual(layout(t.file), { shared: [], inline: [], clients: ['a', 'b'] });
    await t.restart();
    await t.close();
  });

  test('an inline message ends with its delivery: deleted, given another message, or its session deleted', async () => {
    const t = await twin();
    await t.commit([
      { type: 'session', session: session('a') },
      msg(message(1)),
      dlv('a', 1, 1),
      msg(message(2)),
      dlv('a', 2, 2),
      msg(message(3)),
      dlv('a', 3, 3),
      msg(message(4)),
      dlv('b', 1, 4),
    ]);
    await t.commit([del('a', 1), msg(message(5)), dlv('a', 2, 5)]);
    assert.deepEqual(layout(t.file).inline, ['3@a:3', '4@b:1', '5@a:2']);
    await t.commit([
      { type: 'session-delete', clientId: 'a' },
      msg(message(4)),
      dlv('b', 1, 4, { state: 'publish' }),
    ]);
    assert.deepEqual(layout(t.file), { shared: [], inline: ['4@b:1'], clients: ['b'] });
    const state = await t.restart();
    assert.deepEqual([...state.messages.keys()], [4]);
    await t.close();
  });

  test('an inline message released in a batch that refers to it again later is kept', async () => {
    const t = await twin();
    await t.commit([
      msg(message(1)),
      dlv('a', 1, 1),
      msg(message(2)),
      dlv('a', 2, 2),
      msg(message(3)),
      dlv('a', 3, 3),
    ]);
    await t.commit([
      // A shared-subscription delivery given to another member: deleted, then recorded elsewhere.
      del('a', 1),
      dlv('b', 1, 1),
      // Replaced by another message, then the message is referred to again.
      msg(message(9)),
      dlv('a', 2, 9),
      { type: 'retained', topic: 'r', messageId: 2 },
      // Its session deleted, then the message queued for another.
      { type: 'session-delete', clientId: 'a' },
      dlv('c', 1, 3),
    ]);
    assert.deepEqual(layout(t.file), { shared: [1, 2, 3], inline: [], clients: ['b', 'c'] });
    await t.restart();
    await t.close();
  });

  test('a message ended in a batch and recorded again in it is not stored again', async () => {
    const t = await twin();
    await t.commit([msg(message(1)), dlv('a', 1, 1)]);
    await t.commit([del('a', 1), msg(message(1))]);
    await t.commit([msg(message(2)), dlv('a', 2, 2), del('a', 2), msg(message(2))]);
    assert.deepEqual(layout(t.file), { shared: [], inline: [], clients: ['a'] });
    await t.restart();
    await t.close();
  });

  test('a message too large for a row of `deliveries` is shared', async () => {
    const t = await twin();
    const limit = inlineLimit(4096);
    const topic = 't';
    const fits = Buffer.alloc(limit - Buffer.byteLength(topic) - 1);
    const over = Buffer.alloc(limit);
    await t.commit([
      msg(message(1, { topic, payload: fits, origin: 'o' })),
      dlv('a', 1, 1),
      msg(message(2, { topic, payload: over })),
      dlv('a', 2, 2),
      msg(message(3, { topic, payload: fits, origin: 'oo' })),
      dlv('a', 3, 3),
      msg(
        message(4, {
          topic,
          payload: Buffer.alloc(1),
          properties: { userProperties: [['k', 'v'.repeat(limit)]] },
        }),
      ),
      dlv('a', 4, 4),
      msg(message(5, { payload: Buffer.alloc(200_000, 1) })),
      dlv('a', 5, 5),
    ]);
    assert.deepEqual(layout(t.file).inline, ['1@a:1']);
    assert.deepEqual(layout(t.file).shared, [2, 3, 4, 5]);
    await t.restart();
    await t.close();
  });

  test('a commit that fails leaves client numbers and inline messages as the file has them', async () => {
    const t = await twin();
    await t.commit([msg(message(1)), dlv('a', 1, 1), msg(message(2)), dlv('a', 2, 2)]);
    const other = new Database(t.file);
    other.exec(
      "CREATE TRIGGER boom BEFORE INSERT ON subscriptions WHEN NEW.filter = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END",
    );
    other.close();
    const failing: Change[] = [
      // A new client, a new inline message, a promotion and an ended inline message, then the failure.
      msg(message(3)),
      dlv('new', 1, 3),
      msg(message(1)),
      dlv('b', 1, 1),
      del('a', 2),
      { type: 'subscription', subscription: subscription('new', 'boom') },
    ];
    const before = counts(t.sqlite);
    await assert.rejects(t.sqlite.commit(failing), /boom/);
    assert.deepEqual(counts(t.sqlite), before);
    assert.deepEqual(layout(t.file), { shared: [], inline: ['1@a:1', '2@a:2'], clients: ['a'] });
    // The same batch without the failing change goes through, and so do later ones.
    await t.commit(failing.slice(0, -1));
    await t.commit([msg(message(2)), dlv('new', 2, 2), del('a', 1), msg(message(4)), dlv('a', 3, 4)]);
    assert.deepEqual(layout(t.file), {
      shared: [1, 2],
      inline: ['3@new:1', '4@a:3'],
      clients: ['a', 'b', 'new'],
    });
    await t.restart();
    await t.close();
  });

  test('open moves inline messages with more than one reference to `messages`', async () => {
    const file = newFile();
    const store = new SqliteStore({ file, fsync: false });
    await store.open();
    await store.commit([
      msg(message(1)),
      dlv('a', 1, 1),
      msg(message(2)),
      dlv('a', 2, 2),
      msg(message(3)),
      dlv('a', 3, 3),
      msg(message(4)),
      dlv('a', 4, 4),
    ]);
    await store.close();
    // What only a bug could write: the same inline message twice, an inline message also in
    // `messages`, an inline message with a shared reference, and one a retained entry refers to.
    const db = new Database(file);
    db.exec(`
      INSERT INTO clients (id, client_id) VALUES (100, 'b');
      INSERT INTO deliveries SELECT 100, seq, message_id, qos, retain, subscription_ids, shared_group, packet_id, state,
        topic, payload, message_qos, message_retain, properties, expires_at, origin FROM deliveries WHERE message_id = 1;
      INSERT INTO messages (id, topic, payload, qos, retain) VALUES (2, 't/2', x'00', 0, 0);
      INSERT INTO deliveries (client, seq, message_id, qos, retain, state) VALUES (100, 3, 3, 1, 0, 'queued');
      INSERT INTO retained (topic, message_id) VALUES ('r', 4);
    `);
    db.close();
    const again = new SqliteStore({ file, fsync: false });
    const state = canonical(await again.open());
    assert.deepEqual(
      state.deliveries.map((d) => `${d.clientId}:${d.seq}>${d.messageId}`),
      ['a:1>1', 'a:2>2', 'a:3>3', 'a:4>4', 'b:1>1', 'b:3>3'],
    );
    assert.deepEqual(state.retained, [{ topic: 'r', messageId: 4 }]);
    // The copy in `messages` that only its inline twin referred to is swept like any unreferenced
    // message; the other three are moved to `messages`.
    assert.deepEqual(state.messages, [message(1), message(2), message(3), message(4)]);
    assert.deepEqual(layout(file), { shared: [1, 3, 4], inline: ['2@a:2'], clients: ['a', 'b'] });
    assert.deepEqual(again.stats().messages, 4);
    await again.commit([del('a', 1), del('b', 1), del('a', 3)]);
    assert.deepEqual(again.stats().messages, 3);
    await again.close();
    assert.deepEqual(layout(file), { shared: [3, 4], inline: ['2@a:2'], clients: ['a', 'b'] });
  });
});
