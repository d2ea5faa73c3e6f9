/** SUBSCRIBE → SUBACK, then the retained messages the new subscriptions match (MQTT 3.1.1 §3.8). */
import type { QoS, SubscribePacket } from '../../codec/index.js';
import { validateTopicFilter } from '../../topic/index.js';
import type { Connection } from '../connection.js';

const FAILURE = 0x80;

export function handleSubscribe(connection: Connection, packet: SubscribePacket): void {
  const broker = connection.broker;
  const session = connection.session!;
  const reasonCodes: number[] = [];
  const granted: Array<{ filter: string; qos: QoS }> = [];
  for (const subscription of packet.subscriptions) {
    const problem = validateTopicFilter(subscription.topic, broker.topicLimits);
    if (problem !== null) {
      // [MQTT-3.8.4-5] one return code per filter; 0x80 for the one that failed.
      connection.log.debug({ filter: subscription.topic, problem }, 'subscription refused');
      reasonCodes.push(FAILURE);
      continue;
    }
    if (
      session.subscriptions.size >= broker.config.maxSubscriptionsPerClient &&
      !session.subscriptions.has(subscription.topic)
    ) {
      // A subscription storm must not grow the broker without bound.
      connection.log.debug({ filter: subscription.topic }, 'subscription refused: maxSubscriptionsPerClient');
      reasonCodes.push(FAILURE);
      continue;
    }
    const qos = subscription.qos;
    broker.subscribe(session, subscription.topic, qos, subscription);
    reasonCodes.push(qos);
    granted.push({ filter: subscription.topic, qos });
  }
  // [MQTT-3.8.4-1] SUBACK with the same packet id [MQTT-3.8.4-2].
  connection.send({ type: 'suback', packetId: packet.packetId, reasonCodes });
  // [MQTT-3.3.1-6] retained messages matching a new (or replaced [MQTT-3.8.4-3]) subscription.
  for (const { filter, qos } of granted) broker.sendRetained(session, filter, qos);
}
