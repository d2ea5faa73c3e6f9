/**
 * MQTT 5 reason codes (MQTT 5.0 §2.4, Table 2-6) by their spec names, MQTT 3.1/3.1.1 CONNACK return
 * codes (MQTT 3.1.1 §3.2.2.3), and which codes each packet type may carry. Several names share a value
 * (0x00 is Success, Normal disconnection and Granted QoS 0); each name is listed once.
 */

export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1/3.1.1 CONNACK return codes; 6–255 are reserved. */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUsernameOrPassword: 4,
  NotAuthorized: 5,
} as const;

const RC = ReasonCode;

function set(...codes: number[]): Uint8Array {
  const table = new Uint8Array(256);
  for (const c of codes) table[c] = 1;
  return table;
}

// Per packet type, the MQTT 5 codes a sender MUST choose from, e.g. [MQTT-3.4.2-1] for PUBACK.
// §3.2.2.2
export const CONNACK_CODES = set(
  RC.Success,
  RC.UnspecifiedError,
  RC.MalformedPacket,
  RC.ProtocolError,
  RC.ImplementationSpecificError,
  RC.UnsupportedProtocolVersion,
  RC.ClientIdentifierNotValid,
  RC.BadUserNameOrPassword,
  RC.NotAuthorized,
  RC.ServerUnavailable,
  RC.ServerBusy,
  RC.Banned,
  RC.BadAuthenticationMethod,
  RC.TopicNameInvalid,
  RC.PacketTooLarge,
  RC.QuotaExceeded,
  RC.PayloadFormatInvalid,
  RC.RetainNotSupported,
  RC.QoSNotSupported,
  RC.UseAnotherServer,
  RC.ServerMoved,
  RC.ConnectionRateExceeded,
);
// §3.4.2.1, §3.5.2.1
export const PUBACK_PUBREC_CODES = set(
  RC.Success,
  RC.NoMatchingSubscribers,
  RC.UnspecifiedError,
  RC.ImplementationSpecificError,
  RC.NotAuthorized,
  RC.TopicNameInvalid,
  RC.PacketIdentifierInUse,
  RC.QuotaExceeded,
  RC.PayloadFormatInvalid,
);
// §3.6.2.1, §3.7.2.1
export const PUBREL_PUBCOMP_CODES = set(RC.Success, RC.PacketIdentifierNotFound);
// §3.9.3
export const SUBACK_CODES = set(
  RC.GrantedQoS0,
  RC.GrantedQoS1,
  RC.GrantedQoS2,
  RC.UnspecifiedError,
  RC.ImplementationSpecificError,
  RC.NotAuthorized,
  RC.TopicFilterInvalid,
  RC.PacketIdentifierInUse,
  RC.QuotaExceeded,
  RC.SharedSubscriptionsNotSupported,
  RC.SubscriptionIdentifiersNotSupported,
  RC.WildcardSubscriptionsNotSupported,
);
// §3.11.3
export const UNSUBACK_CODES = set(
  RC.Success,
  RC.NoSubscriptionExisted,
  RC.UnspecifiedError,
  RC.ImplementationSpecificError,
  RC.NotAuthorized,
  RC.TopicFilterInvalid,
  RC.PacketIdentifierInUse,
);
// §3.14.2.1
export const DISCONNECT_CODES = set(
  RC.NormalDisconnection,
  RC.DisconnectWithWillMessage,
  RC.UnspecifiedError,
  RC.MalformedPacket,
  RC.ProtocolError,
  RC.ImplementationSpecificError,
  RC.NotAuthorized,
  RC.ServerBusy,
  RC.ServerShuttingDown,
  RC.KeepAliveTimeout,
  RC.SessionTakenOver,
  RC.TopicFilterInvalid,
  RC.TopicNameInvalid,
  RC.ReceiveMaximumExceeded,
  RC.TopicAliasInvalid,
  RC.PacketTooLarge,
  RC.MessageRateTooHigh,
  RC.QuotaExceeded,
  RC.AdministrativeAction,
  RC.PayloadFormatInvalid,
  RC.RetainNotSupported,
  RC.QoSNotSupported,
  RC.UseAnotherServer,
  RC.ServerMoved,
  RC.SharedSubscriptionsNotSupported,
  RC.ConnectionRateExceeded,
  RC.MaximumConnectTime,
  RC.SubscriptionIdentifiersNotSupported,
  RC.WildcardSubscriptionsNotSupported,
);
// §3.15.2.1
export const AUTH_CODES = set(RC.Success, RC.ContinueAuthentication, RC.ReAuthenticate);
// MQTT 3.1.1 SUBACK: granted QoS or 0x80 Failure [MQTT-3.9.3-2].
export const SUBACK_V4_CODES = set(0x00, 0x01, 0x02, 0x80);
