/** CONNECT rejections: protocol name and level, connect flags, and what follows them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeError, type Rejection, str } from './helpers.js';

const rejections: (Rejection & { protocolVersion?: number })[] = [
  {
    name: 'an unknown protocol name',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTX'), // protocol name: not ours
      0x04, // protocol level 4
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'UNSUPPORTED_PROTOCOL_NAME',
    protocolVersion: 4,
  },
  {
    name: 'MQTT with an unknown level: the core answers CONNACK 1 [MQTT-3.1.2-2]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x06, // protocol level 6: unknown
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'UNSUPPORTED_PROTOCOL_VERSION',
    protocolVersion: 6,
  },
  {
    name: 'MQTT with level 3 (which is MQIsdp only)',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x03, // protocol level 3
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'UNSUPPORTED_PROTOCOL_VERSION',
    protocolVersion: 3,
  },
  {
    name: 'MQIsdp with level 4',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 15, // fixed header: CONNECT, remaining length 15
      0x00, 0x06, ...str('MQIsdp'), // protocol name
      0x04, // protocol level 4
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'UNSUPPORTED_PROTOCOL_VERSION',
    protocolVersion: 4,
  },
  {
    name: 'the reserved connect flag set [MQTT-3.1.2-3]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x03, // connect flags: clean, reserved bit 0
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'will QoS without the will flag [MQTT-3.1.2-11/13]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x0a, // connect flags: will QoS 1, clean, no will flag
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'will retain without the will flag [MQTT-3.1.2-15]',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 14, // fixed header: CONNECT, remaining length 14
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x05, // protocol level 5
      0x22, // connect flags: will retain, clean, no will flag
      0x00, 0x00, // keep alive
      0x00, // properties length
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'will QoS 3 [MQTT-3.1.2-14]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 18, // fixed header: CONNECT, remaining length 18
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x1e, // connect flags: will QoS 3, will, clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
      0x00, 0x01, ...str('w'), // will topic
      0x00, 0x00, // will payload length 0
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '3.1.1: a password without a user name [MQTT-3.1.2-22]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 16, // fixed header: CONNECT, remaining length 16
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x42, // connect flags: password, clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
      0x00, 0x01, ...str('p'), // password
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'the user name flag but no user name',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x82, // connect flags: user name, clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id; the user name should follow
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a byte after the last field',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 14, // fixed header: CONNECT, remaining length 14
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x00, 0x01, ...str('c'), // client id
      0x00, // trailing byte
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: 'a client id that is not UTF-8 [MQTT-1.5.3-1]',
    version: 4,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 13, // fixed header: CONNECT, remaining length 13
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x00, 0x01, 0xff, // client id: 0xff is never UTF-8
    ],
    code: 'MALFORMED_PACKET',
  },
  {
    name: '5.0: authentication data without an authentication method',
    version: 5,
    // biome-ignore format: a byte table keeps one field per line
    bytes: [
      0x10, 18, // fixed header: CONNECT, remaining length 18
      0x00, 0x04, ...str('MQTT'), // protocol name
      0x05, // protocol level 5
      0x02, // connect flags: clean
      0x00, 0x00, // keep alive
      0x04, // properties length
      0x16, 0x00, 0x01, 0x01, // authentication data
      0x00, 0x01, ...str('c'), // client id
    ],
    code: 'PROTOCOL_ERROR',
  },
];

for (const r of rejections) {
  test(`CONNECT rejects ${r.name}`, () => {
    const err = decodeError(r.bytes, r.version);
    assert.equal(err.code, r.code);
    if (r.protocolVersion !== undefined) assert.equal(err.protocolVersion, r.protocolVersion);
    if (r.code.startsWith('UNSUPPORTED')) assert.equal(err.reasonCode, 0x84);
  });
}
