/**
 * A session's life: opened by a CONNECT (new, resumed, or taken over), left when its connection goes
 * (will now or after its delay; expiry timer), ended (will at the latest, subscriptions dropped,
 * shared-subscription messages given to other members), and — with a store — recorded as it goes.
 *
 * Persistence: only sessions that outlive their connection are stored; `session.stored` says whether
 * the store holds a row for it, so a session that stops being persistent is removed there too.
 */
import type { Will } from '../codec/index.js';
import type { BrokerCore } from './broker.js';
import { Deadline } from './deadline.js';
import { minQos } from './message.js';
import { NEVER_EXPIRES, Session } from './session.js';

/** Writes the session (and, the first time, its subscriptions) to the store, or removes it. */
export function saveSession(broker: BrokerCore, session: Session): void {
  const journal = broker.journal;
  if (journal === undefined) return;
  if (session.expiryInterval === 0) {
    if (session.stored) journal.add({ type: 'session-delete', clientId: session.clientId });
    session.stored = false;
    return;
  }
  const pending = session.pendingWill;
  journal.add({
    type: 'session',
    session: {
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      disconnectedAt: session.output === null ? session.disconnectedAt : undefined,
      will: pending?.will,
      willAt: pending?.at,
    },
  });
  if (!session.stored) {
    session.stored = true;
    for (const entry of session.subscriptions.values()) broker.saveSubscription(session, entry);
  }
}

export function openSession(
  broker: BrokerCore,
  clientId: string,
  cleanStart: boolean,
  expiryInterval: number,
): { session: Session; present: boolean } {
  const held = broker.sessions.get(clientId)?.output;
  // [MQTT-3.1.4-2] the connection holding the client id goes first, as if its network had gone.
  if (held !== null && held !== undefined) broker.takeOver(held);
  let session = broker.sessions.get(clientId);
  if (session !== undefined && cleanStart) {
    // [MQTT-3.1.2-4] / [MQTT-3.1.2-6] Clean Start discards the existing session.
    endSession(broker, session);
    session = undefined;
  }
  const present = session !== undefined;
  if (session === undefined) {
    session = new Session(clientId, expiryInterval, broker.sessionLimits);
    session.journal = broker.journal;
    broker.sessions.set(clientId, session);
  } else {
    session.expiryInterval = expiryInterval;
    session.expiryTimer?.cancel();
    session.expiryTimer = undefined;
    const pending = session.pendingWill;
    if (pending !== undefined) {
      // [MQTT-3.1.3-9] the session resumed within the will delay: the will is not sent.
      pending.timer.cancel();
      session.pendingWill = undefined;
    }
  }
  session.disconnectedAt = undefined;
  return { session, present };
}

/** The session's connection is gone: will, shared messages, expiry. */
export function connectionEnded(broker: BrokerCore, session: Session, will: Will | undefined): void {
  session.detach();
  session.disconnectedAt = Date.now();
  if (will !== undefined) {
    const delay = will.properties?.willDelayInterval ?? 0;
    if (delay > 0 && session.expiryInterval > 0)
      scheduleWill(broker, session, will, Date.now() + delay * 1000);
    else broker.publishWill(will, session.clientId);
  }
  redistribute(broker, session);
  if (session.expiryInterval === 0) {
    endSession(broker, session);
    return;
  }
  saveSession(broker, session);
  scheduleExpiry(broker, session, session.expiryInterval * 1000);
}

/** A will waiting out its delay, published at `at` unless the session resumes or ends first. */
export function scheduleWill(broker: BrokerCore, session: Session, will: Will, at: number): void {
  const timer = new Deadline(at, () => {
    session.pendingWill = undefined;
    broker.publishWill(will, session.clientId);
    saveSession(broker, session);
  });
  session.pendingWill = { will, timer, at };
}

/** Ends the offline session after `ms` (never for a session that never expires). */
export function scheduleExpiry(broker: BrokerCore, session: Session, ms: number): void {
  if (session.expiryInterval === NEVER_EXPIRES) return;
  session.expiryTimer = Deadline.after(ms, () => {
    if (session.output === null) endSession(broker, session);
  });
}

/** The session ends: a will still waiting is published now [MQTT-3.1.3-9], everything else goes. */
export function endSession(broker: BrokerCore, session: Session): void {
  const pending = session.pendingWill;
  if (pending !== undefined) {
    pending.timer.cancel();
    session.pendingWill = undefined;
    broker.publishWill(pending.will, session.clientId);
  }
  for (const filter of [...session.subscriptions.keys()]) broker.unsubscribe(session, filter);
  redistribute(broker, session);
  if (session.stored) broker.journal?.add({ type: 'session-delete', clientId: session.clientId });
  session.stored = false;
  session.reset();
  if (broker.sessions.get(session.clientId) === session) broker.sessions.delete(session.clientId);
}

/** Gives another group member the shared-subscription messages this session did not confirm. */
function redistribute(broker: BrokerCore, session: Session): void {
  for (const delivery of session.takeShared()) {
    const group = delivery.shared!;
    const target = group.pick(broker.config.sharedSubscriptionStrategy, session) ?? session;
    const subscription = group.subscriptions.get(target);
    const qos = subscription === undefined ? delivery.qos : minQos(delivery.message.qos, subscription.qos);
    const ids = subscription?.identifier === undefined ? undefined : [subscription.identifier];
    if (!target.deliver(delivery.message, qos, delivery.retain, ids, group)) broker.stats.messagesDropped++;
  }
}
