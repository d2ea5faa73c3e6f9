/**
 * Start-up from the store: retained messages, sessions with their subscriptions, in-flight and queued
 * deliveries (in their original order, packet ids and states kept, so a reconnecting client gets
 * exactly the resends the protocol promises), incoming QoS 2 ids awaiting PUBREL, and wills waiting
 * out their delay. Time went on while midge was down: sessions whose expiry passed end now (their
 * wills published), expired messages are dropped, and timers resume with what is left.
 */
import type { Subscription } from '../codec/index.js';
import type { LoadedState, StoredMessage } from '../store/index.js';
import type { BrokerCore } from './broker.js';
import { endSession, scheduleExpiry, scheduleWill } from './lifecycle.js';
import { expired, type Message } from './message.js';
import type { Delivery } from './queue.js';
import { NEVER_EXPIRES, Session } from './session.js';

function toMessage(stored: StoredMessage): Message {
  return {
    topic: stored.topic,
    payload: stored.payload,
    qos: stored.qos,
    retain: stored.retain,
    properties: stored.properties,
    origin: stored.origin,
    expiresAt: stored.expiresAt,
    owned: true,
    storedId: stored.id,
  };
}

export function restore(broker: BrokerCore, state: LoadedState): void {
  const journal = broker.journal!;
  const now = Date.now();
  const messages = new Map<number, Message>();
  const messageOf = (id: number): Message | undefined => {
    let message = messages.get(id);
    if (message === undefined) {
      const stored = state.messages.get(id);
      if (stored === undefined) return undefined;
      message = toMessage(stored);
      messages.set(id, message);
    }
    return message;
  };

  for (const { topic, messageId } of state.retained) {
    const message = messageOf(messageId);
    if (message === undefined || expired(message, now)) journal.add({ type: 'retained-delete', topic });
    else broker.retained.set(topic, message);
  }

  for (const stored of state.sessions) {
    const session = new Session(stored.clientId, stored.expiryInterval, broker.sessionLimits);
    session.journal = journal;
    // Marked stored after its subscriptions are back, so restoring them writes nothing.
    // A session that was connected when midge stopped lost its connection then.
    session.disconnectedAt = stored.disconnectedAt ?? now;
    broker.sessions.set(stored.clientId, session);
  }

  for (const stored of state.subscriptions) {
    const session = broker.sessions.get(stored.clientId);
    if (session === undefined) continue;
    const options: Subscription = {
      topic: stored.filter,
      qos: stored.qos,
      noLocal: stored.noLocal,
      retainAsPublished: stored.retainAsPublished,
      retainHandling: stored.retainHandling,
    };
    broker.subscribe(session, stored.filter, options, stored.identifier);
  }

  for (const session of broker.sessions.values()) session.stored = true;

  for (const stored of state.deliveries) {
    const session = broker.sessions.get(stored.clientId);
    const message = messageOf(stored.messageId);
    if (session === undefined) continue;
    session.restoredSeq(stored.seq);
    if (message === undefined || (stored.packetId === undefined && expired(message, now))) {
      journal.add({ type: 'delivery-delete', clientId: stored.clientId, seq: stored.seq });
      continue;
    }
    const delivery: Delivery = {
      message,
      qos: stored.qos,
      retain: stored.retain,
      subscriptionIds: stored.subscriptionIds,
      shared: stored.sharedGroup === undefined ? undefined : broker.sharedGroups.get(stored.sharedGroup),
      seq: stored.seq,
    };
    if (stored.packetId !== undefined && stored.state !== 'queued') {
      session.inflight.restore(stored.packetId, delivery, stored.state);
    } else {
      session.queue.push(delivery);
    }
  }

  for (const { clientId, packetId } of state.incoming)
    broker.sessions.get(clientId)?.restoreAwaitingRelease(packetId);

  for (const stored of state.sessions) {
    const session = broker.sessions.get(stored.clientId);
    if (session === undefined) continue;
    if (stored.will !== undefined) scheduleWill(broker, session, stored.will, stored.willAt ?? now);
    if (session.expiryInterval === NEVER_EXPIRES) continue;
    const left = session.expiryInterval * 1000 - (now - (session.disconnectedAt ?? now));
    if (left <= 0) endSession(broker, session);
    else scheduleExpiry(broker, session, left);
  }
}
