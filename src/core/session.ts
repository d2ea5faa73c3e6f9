/**
 * A client's session: what outlives one network connection when the client asks for it (3.1.1
 * Clean Session 0, or an MQTT 5 Session Expiry Interval above 0): subscriptions, outgoing QoS 1/2 in
 * flight, queued deliveries, the identifiers of incoming QoS 2 messages awaiting PUBREL
 * [MQTT-3.1.2-4], and a will waiting out its delay.
 *
 * Invariants:
 * - Deliveries reach the client in the order they were routed: a delivery goes to the wire only when
 *   the queue is empty; otherwise it waits behind the queue.
 * - At most `output.inflightLimit` QoS 1/2 deliveries are unacknowledged at any time: the broker's
 *   maxInflight, lowered to the client's Receive Maximum for MQTT 5 [MQTT-3.3.4-9].
 * - While offline nothing is written; QoS 1/2 (and QoS 0 when configured) wait in the bounded queue.
 * - An expired message is never sent [MQTT-3.3.2-5]; one already in flight is finished.
 */
import type { QoS, Subscription, Will } from '../codec/index.js';
import type { Deadline } from './deadline.js';
import type { ClientIdentity, ClientPermissions } from './hooks.js';
import { Inflight, type Outgoing } from './inflight.js';
import type { Journal } from './journal.js';
import { expired, type Message, ownPayload } from './message.js';
import { type Delivery, DeliveryQueue, type QueueBudget } from './queue.js';
import type { SharedGroup } from './shared.js';

/** Session Expiry Interval meaning "never" (MQTT 5.0 §3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/** What a session needs from the connection currently attached to it. */
export interface SessionOutput {
  /** Most unacknowledged QoS 1/2 deliveries this connection may have. */
  readonly inflightLimit: number;
  /** False while the link is over its byte budget: QoS 0 deliveries are dropped then. */
  acceptsQos0(): boolean;
  /** Writes the PUBLISH; false when it was dropped as larger than the client accepts. */
  sendPublish(delivery: Delivery, packetId: number, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
}

export interface SessionLimits {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  queueQos0: boolean;
  /** Shared by every session's queue (maxQueuedBytesTotal). */
  budget?: QueueBudget;
}

export interface SessionSubscription {
  /** The filter as subscribed (for a shared subscription, the whole `$share/...` string). */
  readonly filter: string;
  readonly qos: QoS;
  readonly options: Subscription;
  /** MQTT 5 subscription identifier given in the SUBSCRIBE, if any. */
  readonly identifier: number | undefined;
  readonly shared: SharedGroup | undefined;
  /** Set when the client's permissions allow only some of the topics the filter matches: each is checked. */
  check?: ClientPermissions | undefined;
}

export interface PendingWill {
  readonly will: Will;
  readonly timer: Deadline;
  /** When it is due, ms since the epoch. */
  readonly at: number;
}

export class Session {
  readonly clientId: string;
  /** Seconds the session outlives its connection; 0 ends it with the connection. */
  expiryInterval: number;
  readonly subscriptions = new Map<string, SessionSubscription>();
  readonly inflight = new Inflight();
  readonly queue: DeliveryQueue;
  /** Incoming QoS 2 packet ids whose PUBLISH was received and whose PUBREL was not yet (made on first use). */
  private awaitingRelease: Set<number> | undefined;
  output: SessionOutput | null = null;
  expiryTimer: Deadline | undefined;
  /** A will waiting out its Will Delay Interval after the connection went [MQTT-3.1.3-9]. */
  pendingWill: PendingWill | undefined;
  /** When the last connection went (ms since the epoch); undefined while connected. */
  disconnectedAt: number | undefined;
  /** Route-time scratch: the broker marks matched sessions to deliver once per PUBLISH. */
  matchEpoch = 0;
  matchQos: QoS = 0;
  matchRetain = false;
  matchIds: number[] | undefined;
  /** Who last connected with it (for an ACL reload while it is offline); unknown after a restart. */
  identity: ClientIdentity | undefined;
  /** Messages dropped for this client: queue full, or QoS 0 to a congested link. */
  droppedQos0 = 0;
  /** The store's journal, when the broker persists; used only while the session is persistent. */
  journal: Journal | undefined;
  /** True once the session has a row in the store (so its end must remove it). */
  stored = false;
  private nextSeq = 1;

  constructor(
    clientId: string,
    expiryInterval: number,
    private readonly limits: SessionLimits,
  ) {
    this.clientId = clientId;
    this.expiryInterval = expiryInterval;
    this.queue = new DeliveryQueue(limits.maxQueuedMessages, limits.maxQueuedBytes, limits.budget, this);
  }

  /** Whether this session's state goes to the store: it outlives its connection, and there is one. */
  get persistent(): boolean {
    return this.journal !== undefined && this.expiryInterval > 0;
  }

  /** Records a delivery (new or changed) in the store. */
  private record(
    delivery: Delivery,
    packetId: number | undefined,
    state: 'queued' | 'publish' | 'pubrel',
  ): void {
    const journal = this.journal;
    if (journal === undefined || this.expiryInterval === 0) return;
    const fresh = delivery.seq === undefined;
    if (fresh) delivery.seq = this.nextSeq++;
    journal.addDelivery(
      delivery,
      {
        clientId: this.clientId,
        seq: delivery.seq!,
        messageId: journal.messageId(delivery.message),
        qos: delivery.qos,
        retain: delivery.retain,
        subscriptionIds: delivery.subscriptionIds,
        sharedGroup: delivery.shared?.key,
        packetId,
        state,
      },
      fresh,
    );
  }

  /** The queue evicted a delivery to make room (DeliveryQueue's owner): the store forgets it too. */
  evicted(delivery: Delivery): void {
    this.forget(delivery);
  }

  /** Removes a delivery from the store (done, dropped, expired, or given to another member). */
  private forget(delivery: Delivery): void {
    if (delivery.seq !== undefined && this.journal !== undefined) {
      this.journal.removeDelivery(delivery, this.clientId, delivery.seq);
      delivery.seq = undefined;
    }
  }

  /** Carries on numbering after the deliveries restored from the store. */
  restoredSeq(seq: number): void {
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
  }

  /** Whether an incoming QoS 2 PUBLISH with this id awaits its PUBREL (a resent one is a duplicate). */
  awaitsRelease(packetId: number): boolean {
    return this.awaitingRelease?.has(packetId) ?? false;
  }

  /** How many incoming QoS 2 PUBLISHes await their PUBREL. */
  get awaitingReleaseCount(): number {
    return this.awaitingRelease?.size ?? 0;
  }

  /** An incoming QoS 2 PUBLISH whose PUBREL is awaited [MQTT-4.3.3-2]. */
  awaitRelease(packetId: number): void {
    this.restoreAwaitingRelease(packetId);
    if (this.persistent) this.journal!.add({ type: 'incoming', clientId: this.clientId, packetId });
  }

  /**
   * Records an incoming QoS 2 packet id as awaiting its PUBREL, without writing it to the store: what
   * restore does with the ids the store held, and awaitRelease before it writes the new one.
   */
  restoreAwaitingRelease(packetId: number): void {
    this.awaitingRelease ??= new Set();
    this.awaitingRelease.add(packetId);
  }

  /** PUBREL arrived: the packet id is free again; false when it was not awaited. */
  release(packetId: number): boolean {
    if (this.awaitingRelease?.delete(packetId) !== true) return false;
    if (this.stored) this.journal?.add({ type: 'incoming-delete', clientId: this.clientId, packetId });
    return true;
  }

  get dropped(): number {
    return this.queue.dropped + this.droppedQos0;
  }

  /** Hands a delivery to the client now, or queues it (bounded); false when it was dropped. */
  deliver(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds?: number[],
    shared?: SharedGroup,
  ): boolean {
    const output = this.output;
    if (qos === 0) {
      if (output !== null) {
        if (output.acceptsQos0()) {
          output.sendPublish({ message, qos, retain, subscriptionIds }, 0, false);
          return true;
        }
        this.droppedQos0++;
        return false;
      }
      if (!this.limits.queueQos0) return false;
      ownPayload(message);
      return this.enqueue({ message, qos, retain, subscriptionIds });
    }
    ownPayload(message);
    const delivery: Delivery = { message, qos, retain, subscriptionIds, shared };
    if (output !== null && this.queue.length === 0 && this.inflight.size < output.inflightLimit) {
      this.send(output, delivery);
      return true;
    }
    return this.enqueue(delivery);
  }

  private enqueue(delivery: Delivery): boolean {
    const journal = this.journal;
    if (journal?.overBudget && this.expiryInterval > 0) {
      // The store is at maxStoreBytes: nothing new is queued for a persistent session.
      journal.refused++;
      return false;
    }
    if (!this.queue.push(delivery)) return false;
    this.record(delivery, undefined, 'queued');
    return true;
  }

  /** Takes a packet id and writes; a PUBLISH too large for the client counts as completed [MQTT-3.1.2-25]. */
  private send(output: SessionOutput, delivery: Delivery): void {
    const entry = this.inflight.add(delivery);
    if (output.sendPublish(delivery, entry.packetId, false)) {
      this.record(delivery, entry.packetId, 'publish');
    } else {
      this.inflight.delete(entry.packetId);
      this.forget(delivery);
    }
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) for `packetId` completes that delivery. */
  complete(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined) return false;
    this.inflight.delete(packetId);
    this.forget(entry.delivery);
    this.drainQueue();
    return true;
  }

  /** PUBREC: the client has the QoS 2 message; the broker releases it. */
  received(packetId: number): Outgoing | undefined {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.delivery.qos !== 2) return undefined;
    entry.state = 'pubrel';
    this.record(entry.delivery, packetId, 'pubrel');
    return entry;
  }

  /** A connection takes this session: resend what is unacknowledged, then send what waited. */
  attach(output: SessionOutput): void {
    this.output = output;
    // [MQTT-4.4.0-1] resend unacknowledged PUBLISH (DUP=1) and PUBREL, in their original order.
    for (const entry of this.inflight.values()) {
      if (entry.state === 'pubrel') output.sendPubrel(entry.packetId);
      else if (!output.sendPublish(entry.delivery, entry.packetId, true))
        this.inflight.delete(entry.packetId);
    }
    this.drainQueue();
  }

  detach(): void {
    this.output = null;
  }

  /** Moves queued deliveries into the inflight window while there is room. */
  drainQueue(): void {
    const output = this.output;
    if (output === null) return;
    const now = Date.now();
    let delivery = this.queue.peek();
    while (delivery !== undefined) {
      if (expired(delivery.message, now)) {
        this.queue.shift();
        this.forget(delivery);
      } else if (delivery.qos === 0) {
        this.queue.shift();
        this.forget(delivery);
        if (output.acceptsQos0()) output.sendPublish(delivery, 0, false);
        else this.droppedQos0++;
      } else {
        if (this.inflight.size >= output.inflightLimit) return;
        this.queue.shift();
        this.send(output, delivery);
      }
      delivery = this.queue.peek();
    }
  }

  /**
   * Removes the QoS 1/2 deliveries given through shared subscriptions that the client has not
   * confirmed (queued, or sent without PUBACK/PUBREC), for another member of the group to take.
   */
  takeShared(): Delivery[] {
    const taken: Delivery[] = [];
    for (const entry of [...this.inflight.values()]) {
      if (entry.delivery.shared !== undefined && entry.state === 'publish') {
        this.inflight.delete(entry.packetId);
        taken.push(entry.delivery);
      }
    }
    for (const delivery of this.queue.extract((d) => d.shared !== undefined && d.qos > 0))
      taken.push(delivery);
    // They leave this session: its stored rows go (the member that takes one records it afresh).
    for (const delivery of taken) this.forget(delivery);
    return taken;
  }

  /**
   * Drops the queued and unacknowledged deliveries whose topic `permissions` do not let the client
   * read: they were matched under other permissions (an ACL reload, or another user resuming the
   * session). A PUBREL already owed stays: the client has the message. Returns how many went.
   */
  dropUnreadable(permissions: ClientPermissions): number {
    const unreadable = (d: Delivery) => !permissions.canRead(d.message.topic);
    const taken = this.queue.extract(unreadable);
    for (const entry of [...this.inflight.values()]) {
      if (entry.state === 'publish' && unreadable(entry.delivery)) {
        this.inflight.delete(entry.packetId);
        taken.push(entry.delivery);
      }
    }
    for (const delivery of taken) this.forget(delivery);
    return taken.length;
  }

  /** Everything held for the client is discarded (clean session, or session end). */
  reset(): void {
    this.subscriptions.clear();
    this.inflight.clear();
    this.queue.clear();
    this.awaitingRelease = undefined;
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
  }
}
