/**
 * Checks the shape of every change before a store applies any of them, so both stores refuse the same
 * bad input the same way (StoreError STORE_BAD_CHANGE) and a commit is never half-applied because of
 * it. References to messages are not checked here (see the stores' notes on dangling references).
 */
import type { Properties, QoS } from '../codec/index.js';
import { StoreError } from './errors.js';
import type { Change } from './types.js';

const STATES = new Set(['queued', 'publish', 'pubrel']);

function fail(index: number, change: Change, what: string): never {
  throw new StoreError('STORE_BAD_CHANGE', `store change #${index} (${String(change.type)}): ${what}`);
}

const isQoS = (v: unknown): v is QoS => v === 0 || v === 1 || v === 2;
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPacketId = (v: unknown): v is number => isInt(v) && v >= 1 && v <= 0xffff;
const isProperties = (v: unknown): v is Properties =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

/** Throws StoreError STORE_BAD_CHANGE naming the first bad change and field. */
export function checkChanges(changes: readonly Change[]): void {
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    const bad = checkOne(c);
    if (bad !== undefined) fail(i, c, bad);
  }
}

function checkOne(c: Change): string | undefined {
  switch (c.type) {
    case 'message': {
      const m = c.message;
      if (typeof m !== 'object' || m === null) return 'no message';
      if (!isCount(m.id)) return 'id is not a non-negative integer';
      if (!isStr(m.topic)) return 'topic is not a string';
      if (!Buffer.isBuffer(m.payload)) return 'payload is not a Buffer';
      if (!isQoS(m.qos)) return 'qos is not 0, 1 or 2';
      if (!isBool(m.retain)) return 'retain is not a boolean';
      if (!optional(m.properties, isProperties)) return 'properties is not an object';
      if (!optional(m.expiresAt, isTime)) return 'expiresAt is not a number';
      if (!optional(m.origin, isStr)) return 'origin is not a string';
      return undefined;
    }
    case 'session': {
      const s = c.session;
      if (typeof s !== 'object' || s === null) return 'no session';
      if (!isStr(s.clientId)) return 'clientId is not a string';
      if (!isCount(s.expiryInterval) || s.expiryInterval > 0xffffffff) return 'expiryInterval is not a u32';
      if (!optional(s.disconnectedAt, isTime)) return 'disconnectedAt is not a number';
      if (!optional(s.willAt, isTime)) return 'willAt is not a number';
      const w = s.will;
      if (w !== undefined) {
        if (typeof w !== 'object' || w === null) return 'will is not an object';
        if (!isStr(w.topic)) return 'will.topic is not a string';
        if (!Buffer.isBuffer(w.payload)) return 'will.payload is not a Buffer';
        if (!isQoS(w.qos)) return 'will.qos is not 0, 1 or 2';
        if (!isBool(w.retain)) return 'will.retain is not a boolean';
        if (!optional(w.properties, isProperties)) return 'will.properties is not an object';
      }
      return undefined;
    }
    case 'session-delete':
      return isStr(c.clientId) ? undefined : 'clientId is not a string';
    case 'subscription': {
      const s = c.subscription;
      if (typeof s !== 'object' || s === null) return 'no subscription';
      if (!isStr(s.clientId)) return 'clientId is not a string';
      if (!isStr(s.filter)) return 'filter is not a string';
      if (!isQoS(s.qos)) return 'qos is not 0, 1 or 2';
      if (!isBool(s.noLocal)) return 'noLocal is not a boolean';
      if (!isBool(s.retainAsPublished)) return 'retainAsPublished is not a boolean';
      if (s.retainHandling !== 0 && s.retainHandling !== 1 && s.retainHandling !== 2) {
        return 'retainHandling is not 0, 1 or 2';
      }
      if (!optional(s.identifier, isCount)) return 'identifier is not an integer';
      return undefined;
    }
    case 'subscription-delete':
      if (!isStr(c.clientId)) return 'clientId is not a string';
      return isStr(c.filter) ? undefined : 'filter is not a string';
    case 'delivery': {
      const d = c.delivery;
      if (typeof d !== 'object' || d === null) return 'no delivery';
      if (!isStr(d.clientId)) return 'clientId is not a string';
      if (!isInt(d.seq)) return 'seq is not an integer';
      if (!isCount(d.messageId)) return 'messageId is not an integer';
      if (!isQoS(d.qos)) return 'qos is not 0, 1 or 2';
      if (!isBool(d.retain)) return 'retain is not a boolean';
      if (
        d.subscriptionIds !== undefined &&
        (!Array.isArray(d.subscriptionIds) || !d.subscriptionIds.every(isCount))
      ) {
        return 'subscriptionIds is not a list of integers';
      }
      if (!optional(d.sharedGroup, isStr)) return 'sharedGroup is not a string';
      if (!optional(d.packetId, isPacketId)) return 'packetId is not 1..65535';
      if (!STATES.has(d.state)) return 'state is not queued, publish or pubrel';
      return undefined;
    }
    case 'delivery-delete':
      if (!isStr(c.clientId)) return 'clientId is not a string';
      return isInt(c.seq) ? undefined : 'seq is not an integer';
    case 'incoming':
    case 'incoming-delete':
      if (!isStr(c.clientId)) return 'clientId is not a string';
      return isPacketId(c.packetId) ? undefined : 'packetId is not 1..65535';
    case 'retained':
      if (!isStr(c.topic)) return 'topic is not a string';
      return isCount(c.messageId) ? undefined : 'messageId is not an integer';
    case 'retained-delete':
      return isStr(c.topic) ? undefined : 'topic is not a string';
    default:
      return 'unknown change type';
  }
}
