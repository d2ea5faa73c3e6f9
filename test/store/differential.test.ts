/**
 * The two stores side by side on random histories: the same batches committed to a MemoryStore and a
 * SqliteStore must give the same stats after every commit and the same state after a restart. Small
 * domains (three clients, six message ids) make replacements, cascades, collected messages and
 * references to messages never stored common.
 *
 * A second property builds histories the way the broker's journal does (new messages with increasing
 * ids, each recorded before its first reference in a batch, deliveries acknowledged, moved, replaced,
 * sessions ended), which is what the SQLite store's inline messages and their promotion are built for.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { Properties } from '../../src/codec/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Change, Store, StoredDelivery, StoredMessage } from '../../src/store/types.js';
import { canonical, removeTempDirs, tempDir } from './harness.js';

after(removeTempDirs);

const clientId = fc.constantFrom('a', 'b', 'ç');
const messageId = fc.integer({ min: 1, max: 6 });
const topic = fc.constantFrom('t/1', 't/2', 'ü/3');
const qos = fc.constantFrom(0 as const, 1 as const, 2 as const);
const packetId = fc.integer({ min: 1, max: 3 });
const seq = fc.integer({ min: 1, max: 4 });
const payload = fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes));
const properties: fc.Arbitrary<Properties | undefined> = fc.option(
  fc.record(
    {
      contentType: fc.string({ maxLength: 4 }),
      correlationData: payload,
      userProperties: fc.array(fc.tuple(fc.constantFrom('k', 'j'), fc.string({ maxLength: 3 })), {
        maxLength: 3,
      }),
      subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({
    type: fc.constant('message' as const),
    message: fc.record({
      id: messageId,
      topic,
      payload,
      qos,
      retain: fc.boolean(),
      properties,
      expiresAt: optional(fc.integer({ min: 0, max: 2 ** 45 })),
      origin: optional(clientId),
    }),
  }),
  fc.record({
    type: fc.constant('session' as const),
    session: fc.record({
      clientId,
      expiryInterval: fc.constantFrom(1, 60, 0xffffffff),
      disconnectedAt: optional(fc.integer({ min: 0, max: 2 ** 45 })),
      will: optional(fc.record({ topic, payload, qos, retain: fc.boolean(), properties })),
      willAt: optional(fc.integer({ min: 0, max: 2 ** 45 })),
    }),
  }),
  fc.record({ type: fc.constant('session-delete' as const), clientId }),
  fc.record({
    type: fc.constant('subscription' as const),
    subscription: fc.record({
      clientId,
      filter: fc.constantFrom('t/#', '$share/g/t/+'),
      qos,
      noLocal: fc.boolean(),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom(0 as const, 1 as const, 2 as const),
      identifier: optional(fc.integer({ min: 1, max: 268_435_455 })),
    }),
  }),
  fc.record({
    type: fc.constant('subscription-delete' as const),
    clientId,
    filter: fc.constantFrom('t/#', 'x'),
  }),
  fc.record({
    type: fc.constant('delivery' as const),
    delivery: fc.record({
      clientId,
      seq,
      messageId,
      qos,
      retain: fc.boolean(),
      subscriptionIds: optional(fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 2 })),
      sharedGroup: optional(fc.constant('$share/g/t/+')),
      packetId: optional(packetId),
      state: fc.constantFrom('queued' as const, 'publish' as const, 'pubrel' as const),
    }),
  }),
  fc.record({ type: fc.constant('delivery-delete' as const), clientId, seq }),
  fc.record({ type: fc.constant('incoming' as const), clientId, packetId }),
  fc.record({ type: fc.constant('incoming-delete' as const), clientId, packetId }),
  fc.record({ type: fc.constant('retained' as const), topic, messageId }),
  fc.record({ type: fc.constant('retained-delete' as const), topic }),
);

const history = fc.array(fc.array(change, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 });

const counts = (store: Store) => ({ ...store.stats(), fileBytes: 0 });

test('memory and SQLite stores agree on random histories', async () => {
  await fc.assert(
    fc.asyncProperty(history, async (batches) => {
      const file = join(tempDir(), 'midge.db');
      const memory = new MemoryStore();
      let sqlite = new SqliteStore({ file, fsync: false });
      await memory.open();
      await sqlite.open();
      for (const batch of batches) {
        await memory.commit(batch);
        await sqlite.commit(batch);
        assert.deepEqual(counts(sqlite), counts(memory));
      }
      await memory.close();
      const fromMemory = canonical(await memory.open());
      // As after a crash: the file opened again while the first store never closed (its runs, if
      // any, are still in the file: sqlite-runs.ts).
      const crashed = new SqliteStore({ file, fsync: false });
      assert.deepEqual(canonical(await crashed.open()), fromMemory);
      await crashed.close();
      await sqlite.close();
      sqlite = new SqliteStore({ file, fsync: false });
      const fromSqlite = canonical(await sqlite.open());
      assert.deepEqual(fromSqlite, fromMemory);
      assert.deepEqual(counts(sqlite), counts(memory));
      for (const d of fromSqlite.deliveries) assert.ok(fromSqlite.messages.some((m) => m.id === d.messageId));
      await sqlite.close();
    }),
    { numRuns: 30 },
  );
});

/** What the journal-like generator does; `pick` chooses among live deliveries or known messages. */
type Op =
  | { kind: 'publish'; to: number[]; retain: boolean; large: boolean; state: 'queued' | 'publish' }
  | { kind: 'ack'; pick: number }
  | { kind: 'update'; pick: number; state: StoredDelivery['state']; resend: boolean }
  | { kind: 'refer'; pick: number; to: number; resend: boolean }
  | { kind: 'move'; pick: number; to: number }
  | { kind: 'replace'; pick: number; message: number; resend: boolean }
  | { kind: 'retain'; pick: number; topic: number }
  | { kind: 'unretain'; topic: number }
  | { kind: 'end'; client: number }
  | { kind: 'resend'; pick: number };

const CLIENTS = ['a', 'b', 'ç'] as const;
const pick = fc.nat({ max: 20 });
const client = fc.nat({ max: 2 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      to: fc.array(client, { maxLength: 3 }),
      retain: fc.boolean(),
      large: fc.nat({ max: 9 }).map((n) => n < 2),
      state: fc.constantFrom('queued' as const, 'publish' as const),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), pick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      pick,
      state: fc.constantFrom('publish' as const, 'pubrel' as const),
      resend: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('refer' as const), pick, to: client, resend: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), pick, to: client }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      pick,
      message: pick,
      resend: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('retain' as const), pick, topic: fc.nat({ max: 2 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unretain' as const), topic: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), client }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resend' as const), pick }) },
);

/** Turns ops into batches of changes, keeping track of what is live as the journal would. */
class Journal {
  private nextId = 1;
  private readonly nextSeq = new Map<string, number>();
  private readonly messages: StoredMessage[] = [];
  private live: StoredDelivery[] = [];
  private recorded = new Set<number>();
  private changes: Change[] = [];

  batch(ops: Op[]): Change[] {
    this.changes = [];
    this.recorded = new Set();
    for (const o of ops) this.apply(o);
    return this.changes;
  }

  private record(m: StoredMessage, always = true): void {
    if (!always && this.recorded.has(m.id)) return;
    this.recorded.add(m.id);
    this.changes.push({ type: 'message', message: m });
  }

  private deliver(clientId: string, m: StoredMessage, state: StoredDelivery['state'], resend = true): void {
    const seq = this.nextSeq.get(clientId) ?? 1;
    this.nextSeq.set(clientId, seq + 1);
    this.record(m, !resend);
    const d: StoredDelivery = { clientId, seq, messageId: m.id, qos: 1, retain: false, state };
    if (state !== 'queued') d.packetId = (seq % 5) + 1;
    this.live.push(d);
    this.changes.push({ type: 'delivery', delivery: d });
  }

  private apply(o: Op): void {
    const known = (n: number) => this.messages[n % Math.max(1, this.messages.length)];
    const target = (n: number) => this.live[n % Math.max(1, this.live.length)];
    switch (o.kind) {
      case 'publish': {
        const id = this.nextId++;
        const m: StoredMessage = {
          id,
          topic: `t/${id % 3}`,
          payload: o.large ? Buffer.alloc(1200, id) : Buffer.from(`p${id}`),
          qos: 1,
          retain: o.retain,
          ...(id % 4 === 0 ? { properties: { contentType: 'c' }, origin: 'pub' } : {}),
        };
        this.messages.push(m);
        this.record(m);
        for (const c of new Set(o.to)) this.deliver(CLIENTS[c]!, m, o.state);
        if (o.retain) this.changes.push({ type: 'retained', topic: m.topic, messageId: id });
        return;
      }
      case 'ack': {
        const d = target(o.pick);
        if (d === undefined) return;
        this.live = this.live.filter((x) => x !== d);
        this.changes.push({ type: 'delivery-delete', clientId: d.clientId, seq: d.seq });
        return;
      }
      case 'update': {
        const d = target(o.pick);
        if (d === undefined) return;
        const m = this.messages.find((x) => x.id === d.messageId)!;
        if (o.resend) this.record(m, false);
        const next: StoredDelivery = { ...d, state: o.state, packetId: (d.seq % 5) + 1 };
        this.live = this.live.map((x) => (x === d ? next : x));
        this.changes.push({ type: 'delivery', delivery: next });
        return;
      }
      case 'refer': {
        const m = known(o.pick);
        if (m !== undefined) this.deliver(CLIENTS[o.to]!, m, 'queued', o.resend);
        return;
      }
      case 'move': {
        const d = target(o.pick);
        if (d === undefined) return;
        this.live = this.live.filter((x) => x !== d);
        this.changes.push({ type: 'delivery-delete', clientId: d.clientId, seq: d.seq });
        this.deliver(CLIENTS[o.to]!, this.messages.find((x) => x.id === d.messageId)!, 'queued');
        return;
      }
      case 'replace': {
        const d = target(o.pick);
        const m = known(o.message);
        if (d === undefined || m === undefined) return;
        if (o.resend) this.record(m, false);
        const next: StoredDelivery = { ...d, messageId: m.id };
        this.live = this.live.map((x) => (x === d ? next : x));
        this.changes.push({ type: 'delivery', delivery: next });
        return;
      }
      case 'retain': {
        const m = known(o.pick);
        if (m === undefined) return;
        this.record(m, false);
        this.changes.push({ type: 'retained', topic: `t/${o.topic}`, messageId: m.id });
        return;
      }
      case 'unretain':
        this.changes.push({ type: 'retained-delete', topic: `t/${o.topic}` });
        return;
      case 'end': {
        const clientId = CLIENTS[o.client]!;
        this.live = this.live.filter((x) => x.clientId !== clientId);
        this.changes.push({ type: 'session-delete', clientId });
        return;
      }
      case 'resend': {
        const m = known(o.pick);
        if (m !== undefined) this.record(m);
        return;
      }
    }
  }
}

const journalHistory = fc.array(
  fc.record({
    ops: fc.array(op, { minLength: 1, maxLength: 10 }),
    restart: fc.nat({ max: 4 }).map((n) => n === 0),
  }),
  { minLength: 1, maxLength: 10 },
);

test('memory and SQLite stores agree on histories shaped like the journal’s', async () => {
  await fc.assert(
    fc.asyncProperty(journalHistory, async (batches) => {
      const file = join(tempDir(), 'midge.db');
      const memory = new MemoryStore();
      let sqlite = new SqliteStore({ file, fsync: false });
      await memory.open();
      await sqlite.open();
      const journal = new Journal();
      const reopen = async () => {
        await memory.close();
        await sqlite.close();
        sqlite = new SqliteStore({ file, fsync: false });
        const fromMemory = canonical(await memory.open());
        const fromSqlite = canonical(await sqlite.open());
        assert.deepEqual(fromSqlite, fromMemory);
        assert.deepEqual(counts(sqlite), counts(memory));
      };
      for (const { ops, restart } of batches) {
        const changes = journal.batch(ops);
        if (changes.length > 0) {
          await memory.commit(changes);
          await sqlite.commit(changes);
          assert.deepEqual(counts(sqlite), counts(memory));
        }
        if (restart) await reopen();
      }
      await reopen();
      await sqlite.close();
    }),
    { numRuns: 300 },
  );
});
