/**
 * MQTT 5 enhanced authentication (MQTT 5.0 §4.12): a CONNECT that names an Authentication Method,
 * then AUTH packets back and forth (0x18 Continue authentication) until the hook says success
 * (CONNACK) or failure; later the client may re-authenticate (AUTH 0x19) on the open connection.
 *
 * Without a hook serving the method, the CONNECT gets CONNACK 0x8C Bad authentication method
 * [MQTT-4.12.0-1]. While a step is pending the connection handles no other packet.
 */
import { type AuthPacket, type ConnectPacket, ReasonCode } from '../../codec/index.js';
import type { Connection } from '../connection.js';
import type { AuthenticatedAs, EnhancedAuthResult } from '../hooks.js';
import { authenticationFailed, refuse } from './connect.js';

/** Runs one step of the hook; `done` gets its result unless the connection closed meanwhile. */
function step(
  connection: Connection,
  data: Buffer | undefined,
  done: (result: EnhancedAuthResult) => void,
): void {
  const hook = connection.broker.hooks.enhancedAuthentication!;
  const auth = connection.auth!;
  connection.hold();
  const settle = (result: EnhancedAuthResult) => {
    if (connection.state === 'closed') return;
    connection.release();
    auth.step++;
    done(result);
  };
  let verdict: EnhancedAuthResult | Promise<EnhancedAuthResult>;
  try {
    verdict = hook.step({
      clientId: connection.clientId,
      username: connection.username,
      method: auth.method,
      data,
      step: auth.step,
      reauthenticate: auth.reauthenticating,
      remoteAddress: connection.link.info.remoteAddress,
      transport: connection.link.info.transport,
    });
  } catch (error) {
    verdict = Promise.reject(error);
  }
  if (verdict instanceof Promise) {
    verdict.then(settle, (error: unknown) => {
      connection.log.error({ err: error }, 'enhanced authentication hook failed');
      settle({ status: 'failure', reasonCode: ReasonCode.UnspecifiedError });
    });
  } else {
    settle(verdict);
  }
}

function sendContinue(connection: Connection, data: Buffer): void {
  connection.send({
    type: 'auth',
    reasonCode: ReasonCode.ContinueAuthentication,
    properties: { authenticationMethod: connection.auth!.method, authenticationData: data },
  });
}

/** CONNECT named an Authentication Method: start the exchange, `onSuccess` sends the CONNACK. */
export function beginEnhancedAuth(
  connection: Connection,
  packet: ConnectPacket,
  method: string,
  onSuccess: (data: Buffer | undefined, as: AuthenticatedAs) => void,
): void {
  const hook = connection.broker.hooks.enhancedAuthentication;
  if (hook === undefined || !hook.methods.includes(method)) {
    refuse(
      connection,
      [0, ReasonCode.BadAuthenticationMethod],
      `authentication method ${method} not supported`,
    );
    return;
  }
  connection.auth = { method, step: 0, reauthenticating: false };
  connection.onAuthResult = (result) => {
    if (result.status === 'continue') {
      sendContinue(connection, result.data);
    } else if (result.status === 'success') {
      connection.onAuthResult = undefined;
      onSuccess(result.data, { ok: true, username: result.username, expiresAt: result.expiresAt });
    } else {
      connection.onAuthResult = undefined;
      authenticationFailed(connection);
      refuse(
        connection,
        [0, result.reasonCode ?? ReasonCode.NotAuthorized],
        'enhanced authentication failed',
      );
    }
  };
  step(connection, packet.properties?.authenticationData, connection.onAuthResult);
}

/** An AUTH packet from the client: the next step of an exchange, or a re-authentication. */
export function handleAuth(connection: Connection, packet: AuthPacket): void {
  const auth = connection.auth;
  const method = packet.properties?.authenticationMethod;
  // [MQTT-4.12.0-5/6] AUTH only with the method the CONNECT named, and not without enhanced auth.
  if (auth === undefined || method !== auth.method) {
    connection.fail('AUTH without the authentication method of CONNECT', 'PROTOCOL_ERROR');
    return;
  }
  const reasonCode = packet.reasonCode ?? 0;
  const data = packet.properties?.authenticationData;
  if (connection.onAuthResult !== undefined) {
    // [MQTT-4.12.0-2] during an exchange the client answers with 0x18 Continue authentication.
    if (reasonCode !== ReasonCode.ContinueAuthentication) {
      connection.fail('AUTH with an unexpected reason code', 'PROTOCOL_ERROR');
      return;
    }
    step(connection, data, connection.onAuthResult);
    return;
  }
  if (connection.state !== 'connected' || reasonCode !== ReasonCode.ReAuthenticate) {
    connection.fail('AUTH with an unexpected reason code', 'PROTOCOL_ERROR');
    return;
  }
  // Re-authentication [MQTT-4.12.1-1]: the connection stays up and keeps working meanwhile.
  auth.step = 0;
  auth.reauthenticating = true;
  connection.onAuthResult = (result) => {
    if (result.status === 'continue') {
      sendContinue(connection, result.data);
      return;
    }
    connection.onAuthResult = undefined;
    auth.reauthenticating = false;
    if (result.status === 'success') {
      connection.credentialsExpire(result.expiresAt);
      if (result.username !== undefined && result.username !== connection.username) {
        connection.username = result.username;
        connection.broker.refreshPermissions(connection);
      }
      const properties =
        result.data === undefined
          ? { authenticationMethod: auth.method }
          : { authenticationMethod: auth.method, authenticationData: result.data };
      connection.send({ type: 'auth', reasonCode: ReasonCode.Success, properties });
    } else {
      // [MQTT-4.12.1-2] a failed re-authentication closes the connection: 0x87 Not authorized, the
      // DISCONNECT code for it (0x8C Bad authentication method is a CONNACK-only code).
      connection.fail('re-authentication failed', 'NOT_AUTHORIZED');
    }
  };
  step(connection, data, connection.onAuthResult);
}
