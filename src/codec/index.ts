/**
 * The codec's public surface: MQTT 3.1, 3.1.1 and 5.0 packets as plain objects, a streaming bounded
 * decoder, an encoder, reason codes and the one error type. Nothing outside src/codec imports past it.
 */

export { Decoder, type DecoderOptions } from './decoder.js';
export { encode } from './encoder.js';
export { CodecError, type CodecErrorCode } from './errors.js';
export type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  PacketType,
  PingreqPacket,
  PingrespPacket,
  Properties,
  ProtocolVersion,
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PubrecPacket,
  PubrelPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  UserProperty,
  Will,
} from './packets.js';
export { PacketKind } from './packets.js';
export { encodePublishHead } from './publish.js';
export { CONNACK_CODES, ConnackReturnCode, DISCONNECT_CODES, ReasonCode } from './reason-codes.js';
