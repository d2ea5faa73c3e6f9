/** The one dispatch switch from a decoded packet to its handler. */
import type { Packet } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

export function dispatch(connection: Connection, packet: Packet): void {
  if (connection.state !== 'connected') {
    if (packet.type === 'connect' && connection.state === 'new') {
      handleConnect(connection, packet);
      return;
    }
    if (packet.type === 'auth' && connection.state === 'connecting') {
      handleAuth(connection, packet);
      return;
    }
    // [MQTT-3.1.0-1] the first packet from a client must be CONNECT.
    connection.fail(`${packet.type.toUpperCase()} before CONNECT`, 'PROTOCOL_ERROR');
    return;
  }
  switch (packet.type) {
    case 'publish':
      handlePublish(connection, packet);
      return;
    case 'puback':
      handlePuback(connection, packet);
      return;
    case 'pubrec':
      handlePubrec(connection, packet);
      return;
    case 'pubrel':
      handlePubrel(connection, packet);
      return;
    case 'pubcomp':
      handlePubcomp(connection, packet);
      return;
    case 'subscribe':
      handleSubscribe(connection, packet);
      return;
    case 'unsubscribe':
      handleUnsubscribe(connection, packet);
      return;
    case 'pingreq':
      // [MQTT-3.12.4-1]
      connection.sendPingresp();
      return;
    case 'disconnect':
      handleDisconnect(connection, packet);
      return;
    case 'auth':
      handleAuth(connection, packet);
      return;
    case 'connect':
      // [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
      connection.fail('second CONNECT', 'PROTOCOL_ERROR');
      return;
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP go from server to client only.
      connection.fail(`unexpected ${packet.type.toUpperCase()} from a client`, 'PROTOCOL_ERROR');
  }
}
