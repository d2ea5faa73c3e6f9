/**
 * The Store contract (src/store/types.ts): one suite, run against every store. Each test commits,
 * restarts the store as a broker would, and checks what comes back — so it tests what survives, not
 * what a store happens to keep in memory.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createStore, MemoryStore, SqliteStore, StoreError } from '../../src/store/index.js';
import type { Change, StoredMessage, StoredSession } from '../../src/store/types.js';
import {
  canonical,
  delivery,
  message,
  removeTempDirs,
  STORE_KINDS,
  session,
  subscription,
  tempDir,
} from './harness.js';

after(removeTempDirs);

/** A message using every field, with Buffers and ordered, repeated user properties. */
const FULL_MESSAGE: StoredMessage = {
  id: 7,
  topic: 'sensors/ünïcode/temp',
  payload: Buffer.from([0, 1, 2, 255, 254]),
  qos: 2,
  retain: true,
  properties: {
    payloadFormatIndicator: 1,
    messageExpiryInterval: 60,
    contentType: 'application/json',
    responseTopic: 'replies/7',
    correlationData: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]),
    subscriptionIdentifiers: [3, 1, 2],
    userProperties: [
      ['b', '2'],
      ['a', '1'],
      ['b', '3'],
    ],
  },
  expiresAt: 1_900_000_000_123,
  origin: 'publisher-1',
};

const FULL_SESSION: StoredSession = {
  clientId: 'c-full',
  expiryInterval: 0xffffffff,
  disconnectedAt: 1_800_000_000_000,
  will: {
    topic: 'wills/c-full',
    payload: Buffer.from('gone'),
    qos: 1,
    retain: true,
    properties: {
      willDelayInterval: 30,
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: [
        ['why', 'crash'],
        ['why', 'again'],
      ],
    },
  },
  willAt: 1_800_000_030_000,
};

for (const kind of STORE_KINDS) {
  describe(`store contract: ${kind.name}`, () => {
    test('a fresh store opens empty', async () => {
      const { state, store } = await kind.fresh();
      assert.deepEqual(canonical(state), {
        sessions: [],
        subscriptions: [],
        deliveries: [],
        incoming: [],
        retained: [],
        messages: [],
        nextMessageId: 1,
      });
      assert.equal(store.kind, kind.name);
      await store.close();
    });

    test('every change type round-trips through commit and restart', async () => {
      const first = await kind.fresh();
      const bare = message(8, { payload: Buffer.alloc(0), qos: 0 });
      const changes: Change[] = [
        { type: 'message', message: FULL_MESSAGE },
        { type: 'message', message: bare },
        { type: 'session', session: FULL_SESSION },
        { type: 'session', session: session('c-bare', { expiryInterval: 10 }) },
        {
          type: 'subscription',
          subscription: subscription('c-full', '$share/g1/a/+', {
            qos: 2,
            noLocal: true,
            retainAsPublished: true,
            retainHandling: 2,
            identifier: 268_435_455,
          }),
        },
        { type: 'subscription', subscription: subscription('c-bare', '#', { qos: 0 }) },
        {
          type: 'delivery',
          delivery: delivery('c-full', 1, 7, {
            qos: 2,
            retain: true,
            subscriptionIds: [5, 9],
            sharedGroup: '$share/g1/a/+',
            packetId: 65535,
            state: 'pubrel',
          }),
        },
        { type: 'delivery', delivery: delivery('c-full', 2, 8, { qos: 0, packetId: 1, state: 'publish' }) },
        { type: 'delivery', delivery: delivery('c-bare', 1, 8) },
        { type: 'incoming', clientId: 'c-full', packetId: 42 },
        { type: 'incoming', clientId: 'c-full', packetId: 1 },
        { type: 'retained', topic: 'sensors/ünïcode/temp', messageId: 7 },
      ];
      await first.store.commit(changes);
      const { state, store } = await first.restart();
      assert.deepEqual(canonical(state), {
        sessions: [FULL_SESSION, { clientId: 'c-bare', expiryInterval: 10 }].sort((a, b) =>
          a.clientId < b.clientId ? -1 : 1,
        ),
        subscriptions: [
          subscription('c-bare', '#', { qos: 0 }),
          subscription('c-full', '$share/g1/a/+', {
            qos: 2,
            noLocal: true,
            retainAsPublished: true,
            retainHandling: 2,
            identifier: 268_435_455,
          }),
        ],
        deliveries: [
          delivery('c-bare', 1, 8),
          delivery('c-full', 1, 7, {
            qos: 2,
            retain: true,
            subscriptionIds: [5, 9],
            sharedGroup: '$share/g1/a/+',
            packetId: 65535,
            state: 'pubrel',
          }),
          delivery('c-full', 2, 8, { qos: 0, packetId: 1, state: 'publish' }),
        ],
        incoming: [
          { clientId: 'c-full', packetId: 1 },
          { clientId: 'c-full', packetId: 42 },
        ],
        retained: [{ topic: 'sensors/ünïcode/temp', messageId: 7 }],
        messages: [FULL_MESSAGE, bare],
        nextMessageId: 9,
      });
      const loaded = state.messages.get(7)!;
      assert.ok(Buffer.isBuffer(loaded.properties?.correlationData));
      assert.ok(
        Buffer.isBuffer(
          state.sessions.find((s) => s.clientId === 'c-full')?.will?.properties?.correlationData,
        ),
      );
      await store.close();
    });

    test('upserts replace and deletes remove, each kind of record', async () => {
      const first = await kind.fresh();
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'message', message: message(2) },
        { type: 'session', session: FULL_SESSION },
        { type: 'subscription', subscription: subscription('c-full', 'a/b', { identifier: 4 }) },
        { type: 'subscription', subscription: subscription('c-full', 'x/#') },
        { type: 'delivery', delivery: delivery('c-full', 1, 1) },
        { type: 'delivery', delivery: delivery('c-full', 2, 2) },
        { type: 'incoming', clientId: 'c-full', packetId: 9 },
        { type: 'incoming', clientId: 'c-full', packetId: 10 },
      ]);
      await first.store.commit([
        { type: 'session', session: session('c-full', { expiryInterval: 5 }) },
        { type: 'subscription', subscription: subscription('c-full', 'a/b', { qos: 0 }) },
        { type: 'subscription-delete', clientId: 'c-full', filter: 'x/#' },
        { type: 'delivery', delivery: delivery('c-full', 1, 1, { packetId: 3, state: 'publish' }) },
        { type: 'delivery-delete', clientId: 'c-full', seq: 2 },
        { type: 'incoming', clientId: 'c-full', packetId: 9 },
        { type: 'incoming-delete', clientId: 'c-full', packetId: 10 },
        // Deleting what is not there is not an error.
        { type: 'delivery-delete', clientId: 'nobody', seq: 1 },
        { type: 'subscription-delete', clientId: 'nobody', filter: 'a' },
        { type: 'incoming-delete', clientId: 'nobody', packetId: 1 },
        { type: 'retained-delete', topic: 'nothing/here' },
        { type: 'session-delete', clientId: 'nobody' },
      ]);
      const { state, store } = await first.restart();
      const c = canonical(state);
      assert.deepEqual(c.sessions, [{ clientId: 'c-full', expiryInterval: 5 }]);
      assert.deepEqual(c.subscriptions, [subscription('c-full', 'a/b', { qos: 0 })]);
      assert.deepEqual(c.deliveries, [delivery('c-full', 1, 1, { packetId: 3, state: 'publish' })]);
      assert.deepEqual(c.incoming, [{ clientId: 'c-full', packetId: 9 }]);
      assert.deepEqual(
        c.messages.map((m) => m.id),
        [1],
      );
      await store.close();
    });

    test('deliveries come back ordered by client id, then seq', async () => {
      const first = await kind.fresh();
      await first.store.commit([{ type: 'message', message: message(1) }]);
      const order: [string, number][] = [
        ['b', 10],
        ['a', 3],
        ['b', 2],
        ['a', 100],
        ['a', 20],
        ['c', 1],
      ];
      for (const [clientId, seq] of order) {
        await first.store.commit([{ type: 'delivery', delivery: delivery(clientId, seq, 1) }]);
      }
      const { state, store } = await first.restart();
      assert.deepEqual(
        state.deliveries.map((d) => `${d.clientId}:${d.seq}`),
        ['a:3', 'a:20', 'a:100', 'b:2', 'b:10', 'c:1'],
      );
      await store.close();
    });

    test('session-delete removes the session with its subscriptions, deliveries and incoming ids', async () => {
      const first = await kind.fresh();
      const both = (clientId: string): Change[] => [
        { type: 'session', session: session(clientId) },
        { type: 'subscription', subscription: subscription(clientId, 'a/#') },
        { type: 'delivery', delivery: delivery(clientId, 1, 1) },
        { type: 'delivery', delivery: delivery(clientId, 2, clientId === 'gone' ? 2 : 1) },
        { type: 'incoming', clientId, packetId: 5 },
      ];
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'message', message: message(2) },
        ...both('gone'),
        ...both('kept'),
      ]);
      await first.store.commit([{ type: 'session-delete', clientId: 'gone' }]);
      assert.equal(first.store.stats().sessions, 1);
      assert.equal(first.store.stats().messages, 1, 'message 2 was only referred to by the deleted session');
      const { state, store } = await first.restart();
      const c = canonical(state);
      assert.deepEqual(
        c.sessions.map((s) => s.clientId),
        ['kept'],
      );
      assert.deepEqual(
        c.subscriptions.map((s) => s.clientId),
        ['kept'],
      );
      assert.deepEqual(
        c.deliveries.map((d) => `${d.clientId}:${d.seq}`),
        ['kept:1', 'kept:2'],
      );
      assert.deepEqual(c.incoming, [{ clientId: 'kept', packetId: 5 }]);
      assert.deepEqual(
        c.messages.map((m) => m.id),
        [1],
      );
      await store.close();
    });

    test('retained entries are replaced and deleted, and their old messages collected', async () => {
      const first = await kind.fresh();
      await first.store.commit([
        { type: 'message', message: message(1, { retain: true }) },
        { type: 'retained', topic: 'r/1', messageId: 1 },
        { type: 'message', message: message(2, { retain: true }) },
        { type: 'retained', topic: 'r/2', messageId: 2 },
      ]);
      await first.store.commit([
        { type: 'message', message: message(3, { retain: true }) },
        { type: 'retained', topic: 'r/1', messageId: 3 },
        { type: 'retained-delete', topic: 'r/2' },
        // Setting the same message again keeps it.
        { type: 'retained', topic: 'r/1', messageId: 3 },
      ]);
      assert.equal(first.store.stats().messages, 1);
      const { state, store } = await first.restart();
      assert.deepEqual(state.retained, [{ topic: 'r/1', messageId: 3 }]);
      assert.deepEqual([...state.messages.keys()], [3]);
      await store.close();
    });

    test('messages: the unreferenced are collected, the referenced kept, ids never reused', async () => {
      const first = await kind.fresh();
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'message', message: message(2) },
        { type: 'message', message: message(3) },
        { type: 'delivery', delivery: delivery('a', 1, 1) },
        { type: 'delivery', delivery: delivery('b', 1, 1) },
        { type: 'retained', topic: 't/2', messageId: 2 },
        // Message 3 is stored with no reference at all.
      ]);
      // One of two references goes: message 1 stays.
      await first.store.commit([{ type: 'delivery-delete', clientId: 'a', seq: 1 }]);
      // A delivery moved to another message releases the first.
      await first.store.commit([
        { type: 'message', message: message(4) },
        { type: 'delivery', delivery: delivery('c', 1, 2) },
        { type: 'retained-delete', topic: 't/2' },
        { type: 'delivery', delivery: delivery('c', 1, 4) },
      ]);
      let opened = await first.restart();
      assert.deepEqual([...opened.state.messages.keys()].sort(), [1, 4]);
      assert.equal(opened.state.nextMessageId, 5);

      // The highest id is collected; its id is still never handed out again.
      await opened.store.commit([
        { type: 'message', message: message(50) },
        { type: 'delivery', delivery: delivery('d', 1, 50) },
      ]);
      await opened.store.commit([{ type: 'delivery-delete', clientId: 'd', seq: 1 }]);
      opened = await opened.restart();
      assert.equal(opened.state.messages.has(50), false);
      assert.equal(opened.state.nextMessageId, 51);
      await opened.store.commit([{ type: 'message', message: message(60) }]);
      opened = await opened.restart();
      assert.equal(opened.state.messages.has(60), false, 'stored alone, collected at open');
      assert.equal(opened.state.nextMessageId, 61);
      await opened.store.close();
    });

    test('a message committed again with the same id is kept once', async () => {
      const first = await kind.fresh();
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'delivery', delivery: delivery('a', 1, 1) },
      ]);
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'delivery', delivery: delivery('b', 1, 1) },
      ]);
      assert.equal(first.store.stats().messages, 1);
      const { state, store } = await first.restart();
      assert.deepEqual([...state.messages.values()], [message(1)]);
      await store.close();
    });

    test('a reference to a message the store does not hold is dropped at the next open', async () => {
      const first = await kind.fresh();
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'delivery', delivery: delivery('a', 1, 1) },
        { type: 'delivery', delivery: delivery('a', 2, 99) },
        { type: 'retained', topic: 'r', messageId: 98 },
      ]);
      const { state, store } = await first.restart();
      assert.deepEqual(
        state.deliveries.map((d) => d.seq),
        [1],
      );
      assert.deepEqual(state.retained, []);
      for (const d of state.deliveries) assert.ok(state.messages.has(d.messageId));
      await store.close();
    });

    test('a commit is all or nothing: a bad change in the middle leaves no trace', async () => {
      const first = await kind.fresh();
      await first.store.commit([
        { type: 'message', message: message(1) },
        { type: 'session', session: session('a') },
        { type: 'delivery', delivery: delivery('a', 1, 1) },
        { type: 'retained', topic: 'r', messageId: 1 },
      ]);
      const before = canonical((await first.restart()).state);
      const opened = await first.restart();
      const statsBefore = opened.store.stats();
      const bad = { ...delivery('a', 3, 2), qos: 7 } as unknown as ReturnType<typeof delivery>;
      await assert.rejects(
        opened.store.commit([
          { type: 'message', message: message(2) },
          { type: 'session', session: session('b') },
          { type: 'session-delete', clientId: 'a' },
          { type: 'subscription', subscription: subscription('b', 'x') },
          { type: 'delivery', delivery: delivery('b', 1, 2) },
          { type: 'delivery', delivery: bad },
          { type: 'retained-delete', topic: 'r' },
          { type: 'incoming', clientId: 'b', packetId: 1 },
        ]),
        (err: unknown) =>
          err instanceof StoreError && err.code === 'STORE_BAD_CHANGE' && /#5/.test(err.message),
      );
      assert.deepEqual(opened.store.stats(), statsBefore);
      // The store still works after a refused commit.
      await opened.store.commit([{ type: 'incoming', clientId: 'a', packetId: 2 }]);
      const { state, store } = await opened.restart();
      assert.deepEqual(canonical(state), { ...before, incoming: [{ clientId: 'a', packetId: 2 }] });
      await store.close();
    });

    test('stats count sessions, messages and their bytes', async () => {
      const first = await kind.fresh();
      assert.deepEqual(
        { ...first.store.stats(), fileBytes: 0 },
        {
          sessions: 0,
          messages: 0,
          messageBytes: 0,
          fileBytes: 0,
        },
      );
      const big = message(1, { topic: 'é/ü', payload: Buffer.alloc(1000) }); // 5 + 1000 bytes
      const small = message(2, { topic: 'a', payload: Buffer.from('xy') }); // 1 + 2 bytes
      await first.store.commit([
        { type: 'session', session: session('a') },
        { type: 'session', session: session('b') },
        { type: 'session', session: session('a', { expiryInterval: 1 }) },
        { type: 'message', message: big },
        { type: 'message', message: small },
        { type: 'delivery', delivery: delivery('a', 1, 1) },
        { type: 'retained', topic: 'a', messageId: 2 },
      ]);
      assert.deepEqual(
        { ...first.store.stats(), fileBytes: 0 },
        {
          sessions: 2,
          messages: 2,
          messageBytes: 1008,
          fileBytes: 0,
        },
      );
      const { store } = await first.restart();
      assert.equal(store.stats().messageBytes, 1008, 'counted again at open');
      await store.commit([
        { type: 'session-delete', clientId: 'b' },
        { type: 'delivery-delete', clientId: 'a', seq: 1 },
      ]);
      const stats = store.stats();
      assert.deepEqual(
        { ...stats, fileBytes: 0 },
        { sessions: 1, messages: 1, messageBytes: 3, fileBytes: 0 },
      );
      if (kind.name === 'memory') assert.equal(stats.fileBytes, 0);
      else assert.ok(stats.fileBytes > 0);
      await store.close();
    });

    test('what was committed is kept apart from the objects given to commit and returned by open', async () => {
      const first = await kind.fresh();
      const d = delivery('a', 1, 1, { subscriptionIds: [1] });
      const s = session('a', { will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false } });
      const m = message(1, { properties: { userProperties: [['k', 'v']] } });
      await first.store.commit([
        { type: 'message', message: m },
        { type: 'session', session: s },
        { type: 'delivery', delivery: d },
      ]);
      d.state = 'pubrel';
      d.subscriptionIds!.push(2);
      s.will!.topic = 'changed';
      m.properties!.userProperties![0]![1] = 'changed';
      let opened = await first.restart();
      opened.state.deliveries[0]!.seq = 99;
      opened.state.messages.get(1)!.topic = 'changed';
      opened = await opened.restart();
      assert.deepEqual(opened.state.deliveries, [delivery('a', 1, 1, { subscriptionIds: [1] })]);
      assert.equal(opened.state.sessions[0]?.will?.topic, 'w');
      assert.deepEqual(
        opened.state.messages.get(1),
        message(1, { properties: { userProperties: [['k', 'v']] } }),
      );
      await opened.store.close();
    });

    test('committing before open, or after close, is refused', async () => {
      const { store } = await kind.fresh();
      await store.close();
      await assert.rejects(
        store.commit([{ type: 'incoming', clientId: 'a', packetId: 1 }]),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_NOT_OPEN',
      );
    });
  });
}

test('createStore makes the store the options name', () => {
  assert.ok(createStore({ kind: 'memory' }) instanceof MemoryStore);
  const sqlite = createStore({ kind: 'sqlite', file: join(tempDir(), 'midge.db'), fsync: false });
  assert.ok(sqlite instanceof SqliteStore);
  assert.equal(sqlite.kind, 'sqlite');
});
