/**
 * The Store: where the broker's durable state lives behind its in-memory state. The core keeps the
 * live state and writes changes behind it in batches (one `commit` per event-loop turn or per few
 * milliseconds); at start it restores everything from `open` before the listeners open.
 *
 * Shape of the data: messages are stored once and referred to by id from every delivery (a queued or
 * in-flight copy for one session) and retained entry that needs them, so a message fanned out to a
 * thousand offline sessions costs one payload on disk. Only sessions that outlive their connection
 * are stored (3.1.1 Clean Session 0, MQTT 5 Session Expiry Interval > 0).
 *
 * Implementations: memory.ts (tests, --memory), sqlite.ts (embedded default), later redis.ts (cluster).
 * Each must pass test/store/contract.test.ts.
 */
import type { Properties, QoS, Will } from '../codec/index.js';

export interface StoredMessage {
  /** Assigned by the core, unique in the store, increasing. */
  id: number;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties | undefined;
  /** MQTT 5 message expiry deadline, ms since the epoch. */
  expiresAt?: number | undefined;
  /** Client id of the publisher (for No Local). */
  origin?: string | undefined;
}

export interface StoredSession {
  clientId: string;
  /** Seconds the session outlives its connection; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  /** When its connection went, ms since the epoch; undefined while connected. */
  disconnectedAt?: number | undefined;
  /** A will waiting out its delay (published at `willAt`, or when the session ends if sooner). */
  will?: Will | undefined;
  willAt?: number | undefined;
}

export interface StoredSubscription {
  clientId: string;
  /** As subscribed, `$share/{group}/{filter}` included. */
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  identifier?: number | undefined;
}

export interface StoredDelivery {
  clientId: string;
  /** Order of the session's deliveries (resends and the queue follow it). */
  seq: number;
  messageId: number;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[] | undefined;
  /** The `$share/...` filter it was given through. */
  sharedGroup?: string | undefined;
  /** In flight (sent, not acknowledged) when set. */
  packetId?: number | undefined;
  state: 'queued' | 'publish' | 'pubrel';
}

export interface StoredIncoming {
  clientId: string;
  /** An incoming QoS 2 packet id whose PUBLISH was received and PUBREL not yet. */
  packetId: number;
}

export interface StoredRetained {
  topic: string;
  messageId: number;
}

export interface LoadedState {
  sessions: StoredSession[];
  subscriptions: StoredSubscription[];
  /** Ordered by clientId, then seq. */
  deliveries: StoredDelivery[];
  incoming: StoredIncoming[];
  retained: StoredRetained[];
  /** Every message a delivery or retained entry refers to. */
  messages: Map<number, StoredMessage>;
  /** Greater than every message id ever stored. */
  nextMessageId: number;
  /** Set when a damaged store was moved aside and a fresh one started: what happened, and where the old file is. */
  recovered?: string | undefined;
}

export type Change =
  | { type: 'message'; message: StoredMessage }
  | { type: 'session'; session: StoredSession }
  /** Removes the session with its subscriptions, deliveries and incoming ids. */
  | { type: 'session-delete'; clientId: string }
  | { type: 'subscription'; subscription: StoredSubscription }
  | { type: 'subscription-delete'; clientId: string; filter: string }
  /** Inserts or replaces the delivery (clientId, seq). */
  | { type: 'delivery'; delivery: StoredDelivery }
  | { type: 'delivery-delete'; clientId: string; seq: number }
  | { type: 'incoming'; clientId: string; packetId: number }
  | { type: 'incoming-delete'; clientId: string; packetId: number }
  | { type: 'retained'; topic: string; messageId: number }
  | { type: 'retained-delete'; topic: string };

export interface StoreStats {
  sessions: number;
  /** Messages held (referred to by a delivery or a retained entry). */
  messages: number;
  /** Bytes of those messages' topics and payloads. */
  messageBytes: number;
  /** Size of the store on disk (0 for memory). */
  fileBytes: number;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite';
  /** Loads everything; a damaged store is moved aside and an empty one started (see `recovered`). */
  open(): Promise<LoadedState>;
  /**
   * Applies the changes in order, atomically (all or none). Resolves once they are durable as far as
   * the store's settings go (process crash; power loss with fsync). A message no delivery or retained
   * entry refers to any more may be removed.
   */
  commit(changes: readonly Change[]): Promise<void>;
  stats(): StoreStats;
  close(): Promise<void>;
}
