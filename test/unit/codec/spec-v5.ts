/**
 * MQTT 5.0 tables copied by hand from the specification, for the tests to hold the codec against.
 *
 * Deliberately independent of src/codec (properties.ts, reason-codes.ts): the tests generate cases from
 * these and check the codec's behaviour, so a slip in either copy fails a case instead of being
 * repeated on both sides.
 */
import type { Properties } from '../../../src/codec/index.js';

/** The places a property may appear: a packet type, or a CONNECT's Will Properties. */
export type Context =
  | 'CONNECT'
  | 'Will'
  | 'CONNACK'
  | 'PUBLISH'
  | 'PUBACK'
  | 'PUBREC'
  | 'PUBREL'
  | 'PUBCOMP'
  | 'SUBSCRIBE'
  | 'SUBACK'
  | 'UNSUBSCRIBE'
  | 'UNSUBACK'
  | 'DISCONNECT'
  | 'AUTH';

/** Every context with properties; PINGREQ and PINGRESP have none. */
export const CONTEXTS: Context[] = [
  'CONNECT',
  'Will',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'DISCONNECT',
  'AUTH',
];

/** MQTT 5.0 §1.5 data representations, as Table 2-4 names them. */
export type WireType = 'byte' | 'u16' | 'u32' | 'vbi' | 'string' | 'binary' | 'pair';

export interface PropertySpec {
  id: number;
  /** The name in Table 2-4. */
  name: string;
  /** The codec's field for it (the one thing taken from the codec: its public Properties shape). */
  key: keyof Properties;
  type: WireType;
  contexts: Context[];
}

// MQTT 5.0 §2.2.2.2, Table 2-4 Properties: identifier, name, type, "Packet / Will Properties".
// biome-ignore format: one property per line, as in the table
export const PROPERTY_TABLE: PropertySpec[] = [
  { id: 0x01, name: 'Payload Format Indicator', key: 'payloadFormatIndicator', type: 'byte', contexts: ['PUBLISH', 'Will'] },
  { id: 0x02, name: 'Message Expiry Interval', key: 'messageExpiryInterval', type: 'u32', contexts: ['PUBLISH', 'Will'] },
  { id: 0x03, name: 'Content Type', key: 'contentType', type: 'string', contexts: ['PUBLISH', 'Will'] },
  { id: 0x08, name: 'Response Topic', key: 'responseTopic', type: 'string', contexts: ['PUBLISH', 'Will'] },
  { id: 0x09, name: 'Correlation Data', key: 'correlationData', type: 'binary', contexts: ['PUBLISH', 'Will'] },
  { id: 0x0b, name: 'Subscription Identifier', key: 'subscriptionIdentifiers', type: 'vbi', contexts: ['PUBLISH', 'SUBSCRIBE'] },
  { id: 0x11, name: 'Session Expiry Interval', key: 'sessionExpiryInterval', type: 'u32', contexts: ['CONNECT', 'CONNACK', 'DISCONNECT'] },
  { id: 0x12, name: 'Assigned Client Identifier', key: 'assignedClientIdentifier', type: 'string', contexts: ['CONNACK'] },
  { id: 0x13, name: 'Server Keep Alive', key: 'serverKeepAlive', type: 'u16', contexts: ['CONNACK'] },
  { id: 0x15, name: 'Authentication Method', key: 'authenticationMethod', type: 'string', contexts: ['CONNECT', 'CONNACK', 'AUTH'] },
  { id: 0x16, name: 'Authentication Data', key: 'authenticationData', type: 'binary', contexts: ['CONNECT', 'CONNACK', 'AUTH'] },
  { id: 0x17, name: 'Request Problem Information', key: 'requestProblemInformation', type: 'byte', contexts: ['CONNECT'] },
  { id: 0x18, name: 'Will Delay Interval', key: 'willDelayInterval', type: 'u32', contexts: ['Will'] },
  { id: 0x19, name: 'Request Response Information', key: 'requestResponseInformation', type: 'byte', contexts: ['CONNECT'] },
  { id: 0x1a, name: 'Response Information', key: 'responseInformation', type: 'string', contexts: ['CONNACK'] },
  { id: 0x1c, name: 'Server Reference', key: 'serverReference', type: 'string', contexts: ['CONNACK', 'DISCONNECT'] },
  {
    id: 0x1f,
    name: 'Reason String',
    key: 'reasonString',
    type: 'string',
    contexts: ['CONNACK', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBACK', 'UNSUBACK', 'DISCONNECT', 'AUTH'],
  },
  { id: 0x21, name: 'Receive Maximum', key: 'receiveMaximum', type: 'u16', contexts: ['CONNECT', 'CONNACK'] },
  { id: 0x22, name: 'Topic Alias Maximum', key: 'topicAliasMaximum', type: 'u16', contexts: ['CONNECT', 'CONNACK'] },
  { id: 0x23, name: 'Topic Alias', key: 'topicAlias', type: 'u16', contexts: ['PUBLISH'] },
  { id: 0x24, name: 'Maximum QoS', key: 'maximumQoS', type: 'byte', contexts: ['CONNACK'] },
  { id: 0x25, name: 'Retain Available', key: 'retainAvailable', type: 'byte', contexts: ['CONNACK'] },
  {
    id: 0x26,
    name: 'User Property',
    key: 'userProperties',
    type: 'pair',
    contexts: [
      'CONNECT',
      'CONNACK',
      'PUBLISH',
      'Will',
      'PUBACK',
      'PUBREC',
      'PUBREL',
      'PUBCOMP',
      'SUBSCRIBE',
      'SUBACK',
      'UNSUBSCRIBE',
      'UNSUBACK',
      'DISCONNECT',
      'AUTH',
    ],
  },
  { id: 0x27, name: 'Maximum Packet Size', key: 'maximumPacketSize', type: 'u32', contexts: ['CONNECT', 'CONNACK'] },
  { id: 0x28, name: 'Wildcard Subscription Available', key: 'wildcardSubscriptionAvailable', type: 'byte', contexts: ['CONNACK'] },
  { id: 0x29, name: 'Subscription Identifier Available', key: 'subscriptionIdentifiersAvailable', type: 'byte', contexts: ['CONNACK'] },
  { id: 0x2a, name: 'Shared Subscription Available', key: 'sharedSubscriptionAvailable', type: 'byte', contexts: ['CONNACK'] },
];

/** The packets that carry a reason code (MQTT 5.0 §2.4), each with its own table in chapter 3. */
export type ReasonPacket =
  | 'CONNACK'
  | 'PUBACK'
  | 'PUBREC'
  | 'PUBREL'
  | 'PUBCOMP'
  | 'SUBACK'
  | 'UNSUBACK'
  | 'DISCONNECT'
  | 'AUTH';

export interface ReasonCodeTable {
  packet: ReasonPacket;
  /** Section and table title, to name the test cases. */
  table: string;
  codes: number[];
}

export const REASON_CODE_TABLES: ReasonCodeTable[] = [
  {
    packet: 'CONNACK',
    table: '§3.2.2.2 Table 3-1 Connect Reason Code values',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x80, // Unspecified error
      0x81, // Malformed Packet
      0x82, // Protocol Error
      0x83, // Implementation specific error
      0x84, // Unsupported Protocol Version
      0x85, // Client Identifier not valid
      0x86, // Bad User Name or Password
      0x87, // Not authorized
      0x88, // Server unavailable
      0x89, // Server busy
      0x8a, // Banned
      0x8c, // Bad authentication method
      0x90, // Topic Name invalid
      0x95, // Packet too large
      0x97, // Quota exceeded
      0x99, // Payload format invalid
      0x9a, // Retain not supported
      0x9b, // QoS not supported
      0x9c, // Use another server
      0x9d, // Server moved
      0x9f, // Connection rate exceeded
    ],
  },
  {
    packet: 'PUBACK',
    table: '§3.4.2.1 Table 3-4 PUBACK Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x10, // No matching subscribers
      0x80, // Unspecified error
      0x83, // Implementation specific error
      0x87, // Not authorized
      0x90, // Topic Name invalid
      0x91, // Packet identifier in use
      0x97, // Quota exceeded
      0x99, // Payload format invalid
    ],
  },
  {
    packet: 'PUBREC',
    table: '§3.5.2.1 Table 3-5 PUBREC Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x10, // No matching subscribers
      0x80, // Unspecified error
      0x83, // Implementation specific error
      0x87, // Not authorized
      0x90, // Topic Name invalid
      0x91, // Packet Identifier in use
      0x97, // Quota exceeded
      0x99, // Payload format invalid
    ],
  },
  {
    packet: 'PUBREL',
    table: '§3.6.2.1 Table 3-6 PUBREL Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x92, // Packet Identifier not found
    ],
  },
  {
    packet: 'PUBCOMP',
    table: '§3.7.2.1 Table 3-7 PUBCOMP Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x92, // Packet Identifier not found
    ],
  },
  {
    packet: 'SUBACK',
    table: '§3.9.3 Table 3-8 Subscribe Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Granted QoS 0
      0x01, // Granted QoS 1
      0x02, // Granted QoS 2
      0x80, // Unspecified error
      0x83, // Implementation specific error
      0x87, // Not authorized
      0x8f, // Topic Filter invalid
      0x91, // Packet Identifier in use
      0x97, // Quota exceeded
      0x9e, // Shared Subscriptions not supported
      0xa1, // Subscription Identifiers not supported
      0xa2, // Wildcard Subscriptions not supported
    ],
  },
  {
    packet: 'UNSUBACK',
    table: '§3.11.3 Table 3-9 Unsubscribe Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x11, // No subscription existed
      0x80, // Unspecified error
      0x83, // Implementation specific error
      0x87, // Not authorized
      0x8f, // Topic Filter invalid
      0x91, // Packet Identifier in use
    ],
  },
  {
    packet: 'DISCONNECT',
    table: '§3.14.2.1 Table 3-10 Disconnect Reason Code values',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Normal disconnection
      0x04, // Disconnect with Will Message
      0x80, // Unspecified error
      0x81, // Malformed Packet
      0x82, // Protocol Error
      0x83, // Implementation specific error
      0x87, // Not authorized
      0x89, // Server busy
      0x8b, // Server shutting down
      0x8d, // Keep Alive timeout
      0x8e, // Session taken over
      0x8f, // Topic Filter invalid
      0x90, // Topic Name invalid
      0x93, // Receive Maximum exceeded
      0x94, // Topic Alias invalid
      0x95, // Packet too large
      0x96, // Message rate too high
      0x97, // Quota exceeded
      0x98, // Administrative action
      0x99, // Payload format invalid
      0x9a, // Retain not supported
      0x9b, // QoS not supported
      0x9c, // Use another server
      0x9d, // Server moved
      0x9e, // Shared Subscriptions not supported
      0x9f, // Connection rate exceeded
      0xa0, // Maximum connect time
      0xa1, // Subscription Identifiers not supported
      0xa2, // Wildcard Subscriptions not supported
    ],
  },
  {
    packet: 'AUTH',
    table: '§3.15.2.1 Table 3-11 Authenticate Reason Codes',
    // biome-ignore format: one code per line, named as in the table
    codes: [
      0x00, // Success
      0x18, // Continue authentication
      0x19, // Re-authenticate
    ],
  },
];

/** Every value MQTT 5.0 §2.4 defines as a reason code (several names share 0x00). */
// biome-ignore format: a byte table keeps one field per line
export const DEFINED_REASON_CODES: number[] = [
  0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x18, 0x19, // the success and informational codes
  0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, // 0x80-0xa2: the failure codes, none missing
  0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
  0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
  0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
  0xa0, 0xa1, 0xa2,
];

/** Byte values §2.4 leaves undefined, at the edges of the defined ranges. */
export const UNDEFINED_REASON_CODES: number[] = [0x03, 0x05, 0x7f, 0xa3, 0xff];
