/**
 * CONNECT → CONNACK (MQTT 3.1.1 §3.1–3.2, MQTT 5.0 §3.1–3.2): client identifier rules, will
 * validation, authentication (the hook, or MQTT 5 enhanced authentication), session take-over and
 * resume, and the CONNACK properties that tell an MQTT 5 client the truth about this broker.
 */
import { randomBytes } from 'node:crypto';
import {
  CONNACK_CODES,
  ConnackReturnCode,
  type ConnectPacket,
  type Properties,
  ReasonCode,
} from '../../codec/index.js';
import { validateTopicName } from '../../topic/index.js';
import { identityOf } from '../broker.js';
import type { Connection } from '../connection.js';
import type { AuthenticatedAs, AuthenticateResult } from '../hooks.js';
import { OutboundAliases } from '../outbound.js';
import { NEVER_EXPIRES } from '../session.js';
import { beginEnhancedAuth } from './auth.js';

/** Refusal codes: the 3.1.1 return code and the MQTT 5 reason code for the same outcome. */
const REFUSAL = {
  identifier: [ConnackReturnCode.IdentifierRejected, ReasonCode.ClientIdentifierNotValid],
  credentials: [ConnackReturnCode.BadUsernameOrPassword, ReasonCode.BadUserNameOrPassword],
  notAuthorized: [ConnackReturnCode.NotAuthorized, ReasonCode.NotAuthorized],
  unavailable: [ConnackReturnCode.ServerUnavailable, ReasonCode.ServerUnavailable],
  blocked: [ConnackReturnCode.NotAuthorized, ReasonCode.ConnectionRateExceeded],
} as const;

export function handleConnect(connection: Connection, packet: ConnectPacket): void {
  const broker = connection.broker;
  // connectTimeout keeps running until CONNACK: it bounds authentication too.
  connection.version = packet.protocolVersion;
  const v5 = packet.protocolVersion === 5;

  let clientId = packet.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    if (packet.protocolVersion === 3 || (!v5 && !packet.clean)) {
      // [MQTT-3.1.3-8] a zero-byte id needs Clean Session 1 in 3.1.1 (and 3.1 had none at all).
      refuse(connection, REFUSAL.identifier, 'empty client id without clean session');
      return;
    }
    // [MQTT-3.1.3-6] the server assigns a unique id; MQTT 5 tells the client [MQTT-3.2.2-16].
    clientId = `midge-${randomBytes(9).toString('base64url')}`;
    assigned = true;
  } else if (Buffer.byteLength(clientId) > broker.config.maxClientIdLength) {
    // [MQTT-3.1.3-5] the server may refuse ids beyond what it allows (here: maxClientIdLength).
    refuse(connection, REFUSAL.identifier, 'client id longer than maxClientIdLength');
    return;
  }
  connection.clientId = clientId;
  // A verified client certificate may stand for the username (tls/wss listeners configured so).
  const username = connection.link.info.certificateUsername ?? packet.username;
  connection.username = username;

  if (packet.will !== undefined) {
    const problem = validateTopicName(packet.will.topic, broker.topicLimits);
    if (problem !== null) {
      // [MQTT-3.1.2-9] the will topic must be a valid topic name.
      if (v5) refuse(connection, [0, ReasonCode.TopicNameInvalid], `invalid will topic: ${problem}`);
      else connection.fail(`invalid will topic: ${problem}`, 'INVALID_TOPIC');
      return;
    }
  }

  connection.state = 'connecting';
  const info = connection.link.info;
  const address = info.remoteAddress;
  if (broker.admission.blocked(address)) {
    // Checked before any password: a guessing client costs no hashing once it is blocked.
    refuse(connection, REFUSAL.blocked, 'too many failed logins from this address (maxAuthFailures)');
    return;
  }
  const method = packet.properties?.authenticationMethod;
  if (v5 && method !== undefined) {
    beginEnhancedAuth(connection, packet, method, (data, as) =>
      accept(connection, packet, clientId, assigned, data, as),
    );
    return;
  }
  connection.hold();
  let verdict: AuthenticateResult | Promise<AuthenticateResult>;
  try {
    verdict = broker.authenticate({
      clientId,
      username,
      password: packet.password,
      remoteAddress: address,
      transport: info.transport,
      protocolVersion: packet.protocolVersion,
      certified: info.certificateUsername !== undefined,
      token: info.token,
    });
  } catch (error) {
    verdict = Promise.reject(error);
  }
  const finish = (result: AuthenticateResult) => {
    if (connection.state !== 'connecting') return;
    connection.release();
    if (result === true) {
      accept(connection, packet, clientId, assigned);
      return;
    }
    if (typeof result === 'object' && 'ok' in result) {
      accept(connection, packet, clientId, assigned, undefined, result);
      return;
    }
    authenticationFailed(connection);
    if (result === false) {
      refuse(connection, REFUSAL.notAuthorized, 'authentication failed');
    } else if ('reasonCode' in result) {
      refuse(connection, [ConnackReturnCode.NotAuthorized, result.reasonCode], 'authentication failed');
    } else {
      refuse(
        connection,
        result.returnCode === 4 ? REFUSAL.credentials : REFUSAL.notAuthorized,
        result.returnCode === 4 ? 'bad username or password' : 'not authorized',
      );
    }
  };
  if (verdict instanceof Promise) {
    verdict.then(finish, (error: unknown) => {
      connection.log.error({ err: error }, 'authenticate hook failed');
      if (connection.state !== 'connecting') return;
      connection.release();
      refuse(connection, REFUSAL.unavailable, 'authenticate hook failed');
    });
  } else {
    finish(verdict);
  }
}

/** A login failed: counted against its address, which is blocked for a while after too many. */
export function authenticationFailed(connection: Connection): void {
  const address = connection.link.info.remoteAddress;
  if (connection.broker.admission.authFailed(address)) {
    const config = connection.broker.config;
    connection.log.warn(
      { address, maxAuthFailures: config.maxAuthFailures, authFailureWindow: config.authFailureWindow },
      'logins from this address are refused for authFailureWindow: too many failed logins',
    );
  }
}

/** Authentication passed: take or make the session, answer CONNACK, start the session's flow. */
export function accept(
  connection: Connection,
  packet: ConnectPacket,
  clientId: string,
  assigned: boolean,
  authData?: Buffer,
  as?: AuthenticatedAs,
): void {
  const broker = connection.broker;
  const config = broker.config;
  const v5 = packet.protocolVersion === 5;
  if (as?.username !== undefined) connection.username = as.username;
  const permissions = broker.permissionsOf(connection);
  if (packet.will !== undefined && permissions !== undefined && !permissions.canPublish(packet.will.topic)) {
    // Will messages are authorized at CONNECT: a will the client may not publish refuses it.
    refuse(connection, REFUSAL.notAuthorized, 'the will topic is not authorized');
    return;
  }
  connection.permissions = permissions;
  const requested = packet.properties ?? {};
  // 3.1.1: Clean Session 0 keeps the session without end; MQTT 5 says how long (0 = with the connection).
  const wanted = v5 ? (requested.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES;
  const expiry = Math.min(wanted, config.maxSessionExpiryInterval);
  connection.connectSessionExpiry = expiry;

  let keepAlive = packet.keepAlive;
  let serverKeepAlive: number | undefined;
  if (v5 && config.maxKeepAlive < 65535 && (keepAlive === 0 || keepAlive > config.maxKeepAlive)) {
    // [MQTT-3.2.2-21] the client must use the Server Keep Alive instead of its own.
    keepAlive = config.maxKeepAlive;
    serverKeepAlive = keepAlive;
  }

  if (v5) {
    connection.inflightLimit = Math.min(config.maxInflight, requested.receiveMaximum ?? 65535);
    if (requested.maximumPacketSize !== undefined) connection.maxOutgoingPacket = requested.maximumPacketSize;
    const aliasMax = Math.min(requested.topicAliasMaximum ?? 0, config.topicAliasMaximum);
    if (aliasMax > 0) connection.aliasesOut = new OutboundAliases(aliasMax);
  }

  const { session, present } = broker.openSession(clientId, packet.clean, expiry);
  // A resumed session's subscriptions and held messages are held to this connection's permissions.
  if (present) broker.applyPermissions(session, permissions);
  session.identity = identityOf(connection);
  if (packet.will !== undefined) {
    const will = packet.will;
    will.payload = Buffer.from(will.payload); // kept for the life of the connection
    connection.will = will;
  }

  let properties: Properties | undefined;
  if (v5) {
    properties = {
      maximumPacketSize: connection.maxIncomingPacket,
      topicAliasMaximum: config.topicAliasMaximum,
    };
    if (expiry !== wanted) properties.sessionExpiryInterval = expiry;
    if (config.receiveMaximum < 65535) properties.receiveMaximum = config.receiveMaximum;
    if (assigned) properties.assignedClientIdentifier = clientId;
    if (serverKeepAlive !== undefined) properties.serverKeepAlive = serverKeepAlive;
    if (!config.sharedSubscriptions) properties.sharedSubscriptionAvailable = 0;
    if (requested.requestResponseInformation === 1) {
      properties.responseInformation = `${config.responseInformationPrefix}${clientId}`;
    }
    if (connection.auth !== undefined) {
      properties.authenticationMethod = connection.auth.method;
      if (authData !== undefined) properties.authenticationData = authData;
    }
  }
  // [MQTT-3.2.2-1..3] session present only when a stored session is resumed.
  connection.send({ type: 'connack', sessionPresent: present, reasonCode: 0, properties });
  connection.established(session, keepAlive);
  connection.credentialsExpire(as?.expiresAt);
  connection.debug({ clientId, version: packet.protocolVersion, present, expiry }, 'client connected');
  broker.clientEvent('connected', connection);
  session.attach(connection);
}

/** Refuses the CONNECT with the version's code, then closes [MQTT-3.2.2-5]. */
export function refuse(connection: Connection, codes: readonly [number, number], reason: string): void {
  const v5 = connection.version === 5;
  // A hook may name any code: only the CONNACK failure codes go on the wire (MQTT 5.0 §3.2.2.2).
  const v5Code = CONNACK_CODES[codes[1]] === 1 && codes[1] >= 0x80 ? codes[1] : ReasonCode.NotAuthorized;
  // [MQTT-3.2.2-4] a refusing CONNACK has session present 0.
  connection.send({ type: 'connack', sessionPresent: false, reasonCode: v5 ? v5Code : codes[0] });
  connection.fail(`connection refused: ${reason}`, 'CONNECT_REFUSED');
}
