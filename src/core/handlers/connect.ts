/**
 * CONNECT → CONNACK (MQTT 3.1.1 §3.1, §3.2): client identifier rules, will validation,
 * authentication through the hook, session take-over and resume.
 */
import { randomBytes } from 'node:crypto';
import { ConnackReturnCode, type ConnectPacket } from '../../codec/index.js';
import { validateTopicName } from '../../topic/index.js';
import type { Connection } from '../connection.js';

export function handleConnect(connection: Connection, packet: ConnectPacket): void {
  const broker = connection.broker;
  connection.connectReceived();
  connection.version = packet.protocolVersion;
  if (packet.protocolVersion === 5) {
    // MQTT 5 is not served yet: 0x84 Unsupported Protocol Version, in the MQTT 5 CONNACK form.
    connection.send({ type: 'connack', sessionPresent: false, reasonCode: 0x84 });
    connection.fail('MQTT 5 is not supported', 'UNSUPPORTED_PROTOCOL_VERSION');
    return;
  }

  let clientId = packet.clientId;
  if (clientId.length === 0) {
    if (packet.protocolVersion === 3 || !packet.clean) {
      // [MQTT-3.1.3-8] a zero-byte id needs Clean Session 1 (and 3.1 had no zero-byte ids at all).
      refuse(connection, ConnackReturnCode.IdentifierRejected, 'empty client id without clean session');
      return;
    }
    // [MQTT-3.1.3-6] the server assigns a unique id.
    clientId = `midge-${randomBytes(9).toString('base64url')}`;
  } else if (Buffer.byteLength(clientId) > broker.config.maxClientIdLength) {
    // [MQTT-3.1.3-5] the server may refuse ids beyond what it allows (here: maxClientIdLength).
    refuse(connection, ConnackReturnCode.IdentifierRejected, 'client id longer than maxClientIdLength');
    return;
  }
  connection.clientId = clientId;
  connection.username = packet.username;

  if (packet.will !== undefined) {
    const problem = validateTopicName(packet.will.topic, broker.topicLimits);
    if (problem !== null) {
      // [MQTT-3.1.2-9] the will topic must be a valid topic name.
      connection.fail(`invalid will topic: ${problem}`, 'INVALID_TOPIC');
      return;
    }
  }

  connection.state = 'connecting';
  connection.hold();
  const verdict = broker.authenticate({
    clientId,
    username: packet.username,
    password: packet.password,
    remoteAddress: connection.link.info.remoteAddress,
    transport: connection.link.info.transport,
  });
  const finish = (result: boolean | { returnCode: 4 | 5 }) => {
    if (connection.state !== 'connecting') return;
    connection.release();
    if (result !== true) {
      const code = result === false ? ConnackReturnCode.NotAuthorized : result.returnCode;
      refuse(connection, code, 'authentication failed');
      return;
    }
    accept(connection, packet, clientId);
  };
  if (verdict instanceof Promise) {
    verdict.then(finish, (error: unknown) => {
      connection.log.error({ err: error }, 'authenticate hook failed');
      if (connection.state !== 'connecting') return;
      connection.release();
      refuse(connection, ConnackReturnCode.ServerUnavailable, 'authenticate hook failed');
    });
  } else {
    finish(verdict);
  }
}

function accept(connection: Connection, packet: ConnectPacket, clientId: string): void {
  const broker = connection.broker;
  const { session, present } = broker.openSession(clientId, packet.clean);
  if (packet.will !== undefined) {
    const will = packet.will;
    will.payload = Buffer.from(will.payload); // kept for the life of the connection
    connection.will = will;
  }
  // [MQTT-3.2.2-1..3] session present only when a stored session is resumed.
  connection.send({ type: 'connack', sessionPresent: present, reasonCode: ConnackReturnCode.Accepted });
  connection.established(session, packet.keepAlive);
  connection.log.debug({ clientId, clean: packet.clean, present }, 'client connected');
  session.attach(connection);
}

function refuse(connection: Connection, returnCode: number, reason: string): void {
  // [MQTT-3.2.2-4] a refusing CONNACK has session present 0; [MQTT-3.2.2-5] then the connection closes.
  connection.send({ type: 'connack', sessionPresent: false, reasonCode: returnCode });
  connection.fail(`connection refused: ${reason}`, 'CONNECT_REFUSED');
}
