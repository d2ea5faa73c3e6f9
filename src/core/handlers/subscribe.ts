/**
 * SUBSCRIBE → SUBACK, then the retained messages the new subscriptions match (MQTT 3.1.1 §3.8,
 * MQTT 5.0 §3.8): subscription options, identifiers, shared subscriptions, per-filter reason codes.
 */
import { ReasonCode, type SubscribePacket } from '../../codec/index.js';
import { validateTopicFilter } from '../../topic/index.js';
import { subscribeVerdict } from '../broker.js';
import type { Connection } from '../connection.js';
import type { SessionSubscription } from '../session.js';

/** 3.1.1 has one failure code for every refusal. */
const FAILURE_V4 = 0x80;

export function handleSubscribe(connection: Connection, packet: SubscribePacket): void {
  const broker = connection.broker;
  const config = broker.config;
  const session = connection.session!;
  const v5 = connection.version === 5;
  const identifier = packet.properties?.subscriptionIdentifiers?.[0];
  const permissions = connection.permissions;
  const reasonCodes: number[] = [];
  const retained: SessionSubscription[] = [];
  for (const subscription of packet.subscriptions) {
    const filter = subscription.topic;
    const shared = filter.startsWith('$share/');
    if (shared && subscription.noLocal === true) {
      // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
      connection.fail('No Local on a shared subscription', 'PROTOCOL_ERROR');
      return;
    }
    let refusal: number | undefined;
    let verdict: 'allow' | 'deny' | 'filter' = 'allow';
    const problem = validateTopicFilter(filter, broker.topicLimits);
    if (problem !== null) {
      connection.debug({ filter, problem }, 'subscription refused');
      refusal = ReasonCode.TopicFilterInvalid;
    } else if (shared && !config.sharedSubscriptions) {
      refusal = ReasonCode.SharedSubscriptionsNotSupported;
    } else if (
      session.subscriptions.size >= config.maxSubscriptionsPerClient &&
      !session.subscriptions.has(filter)
    ) {
      // A subscription storm must not grow the broker without bound.
      connection.debug({ filter }, 'subscription refused: maxSubscriptionsPerClient');
      refusal = ReasonCode.QuotaExceeded;
    } else if (permissions !== undefined) {
      verdict = subscribeVerdict(permissions, filter);
      if (verdict === 'deny') {
        broker.stats.subscribeDenied++;
        // debug: a client may send any number of filters; $SYS/broker/acl/denied/subscribe counts them.
        connection.debug({ clientId: connection.clientId, filter }, 'subscription not authorized');
        refusal = ReasonCode.NotAuthorized;
      }
    }
    if (refusal !== undefined) {
      // [MQTT-3.8.4-5] one code per filter, in order; 3.1.1 has only 0x80.
      reasonCodes.push(v5 ? refusal : FAILURE_V4);
      continue;
    }
    const isNew = broker.subscribe(session, filter, subscription, identifier);
    if (verdict === 'filter') session.subscriptions.get(filter)!.check = permissions;
    reasonCodes.push(subscription.qos);
    // Retain Handling: 0 send retained, 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11];
    // never for a shared subscription (MQTT 5.0 §4.8.2).
    const handling = subscription.retainHandling ?? 0;
    if (!shared && (handling === 0 || (handling === 1 && isNew)))
      retained.push(session.subscriptions.get(filter)!);
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet id [MQTT-3.8.4-2].
  connection.send({ type: 'suback', packetId: packet.packetId, reasonCodes });
  // [MQTT-3.3.1-6] retained messages matching a new (or replaced [MQTT-3.8.4-3]) subscription.
  for (const entry of retained) broker.sendRetained(session, entry);
}
