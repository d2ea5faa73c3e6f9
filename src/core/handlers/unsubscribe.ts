/** UNSUBSCRIBE → UNSUBACK (MQTT 3.1.1 §3.10, MQTT 5.0 §3.10–3.11). */
import { ReasonCode, type UnsubscribePacket } from '../../codec/index.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(connection: Connection, packet: UnsubscribePacket): void {
  const broker = connection.broker;
  const session = connection.session!;
  // [MQTT-3.10.4-1] filters are compared character by character; unknown ones are not an error.
  const reasonCodes = packet.topics.map((filter) =>
    broker.unsubscribe(session, filter) ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted,
  );
  // [MQTT-3.10.4-4] UNSUBACK with the same packet id, even when nothing matched [MQTT-3.10.4-5];
  // MQTT 5 says per filter whether there was a subscription [MQTT-3.11.3-1].
  connection.send({
    type: 'unsuback',
    packetId: packet.packetId,
    reasonCodes: connection.version === 5 ? reasonCodes : undefined,
  });
}
