/**
 * The journal's coalescing: what reaches the store for a batch is each delivery's last state, nothing
 * for a delivery created and removed within the batch, and no record of a message nothing refers to.
 * A MemoryStore behind it checks that the result is also what the store ends up holding.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { Journal } from '../../../src/core/journal.js';
import { createMessage, type Message } from '../../../src/core/message.js';
import type { Delivery } from '../../../src/core/queue.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Change, StoredDelivery } from '../../../src/store/types.js';

class RecordingStore extends MemoryStore {
  readonly batches: Change[][] = [];
  override commit(changes: readonly Change[]): Promise<void> {
    this.batches.push([...changes]);
    return super.commit(changes);
  }
}

async function journal(): Promise<{ store: RecordingStore; j: Journal }> {
  const store = new RecordingStore();
  const state = await store.open();
  const j = new Journal(store, 'batched', 60_000, pino({ level: 'silent' }), state.nextMessageId, 1e12);
  return { store, j };
}

function message(topic: string): Message {
  return createMessage(topic, Buffer.from(topic), 1, false, undefined, 'publisher');
}

function record(
  j: Journal,
  d: Delivery,
  clientId: string,
  state: StoredDelivery['state'],
  fresh: boolean,
): void {
  j.addDelivery(
    d,
    {
      clientId,
      seq: d.seq!,
      messageId: j.messageId(d.message),
      qos: d.qos,
      retain: false,
      packetId: state === 'queued' ? undefined : 1,
      state,
    },
    fresh,
  );
}

const types = (changes: readonly Change[]): string[] => changes.map((c) => c.type);

describe('journal coalescing', () => {
  test('a delivery created and removed in one batch leaves nothing, its message included', async () => {
    const { store, j } = await journal();
    j.add({ type: 'session', session: { clientId: 'c', expiryInterval: 60 } });
    const d: Delivery = { message: message('t/1'), qos: 1, retain: false, seq: 1 };
    record(j, d, 'c', 'publish', true);
    j.removeDelivery(d, 'c', 1);
    await j.flush();
    assert.deepEqual(types(store.batches[0]!), ['session']);
    assert.equal(store.stats().messages, 0);
  });

  test('a delivery recorded twice in a batch reaches the store once, in its last state', async () => {
    const { store, j } = await journal();
    const d: Delivery = { message: message('t/2'), qos: 1, retain: false, seq: 1 };
    record(j, d, 'c', 'queued', true);
    record(j, d, 'c', 'publish', false);
    await j.flush();
    const batch = store.batches[0]!;
    assert.deepEqual(types(batch), ['message', 'delivery']);
    const change = batch[1] as Extract<Change, { type: 'delivery' }>;
    assert.equal(change.delivery.state, 'publish');
  });

  test('a delivery from an earlier batch changed then removed leaves only the delete', async () => {
    const { store, j } = await journal();
    const d: Delivery = { message: message('t/3'), qos: 1, retain: false, seq: 1 };
    record(j, d, 'c', 'queued', true);
    await j.flush();
    record(j, d, 'c', 'publish', false);
    j.removeDelivery(d, 'c', 1);
    await j.flush();
    assert.deepEqual(types(store.batches[1]!), ['delivery-delete']);
    assert.equal(store.stats().messages, 0);
  });

  test('a message that another change still refers to keeps its record', async () => {
    const { store, j } = await journal();
    const m = message('t/4');
    const a: Delivery = { message: m, qos: 1, retain: false, seq: 1 };
    const b: Delivery = { message: m, qos: 1, retain: false, seq: 1 };
    record(j, a, 'a', 'publish', true);
    record(j, b, 'b', 'publish', true);
    j.removeDelivery(a, 'a', 1);
    await j.flush();
    assert.deepEqual(types(store.batches[0]!), ['message', 'delivery']);
    assert.equal(store.stats().messages, 1);
  });

  test('a message removed from a batch is recorded again by a later reference in it', async () => {
    const { store, j } = await journal();
    const m = message('t/5');
    const a: Delivery = { message: m, qos: 1, retain: false, seq: 1 };
    record(j, a, 'a', 'publish', true);
    j.removeDelivery(a, 'a', 1);
    j.add({ type: 'retained', topic: 't/5', messageId: j.messageId(m) });
    await j.flush();
    assert.deepEqual(types(store.batches[0]!), ['message', 'retained']);
    const state = await reopen(store);
    assert.equal(state.retained.length, 1);
  });
});

async function reopen(store: MemoryStore) {
  await store.close();
  return store.open();
}
