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
  readonly properties: Properties | undefined;
  /** Client id of the publisher; undefined for wills of expired sessions and $SYS. */
  readonly origin: string | undefined;
  /** Encoded QoS 0 PUBLISH without the retain flag, for 3.1/3.1.1 subscribers. */
  frame0?: Buffer;
  /** True once `payload` is a private copy rather than a view into a socket read buffer. */
  owned?: boolean;
}

export function createMessage(
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
  properties: Properties | undefined,
  origin: string | undefined,
): Message {
  return { topic, payload, qos, retain, properties, origin };
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
  }
  message.owned = true;
}

/** The whole QoS 0 PUBLISH (retain 0) for 3.1/3.1.1, encoded at most once per message. */
export function qos0Frame(message: Message): Buffer {
  let frame = message.frame0;
  if (frame === undefined) {
    const head = encodePublishHead(
      { type: 'publish', topic: message.topic, qos: 0, retain: false, dup: false },
      message.payload.length,
      4,
    );
    frame = Buffer.concat([head, message.payload], head.length + message.payload.length);
    message.frame0 = frame;
  }
  return frame;
}

/** The lower of two QoS levels: what a subscriber granted `b` receives of a message sent at `a`. */
export function minQos(a: QoS, b: QoS): QoS {
  return a < b ? a : b;
}
