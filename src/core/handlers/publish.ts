/** Inbound PUBLISH (MQTT 3.1.1 §3.3, §4.3): validation, routing, and the QoS 1/2 acknowledgements. */
import type { PublishPacket } from '../../codec/index.js';
import { validateTopicName } from '../../topic/index.js';
import type { Connection } from '../connection.js';
import { createMessage } from '../message.js';

export function handlePublish(connection: Connection, packet: PublishPacket): void {
  const broker = connection.broker;
  const topic = packet.topic;
  const problem = validateTopicName(topic, broker.topicLimits);
  if (problem !== null) {
    // [MQTT-3.3.2-2] no wildcards in a topic name; other invalid names are protocol errors too.
    connection.fail(`invalid topic in PUBLISH: ${problem}`, 'INVALID_TOPIC');
    return;
  }
  broker.stats.messagesReceived++;
  const message = createMessage(
    topic,
    packet.payload,
    packet.qos,
    packet.retain,
    undefined,
    connection.clientId,
  );
  const packetId = packet.packetId ?? 0;
  switch (packet.qos) {
    case 0:
      broker.publish(message, connection);
      return;
    case 1:
      broker.publish(message, connection);
      // [MQTT-4.3.2-2] PUBACK with the packet id, after the message is ours.
      connection.send({ type: 'puback', packetId });
      return;
    case 2: {
      const pending = connection.session!.awaitingRelease;
      // [MQTT-4.3.3-2] a PUBLISH with an id awaiting PUBREL is a duplicate: acknowledge, do not route.
      if (!pending.has(packetId)) {
        pending.add(packetId);
        broker.publish(message, connection);
      }
      connection.send({ type: 'pubrec', packetId });
      return;
    }
  }
}
