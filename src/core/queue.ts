/**
 * The bounded queue of deliveries waiting for a client: while it is offline (persistent session),
 * or while its inflight window is full.
 *
 * Invariants: at most `maxMessages` entries and `maxBytes` of topic + payload; FIFO order is kept
 * (per-topic ordering depends on it). Drop policy when full: the oldest queued QoS 0 delivery goes
 * first; if there is none, the incoming delivery is refused (the caller counts it as dropped).
 */
import type { QoS } from '../codec/index.js';
import type { Message } from './message.js';
import type { SharedGroup } from './shared.js';

export interface Delivery {
  message: Message;
  /** QoS the client receives it with: min(published, granted). */
  qos: QoS;
  /** Retain flag on the wire (1 for retained messages sent on subscribe, or retain-as-published). */
  retain: boolean;
  /** MQTT 5 subscription identifiers of the subscriptions it matched [MQTT-3.3.4-3]. */
  subscriptionIds?: number[] | undefined;
  /** The shared subscription group it was given through, if any: redistributed if this client goes. */
  shared?: SharedGroup | undefined;
  /** Its place in the session's order in the store, once recorded there. */
  seq?: number;
  /** The journal batch holding its last change, the change's index there, and whether that batch creates its row. */
  journalBatch?: number;
  journalIndex?: number;
  journalFresh?: boolean;
}

/**
 * The bytes queued for all sessions together, against maxQueuedBytesTotal (0: unlimited): above
 * SOFT of it no QoS 0 delivery is queued; at it, the broker refuses new QoS 1/2 PUBLISHes (see
 * handlers/publish.ts), so the process runs out of neither memory nor honesty about what it took.
 */
export class QueueBudget {
  static readonly SOFT = 0.8;
  bytes = 0;
  /** QoS 0 deliveries not queued because the budget was above its soft mark. */
  droppedQos0 = 0;
  /** QoS 1/2 PUBLISHes refused because the budget was used up. */
  refused = 0;
  private readonly soft: number;

  constructor(readonly max: number) {
    this.soft = max * QueueBudget.SOFT;
  }

  get full(): boolean {
    return this.max > 0 && this.bytes >= this.max;
  }

  get aboveSoft(): boolean {
    return this.max > 0 && this.bytes >= this.soft;
  }
}

export function deliverySize(delivery: Delivery): number {
  return delivery.message.topic.length + delivery.message.payload.length;
}

export class DeliveryQueue {
  private items: Delivery[] = [];
  private head = 0;
  bytes = 0;
  /** Deliveries refused or evicted because the queue was full, since the session began. */
  dropped = 0;

  /** `owner` is told of each delivery evicted to make room (so the store forgets it too). */
  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
    private readonly budget: QueueBudget = new QueueBudget(0),
    private readonly owner?: { evicted(delivery: Delivery): void },
  ) {}

  private count(bytes: number): void {
    this.bytes += bytes;
    this.budget.bytes += bytes;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds a delivery; false when it had to be dropped. */
  push(delivery: Delivery): boolean {
    const size = deliverySize(delivery);
    if (delivery.qos === 0 && this.budget.aboveSoft) {
      this.budget.droppedQos0++;
      this.dropped++;
      return false;
    }
    while (this.length >= this.maxMessages || this.bytes + size > this.maxBytes) {
      if (!this.evictOldestQos0() || size > this.maxBytes) {
        this.dropped++;
        return false;
      }
    }
    this.items.push(delivery);
    this.count(size);
    return true;
  }

  shift(): Delivery | undefined {
    if (this.head >= this.items.length) return undefined;
    const delivery = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as Delivery;
    this.head++;
    this.count(-deliverySize(delivery));
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return delivery;
  }

  peek(): Delivery | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes and returns the deliveries `predicate` selects, keeping the order of the rest. */
  extract(predicate: (delivery: Delivery) => boolean): Delivery[] {
    const taken: Delivery[] = [];
    const kept: Delivery[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const delivery = this.items[i]!;
      if (predicate(delivery)) {
        taken.push(delivery);
        this.count(-deliverySize(delivery));
      } else {
        kept.push(delivery);
      }
    }
    this.items = kept;
    this.head = 0;
    return taken;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.count(-this.bytes);
  }

  *[Symbol.iterator](): IterableIterator<Delivery> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }

  private evictOldestQos0(): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      const delivery = this.items[i]!;
      if (delivery.qos === 0) {
        this.items.splice(i, 1);
        this.count(-deliverySize(delivery));
        this.dropped++;
        this.owner?.evicted(delivery);
        return true;
      }
    }
    return false;
  }
}
