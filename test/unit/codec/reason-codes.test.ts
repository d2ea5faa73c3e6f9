/**
 * MQTT 5 reason codes packet by packet, from the tables of MQTT 5.0 chapter 3 as copied in spec-v5.ts:
 * every code a packet's table lists is written and read back, and every other byte value is refused the
 * way the codec refuses a reason code the packet may not carry, MALFORMED_PACKET.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError, encode, type Packet, type Properties } from '../../../src/codec/index.js';
import { decodeError, decodeOne, str } from './helpers.js';
import {
  DEFINED_REASON_CODES,
  REASON_CODE_TABLES,
  type ReasonPacket,
  UNDEFINED_REASON_CODES,
} from './spec-v5.js';

/** How one packet type carries its reason code. */
interface Carrier {
  /** The packet with `code`, and with `properties` when given. */
  make(code: number, properties?: Properties): Packet;
  /** The code a decoded packet carries; an absent one means 0x00. */
  read(packet: Packet): number | undefined;
  /** The packet's bytes with `code` and the properties REASON_STRING, which every such packet allows. */
  bytes(code: number): number[];
}

const PROPERTIES: Properties = { reasonString: 'r' };
// biome-ignore format: a byte table keeps one field per line
const REASON_STRING = [
  0x1f, 0x00, 0x01, ...str('r'), // reason string 'r'
];

function withProperties<T extends object>(packet: T, properties: Properties | undefined): T {
  return properties === undefined ? packet : { ...packet, properties };
}

function ack(type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', first: number): Carrier {
  return {
    make: (code, properties) => withProperties({ type, packetId: 1, reasonCode: code }, properties),
    read: (p) => (p.type === type ? (p.reasonCode ?? 0) : undefined),
    // biome-ignore format: a byte table keeps one field per line
    bytes: (code) => [
      first, 8, // fixed header, remaining length 8
      0x00, 0x01, // packet id 1
      code, // reason code
      4, // properties length
      ...REASON_STRING, // reason string
    ],
  };
}

const CARRIERS: Record<ReasonPacket, Carrier> = {
  CONNACK: {
    make: (code, properties) =>
      withProperties({ type: 'connack', sessionPresent: false, reasonCode: code }, properties),
    read: (p) => (p.type === 'connack' ? p.reasonCode : undefined),
    // biome-ignore format: a byte table keeps one field per line
    bytes: (code) => [
      0x20, 7, // fixed header: CONNACK, remaining length 7
      0x00, // acknowledge flags: no session present
      code, // reason code
      4, // properties length
      ...REASON_STRING, // reason string
    ],
  },
  PUBACK: ack('puback', 0x40), // fixed header: PUBACK
  PUBREC: ack('pubrec', 0x50), // fixed header: PUBREC
  PUBREL: ack('pubrel', 0x62), // fixed header: PUBREL (flags 0b0010)
  PUBCOMP: ack('pubcomp', 0x70), // fixed header: PUBCOMP
  SUBACK: {
    make: (code, properties) =>
      withProperties({ type: 'suback', packetId: 1, reasonCodes: [code] }, properties),
    read: (p) => (p.type === 'suback' ? p.reasonCodes[0] : undefined),
    // biome-ignore format: a byte table keeps one field per line
    bytes: (code) => [
      0x90, 8, // fixed header: SUBACK, remaining length 8
      0x00, 0x01, // packet id 1
      4, // properties length
      ...REASON_STRING, // reason string
      code, // reason code for the one filter
    ],
  },
  UNSUBACK: {
    make: (code, properties) =>
      withProperties({ type: 'unsuback', packetId: 1, reasonCodes: [code] }, properties),
    read: (p) => (p.type === 'unsuback' ? p.reasonCodes?.[0] : undefined),
    // biome-ignore format: a byte table keeps one field per line
    bytes: (code) => [
      0xb0, 8, // fixed header: UNSUBACK, remaining length 8
      0x00, 0x01, // packet id 1
      4, // properties length
      ...REASON_STRING, // reason string
      code, // reason code for the one filter
    ],
  },
  DISCONNECT: {
    make: (code, properties) => withProperties({ type: 'disconnect', reasonCode: code }, properties),
    read: (p) => (p.type === 'disconnect' ? (p.reasonCode ?? 0) : undefined),
    // biome-ignore format: a byte table keeps one field per line
    bytes: (code) => [
      0xe0, 6, // fixed header: DISCONNECT, remaining length 6
      code, // reason code
      4, // properties length
      ...REASON_STRING, // reason string
    ],
  },
  AUTH: {
    make: (code, properties) => withProperties({ type: 'auth', reasonCode: code }, properties),
    read: (p) => (p.type === 'auth' ? (p.reasonCode ?? 0) : undefined),
    // biome-ignore format: a byte table keeps one field per line
    bytes: (code) => [
      0xf0, 6, // fixed header: AUTH, remaining length 6
      code, // reason code
      4, // properties length
      ...REASON_STRING, // reason string
    ],
  },
};

const hex = (code: number) => `0x${code.toString(16).padStart(2, '0')}`;

/** 'decoded', or the CodecError code decoding fails with. */
function outcome(bytes: number[]): string {
  try {
    decodeOne(bytes, 5);
    return 'decoded';
  } catch (err) {
    if (err instanceof CodecError) return err.code;
    throw err;
  }
}

for (const { packet, table, codes } of REASON_CODE_TABLES) {
  const carrier = CARRIERS[packet];
  const listed = new Set(codes);

  for (const code of codes) {
    test(`${table}: ${packet} with ${hex(code)} is encoded and decoded`, () => {
      // With properties, the reason code is always written: the bytes are fixed both ways.
      const full = carrier.make(code, PROPERTIES);
      assert.deepEqual([...encode(full, 5)], carrier.bytes(code));
      assert.deepStrictEqual(decodeOne(carrier.bytes(code), 5), full);
      // Without, the encoder may choose a short form; the code must survive it.
      assert.equal(carrier.read(decodeOne(encode(carrier.make(code), 5), 5)), code);
    });
  }

  // The codes other packets carry, and undefined values at the edges of the defined ranges.
  const sample = [...DEFINED_REASON_CODES, ...UNDEFINED_REASON_CODES].filter((code) => !listed.has(code));
  for (const code of sample) {
    test(`${table}: ${packet} with ${hex(code)}, not in the table, is rejected`, () => {
      assert.equal(decodeError(carrier.bytes(code), 5).code, 'MALFORMED_PACKET');
    });
  }

  test(`${table}: ${packet} decodes with exactly the table's codes, of all 256 byte values`, () => {
    const wrong: string[] = [];
    for (let code = 0; code < 256; code++) {
      const expected = listed.has(code) ? 'decoded' : 'MALFORMED_PACKET';
      const got = outcome(carrier.bytes(code));
      if (got !== expected) wrong.push(`${hex(code)}: ${got}, expected ${expected}`);
    }
    assert.deepEqual(wrong, []);
  });
}

test('§3.15.2.2.1: an AUTH with a reason code and no properties still carries its property length', () => {
  // AUTH has no rule like PUBACK's (§3.4.2.2.1) or DISCONNECT's (§3.14.2.2.1) letting a short Remaining
  // Length stand for "no properties": its one short form is Remaining Length 0, for 0x00 and no
  // properties (§3.15.2.1). Otherwise the Property Length follows the reason code, even when it is 0.
  for (const code of [0x18, 0x19]) {
    // biome-ignore format: a byte table keeps one field per line
    assert.deepEqual([...encode({ type: 'auth', reasonCode: code }, 5)], [
      0xf0, 0x02, // fixed header: AUTH, remaining length 2
      code, // reason code
      0x00, // properties length 0
    ]);
  }
});
