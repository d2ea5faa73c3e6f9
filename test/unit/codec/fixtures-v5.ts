/**
 * Byte fixtures for MQTT 5.0: every packet type, with properties, with reason codes, and in the short
 * forms an encoder must prefer (acknowledgements, DISCONNECT and AUTH without reason or properties).
 */
import { type Fixture, str } from './helpers.js';

export const v5Fixtures: Fixture[] = [
  {
    name: 'CONNECT 5.0 with properties, will properties and a password without a user name',
    version: 5,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 30,
      clientId: 'c',
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 20, userProperties: [['k', 'v']] },
      will: {
        topic: 'w',
        payload: Buffer.from('x'),
        qos: 0,
        retain: false,
        properties: { willDelayInterval: 5 },
      },
      password: Buffer.from('p'),
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 44, // fixed header: CONNECT, remaining length 44
      0x00, 0x04, // protocol name length
      ...str('MQTT'), // protocol name
      0x05, // protocol level 5
      0x46, // connect flags: password, will (QoS 0, no retain), clean start
      0x00, 0x1e, // keep alive 30 s
      15, // properties length
      0x11, 0x00, 0x00, 0x0e, 0x10, // session expiry interval 3600
      0x21, 0x00, 0x14, // receive maximum 20
      0x26, 0x00, 0x01, ...str('k'), 0x00, 0x01, ...str('v'), // user property k=v
      0x00, 0x01, // client id length
      ...str('c'), // client id
      5, // will properties length
      0x18, 0x00, 0x00, 0x00, 0x05, // will delay interval 5
      0x00, 0x01, // will topic length
      ...str('w'), // will topic
      0x00, 0x01, // will payload length
      ...str('x'), // will payload
      0x00, 0x01, // password length
      ...str('p'), // password
    ],
  },
  {
    name: 'CONNECT 5.0 requesting problem and response information, with a maximum packet size',
    version: 5,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 60,
      clientId: 'ab',
      properties: { requestProblemInformation: 0, requestResponseInformation: 1, maximumPacketSize: 4096 },
      username: 'u',
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 27, // fixed header: CONNECT, remaining length 27
      0x00, 0x04, // protocol name length
      ...str('MQTT'), // protocol name
      0x05, // protocol level 5
      0x82, // connect flags: user name, clean start
      0x00, 0x3c, // keep alive 60 s
      9, // properties length
      0x17, 0x00, // request problem information 0: no reason strings or user properties on failures
      0x19, 0x01, // request response information 1: send response information in the CONNACK
      0x27, 0x00, 0x00, 0x10, 0x00, // maximum packet size 4096
      0x00, 0x02, // client id length
      ...str('ab'), // client id
      0x00, 0x01, // user name length
      ...str('u'), // user name
    ],
  },
  {
    name: 'CONNACK 5.0 with properties',
    version: 5,
    packet: {
      type: 'connack',
      sessionPresent: false,
      reasonCode: 0,
      properties: { topicAliasMaximum: 10, assignedClientIdentifier: 'id', maximumQoS: 1 },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 13, // fixed header: CONNACK, remaining length 13
      0x00, // acknowledge flags: no session present
      0x00, // reason code: success
      10, // properties length
      0x22, 0x00, 0x0a, // topic alias maximum 10
      0x12, 0x00, 0x02, ...str('id'), // assigned client identifier
      0x24, 0x01, // maximum QoS 1
    ],
  },
  {
    name: 'CONNACK 5.0 with every server capability property',
    version: 5,
    packet: {
      type: 'connack',
      sessionPresent: true,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 300,
        receiveMaximum: 100,
        maximumQoS: 1,
        retainAvailable: 0,
        maximumPacketSize: 65536,
        topicAliasMaximum: 16,
        wildcardSubscriptionAvailable: 0,
        subscriptionIdentifiersAvailable: 0,
        sharedSubscriptionAvailable: 1,
        serverKeepAlive: 120,
        responseInformation: 'r/',
      },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 37, // fixed header: CONNACK, remaining length 37
      0x01, // acknowledge flags: session present
      0x00, // reason code: success
      34, // properties length
      0x11, 0x00, 0x00, 0x01, 0x2c, // session expiry interval 300
      0x21, 0x00, 0x64, // receive maximum 100
      0x24, 0x01, // maximum QoS 1
      0x25, 0x00, // retain available 0: retained messages not supported
      0x27, 0x00, 0x01, 0x00, 0x00, // maximum packet size 65536
      0x22, 0x00, 0x10, // topic alias maximum 16
      0x28, 0x00, // wildcard subscription available 0: not supported
      0x29, 0x00, // subscription identifiers available 0: not supported
      0x2a, 0x01, // shared subscription available 1: supported
      0x13, 0x00, 0x78, // server keep alive 120 s
      0x1a, 0x00, 0x02, ...str('r/'), // response information
    ],
  },
  {
    name: 'CONNACK 5.0 use another server, with a server reference',
    version: 5,
    packet: {
      type: 'connack',
      sessionPresent: false,
      reasonCode: 0x9c,
      properties: { serverReference: 'b:1884' },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 12, // fixed header: CONNACK, remaining length 12
      0x00, // acknowledge flags: no session present
      0x9c, // reason code: use another server
      9, // properties length
      0x1c, 0x00, 0x06, ...str('b:1884'), // server reference
    ],
  },
  {
    name: 'CONNACK 5.0 refused, no properties',
    version: 5,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0x87 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x20, 0x03, // fixed header: CONNACK, remaining length 3
      0x00, // acknowledge flags: none
      0x87, // reason code: not authorized
      0x00, // properties length: always present on CONNACK
    ],
  },
  {
    name: 'PUBLISH 5.0 QoS 1 with every PUBLISH property',
    version: 5,
    packet: {
      type: 'publish',
      topic: 't',
      payload: Buffer.from('hello'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 60,
        topicAlias: 3,
        responseTopic: 'r',
        correlationData: Buffer.from([1, 2]),
        userProperties: [
          ['a', '1'],
          ['a', '2'],
        ],
        subscriptionIdentifiers: [1, 200],
        contentType: 'c',
      },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x32, 53, // fixed header: PUBLISH QoS 1, remaining length 53
      0x00, 0x01, // topic length
      ...str('t'), // topic
      0x00, 0x01, // packet id 1
      42, // properties length
      0x01, 0x01, // payload format indicator: UTF-8
      0x02, 0x00, 0x00, 0x00, 0x3c, // message expiry interval 60
      0x23, 0x00, 0x03, // topic alias 3
      0x08, 0x00, 0x01, ...str('r'), // response topic
      0x09, 0x00, 0x02, 0x01, 0x02, // correlation data
      0x26, 0x00, 0x01, ...str('a'), 0x00, 0x01, ...str('1'), // user property a=1
      0x26, 0x00, 0x01, ...str('a'), 0x00, 0x01, ...str('2'), // user property a=2 (order kept)
      0x0b, 0x01, // subscription identifier 1
      0x0b, 0xc8, 0x01, // subscription identifier 200 (two-byte variable byte integer)
      0x03, 0x00, 0x01, ...str('c'), // content type
      ...str('hello'), // payload
    ],
  },
  {
    name: 'PUBLISH 5.0 with an empty topic and a topic alias',
    version: 5,
    packet: {
      type: 'publish',
      topic: '',
      payload: Buffer.from('z'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 5 },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x30, 0x07, // fixed header: PUBLISH QoS 0, remaining length 7
      0x00, 0x00, // topic length 0: the alias names the topic
      3, // properties length
      0x23, 0x00, 0x05, // topic alias 5
      ...str('z'), // payload
    ],
  },
  {
    name: 'PUBLISH 5.0 without properties',
    version: 5,
    packet: { type: 'publish', topic: 't', payload: Buffer.from('p'), qos: 0, retain: true, dup: false },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x31, 0x05, // fixed header: PUBLISH QoS 0 retain, remaining length 5
      0x00, 0x01, // topic length
      ...str('t'), // topic
      0x00, // properties length 0
      ...str('p'), // payload
    ],
  },
  {
    name: 'PUBACK 5.0 short form',
    version: 5,
    packet: { type: 'puback', packetId: 1 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x40, 0x02, // fixed header: PUBACK, remaining length 2: success, no properties
      0x00, 0x01, // packet id 1
    ],
  },
  {
    name: 'PUBACK 5.0 with a reason code only',
    version: 5,
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x40, 0x03, // fixed header: PUBACK, remaining length 3: no properties
      0x00, 0x01, // packet id 1
      0x10, // reason code: no matching subscribers
    ],
  },
  {
    name: 'PUBREC 5.0 with a reason string',
    version: 5,
    packet: { type: 'pubrec', packetId: 2, reasonCode: 0x80, properties: { reasonString: 'bad' } },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x50, 10, // fixed header: PUBREC, remaining length 10
      0x00, 0x02, // packet id 2
      0x80, // reason code: unspecified error
      6, // properties length
      0x1f, 0x00, 0x03, ...str('bad'), // reason string
    ],
  },
  {
    name: 'PUBREL 5.0 packet identifier not found',
    version: 5,
    packet: { type: 'pubrel', packetId: 3, reasonCode: 0x92 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x62, 0x03, // fixed header: PUBREL (flags 0b0010), remaining length 3
      0x00, 0x03, // packet id 3
      0x92, // reason code: packet identifier not found
    ],
  },
  {
    name: 'PUBCOMP 5.0 short form',
    version: 5,
    packet: { type: 'pubcomp', packetId: 3 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x70, 0x02, // fixed header: PUBCOMP, remaining length 2
      0x00, 0x03, // packet id 3
    ],
  },
  {
    name: 'SUBSCRIBE 5.0 with options and a subscription identifier',
    version: 5,
    packet: {
      type: 'subscribe',
      packetId: 5,
      properties: { subscriptionIdentifiers: [7] },
      subscriptions: [
        { topic: 'a', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: 'b', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x82, 13, // fixed header: SUBSCRIBE (flags 0b0010), remaining length 13
      0x00, 0x05, // packet id 5
      2, // properties length
      0x0b, 0x07, // subscription identifier 7
      0x00, 0x01, ...str('a'), // filter
      0x2e, // options: retain handling 2, retain as published, no local, QoS 2
      0x00, 0x01, ...str('b'), // filter
      0x00, // options: QoS 0
    ],
  },
  {
    name: 'SUBACK 5.0 with a reason string',
    version: 5,
    packet: { type: 'suback', packetId: 5, properties: { reasonString: 'ok' }, reasonCodes: [2, 0x87] },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x90, 10, // fixed header: SUBACK, remaining length 10
      0x00, 0x05, // packet id 5
      5, // properties length
      0x1f, 0x00, 0x02, ...str('ok'), // reason string
      0x02, // granted QoS 2
      0x87, // not authorized
    ],
  },
  {
    name: 'UNSUBSCRIBE 5.0 with a user property',
    version: 5,
    packet: {
      type: 'unsubscribe',
      packetId: 6,
      properties: { userProperties: [['x', 'y']] },
      topics: ['a', 'b'],
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xa2, 16, // fixed header: UNSUBSCRIBE (flags 0b0010), remaining length 16
      0x00, 0x06, // packet id 6
      7, // properties length
      0x26, 0x00, 0x01, ...str('x'), 0x00, 0x01, ...str('y'), // user property x=y
      0x00, 0x01, ...str('a'), // filter
      0x00, 0x01, ...str('b'), // filter
    ],
  },
  {
    name: 'UNSUBACK 5.0',
    version: 5,
    packet: { type: 'unsuback', packetId: 6, reasonCodes: [0x00, 0x11] },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xb0, 0x05, // fixed header: UNSUBACK, remaining length 5
      0x00, 0x06, // packet id 6
      0x00, // properties length 0
      0x00, // success
      0x11, // no subscription existed
    ],
  },
  {
    name: 'PINGREQ 5.0',
    version: 5,
    packet: { type: 'pingreq' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xc0, 0x00, // fixed header: PINGREQ, remaining length 0
    ],
  },
  {
    name: 'PINGRESP 5.0',
    version: 5,
    packet: { type: 'pingresp' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xd0, 0x00, // fixed header: PINGRESP, remaining length 0
    ],
  },
  {
    name: 'DISCONNECT 5.0 short form',
    version: 5,
    packet: { type: 'disconnect' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 0x00, // fixed header: DISCONNECT, remaining length 0: normal disconnection
    ],
  },
  {
    name: 'DISCONNECT 5.0 with will message',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0x04 },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 0x01, // fixed header: DISCONNECT, remaining length 1: no properties
      0x04, // reason code: disconnect with will message
    ],
  },
  {
    name: 'DISCONNECT 5.0 with a session expiry interval',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 0x07, // fixed header: DISCONNECT, remaining length 7
      0x00, // reason code: normal disconnection (written, because properties follow)
      5, // properties length
      0x11, 0x00, 0x00, 0x00, 0x00, // session expiry interval 0
    ],
  },
  {
    name: 'DISCONNECT 5.0 server moved, with a server reference',
    version: 5,
    packet: {
      type: 'disconnect',
      reasonCode: 0x9d,
      properties: { serverReference: 'b', reasonString: 'moved' },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xe0, 14, // fixed header: DISCONNECT, remaining length 14
      0x9d, // reason code: server moved
      12, // properties length
      0x1c, 0x00, 0x01, ...str('b'), // server reference
      0x1f, 0x00, 0x05, ...str('moved'), // reason string
    ],
  },
  {
    name: 'AUTH 5.0 short form',
    version: 5,
    packet: { type: 'auth' },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xf0, 0x00, // fixed header: AUTH, remaining length 0: success
    ],
  },
  {
    name: 'AUTH 5.0 continue authentication',
    version: 5,
    packet: {
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'SCRAM', authenticationData: Buffer.from([0xaa, 0xbb]) },
    },
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0xf0, 15, // fixed header: AUTH, remaining length 15
      0x18, // reason code: continue authentication
      13, // properties length
      0x15, 0x00, 0x05, ...str('SCRAM'), // authentication method
      0x16, 0x00, 0x02, 0xaa, 0xbb, // authentication data
    ],
  },
];
