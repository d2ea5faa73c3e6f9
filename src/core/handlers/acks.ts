/** PUBACK, PUBREC, PUBREL, PUBCOMP: the acknowledgement flows of QoS 1 and 2 (MQTT 3.1.1 §4.3). */
import {
  type PubackPacket,
  type PubcompPacket,
  type PubrecPacket,
  type PubrelPacket,
  ReasonCode,
} from '../../codec/index.js';
import type { Connection } from '../connection.js';

/** QoS 1 delivery to the client is complete [MQTT-4.3.2-1]. */
export function handlePuback(connection: Connection, packet: PubackPacket): void {
  connection.session?.complete(packet.packetId);
}

/** The client received our QoS 2 PUBLISH: we must answer PUBREL [MQTT-4.3.3-1]. */
export function handlePubrec(connection: Connection, packet: PubrecPacket): void {
  const session = connection.session;
  if ((packet.reasonCode ?? 0) >= 0x80) {
    // MQTT 5: a PUBREC with a failure code ends the exchange; the packet id is free [MQTT-4.3.3-4].
    session?.complete(packet.packetId);
    return;
  }
  const known = session?.received(packet.packetId) !== undefined;
  connection.send(
    connection.version === 5 && !known
      ? { type: 'pubrel', packetId: packet.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound }
      : { type: 'pubrel', packetId: packet.packetId },
  );
}

/**
 * The client releases its QoS 2 message: forget the packet id, so a later PUBLISH with it is a new
 * message, and answer PUBCOMP — also for an id we do not know, which is a resend after we already
 * released it [MQTT-4.3.3-2] (MQTT 5 says so with 0x92).
 */
export function handlePubrel(connection: Connection, packet: PubrelPacket): void {
  const known = connection.session?.release(packet.packetId) === true;
  connection.send(
    connection.version === 5 && !known
      ? { type: 'pubcomp', packetId: packet.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound }
      : { type: 'pubcomp', packetId: packet.packetId },
  );
}

/** QoS 2 delivery to the client is complete. */
export function handlePubcomp(connection: Connection, packet: PubcompPacket): void {
  connection.session?.complete(packet.packetId);
}
