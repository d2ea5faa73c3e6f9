/**
 * What only the SQLite store has: a file that can be damaged, a schema with a version, a directory
 * that can be unusable, WAL durability across a killed process, and SQL that can fail mid-commit.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { decodeRun, isGone, liveRuns } from '../../src/store/sqlite-runs.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import type { Change } from '../../src/store/types.js';
import { canonical, delivery, message, removeTempDirs, session, subscription, tempDir } from './harness.js';

after(removeTempDirs);

const SQLITE_MODULE = new URL('../../src/store/sqlite.js', import.meta.url).href;

function newFile(): string {
  return join(tempDir(), 'midge.db');
}

async function withStore<T>(file: string, use: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore({ file, fsync: false });
  await store.open();
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** The path named in a `recovered` sentence as where the old file went. */
function movedPath(recovered: string | undefined): string {
  assert.ok(recovered !== undefined, 'recovered is set');
  const match = /moved to (\S+) and/.exec(recovered);
  assert.ok(match, recovered);
  return match[1]!;
}

describe('SQLite store: damaged files', () => {
  test('a file that is not a database is moved aside and an empty store started', async () => {
    const file = newFile();
    const garbage = Buffer.from(
      'this is not a database, just some text that happens to sit there\n'.repeat(100),
    );
    writeFileSync(file, garbage);
    writeFileSync(`${file}-wal`, 'not a wal either');
    const store = new SqliteStore({ file, fsync: false });
    const state = await store.open();
    assert.equal(state.sessions.length, 0);
    assert.equal(state.messages.size, 0);
    assert.ok(state.recovered, 'recovered is set');
    assert.ok(state.recovered.includes(file), 'names the store file');
    const moved = movedPath(state.recovered);
    assert.match(moved, /midge\.db\.damaged-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/);
    assert.deepEqual(readFileSync(moved), garbage);
    assert.equal(readFileSync(`${moved}-wal`, 'utf8'), 'not a wal either');
    // The fresh store works and is not reported as recovered the next time.
    await store.commit([{ type: 'session', session: session('a') }]);
    await store.close();
    const again = new SqliteStore({ file, fsync: false });
    const next = await again.open();
    assert.equal(next.recovered, undefined);
    assert.deepEqual(next.sessions, [session('a')]);
    await again.close();
  });

  test('a path that cannot be opened as a file (a directory) is moved aside', async () => {
    const file = newFile();
    mkdirSync(file);
    writeFileSync(join(file, 'inside'), 'kept');
    const store = new SqliteStore({ file, fsync: false });
    const state = await store.open();
    assert.ok(state.recovered?.includes('SQLITE_CANTOPEN'), state.recovered);
    assert.equal(readFileSync(join(movedPath(state.recovered), 'inside'), 'utf8'), 'kept');
    await store.close();
  });

  /**
   * A store of 400 messages and deliveries, closed (so all of it is in the database file). They carry
   * a subscription id, so they are rows of `deliveries` from the start: a run (sqlite-runs.ts) written
   * out at close would leave free pages in the middle of the file, where damage goes unnoticed.
   */
  async function writeDatabase(file: string): Promise<number> {
    await withStore(file, async (store) => {
      const changes: Change[] = [];
      for (let i = 1; i <= 400; i++) {
        changes.push({ type: 'message', message: message(i, { payload: Buffer.alloc(500, i) }) });
        changes.push({
          type: 'delivery',
          delivery: delivery(`client-${i % 7}`, i, i, { subscriptionIds: [1] }),
        });
      }
      await store.commit(changes);
    });
    const size = statSync(file).size;
    assert.ok(size > 100_000, `database of ${size} bytes`);
    return size;
  }

  const damages: [string, (file: string, size: number) => void][] = [
    [
      'pages overwritten in its middle',
      (file, size) => {
        const page = 4096;
        const fd = openSync(file, 'r+');
        writeSync(fd, Buffer.alloc(page * 3, 0x5a), 0, page * 3, Math.floor(size / 2 / page) * page);
        closeSync(fd);
      },
    ],
    ['truncated to half its size', (file, size) => truncateSync(file, Math.floor(size / 2))],
  ];

  for (const [what, damage] of damages) {
    test(`a real database with ${what} is moved aside`, async () => {
      const file = newFile();
      const size = await writeDatabase(file);
      damage(file, size);
      const store = new SqliteStore({ file, fsync: false });
      const state = await store.open();
      assert.ok(state.recovered, 'recovered is set');
      assert.ok(state.recovered.includes(file));
      assert.doesNotMatch(state.recovered, /\n/);
      assert.ok(existsSync(movedPath(state.recovered)), 'the damaged file is kept');
      assert.equal(state.deliveries.length, 0);
      await store.commit([{ type: 'session', session: session('after') }]);
      await store.close();
    });
  }
});

describe('SQLite store: files and schema', () => {
  test('creates missing directories; the file is in WAL mode with its schema version and counter', async () => {
    const file = join(tempDir(), 'a', 'b', 'midge.db');
    await withStore(file, (store) =>
      store.commit([
        { type: 'message', message: message(41) },
        { type: 'retained', topic: 'x', messageId: 41 },
      ]),
    );
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const meta = Object.fromEntries(
        (db.prepare('SELECT key, value FROM meta').all() as { key: string; value: number }[]).map((r) => [
          r.key,
          r.value,
        ]),
      );
      assert.deepEqual(meta, { schema_version: SCHEMA_VERSION, next_message_id: 42 });
    } finally {
      db.close();
    }
  });

  test('a database from a newer midge (higher schema version) is refused, not moved', async () => {
    const file = newFile();
    await withStore(file, (store) => store.commit([{ type: 'session', session: session('a') }]));
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION + 1);
    db.close();
    const store = new SqliteStore({ file, fsync: false });
    await assert.rejects(store.open(), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'STORE_SCHEMA_TOO_NEW');
      assert.ok(err.message.includes(file));
      assert.ok(err.message.includes(`version ${SCHEMA_VERSION + 1}`), err.message);
      assert.ok(err.message.includes(`up to ${SCHEMA_VERSION}`), err.message);
      return true;
    });
    assert.ok(existsSync(file));
    // Untouched: the newer version is still recorded.
    const check = new Database(file, { readonly: true });
    assert.equal(
      check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(),
      SCHEMA_VERSION + 1,
    );
    check.close();
  });

  test('an unusable data directory is an error naming it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'blocker'), 'a file where the directory should be');
    const store = new SqliteStore({ file: join(dir, 'blocker', 'data', 'midge.db'), fsync: true });
    await assert.rejects(store.open(), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'STORE_DIR_UNUSABLE');
      assert.ok(err.message.includes(join(dir, 'blocker')), err.message);
      return true;
    });
  });

  test('messages released in a commit are deleted from the file by that commit', async () => {
    const file = newFile();
    await withStore(file, async (store) => {
      // Messages held in the file: shared ones in `messages`, inline ones inside their delivery.
      const rows = () => {
        const db = new Database(file, { readonly: true });
        try {
          const ids = db
            .prepare(
              'SELECT id FROM messages UNION SELECT message_id FROM deliveries WHERE topic IS NOT NULL',
            )
            .pluck()
            .all() as number[];
          // And the live records of runs (fresh plain deliveries: sqlite-runs.ts).
          for (const [, blob, gone] of liveRuns(db)) {
            decodeRun(blob, '').forEach((r, i) => {
              if (!isGone(gone, i)) ids.push(r.m.id);
            });
          }
          return ids.sort((a, b) => a - b);
        } finally {
          db.close();
        }
      };
      await store.commit([
        { type: 'message', message: message(1) },
        { type: 'message', message: message(2) },
        { type: 'message', message: message(3) },
        { type: 'delivery', delivery: delivery('a', 1, 1) },
        { type: 'delivery', delivery: delivery('a', 2, 2) },
        { type: 'retained', topic: 'r', messageId: 3 },
        { type: 'session', session: session('a') },
      ]);
      assert.deepEqual(rows(), [1, 2, 3]);
      await store.commit([{ type: 'delivery-delete', clientId: 'a', seq: 1 }]);
      assert.deepEqual(rows(), [2, 3]);
      await store.commit([{ type: 'retained-delete', topic: 'r' }]);
      assert.deepEqual(rows(), [2]);
      await store.commit([{ type: 'session-delete', clientId: 'a' }]);
      assert.deepEqual(rows(), []);
    });
  });

  test('close checkpoints the WAL into the database file', async () => {
    const file = newFile();
    const store = new SqliteStore({ file, fsync: true });
    await store.open();
    await store.commit([
      { type: 'message', message: message(1, { payload: Buffer.alloc(20_000) }) },
      { type: 'retained', topic: 't', messageId: 1 },
    ]);
    assert.ok(statSync(`${file}-wal`).size > 0);
    assert.ok(store.stats().fileBytes >= statSync(`${file}-wal`).size);
    await store.close();
    assert.ok(!existsSync(`${file}-wal`) || statSync(`${file}-wal`).size === 0);
  });
});

describe('SQLite store: durability and atomicity', () => {
  test('a statement failing mid-commit rolls the whole commit back', async () => {
    const file = newFile();
    const store = new SqliteStore({ file, fsync: false });
    await store.open();
    await store.commit([
      { type: 'message', message: message(1) },
      { type: 'session', session: session('a') },
      { type: 'delivery', delivery: delivery('a', 1, 1) },
    ]);
    // Another connection adds a trigger that makes one INSERT fail half-way through the next commit.
    const other = new Database(file);
    other.exec(
      "CREATE TRIGGER boom BEFORE INSERT ON subscriptions WHEN NEW.filter = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END",
    );
    other.close();
    const statsBefore = store.stats();
    await assert.rejects(
      store.commit([
        { type: 'message', message: message(2) },
        { type: 'session', session: session('b') },
        { type: 'delivery', delivery: delivery('b', 1, 2) },
        { type: 'delivery-delete', clientId: 'a', seq: 1 },
        { type: 'subscription', subscription: subscription('b', 'boom') },
        { type: 'retained', topic: 'r', messageId: 2 },
      ]),
      (err: unknown) => err instanceof StoreError && /boom/.test(err.message),
    );
    assert.deepEqual(store.stats(), { ...statsBefore, fileBytes: store.stats().fileBytes });
    await store.commit([{ type: 'incoming', clientId: 'a', packetId: 7 }]);
    await store.close();

    const again = new SqliteStore({ file, fsync: false });
    const state = canonical(await again.open());
    assert.deepEqual(
      state.sessions.map((s) => s.clientId),
      ['a'],
    );
    assert.deepEqual(state.deliveries, [delivery('a', 1, 1)]);
    assert.deepEqual(state.subscriptions, []);
    assert.deepEqual(state.retained, []);
    assert.deepEqual(
      state.messages.map((m) => m.id),
      [1],
    );
    assert.deepEqual(state.incoming, [{ clientId: 'a', packetId: 7 }]);
    assert.equal(state.nextMessageId, 2, 'the failed commit did not advance the counter');
    await again.close();
  });

  test('every commit survives the process being killed (SIGKILL) right after it', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'midge.db');
    const commits = 40;
    const child = `
      const { SqliteStore } = await import(${JSON.stringify(SQLITE_MODULE)});
      const store = new SqliteStore({ file: ${JSON.stringify(file)}, fsync: false });
      await store.open();
      for (let i = 1; i <= ${commits}; i++) {
        await store.commit([
          { type: 'message', message: { id: i, topic: 'k/' + i, payload: Buffer.from('p' + i), qos: 1, retain: false } },
          { type: 'session', session: { clientId: 'c' + i, expiryInterval: 60 } },
          { type: 'delivery', delivery: { clientId: 'c' + i, seq: 1, messageId: i, qos: 1, retain: false, state: 'queued' } },
        ]);
      }
      process.stdout.write('committed\\n');
      process.kill(process.pid, 'SIGKILL');
    `;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', child], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errors = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      proc.on('close', (_code, sig) => resolve(sig)),
    );
    assert.equal(signal, 'SIGKILL', errors);
    assert.equal(out, 'committed\n');
    assert.ok(existsSync(`${file}-wal`), 'the WAL was left behind, not checkpointed');

    const store = new SqliteStore({ file, fsync: false });
    const state = await store.open();
    assert.equal(state.recovered, undefined);
    assert.equal(state.sessions.length, commits);
    assert.equal(state.deliveries.length, commits);
    assert.equal(state.messages.size, commits);
    assert.equal(state.nextMessageId, commits + 1);
    for (let i = 1; i <= commits; i++) assert.equal(state.messages.get(i)?.payload.toString(), `p${i}`);
    await store.close();
  });
});
