/**
 * The two stores side by side on random histories: the same batches committed to a MemoryStore and a
 * SqliteStore must give the same stats after every commit and the same state after a restart. Small
 * domains (three clients, six message ids) make replacements, cascades, collected messages and
 * references to messages never stored common.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { Properties } from '../../src/codec/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Change, Store } from '../../src/store/types.js';
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
      await sqlite.close();
      sqlite = new SqliteStore({ file, fsync: false });
      const fromMemory = canonical(await memory.open());
      const fromSqlite = canonical(await sqlite.open());
      assert.deepEqual(fromSqlite, fromMemory);
      assert.deepEqual(counts(sqlite), counts(memory));
      for (const d of fromSqlite.deliveries) assert.ok(fromSqlite.messages.some((m) => m.id === d.messageId));
      await sqlite.close();
    }),
    { numRuns: 30 },
  );
});
