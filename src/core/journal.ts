/**
 * The write-behind journal between the live state (memory) and the Store. Changes made during one
 * event-loop turn (or, in `batched` mode, within `batchInterval` ms) are committed in one transaction:
 * group commit, so a burst of thousands of QoS 1 messages costs one transaction, not thousands.
 *
 * Durability modes:
 * - `sync`: an acknowledgement that promises durability (PUBACK, PUBREC for a message that changed
 *   persistent state) is sent only after the transaction holding that state has committed — an
 *   acknowledged message survives a crash of the process.
 * - `batched`: acknowledgements go at once; the transaction follows within `batchInterval` ms (the
 *   window of loss on a crash).
 *
 * If a commit fails (disk full, I/O error), the acknowledgements waiting on it are not sent: the
 * publishers' connections are closed instead, so their clients resend on reconnect.
 *
 * Coalescing: a batch carries each delivery's last state only. A delivery recorded again in the same
 * batch replaces its earlier change; a delivery created and removed within one batch (acknowledged
 * before its commit — the common case in `batched` mode) leaves no change at all, and a message
 * recorded in the batch that no change refers to any more is left out too. The store is then asked
 * for nothing it would write and delete again in the same transaction.
 */
import type { Logger } from 'pino';
import type { Change, Store, StoredDelivery } from '../store/index.js';
import type { Message } from './message.js';
import { ownPayload } from './message.js';
import type { Delivery } from './queue.js';

export type Durability = 'sync' | 'batched';

interface Waiter {
  done(): void;
  failed(): void;
}

/** A message recorded in the batch being gathered: where its change is, and how many changes refer to it. */
interface MessageMark {
  index: number;
  refs: number;
}

export class Journal {
  /** The batch being gathered; null where a change was coalesced away. */
  private changes: (Change | null)[] = [];
  private coalesced = 0;
  /** Numbers the batches, so a delivery can tell whether its last change is in the one being gathered. */
  private batch = 1;
  /** The messages recorded in the batch being gathered, by id. */
  private batchMessages = new Map<number, MessageMark>();
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private committing: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private nextMessageId: number;
  /** Commits that failed since start, for $SYS. */
  failures = 0;
  /** The store holds more message bytes than maxStoreBytes (checked after every commit). */
  overBudget = false;
  /** Deliveries refused because the store was over its budget. */
  refused = 0;

  constructor(
    private readonly store: Store,
    private readonly durability: Durability,
    private readonly batchInterval: number,
    private readonly log: Logger,
    nextMessageId: number,
    private readonly maxBytes: number,
  ) {
    this.nextMessageId = nextMessageId;
    this.checkBudget();
  }

  private checkBudget(): void {
    const over = this.store.stats().messageBytes > this.maxBytes;
    if (over && !this.overBudget) {
      this.log.warn(
        { maxStoreBytes: this.maxBytes },
        'store full: new messages for offline sessions are dropped',
      );
    }
    this.overBudget = over;
  }

  /** True when changes wait to be committed, or a commit is under way. */
  get pending(): boolean {
    return this.changes.length > 0 || this.inFlight > 0;
  }

  add(change: Change): void {
    if (change.type === 'delivery') this.refer(change.delivery.messageId, 1);
    else if (change.type === 'retained') this.refer(change.messageId, 1);
    this.changes.push(change);
    this.schedule();
  }

  /**
   * Records a delivery's new state. `fresh`: the store holds no row for it yet (it was given its
   * `seq` for this change). A change of the same delivery still in this batch is replaced.
   */
  addDelivery(owner: Delivery, change: StoredDelivery, fresh: boolean): void {
    const previous = owner.journalBatch === this.batch ? owner.journalIndex! : -1;
    if (previous >= 0) fresh = owner.journalFresh === true;
    owner.journalBatch = this.batch;
    owner.journalIndex = this.changes.length;
    owner.journalFresh = fresh;
    this.add({ type: 'delivery', delivery: change });
    // After the new change is counted, so a message both refer to keeps its record.
    if (previous >= 0) this.drop(previous);
  }

  /** Removes a delivery from the store; nothing reaches the store if it was created in this batch. */
  removeDelivery(owner: Delivery, clientId: string, seq: number): void {
    if (owner.journalBatch === this.batch) {
      owner.journalBatch = 0;
      this.drop(owner.journalIndex!);
      if (owner.journalFresh === true) return;
    }
    this.add({ type: 'delivery-delete', clientId, seq });
  }

  /** Leaves out the delivery change at `index`, and the record of its message if nothing else refers to it. */
  private drop(index: number): void {
    const change = this.changes[index] as Extract<Change, { type: 'delivery' }>;
    this.changes[index] = null;
    this.coalesced++;
    this.refer(change.delivery.messageId, -1);
  }

  private refer(messageId: number, by: 1 | -1): void {
    const mark = this.batchMessages.get(messageId);
    if (mark === undefined) return;
    mark.refs += by;
    if (mark.refs === 0) {
      this.changes[mark.index] = null;
      this.coalesced++;
      this.batchMessages.delete(messageId);
    }
  }

  /**
   * The message's id in the store. The message itself is recorded with the first reference of each
   * batch: the store may have dropped it when an earlier batch removed its last reference, and a
   * record of a message it still holds is ignored.
   */
  messageId(message: Message): number {
    let id = message.storedId;
    if (id !== undefined && this.batchMessages.has(id)) return id;
    if (id === undefined) {
      ownPayload(message);
      id = this.nextMessageId++;
      message.storedId = id;
    }
    // No reference yet: `add` counts the one the caller is about to record.
    this.batchMessages.set(id, { index: this.changes.length, refs: 0 });
    this.changes.push({
      type: 'message',
      message: {
        id,
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        retain: message.retain,
        properties: message.properties,
        expiresAt: message.expiresAt,
        origin: message.origin,
      },
    });
    this.schedule();
    return id;
  }

  /**
   * Runs `done` once what was recorded so far is durable (at once when nothing waits, or in batched
   * mode); `failed` if its commit fails.
   */
  whenDurable(done: () => void, failed: () => void): void {
    if (this.durability === 'batched' || this.changes.length === 0) {
      done();
      return;
    }
    this.waiters.push({ done, failed });
  }

  private schedule(): void {
    if (this.immediate !== undefined || this.timer !== undefined) return;
    if (this.durability === 'sync') {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.flush();
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.batchInterval);
      this.timer.unref();
    }
  }

  /** Commits what is pending now; resolves when it (and every earlier commit) is done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    const gathered = this.changes;
    const waiters = this.waiters;
    if (gathered.length === 0 && waiters.length === 0) return this.committing;
    const changes = (this.coalesced === 0 ? gathered : gathered.filter((c) => c !== null)) as Change[];
    this.changes = [];
    this.coalesced = 0;
    this.waiters = [];
    this.batchMessages = new Map();
    this.batch++;
    const previous = this.committing;
    this.inFlight++;
    this.committing = previous.then(() =>
      this.store.commit(changes).then(
        () => {
          this.inFlight--;
          this.checkBudget();
          for (const waiter of waiters) waiter.done();
        },
        (error: unknown) => {
          this.inFlight--;
          this.failures++;
          this.log.error({ err: error, changes: changes.length }, 'store commit failed');
          for (const waiter of waiters) waiter.failed();
        },
      ),
    );
    return this.committing;
  }
}
