/**
 * Inbound PUBLISH (MQTT 3.1.1 §3.3, MQTT 5.0 §3.3): topic aliases, validation, routing, and the QoS
 * 1/2 acknowledgements (with MQTT 5 reason codes).
 */
import { isUtf8 } from 'node:buffer';
import { type PublishPacket, ReasonCode } from '../../codec/index.js';
import { validateTopicName } from '../../topic/index.js';
import type { Connection } from '../connection.js';
import { createMessage } from '../message.js';

export function handlePublish(connection: Connection, packet: PublishPacket): void {
  const broker = connection.broker;
  const properties = packet.properties;
  let topic = packet.topic;
  if (properties?.topicAlias !== undefined) {
    const resolved = resolveAlias(connection, topic, properties.topicAlias);
    if (resolved === undefined) return;
    topic = resolved;
  }
  const problem = validateTopicName(topic, broker.topicLimits);
  if (problem !== null) {
    // [MQTT-3.3.2-2] no wildcards in a topic name; other invalid names are protocol errors too.
    connection.fail(`invalid topic in PUBLISH: ${problem}`, 'INVALID_TOPIC');
    return;
  }
  broker.stats.messagesReceived++;
  const packetId = packet.packetId ?? 0;
  const qos = packet.qos;
  const v5 = connection.version === 5;
  // A QoS 2 PUBLISH whose id awaits PUBREL was taken already: it is only acknowledged again.
  const duplicate = qos === 2 && connection.session!.awaitsRelease(packetId);
  if (!duplicate && !admitted(connection, packet, topic, v5)) return;
  // [MQTT-3.3.2-4] the receiver may check a payload that claims to be UTF-8; midge does, and
  // refuses it with 0x99 rather than pass on what the subscribers were promised is text.
  if (properties?.payloadFormatIndicator === 1 && !isUtf8(packet.payload)) {
    connection.debug({ clientId: connection.clientId, topic }, 'payload is not the UTF-8 it claims to be');
    if (packet.qos === 1)
      connection.send({ type: 'puback', packetId, reasonCode: ReasonCode.PayloadFormatInvalid });
    else if (packet.qos === 2)
      connection.send({ type: 'pubrec', packetId, reasonCode: ReasonCode.PayloadFormatInvalid });
    return;
  }
  const message = createMessage(
    topic,
    packet.payload,
    packet.qos,
    packet.retain,
    properties,
    connection.clientId,
  );
  switch (packet.qos) {
    case 0:
      broker.publish(message, connection);
      return;
    case 1:
      broker.publish(message, connection);
      // [MQTT-4.3.2-2] PUBACK with the packet id, once the message is ours (durably, in sync mode).
      connection.acknowledge({ type: 'puback', packetId });
      return;
    case 2: {
      const session = connection.session!;
      // [MQTT-4.3.3-2] a PUBLISH with an id awaiting PUBREL is a duplicate: acknowledge, do not route.
      if (!session.awaitsRelease(packetId)) {
        if (session.awaitingReleaseCount >= broker.config.receiveMaximum && connection.version === 5) {
          // [MQTT-3.3.4-8] more unacknowledged QoS 2 than the Receive Maximum the broker announced.
          connection.fail('receive maximum exceeded', 'RECEIVE_MAXIMUM_EXCEEDED');
          return;
        }
        session.awaitRelease(packetId);
        broker.publish(message, connection);
      }
      connection.acknowledge({ type: 'pubrec', packetId });
      return;
    }
  }
}

/**
 * The limits and the permissions, in that order: false when the PUBLISH is not to be routed (it was
 * answered, dropped, or the connection closed).
 */
function admitted(connection: Connection, packet: PublishPacket, topic: string, v5: boolean): boolean {
  const broker = connection.broker;
  const qos = packet.qos;
  if (qos > 0 && broker.queueBudget.full) {
    broker.queueBudget.refused++;
    if (!v5) {
      // 3.1.1 has no way to refuse a PUBLISH but to close: the client sends it again after reconnecting.
      connection.fail('all queues together hold maxQueuedBytesTotal', 'QUEUE_BUDGET_EXHAUSTED');
      return false;
    }
    answer(connection, packet, ReasonCode.QuotaExceeded);
    return false;
  }
  if (broker.config.maxPublishRate > 0 && !connection.meterPublish(v5 && qos > 0)) {
    answer(connection, packet, ReasonCode.QuotaExceeded);
    return false;
  }
  const permissions = connection.permissions;
  if (permissions !== undefined && !permissions.canPublish(topic)) {
    broker.stats.publishDenied++;
    connection.debug({ clientId: connection.clientId, topic }, 'publish not authorized');
    // MQTT 5 is told (0x87); a 3.1.1 client has no code for it: acknowledged, and dropped.
    answer(connection, packet, v5 ? ReasonCode.NotAuthorized : ReasonCode.Success);
    return false;
  }
  return true;
}

/** PUBACK or PUBREC with `reasonCode`, for a PUBLISH that is not routed (nothing for QoS 0). */
function answer(connection: Connection, packet: PublishPacket, reasonCode: number): void {
  const packetId = packet.packetId ?? 0;
  if (packet.qos === 1) connection.send({ type: 'puback', packetId, reasonCode });
  else if (packet.qos === 2) connection.send({ type: 'pubrec', packetId, reasonCode });
}

/** The topic a PUBLISH with a Topic Alias stands for; undefined when the connection was closed. */
function resolveAlias(connection: Connection, topic: string, alias: number): string | undefined {
  if (alias === 0 || alias > connection.broker.config.topicAliasMaximum) {
    // [MQTT-3.3.2-8/9] 0 and values above the Topic Alias Maximum the broker sent are invalid.
    connection.fail(`topic alias ${alias} out of range`, 'TOPIC_ALIAS_INVALID');
    return undefined;
  }
  connection.aliasesIn ??= new Map();
  if (topic.length > 0) {
    // [MQTT-3.3.2-12] a topic with an alias (re)defines the alias for this connection.
    connection.aliasesIn.set(alias, topic);
    return topic;
  }
  const known = connection.aliasesIn.get(alias);
  if (known === undefined) {
    connection.fail(`topic alias ${alias} was never defined`, 'PROTOCOL_ERROR');
    return undefined;
  }
  return known;
}
