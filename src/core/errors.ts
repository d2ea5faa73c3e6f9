/**
 * Why midge closes a connection: one catalogue of stable codes, each with the MQTT 5 reason code
 * sent in the server's DISCONNECT (or CONNACK, before the connection is accepted) and a line of
 * documentation. docs/errors.md is written from this table; a test keeps the two in step.
 */
import { ReasonCode } from '../codec/index.js';

export const CLOSE_REASONS = {
  MALFORMED_PACKET: {
    reasonCode: ReasonCode.MalformedPacket,
    text: 'the packet does not follow the specification',
  },
  PROTOCOL_ERROR: {
    reasonCode: ReasonCode.ProtocolError,
    text: 'a packet that is valid but not allowed here',
  },
  PACKET_TOO_LARGE: { reasonCode: ReasonCode.PacketTooLarge, text: 'a packet larger than maxPacketSize' },
  UNSUPPORTED_PROTOCOL_VERSION: {
    reasonCode: ReasonCode.UnsupportedProtocolVersion,
    text: 'a protocol level other than 3, 4 or 5',
  },
  UNSUPPORTED_PROTOCOL_NAME: {
    reasonCode: ReasonCode.UnsupportedProtocolVersion,
    text: 'a protocol name other than MQTT or MQIsdp',
  },
  INVALID_TOPIC: {
    reasonCode: ReasonCode.TopicNameInvalid,
    text: 'a topic name with wildcards or over the limits',
  },
  TOPIC_ALIAS_INVALID: {
    reasonCode: ReasonCode.TopicAliasInvalid,
    text: 'topic alias 0 or above topicAliasMaximum',
  },
  RECEIVE_MAXIMUM_EXCEEDED: {
    reasonCode: ReasonCode.ReceiveMaximumExceeded,
    text: 'more unacknowledged QoS 2 messages than receiveMaximum',
  },
  CONNECT_TIMEOUT: { reasonCode: ReasonCode.MaximumConnectTime, text: 'no CONNECT within connectTimeout' },
  CONNECT_REFUSED: { reasonCode: ReasonCode.UnspecifiedError, text: 'CONNECT refused (CONNACK says why)' },
  KEEP_ALIVE_TIMEOUT: {
    reasonCode: ReasonCode.KeepAliveTimeout,
    text: 'nothing received for 1.5 × keep alive',
  },
  SESSION_TAKEN_OVER: {
    reasonCode: ReasonCode.SessionTakenOver,
    text: 'a new connection took the client id over',
  },
  SLOW_CONSUMER: { reasonCode: ReasonCode.ServerBusy, text: 'the client did not read for drainTimeout' },
  SERVER_SHUTTING_DOWN: { reasonCode: ReasonCode.ServerShuttingDown, text: 'the broker is stopping' },
  ADMINISTRATIVE_ACTION: {
    reasonCode: ReasonCode.AdministrativeAction,
    text: 'an administrator disconnected the client (dashboard or API)',
  },
  NOT_AUTHORIZED: { reasonCode: ReasonCode.NotAuthorized, text: 're-authentication failed' },
  CREDENTIALS_EXPIRED: {
    reasonCode: ReasonCode.NotAuthorized,
    text: 'the credentials (a JWT) expired and the client did not re-authenticate',
  },
  QUEUE_BUDGET_EXHAUSTED: {
    reasonCode: ReasonCode.QuotaExceeded,
    text: 'a QoS 1/2 PUBLISH from an MQTT 3.1/3.1.1 client while all queues together hold maxQueuedBytesTotal',
  },
  STORE_FAILURE: {
    reasonCode: ReasonCode.UnspecifiedError,
    text: 'the store could not commit; the message was not acknowledged',
  },
  INTERNAL_ERROR: {
    reasonCode: ReasonCode.UnspecifiedError,
    text: 'a bug in midge; the log has the details',
  },
} as const;

export type CloseCode = keyof typeof CLOSE_REASONS;
