/** DISCONNECT from the client (MQTT 3.1.1 §3.14, MQTT 5.0 §3.14). */
import { type DisconnectPacket, ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';

export function handleDisconnect(connection: Connection, packet: DisconnectPacket): void {
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    if (connection.connectSessionExpiry === 0 && expiry !== 0) {
      // [MQTT-3.14.2-2] a session that was to end with the connection cannot be prolonged here;
      // such a DISCONNECT is not valid, so the will stays due.
      connection.fail('DISCONNECT sets a session expiry after CONNECT set none', 'PROTOCOL_ERROR');
      return;
    }
    const session = connection.session;
    if (session !== null)
      session.expiryInterval = Math.min(expiry, connection.broker.config.maxSessionExpiryInterval);
  }
  // [MQTT-3.14.4-3] the will is discarded, unless the client asks for it with 0x04 (MQTT 5).
  connection.disconnected(packet.reasonCode === ReasonCode.DisconnectWithWillMessage);
}
