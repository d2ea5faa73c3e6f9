/**
 * The per-delivery part of an outgoing PUBLISH: for MQTT 5 subscribers the remaining message expiry,
 * subscription identifiers and topic alias, and the check against the client's Maximum Packet Size.
 *
 * Outbound topic aliases: midge assigns aliases 1..max in order of first use, up to the smaller of the
 * client's Topic Alias Maximum and the broker's topicAliasMaximum; a topic seen after that goes out in
 * full. The first PUBLISH of an aliased topic carries topic + alias, later ones an empty topic + alias
 * (MQTT 5.0 §3.3.2.3.4). Aliases live and die with the network connection [MQTT-3.3.2-7].
 */
import { encodePublishHead, type Properties } from '../codec/index.js';
import { remainingExpiry } from './message.js';
import type { Delivery } from './queue.js';

export class OutboundAliases {
  private readonly byTopic = new Map<string, number>();

  constructor(private readonly max: number) {}

  get(topic: string): number | undefined {
    return this.byTopic.get(topic);
  }

  /** The alias a new topic would get, or undefined when all are taken. */
  nextFree(): number | undefined {
    const next = this.byTopic.size + 1;
    return next <= this.max ? next : undefined;
  }

  assign(topic: string, alias: number): void {
    this.byTopic.set(topic, alias);
  }
}

interface Target {
  readonly version: 3 | 4 | 5;
  readonly aliasesOut: OutboundAliases | undefined;
  readonly maxOutgoingPacket: number;
}

/**
 * Encodes everything of the PUBLISH before its payload for this client, or undefined when the whole
 * packet would exceed the client's Maximum Packet Size (nothing is assigned then).
 */
export function publishHead(
  target: Target,
  delivery: Delivery,
  packetId: number,
  dup: boolean,
): Buffer | undefined {
  const message = delivery.message;
  let topic = message.topic;
  let properties: Properties | undefined;
  let newAlias: number | undefined;
  if (target.version === 5) {
    properties = message.properties;
    const remaining = remainingExpiry(message, Date.now());
    const ids = delivery.subscriptionIds;
    const aliases = target.aliasesOut;
    if (remaining !== undefined || ids !== undefined || aliases !== undefined) {
      properties = { ...message.properties };
      // [MQTT-3.3.2-6] the expiry forwarded is what is left of it.
      if (remaining !== undefined) properties.messageExpiryInterval = remaining;
      // [MQTT-3.3.4-3] every matching subscription's identifier.
      if (ids !== undefined) properties.subscriptionIdentifiers = ids;
      if (aliases !== undefined) {
        const known = aliases.get(topic);
        if (known !== undefined) {
          properties.topicAlias = known;
          topic = '';
        } else {
          newAlias = aliases.nextFree();
          if (newAlias !== undefined) properties.topicAlias = newAlias;
        }
      }
    }
  }
  const head = encodePublishHead(
    {
      type: 'publish',
      topic,
      qos: delivery.qos,
      retain: delivery.retain,
      dup,
      packetId: delivery.qos > 0 ? packetId : undefined,
      properties,
    },
    message.payload.length,
    target.version,
  );
  if (head.length + message.payload.length > target.maxOutgoingPacket) return undefined;
  if (newAlias !== undefined) target.aliasesOut!.assign(message.topic, newAlias);
  return head;
}
