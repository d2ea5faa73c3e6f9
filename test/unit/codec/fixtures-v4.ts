/**
 * Byte fixtures for MQTT 3.1.1 (level 4), every packet type, and the MQTT 3.1 (MQIsdp, level 3) CONNECT.
 * Each is checked both ways: encode(packet) equals the bytes, and decoding the bytes gives the packet.
 */
import { type Fixture, str } from './helpers.js';

export const v4Fixtures: Fixture[] = [
  {
    name: 'CONNECT 3.1.1 with will, user name and password',
    version: 4,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 60,
      clientId: 'midge',
      will: { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true },
      username: 'u',
      password: Buffer.from('pw'),
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 32, // fixed header: CONNECT, remaining length 32
      0x00, 0x04, // protocol name length
      ...str('MQTT'), // protocol name
      0x04, // protocol level 4 (3.1.1)
      0xee, // connect flags: user name, password, will retain, will QoS 1, will, clean session
      0x00, 0x3c, // keep alive 60 s
      0x00, 0x05, // client id length
      ...str('midge'), // client id
      0x00, 0x01, // will topic length
      ...str('w'), // will topic
      0x00, 0x03, // will payload length
      ...str('bye'), // will payload
      0x00, 0x01, // user name length
      ...str('u'), // user name
      0x00, 0x02, // password length
      ...str('pw'), // password
    ],
  },
  {
    name: 'CONNECT 3.1.1 with an empty client id',
    version: 4,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId: '',
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 12, // fixed header: CONNECT, remaining length 12
      0x00, 0x04, // protocol name length
      ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x02, // connect flags: clean session
      0x00, 0x00, // keep alive off
      0x00, 0x00, // client id length 0 (the server may assign one)
    ],
  },
  {
    name: 'CONNECT 3.1 (MQIsdp)',
    version: 3,
    packet: {
      type: 'connect',
      protocolName: 'MQIsdp',
      protocolVersion: 3,
      clean: false,
      keepAlive: 10,
      clientId: 'c1',
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 16, // fixed header: CONNECT, remaining length 16
      0x00, 0x06, // protocol name length
      ...str('MQIsdp'), // protocol name
      0x03, // protocol level 3 (3.1)
      0x00, // connect flags: none (persistent session)
      0x00, 0x0a, // keep alive 10 s
      0x00, 0x02, // client id length
      ...str('c1'), // client id
    ],
  },
  {
    name: 'CONNACK accepted, session present',
    version: 4,
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x02, // fixed header: CONNACK, remaining length 2
      0x01, // acknowledge flags: session present
      0x00, // return code 0: accepted
    ],
  },
  {
    name: 'CONNACK refused, not authorized',
    version: 4,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 5 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x02, // fixed header: CONNACK, remaining length 2
      0x00, // acknowledge flags: none
      0x05, // return code 5: not authorized
    ],
  },
  {
    name: 'PUBLISH QoS 0',
    version: 4,
    packet: { type: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x07, // fixed header: PUBLISH QoS 0, remaining length 7
      0x00, 0x03, // topic length
      ...str('a/b'), // topic
      ...str('hi'), // payload: the rest of the packet
    ],
  },
  {
    name: 'PUBLISH QoS 1, retain, dup',
    version: 4,
    packet: {
      type: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 1,
      retain: true,
      dup: true,
      packetId: 10,
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x3b, 0x06, // fixed header: PUBLISH dup, QoS 1, retain; remaining length 6
      0x00, 0x01, // topic length
      ...str('t'), // topic
      0x00, 0x0a, // packet id 10
      ...str('x'), // payload
    ],
  },
  {
    name: 'PUBLISH QoS 2 with an empty payload and a non-ASCII topic',
    version: 4,
    packet: {
      type: 'publish',
      topic: 'é',
      payload: Buffer.alloc(0),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 0x1234,
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x34, 0x06, // fixed header: PUBLISH QoS 2, remaining length 6
      0x00, 0x02, // topic length (bytes, not characters)
      0xc3, 0xa9, // topic 'é' in UTF-8
      0x12, 0x34, // packet id 0x1234
    ],
  },
  {
    name: 'PUBACK',
    version: 4,
    packet: { type: 'puback', packetId: 10 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x40, 0x02, // fixed header: PUBACK, remaining length 2
      0x00, 0x0a, // packet id 10
    ],
  },
  {
    name: 'PUBREC',
    version: 4,
    packet: { type: 'pubrec', packetId: 11 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x50, 0x02, // fixed header: PUBREC, remaining length 2
      0x00, 0x0b, // packet id 11
    ],
  },
  {
    name: 'PUBREL',
    version: 4,
    packet: { type: 'pubrel', packetId: 11 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x62, 0x02, // fixed header: PUBREL with its reserved flags 0b0010, remaining length 2
      0x00, 0x0b, // packet id 11
    ],
  },
  {
    name: 'PUBCOMP',
    version: 4,
    packet: { type: 'pubcomp', packetId: 11 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x70, 0x02, // fixed header: PUBCOMP, remaining length 2
      0x00, 0x0b, // packet id 11
    ],
  },
  {
    name: 'SUBSCRIBE two filters',
    version: 4,
    packet: {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic: 'a/+', qos: 1 },
        { topic: '#', qos: 0 },
      ],
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 12, // fixed header: SUBSCRIBE with its reserved flags 0b0010, remaining length 12
      0x00, 0x01, // packet id 1
      0x00, 0x03, // filter length
      ...str('a/+'), // filter
      0x01, // requested QoS 1
      0x00, 0x01, // filter length
      ...str('#'), // filter
      0x00, // requested QoS 0
    ],
  },
  {
    name: 'SUBACK with a failure',
    version: 4,
    packet: { type: 'suback', packetId: 1, reasonCodes: [1, 0, 0x80] },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x90, 0x05, // fixed header: SUBACK, remaining length 5
      0x00, 0x01, // packet id 1
      0x01, // granted QoS 1
      0x00, // granted QoS 0
      0x80, // failure
    ],
  },
  {
    name: 'UNSUBSCRIBE two filters',
    version: 4,
    packet: { type: 'unsubscribe', packetId: 2, topics: ['a/+', '#'] },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xa2, 10, // fixed header: UNSUBSCRIBE with its reserved flags 0b0010, remaining length 10
      0x00, 0x02, // packet id 2
      0x00, 0x03, // filter length
      ...str('a/+'), // filter
      0x00, 0x01, // filter length
      ...str('#'), // filter
    ],
  },
  {
    name: 'UNSUBACK',
    version: 4,
    packet: { type: 'unsuback', packetId: 2 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xb0, 0x02, // fixed header: UNSUBACK, remaining length 2
      0x00, 0x02, // packet id 2
    ],
  },
  {
    name: 'PINGREQ',
    version: 4,
    packet: { type: 'pingreq' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xc0, 0x00, // fixed header: PINGREQ, remaining length 0
    ],
  },
  {
    name: 'PINGRESP',
    version: 4,
    packet: { type: 'pingresp' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xd0, 0x00, // fixed header: PINGRESP, remaining length 0
    ],
  },
  {
    name: 'DISCONNECT',
    version: 4,
    packet: { type: 'disconnect' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 0x00, // fixed header: DISCONNECT, remaining length 0
    ],
  },
];
