/** PUBACK, PUBREC, PUBREL, PUBCOMP: the acknowledgement flows of QoS 1 and 2 (MQTT 3.1.1 §4.3). */
import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../../codec/index.js';
import type { Connection } from '../connection.js';

/** QoS 1 delivery to the client is complete [MQTT-4.3.2-1]. */
export function handlePuback(connection: Connection, packet: PubackPacket): void {
  connection.session?.complete(packet.packetId);
}

/** The client received our QoS 2 PUBLISH: we must answer PUBREL [MQTT-4.3.3-1]. */
export function handlePubrec(connection: Connection, packet: PubrecPacket): void {
  connection.session?.received(packet.packetId);
  connection.sendPubrel(packet.packetId);
}

/**
 * The client releases its QoS 2 message: forget the packet id, so a later PUBLISH with it is a new
 * message, and answer PUBCOMP — also for an id we do not know, which is a resend after we already
 * released it [MQTT-4.3.3-2].
 */
export function handlePubrel(connection: Connection, packet: PubrelPacket): void {
  connection.session?.awaitingRelease.delete(packet.packetId);
  connection.send({ type: 'pubcomp', packetId: packet.packetId });
}

/** QoS 2 delivery to the client is complete. */
export function handlePubcomp(connection: Connection, packet: PubcompPacket): void {
  connection.session?.complete(packet.packetId);
}
