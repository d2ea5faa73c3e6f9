/**
 * An application message as the broker routes it: what one PUBLISH carried, independent of the
 * connection it came from, plus a cache of its encoded form.
 *
 * Encode once, write many: a QoS 0 delivery is the same bytes for every subscriber of the same
 * protocol family, so the first delivery encodes it and the rest reuse the Buffer. QoS 1/2
 * deliveries differ only in packet id; they share the payload and encode a small head each.
 */
import { encodePublishHead, type Properties, type QoS } from '../codec/index.js';

export interface Message {
  readonly topic: string;
  payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /**
   * MQTT 5 properties forwarded with the message: payload format, content type, response topic,
   * correlation data, user properties. Never topic alias, subscription identifiers or expiry: those
   * are per delivery.
   */
  readonly properties: Properties | undefined;
  /** Client id of the publisher; undefined for wills of expired sessions and $SYS. */
  readonly origin: string | undefined;
  /** When the MQTT 5 Message Expiry Interval runs out (ms since the epoch); undefined: never. */
  readonly expiresAt: number | undefined;
  /** Encoded QoS 0 PUBLISH without the retain flag, for 3.1/3.1.1 subscribers. */
  frame0?: Buffer;
  /** The same for MQTT 5 subscribers that need no per-delivery property. */
  frame5?: Buffer;
  /** True once `payload` is a private copy rather than a view into a socket read buffer. */
  owned?: boolean;
  /** Its id in the store, once recorded there (see Journal.messageId). */
  storedId?: number;
}

export function createMessage(
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
  properties: Properties | undefined,
  origin: string | undefined,
): Message {
  let expiresAt: number | undefined;
  let forwarded = properties;
  if (properties !== undefined) {
    const expiry = properties.messageExpiryInterval;
    if (expiry !== undefined) expiresAt = Date.now() + expiry * 1000;
    if (
      expiry !== undefined ||
      properties.topicAlias !== undefined ||
      properties.subscriptionIdentifiers !== undefined
    ) {
      const { messageExpiryInterval: _e, topicAlias: _a, subscriptionIdentifiers: _s, ...rest } = properties;
      forwarded = Object.keys(rest).length > 0 ? rest : undefined;
    }
  }
  return { topic, payload, qos, retain, properties: forwarded, origin, expiresAt };
}

/** True once the message's expiry interval has passed: it is no longer delivered [MQTT-3.3.2-5]. */
export function expired(message: Message, now: number): boolean {
  return message.expiresAt !== undefined && now >= message.expiresAt;
}

/** Seconds left of the message's expiry interval, rounded up, as forwarded [MQTT-3.3.2-6]. */
export function remainingExpiry(message: Message, now: number): number | undefined {
  if (message.expiresAt === undefined) return undefined;
  return Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
}

/**
 * Gives the message its own copy of the payload before it is kept beyond this turn (queued,
 * retained, in flight), so that a small message never pins a large socket read buffer.
 */
export function ownPayload(message: Message): void {
  if (message.owned) return;
  const payload = message.payload;
  if (payload.byteOffset !== 0 || payload.buffer.byteLength !== payload.length) {
    message.payload = Buffer.from(payload);
    message.frame0 = undefined;
    message.frame5 = undefined;
  }
  message.owned = true;
}

/**
 * The whole QoS 0 PUBLISH (retain 0), encoded at most once per message and protocol family: for
 * 3.1/3.1.1, and for MQTT 5 subscribers that need no per-delivery property.
 */
export function qos0Frame(message: Message, v5: boolean): Buffer {
  let frame = v5 ? message.frame5 : message.frame0;
  if (frame === undefined) {
    const head = encodePublishHead(
      {
        type: 'publish',
        topic: message.topic,
        qos: 0,
        retain: false,
        dup: false,
        properties: v5 ? message.properties : undefined,
      },
      message.payload.length,
      v5 ? 5 : 4,
    );
    frame = Buffer.concat([head, message.payload], head.length + message.payload.length);
    if (v5) message.frame5 = frame;
    else message.frame0 = frame;
  }
  return frame;
}

/** The lower of two QoS levels: what a subscriber granted `b` receives of a message sent at `a`. */
export function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}
