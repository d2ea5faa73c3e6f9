/** A received or sent MQTT message, as the pages keep and show it. */
import { asText, bytesToHex } from './payload';

export type QoS = 0 | 1 | 2;

export interface MessageProperties {
  contentType?: string;
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  responseTopic?: string;
  /** UTF-8 text when it is, else hex (marked by correlationDataHex). */
  correlationData?: string;
  correlationDataHex?: boolean;
  userProperties?: [string, string][];
  subscriptionIdentifier?: number[];
  topicAlias?: number;
}

export interface Message {
  /** Unique in this page (list keys). */
  id: number;
  /** ms since the epoch, when it arrived (or was sent) */
  at: number;
  topic: string;
  qos: QoS;
  retain: boolean;
  /** A copy of (at most the first STORED_PAYLOAD_LIMIT bytes of) the payload. */
  payload: Uint8Array;
  /** The payload's real length. */
  size: number;
  properties?: MessageProperties;
}

let lastId = 0;
export function nextMessageId(): number {
  return ++lastId;
}

/** Bytes of a payload kept per message; longer payloads are cut (their size is kept). */
export const STORED_PAYLOAD_LIMIT = 64 * 1024;

export function keepPayload(payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  // A copy, so the message never pins the WebSocket frame it came in.
  return new Uint8Array(bytes.subarray(0, STORED_PAYLOAD_LIMIT));
}

export function payloadSize(payload: Uint8Array | string): number {
  return typeof payload === 'string' ? new TextEncoder().encode(payload).length : payload.length;
}

/** The MQTT.js packet properties (received PUBLISH) in the shape the pages show. */
export function displayProperties(p: Record<string, unknown> | undefined): MessageProperties | undefined {
  if (p === undefined || p === null) return undefined;
  const out: MessageProperties = {};
  if (typeof p.contentType === 'string') out.contentType = p.contentType;
  if (typeof p.payloadFormatIndicator === 'boolean') out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (typeof p.messageExpiryInterval === 'number') out.messageExpiryInterval = p.messageExpiryInterval;
  if (typeof p.responseTopic === 'string') out.responseTopic = p.responseTopic;
  if (typeof p.topicAlias === 'number') out.topicAlias = p.topicAlias;
  const cd = p.correlationData;
  if (cd instanceof Uint8Array) {
    const text = asText(cd);
    if (text !== null) out.correlationData = text;
    else {
      out.correlationData = bytesToHex(cd);
      out.correlationDataHex = true;
    }
  } else if (typeof cd === 'string') out.correlationData = cd;
  const sid = p.subscriptionIdentifier;
  if (typeof sid === 'number') out.subscriptionIdentifier = [sid];
  else if (Array.isArray(sid))
    out.subscriptionIdentifier = sid.filter((n): n is number => typeof n === 'number');
  const up = p.userProperties;
  if (up !== null && typeof up === 'object') {
    const list: [string, string][] = [];
    for (const [k, v] of Object.entries(up as Record<string, unknown>)) {
      if (Array.isArray(v)) for (const item of v) list.push([k, String(item)]);
      else list.push([k, String(v)]);
    }
    if (list.length > 0) out.userProperties = list;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
