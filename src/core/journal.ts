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
 */
import type { Logger } from 'pino';
import type { Change, Store } from '../store/index.js';
import type { Message } from './message.js';
import { ownPayload } from './message.js';

export type Durability = 'sync' | 'batched';

interface Waiter {
  done(): void;
  failed(): void;
}

export class Journal {
  private changes: Change[] = [];
  /** Ids of the messages recorded in the batch being gathered. */
  private batchMessages = new Set<number>();
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
    this.changes.push(change);
    this.schedule();
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
    this.batchMessages.add(id);
    this.add({
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
    const changes = this.changes;
    const waiters = this.waiters;
    if (changes.length === 0 && waiters.length === 0) return this.committing;
    this.changes = [];
    this.waiters = [];
    this.batchMessages = new Set();
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
