/**
 * Copies of stored records with absent fields left out (never `key: undefined`), so both stores hand
 * back records of the same shape and the memory store never shares an object the broker may still
 * mutate. Payload and other Buffers are shared, not copied: nothing in midge writes into a payload.
 */
import type { Properties, Will } from '../codec/index.js';
import type { StoredDelivery, StoredMessage, StoredSession, StoredSubscription } from './types.js';

export function copyProperties(p: Properties): Properties {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p)) {
    if (value === undefined) continue;
    if (key === 'userProperties') out[key] = (value as [string, string][]).map(([n, v]) => [n, v]);
    else out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out as Properties;
}

export function copyMessage(m: StoredMessage): StoredMessage {
  const out: StoredMessage = { id: m.id, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain };
  if (m.properties !== undefined) out.properties = copyProperties(m.properties);
  if (m.expiresAt !== undefined) out.expiresAt = m.expiresAt;
  if (m.origin !== undefined) out.origin = m.origin;
  return out;
}

export function copyWill(w: Will): Will {
  const out: Will = { topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain };
  if (w.properties !== undefined) out.properties = copyProperties(w.properties);
  return out;
}

export function copySession(s: StoredSession): StoredSession {
  const out: StoredSession = { clientId: s.clientId, expiryInterval: s.expiryInterval };
  if (s.disconnectedAt !== undefined) out.disconnectedAt = s.disconnectedAt;
  if (s.will !== undefined) out.will = copyWill(s.will);
  if (s.willAt !== undefined) out.willAt = s.willAt;
  return out;
}

export function copySubscription(s: StoredSubscription): StoredSubscription {
  const out: StoredSubscription = {
    clientId: s.clientId,
    filter: s.filter,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
  };
  if (s.identifier !== undefined) out.identifier = s.identifier;
  return out;
}

export function copyDelivery(d: StoredDelivery): StoredDelivery {
  const out: StoredDelivery = {
    clientId: d.clientId,
    seq: d.seq,
    messageId: d.messageId,
    qos: d.qos,
    retain: d.retain,
    state: d.state,
  };
  if (d.subscriptionIds !== undefined) out.subscriptionIds = [...d.subscriptionIds];
  if (d.sharedGroup !== undefined) out.sharedGroup = d.sharedGroup;
  if (d.packetId !== undefined) out.packetId = d.packetId;
  return out;
}

/** Bytes a message counts for in `StoreStats.messageBytes`. */
export function messageSize(m: { topic: string; payload: Buffer }): number {
  return Buffer.byteLength(m.topic) + m.payload.length;
}
