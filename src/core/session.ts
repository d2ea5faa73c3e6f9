/**
 * A client's session: what outlives one network connection when the client asks for it
 * (Clean Session 0): subscriptions, outgoing QoS 1/2 in flight, queued deliveries, and the
 * identifiers of incoming QoS 2 messages awaiting PUBREL [MQTT-3.1.2-4].
 *
 * Invariants:
 * - Deliveries reach the client in the order they were routed: a delivery goes to the wire only when
 *   the queue is empty; otherwise it waits behind the queue.
 * - At most `maxInflight` QoS 1/2 deliveries are unacknowledged at any time.
 * - While offline nothing is written; QoS 1/2 (and QoS 0 when configured) wait in the bounded queue.
 */
import type { QoS, Subscription } from '../codec/index.js';
import { Inflight, type Outgoing } from './inflight.js';
import type { Message } from './message.js';
import { ownPayload } from './message.js';
import { type Delivery, DeliveryQueue } from './queue.js';

/** What a session needs from the connection currently attached to it. */
export interface SessionOutput {
  /** False while the link is over its byte budget: QoS 0 deliveries are dropped then. */
  acceptsQos0(): boolean;
  sendPublish(delivery: Delivery, packetId: number, dup: boolean): void;
  sendPubrel(packetId: number): void;
}

export interface SessionLimits {
  maxInflight: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  queueQos0: boolean;
}

export interface SessionSubscription {
  readonly filter: string;
  readonly qos: QoS;
  readonly options: Subscription;
}

export class Session {
  readonly clientId: string;
  /** Clean Session 1: the session ends with the connection. */
  clean: boolean;
  readonly subscriptions = new Map<string, SessionSubscription>();
  readonly inflight = new Inflight();
  readonly queue: DeliveryQueue;
  /** Incoming QoS 2 packet ids whose PUBLISH was received and whose PUBREL was not yet. */
  readonly awaitingRelease = new Set<number>();
  output: SessionOutput | null = null;
  /** Route-time scratch: the broker marks matched sessions to deliver once per PUBLISH. */
  matchEpoch = 0;
  matchQos: QoS = 0;
  /** Messages dropped for this client: queue full, or QoS 0 to a congested link. */
  droppedQos0 = 0;

  constructor(
    clientId: string,
    clean: boolean,
    private readonly limits: SessionLimits,
  ) {
    this.clientId = clientId;
    this.clean = clean;
    this.queue = new DeliveryQueue(limits.maxQueuedMessages, limits.maxQueuedBytes);
  }

  get dropped(): number {
    return this.queue.dropped + this.droppedQos0;
  }

  /** Hands a delivery to the client now, or queues it (bounded); false when it was dropped. */
  deliver(message: Message, qos: QoS, retain: boolean): boolean {
    const output = this.output;
    if (qos === 0) {
      if (output !== null) {
        if (output.acceptsQos0()) {
          output.sendPublish({ message, qos, retain }, 0, false);
          return true;
        }
        this.droppedQos0++;
        return false;
      }
      if (!this.limits.queueQos0) return false;
      ownPayload(message);
      return this.queue.push({ message, qos, retain });
    }
    ownPayload(message);
    const delivery: Delivery = { message, qos, retain };
    if (output !== null && this.queue.length === 0 && this.inflight.size < this.limits.maxInflight) {
      const entry = this.inflight.add(delivery);
      output.sendPublish(delivery, entry.packetId, false);
      return true;
    }
    return this.queue.push(delivery);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) for `packetId` completes that delivery. */
  complete(packetId: number): boolean {
    if (!this.inflight.delete(packetId)) return false;
    this.drainQueue();
    return true;
  }

  /** PUBREC: the client has the QoS 2 message; the broker releases it. */
  received(packetId: number): Outgoing | undefined {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.delivery.qos !== 2) return undefined;
    entry.state = 'pubrel';
    return entry;
  }

  /** A connection takes this session: resend what is unacknowledged, then send what waited. */
  attach(output: SessionOutput): void {
    this.output = output;
    // [MQTT-4.4.0-1] resend unacknowledged PUBLISH (DUP=1) and PUBREL, in their original order.
    for (const entry of this.inflight.values()) {
      if (entry.state === 'publish') output.sendPublish(entry.delivery, entry.packetId, true);
      else output.sendPubrel(entry.packetId);
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
    const max = this.limits.maxInflight;
    let delivery = this.queue.peek();
    while (delivery !== undefined) {
      if (delivery.qos === 0) {
        this.queue.shift();
        if (output.acceptsQos0()) output.sendPublish(delivery, 0, false);
        else this.droppedQos0++;
      } else {
        if (this.inflight.size >= max) return;
        this.queue.shift();
        const entry = this.inflight.add(delivery);
        output.sendPublish(delivery, entry.packetId, false);
      }
      delivery = this.queue.peek();
    }
  }

  /** Everything held for the client is discarded (clean session, or session end). */
  reset(): void {
    this.subscriptions.clear();
    this.inflight.clear();
    this.queue.clear();
    this.awaitingRelease.clear();
  }
}
