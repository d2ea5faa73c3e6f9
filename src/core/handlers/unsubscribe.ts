/** UNSUBSCRIBE → UNSUBACK (MQTT 3.1.1 §3.10). */
import type { UnsubscribePacket } from '../../codec/index.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(connection: Connection, packet: UnsubscribePacket): void {
  const broker = connection.broker;
  const session = connection.session!;
  // [MQTT-3.10.4-1] filters are compared character by character; unknown ones are not an error.
  for (const filter of packet.topics) broker.unsubscribe(session, filter);
  // [MQTT-3.10.4-4] UNSUBACK with the same packet id, even when nothing matched [MQTT-3.10.4-5].
  connection.send({ type: 'unsuback', packetId: packet.packetId });
}
