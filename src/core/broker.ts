/**
 * The broker core: sessions, the subscription index, retained messages, wills and $SYS. It knows no
 * sockets: transports hand it Links through `accept`.
 *
 * Routing (the hot path): one PUBLISH walks the subscription trie once; each matching session is
 * marked with the route's epoch so that overlapping subscriptions deliver once, at the highest
 * granted QoS (MQTT 3.1.1 §3.3.5); the matched list is reused between routes. Routing is not
 * re-entrant: a will or $SYS message produced while a route runs is routed right after it.
 */
import type { Logger } from 'pino';
import type { QoS, Subscription, Will } from '../codec/index.js';
import type { BrokerConfig } from '../config/schema.js';
import { SubscriptionTrie, type TopicLimits, TopicTree } from '../topic/index.js';
import { Connection } from './connection.js';
import type { AuthenticateRequest, AuthenticateResult, Hooks } from './hooks.js';
import type { Link } from './link.js';
import { createMessage, type Message, minQos, ownPayload } from './message.js';
import { Session, type SessionLimits, type SessionSubscription } from './session.js';
import { BrokerStats, sysValues } from './sys.js';

export interface AcceptOptions {
  /** Largest packet accepted on this link's listener. */
  maxPacketSize: number;
}

export class BrokerCore {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly stats = new BrokerStats();
  readonly topicLimits: TopicLimits;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  readonly subscriptions = new SubscriptionTrie<Session, SessionSubscription>();
  readonly retained = new TopicTree<Message>();
  /** The connection whose PUBLISH is being routed (flow control holds it back if a target is full). */
  routingFrom: Connection | null = null;
  private readonly hooks: Hooks;
  private readonly sessionLimits: SessionLimits;
  private epoch = 0;
  private routing = false;
  private readonly matched: Session[] = [];
  private readonly deferred: Array<[Message, Connection | null]> = [];
  private sysTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private onEmpty: (() => void) | undefined;

  constructor(config: BrokerConfig, log: Logger, hooks: Hooks = {}) {
    this.config = config;
    this.log = log;
    this.hooks = hooks;
    this.topicLimits = { maxLevels: config.maxTopicLevels, maxLength: config.maxTopicLength };
    this.sessionLimits = {
      maxInflight: config.maxInflight,
      maxQueuedMessages: config.maxQueuedMessages,
      maxQueuedBytes: config.maxQueuedBytes,
      queueQos0: config.queueQos0,
    };
    if (config.sysInterval > 0) {
      this.sysTimer = setInterval(() => this.publishSys(), config.sysInterval * 1000);
      this.sysTimer.unref();
      this.publishSys();
    }
  }

  /** A transport accepted a client. */
  accept(link: Link, options: AcceptOptions): void {
    if (this.closing !== undefined) {
      link.destroy();
      return;
    }
    this.stats.connectionsAccepted++;
    this.connections.add(new Connection(this, link, options.maxPacketSize));
  }

  authenticate(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult> {
    const hook = this.hooks.authenticate;
    return hook === undefined ? true : hook(request);
  }

  // ---- sessions ----

  /**
   * Finds or makes the session for a CONNECT that was accepted; takes the client id over from a
   * connection that holds it [MQTT-3.1.4-2].
   */
  openSession(clientId: string, clean: boolean): { session: Session; present: boolean } {
    let session = this.sessions.get(clientId);
    if (session !== undefined && session.output !== null) {
      const previous = session.output as Connection;
      session.detach();
      previous.takenOver();
    }
    // A clean session never outlives its connection [MQTT-3.1.2-6], even one just taken over.
    if (session !== undefined && (clean || session.clean)) {
      this.endSession(session);
      session = undefined;
    }
    const present = session !== undefined;
    if (session === undefined) {
      session = new Session(clientId, clean, this.sessionLimits);
      this.sessions.set(clientId, session);
    }
    return { session, present };
  }

  /** The session's connection is gone. */
  sessionDetached(session: Session): void {
    session.detach();
    if (session.clean) this.endSession(session);
  }

  private endSession(session: Session): void {
    for (const filter of session.subscriptions.keys()) this.subscriptions.remove(filter, session);
    session.reset();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  subscribe(session: Session, filter: string, qos: QoS, options: Subscription): void {
    const entry: SessionSubscription = { filter, qos, options };
    session.subscriptions.set(filter, entry);
    this.subscriptions.add(filter, session, entry);
  }

  unsubscribe(session: Session, filter: string): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    this.subscriptions.remove(filter, session);
    return true;
  }

  /** Retained messages matching a new subscription, with the retain flag set [MQTT-3.3.1-8]. */
  sendRetained(session: Session, filter: string, qos: QoS): void {
    this.retained.match(filter, (_topic, message) => {
      if (!session.deliver(message, minQos(message.qos, qos), true)) this.stats.messagesDropped++;
    });
  }

  // ---- messages ----

  /** An application message enters the broker: retained store first, then every subscriber. */
  publish(message: Message, from: Connection | null): void {
    if (message.retain) this.retain(message);
    // Clients may not inject $SYS messages; they are the broker's own.
    if (from !== null && message.topic.startsWith('$SYS')) return;
    this.route(message, from);
  }

  private retain(message: Message): void {
    if (message.payload.length === 0) {
      // [MQTT-3.3.1-10] an empty retained message removes the retained one; it is not stored [MQTT-3.3.1-11].
      this.retained.delete(message.topic);
      return;
    }
    ownPayload(message);
    // [MQTT-3.3.1-5] the newest retained message of a topic replaces the one before.
    this.retained.set(message.topic, message);
  }

  private route(message: Message, from: Connection | null): void {
    if (this.routing) {
      this.deferred.push([message, from]);
      return;
    }
    this.routing = true;
    try {
      this.routeOne(message, from);
      while (this.deferred.length > 0) {
        const [next, source] = this.deferred.shift()!;
        this.routeOne(next, source);
      }
    } finally {
      this.routing = false;
      this.routingFrom = null;
    }
  }

  private routeOne(message: Message, from: Connection | null): void {
    this.routingFrom = from;
    this.epoch++;
    const matched = this.matched;
    this.subscriptions.match(message.topic, this.onMatch);
    const stats = this.stats;
    const qos = message.qos;
    for (let i = 0; i < matched.length; i++) {
      const session = matched[i]!;
      const granted = session.matchQos;
      // [MQTT-3.8.4-6] delivered at the lower of the published and the granted QoS.
      if (!session.deliver(message, minQos(qos, granted), false)) stats.messagesDropped++;
    }
    matched.length = 0;
  }

  private readonly onMatch = (session: Session, subscription: SessionSubscription): void => {
    if (session.matchEpoch !== this.epoch) {
      session.matchEpoch = this.epoch;
      session.matchQos = subscription.qos;
      this.matched.push(session);
    } else if (subscription.qos > session.matchQos) {
      session.matchQos = subscription.qos;
    }
  };

  /** Publishes a client's will [MQTT-3.1.2-8], with its QoS and retain flag. */
  publishWill(will: Will, clientId: string): void {
    this.log.debug({ clientId, topic: will.topic }, 'publishing will');
    this.publish(
      createMessage(will.topic, will.payload, will.qos, will.retain, will.properties, clientId),
      null,
    );
  }

  private publishSys(): void {
    for (const [topic, value] of sysValues(this)) {
      this.publish(createMessage(topic, Buffer.from(value), 0, true, undefined, undefined), null);
    }
  }

  // ---- shutdown ----

  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.onEmpty?.();
  }

  /** Closes every connection cleanly; those still open after shutdownTimeout are destroyed. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    clearInterval(this.sysTimer);
    this.closing = new Promise<void>((resolve) => {
      if (this.connections.size === 0) return resolve();
      const timer = setTimeout(() => {
        for (const connection of this.connections) connection.link.destroy();
      }, this.config.shutdownTimeout);
      this.onEmpty = () => {
        clearTimeout(timer);
        resolve();
      };
      for (const connection of [...this.connections]) connection.shutdown();
    });
    return this.closing;
  }
}
