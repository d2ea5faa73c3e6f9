/**
 * The broker core: sessions, the subscription index, retained messages, wills and $SYS. It knows no
 * sockets: transports hand it Links through `accept`.
 *
 * Routing (the hot path): one PUBLISH walks the subscription trie once; each matching session is
 * marked with the route's epoch so that overlapping subscriptions deliver once, at the highest
 * granted QoS, carrying every matching subscription identifier (MQTT 3.1.1 §3.3.5, MQTT 5.0
 * §3.3.4); the matched list is reused between routes. Shared subscription groups are matched in a
 * second trie and each group gives the message to one member. Routing is not re-entrant: a will or
 * $SYS message produced while a route runs is routed right after it.
 */
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { Subscription, Will } from '../codec/index.js';
import type { BrokerConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { parseShared, SubscriptionTrie, type TopicLimits, TopicTree } from '../topic/index.js';
import { AdmissionControl, type AdmissionRefusal } from './admission.js';
import { Connection } from './connection.js';
import type {
  AuthenticateRequest,
  AuthenticateResult,
  ClientIdentity,
  ClientPermissions,
  Hooks,
} from './hooks.js';
import { Journal } from './journal.js';
import { connectionEnded, openSession, saveSession } from './lifecycle.js';
import type { Link } from './link.js';
import { createMessage, expired, type Message, minQos, ownPayload } from './message.js';
import { QueueBudget } from './queue.js';
import { restore } from './restore.js';
import type { Session, SessionLimits, SessionOutput, SessionSubscription } from './session.js';
import { SharedGroup } from './shared.js';
import { BrokerStats, sysValues } from './sys.js';

export interface AcceptOptions {
  /** Largest packet accepted on this link's listener. */
  maxPacketSize: number;
}

/** The configuration key behind each admission refusal, for its log line. */
const REFUSAL_LIMIT_KEY = {
  'max connections': 'maxConnections',
  'per address': 'maxConnectionsPerAddress',
  'connect rate': 'maxConnectRatePerAddress',
} as const;

export function identityOf(connection: Connection): ClientIdentity {
  const info = connection.link.info;
  return {
    clientId: connection.clientId,
    username: connection.username,
    remoteAddress: info.remoteAddress,
    transport: info.transport,
  };
}

const CLIENT_EVENTS = '$SYS/broker/clients/events';

const isSysTopic = (topic: string): boolean => topic === '$SYS' || topic.startsWith('$SYS/');

/** A subscription's verdict; a shared one is all or nothing (a member cannot skip part of the group's messages). */
export function subscribeVerdict(
  permissions: ClientPermissions,
  filter: string,
): 'allow' | 'deny' | 'filter' {
  const verdict = permissions.canSubscribe(filter);
  return verdict === 'filter' && filter.startsWith('$share/') ? 'deny' : verdict;
}

export class BrokerCore {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly stats = new BrokerStats();
  readonly topicLimits: TopicLimits;
  /** Set by the assembled broker (server.ts) to midge's own security combined with the application's. */
  hooks: Hooks;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  readonly subscriptions = new SubscriptionTrie<Session, SessionSubscription>();
  readonly sharedGroups = new Map<string, SharedGroup>();
  readonly sharedSubscriptions = new SubscriptionTrie<SharedGroup, SharedGroup>();
  readonly retained = new TopicTree<Message>();
  /** The connection whose PUBLISH is being routed (flow control holds it back if a target is full). */
  routingFrom: Connection | null = null;
  /** How many subscribers the message being routed goes to (flow control: holding its publisher holds them all). */
  routeTargets = 0;
  readonly sessionLimits: SessionLimits;
  readonly admission: AdmissionControl;
  /** Bytes queued for all sessions together, against maxQueuedBytesTotal. */
  readonly queueBudget: QueueBudget;
  private readonly refusalLogged = new Map<AdmissionRefusal, { at: number; since: number }>();
  /** Write-behind to the store; undefined when the broker keeps everything in memory only. */
  journal: Journal | undefined;
  store: Store | undefined;
  private epoch = 0;
  private routing = false;
  private current: Message | undefined;
  private readonly matched: Session[] = [];
  private readonly matchedGroups: SharedGroup[] = [];
  private readonly deferred: Array<[Message, Connection | null]> = [];
  private sysTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private onEmpty: (() => void) | undefined;

  constructor(config: BrokerConfig, log: Logger, hooks: Hooks = {}) {
    this.config = config;
    this.log = log;
    this.hooks = hooks;
    this.topicLimits = { maxLevels: config.maxTopicLevels, maxLength: config.maxTopicLength };
    this.admission = new AdmissionControl(config);
    this.queueBudget = new QueueBudget(config.maxQueuedBytesTotal);
    this.sessionLimits = {
      maxQueuedMessages: config.maxQueuedMessages,
      maxQueuedBytes: config.maxQueuedBytes,
      queueQos0: config.queueQos0,
      budget: this.queueBudget,
    };
    if (config.sysInterval > 0) {
      this.sysTimer = setInterval(() => this.publishSys(), config.sysInterval * 1000);
      this.sysTimer.unref();
      this.publishSys();
    }
  }

  /**
   * Opens the store and restores everything it holds; from then on every change is written behind.
   * Resolves with the store's note when it had to set a damaged file aside.
   */
  async open(store: Store): Promise<string | undefined> {
    const state = await store.open();
    this.store = store;
    const config = this.config;
    this.journal = new Journal(
      store,
      config.durability,
      config.batchInterval,
      this.log,
      state.nextMessageId,
      config.maxStoreBytes,
    );
    restore(this, state);
    await this.journal.flush();
    this.log.info(
      {
        sessions: state.sessions.length,
        retained: state.retained.length,
        deliveries: state.deliveries.length,
      },
      'state restored from the store',
    );
    return state.recovered;
  }

  /** A transport accepted a client: admitted (limits on connections), or closed at once. */
  accept(link: Link, options: AcceptOptions): void {
    if (this.closing !== undefined) {
      link.destroy();
      return;
    }
    const address = link.info.remoteAddress;
    const refusal = this.admission.admit(address);
    if (refusal !== undefined) {
      link.destroy();
      this.noteRefusal(refusal, address);
      return;
    }
    this.stats.connectionsAccepted++;
    this.connections.add(new Connection(this, link, options.maxPacketSize));
  }

  /** One log line per reason every 10 s at most: a flood must not become a flood of log lines. */
  private noteRefusal(reason: AdmissionRefusal, address: string): void {
    const now = Date.now();
    const last = this.refusalLogged.get(reason);
    if (last !== undefined && now - last.at < 10_000) {
      last.since++;
      return;
    }
    const limit = REFUSAL_LIMIT_KEY[reason];
    this.log.warn(
      { address, limit, [limit]: this.config[limit], alsoRefused: last?.since ?? 0 },
      `connection refused: ${reason} limit reached (${limit})`,
    );
    this.refusalLogged.set(reason, { at: now, since: 0 });
  }

  authenticate(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult> {
    const hook = this.hooks.authenticate;
    return hook === undefined ? true : hook(request);
  }

  /** The permissions of an authenticated connection (Hooks.permissions); undefined: anything. */
  permissionsOf(connection: Connection): ClientPermissions | undefined {
    return this.hooks.permissions?.(identityOf(connection));
  }

  /**
   * Holds a session's subscriptions to `permissions`: a subscription they deny is removed, one they
   * allow only in part is checked per message. Run when a session is resumed and on a reload.
   */
  applyPermissions(session: Session, permissions: ClientPermissions | undefined): void {
    if (permissions !== undefined) {
      const dropped = session.dropUnreadable(permissions);
      if (dropped > 0) {
        this.stats.messagesDropped += dropped;
        this.log.info(
          { clientId: session.clientId, dropped },
          'messages held for the session dropped: the client may not read them',
        );
      }
    }
    for (const entry of [...session.subscriptions.values()]) {
      const verdict = permissions === undefined ? 'allow' : subscribeVerdict(permissions, entry.filter);
      if (verdict === 'deny') {
        this.log.info(
          { clientId: session.clientId, filter: entry.filter },
          'subscription removed: the client may no longer read it',
        );
        this.unsubscribe(session, entry.filter);
      } else {
        entry.check = verdict === 'filter' ? permissions : undefined;
      }
    }
  }

  /**
   * Asks for the permissions again: of one connection (it re-authenticated as another user), or of
   * every session whose client is known (an ACL reload) — offline ones too, so nothing is queued
   * for them that they may no longer read. A session restored from the store whose client has not
   * connected since is checked when it does.
   */
  refreshPermissions(connection?: Connection): void {
    if (connection !== undefined) {
      if (connection.state !== 'connected' || connection.session === null) return;
      connection.permissions = this.permissionsOf(connection);
      connection.session.identity = identityOf(connection);
      this.applyPermissions(connection.session, connection.permissions);
      return;
    }
    const hook = this.hooks.permissions;
    for (const session of [...this.sessions.values()]) {
      const identity = session.identity;
      if (identity === undefined) continue;
      const permissions = hook?.(identity);
      const output = session.output;
      if (output instanceof Connection) output.permissions = permissions;
      this.applyPermissions(session, permissions);
    }
  }

  // ---- sessions ----

  /** Finds or makes the session for an accepted CONNECT (see lifecycle.ts). */
  openSession(
    clientId: string,
    cleanStart: boolean,
    expiryInterval: number,
  ): { session: Session; present: boolean } {
    const opened = openSession(this, clientId, cleanStart, expiryInterval);
    saveSession(this, opened.session);
    return opened;
  }

  /** A session's connection is gone (see lifecycle.ts). */
  connectionEnded(session: Session, will: Will | undefined): void {
    connectionEnded(this, session, will);
  }

  /** Closes the connection that holds a client id a new connection takes over. */
  takeOver(output: SessionOutput): void {
    if (output instanceof Connection) output.takenOver();
  }

  /** Records a subscription of a stored session. */
  saveSubscription(session: Session, entry: SessionSubscription): void {
    if (!session.stored || this.journal === undefined) return;
    const options = entry.options;
    this.journal.add({
      type: 'subscription',
      subscription: {
        clientId: session.clientId,
        filter: entry.filter,
        qos: entry.qos,
        noLocal: options.noLocal === true,
        retainAsPublished: options.retainAsPublished === true,
        retainHandling: options.retainHandling ?? 0,
        identifier: entry.identifier,
      },
    });
  }

  /** Adds or replaces a subscription; true when it is new (MQTT 5 Retain Handling 1 needs that). */
  subscribe(
    session: Session,
    filter: string,
    options: Subscription,
    identifier: number | undefined,
  ): boolean {
    const shared = parseShared(filter);
    let group: SharedGroup | undefined;
    if (shared !== null) {
      group = this.sharedGroups.get(filter);
      if (group === undefined) {
        group = new SharedGroup(filter, shared.group, shared.filter);
        this.sharedGroups.set(filter, group);
        this.sharedSubscriptions.add(shared.filter, group, group);
      }
    }
    const entry: SessionSubscription = { filter, qos: options.qos, options, identifier, shared: group };
    const isNew = !session.subscriptions.has(filter);
    session.subscriptions.set(filter, entry);
    this.saveSubscription(session, entry);
    if (group !== undefined) group.add(session, entry);
    else this.subscriptions.add(filter, session, entry);
    return isNew;
  }

  unsubscribe(session: Session, filter: string): boolean {
    const entry = session.subscriptions.get(filter);
    if (entry === undefined) return false;
    session.subscriptions.delete(filter);
    if (session.stored)
      this.journal?.add({ type: 'subscription-delete', clientId: session.clientId, filter });
    const group = entry.shared;
    if (group === undefined) {
      this.subscriptions.remove(filter, session);
    } else if (group.remove(session)) {
      this.sharedGroups.delete(filter);
      this.sharedSubscriptions.remove(group.filter, group);
    }
    return true;
  }

  /** Retained messages matching a new subscription, with the retain flag set [MQTT-3.3.1-8]. */
  sendRetained(session: Session, entry: SessionSubscription): void {
    const now = Date.now();
    const { identifier, qos, check } = entry;
    const ids = identifier === undefined ? undefined : [identifier];
    const stale: string[] = [];
    this.retained.match(entry.filter, (topic, message) => {
      if (expired(message, now)) {
        stale.push(topic);
        return;
      }
      if (check !== undefined && !check.canRead(topic)) return;
      if (!session.deliver(message, minQos(message.qos, qos), true, ids)) this.stats.messagesDropped++;
    });
    for (const topic of stale) {
      this.retained.delete(topic);
      this.journal?.add({ type: 'retained-delete', topic });
    }
  }

  // ---- messages ----

  /** An application message enters the broker: retained store first, then every subscriber. */
  publish(message: Message, from: Connection | null): void {
    // Clients (and their wills) may not inject $SYS messages, retained or not: they are the broker's own.
    if (from !== null && isSysTopic(message.topic)) return;
    if (message.retain) this.retain(message);
    this.route(message, from);
  }

  private retain(message: Message): void {
    // The broker's own $SYS values are republished every few seconds: never worth a disk write.
    const journal = message.topic.startsWith('$SYS/') ? undefined : this.journal;
    if (message.payload.length === 0) {
      // [MQTT-3.3.1-10] an empty retained message removes the retained one; it is not stored [MQTT-3.3.1-11].
      if (this.retained.delete(message.topic))
        journal?.add({ type: 'retained-delete', topic: message.topic });
      return;
    }
    ownPayload(message);
    // [MQTT-3.3.1-5] the newest retained message of a topic replaces the one before.
    this.retained.set(message.topic, message);
    if (journal !== undefined) {
      journal.add({ type: 'retained', topic: message.topic, messageId: journal.messageId(message) });
    }
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
      this.current = undefined;
    }
  }

  private routeOne(message: Message, from: Connection | null): void {
    this.routingFrom = from;
    this.current = message;
    this.epoch++;
    const matched = this.matched;
    this.subscriptions.match(message.topic, this.onMatch);
    const stats = this.stats;
    const qos = message.qos;
    this.routeTargets = matched.length;
    for (let i = 0; i < matched.length; i++) {
      const session = matched[i]!;
      // [MQTT-3.8.4-6] delivered at the lower of the published and the granted QoS.
      if (!session.deliver(message, minQos(qos, session.matchQos), session.matchRetain, session.matchIds)) {
        stats.messagesDropped++;
      }
      session.matchIds = undefined;
    }
    matched.length = 0;
    if (this.sharedGroups.size > 0) this.routeShared(message);
  }

  private routeShared(message: Message): void {
    const groups = this.matchedGroups;
    this.sharedSubscriptions.match(message.topic, this.onSharedMatch);
    this.routeTargets += groups.length;
    const strategy = this.config.sharedSubscriptionStrategy;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      const member = group.pick(strategy);
      const subscription = member === undefined ? undefined : group.subscriptions.get(member);
      if (member === undefined || subscription === undefined) continue;
      const retain = subscription.options.retainAsPublished === true && message.retain;
      const ids = subscription.identifier === undefined ? undefined : [subscription.identifier];
      if (!member.deliver(message, minQos(message.qos, subscription.qos), retain, ids, group)) {
        this.stats.messagesDropped++;
      }
    }
    groups.length = 0;
  }

  private readonly onMatch = (session: Session, subscription: SessionSubscription): void => {
    const message = this.current!;
    const options = subscription.options;
    // [MQTT-3.8.3-3] No Local: not to the connection that published it.
    if (options.noLocal === true && message.origin === session.clientId) return;
    // Granted in part by the client's permissions: this topic must be one it may read.
    const check = subscription.check;
    if (check !== undefined && !check.canRead(message.topic)) return;
    // [MQTT-3.3.1-12/13] Retain As Published keeps the flag; otherwise it is cleared [MQTT-3.3.1-9].
    const retain = options.retainAsPublished === true && message.retain;
    const id = subscription.identifier;
    if (session.matchEpoch !== this.epoch) {
      session.matchEpoch = this.epoch;
      session.matchQos = subscription.qos;
      session.matchRetain = retain;
      session.matchIds = id === undefined ? undefined : [id];
      this.matched.push(session);
    } else {
      if (subscription.qos > session.matchQos) session.matchQos = subscription.qos;
      if (retain) session.matchRetain = true;
      if (id !== undefined) {
        if (session.matchIds === undefined) session.matchIds = [id];
        else session.matchIds.push(id);
      }
    }
  };

  private readonly onSharedMatch = (group: SharedGroup): void => {
    this.matchedGroups.push(group);
  };

  /**
   * A client connected or went: one JSON message on `$SYS/broker/clients/events` (not retained), so a
   * dashboard sees devices come and go — and the will a device left — as it happens.
   */
  clientEvent(
    event: 'connected' | 'disconnected',
    connection: Connection,
    reason?: string,
    will?: Will,
  ): void {
    if (this.config.sysInterval === 0 || this.closing !== undefined) return;
    // Connection setup is a hot path of its own: no JSON for an event nobody subscribed to.
    let listened = false;
    const listen = () => {
      listened = true;
    };
    this.subscriptions.match(CLIENT_EVENTS, listen);
    this.sharedSubscriptions.match(CLIENT_EVENTS, listen);
    if (!listened) return;
    const info = connection.link.info;
    const body: Record<string, unknown> = {
      event,
      clientId: connection.clientId,
      username: connection.username ?? null,
      address: info.remoteAddress,
      transport: info.transport,
      protocolVersion: connection.version,
      at: Date.now(),
    };
    if (reason !== undefined) body.reason = reason;
    if (will !== undefined) {
      const text = isUtf8(will.payload);
      body.will = {
        topic: will.topic,
        payload: will.payload.toString(text ? 'utf8' : 'base64'),
        ...(text ? {} : { payloadEncoding: 'base64' }),
        qos: will.qos,
        retain: will.retain,
        delay: will.properties?.willDelayInterval ?? 0,
      };
    }
    const payload = Buffer.from(JSON.stringify(body));
    this.publish(createMessage(CLIENT_EVENTS, payload, 0, false, undefined, undefined), null);
  }

  /** Publishes a client's will [MQTT-3.1.2-8], with its QoS, retain flag and properties. */
  publishWill(will: Will, clientId: string): void {
    this.log.debug({ clientId, topic: will.topic }, 'publishing will');
    let properties = will.properties;
    if (properties?.willDelayInterval !== undefined) {
      const { willDelayInterval: _delay, ...rest } = properties;
      properties = rest;
    }
    if (isSysTopic(will.topic)) return;
    this.publish(createMessage(will.topic, will.payload, will.qos, will.retain, properties, clientId), null);
  }

  private publishSys(): void {
    for (const [topic, value] of sysValues(this)) {
      this.publish(createMessage(topic, Buffer.from(value), 0, true, undefined, undefined), null);
    }
  }

  // ---- shutdown ----

  connectionClosed(connection: Connection): void {
    if (this.connections.delete(connection)) this.admission.release(connection.link.info.remoteAddress);
    if (this.connections.size === 0) this.onEmpty?.();
  }

  /**
   * Closes every connection cleanly (those still open after shutdownTimeout are destroyed), then
   * commits what is pending and closes the store.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = this.closeConnections().then(async () => {
      // Closing the connections armed expiry and will timers for their sessions: nothing runs after close.
      for (const session of this.sessions.values()) {
        session.expiryTimer?.cancel();
        session.pendingWill?.timer.cancel();
      }
      await this.journal?.flush();
      await this.store?.close();
    });
    return this.closing;
  }

  private closeConnections(): Promise<void> {
    clearInterval(this.sysTimer);
    this.admission.close();
    return new Promise<void>((resolve) => {
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
  }
}
