import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode, encodePublishHead } from '../../../src/codec/index.js';
import { v4Fixtures } from './fixtures-v4.js';
import { v5Fixtures } from './fixtures-v5.js';
import { decodeOne } from './helpers.js';
import { PROPERTY_TABLE } from './spec-v5.js';

const fixtures = [...v4Fixtures, ...v5Fixtures];

for (const f of fixtures) {
  test(`encode: ${f.name}`, () => {
    assert.deepEqual([...encode(f.packet, f.version)], f.bytes);
  });

  test(`decode: ${f.name}`, () => {
    assert.deepStrictEqual(decodeOne(f.bytes, f.version), f.packet);
  });

  if (f.packet.type === 'publish') {
    const p = f.packet;
    test(`encodePublishHead + payload equals encode: ${f.name}`, () => {
      const head = encodePublishHead(p, p.payload.length, f.version);
      assert.deepEqual(Buffer.concat([head, p.payload]), encode(p, f.version));
    });
  }
}

test('every packet type has a fixture at 3.1.1 and at 5.0', () => {
  const types = (version: number) =>
    new Set(fixtures.filter((f) => f.version === version).map((f) => f.packet.type));
  assert.equal(types(4).size, 14); // all but AUTH, which 3.1.1 does not have
  assert.equal(types(5).size, 15);
});

test('every MQTT 5 property identifier (§2.2.2.2, Table 2-4) appears in a 5.0 fixture', () => {
  const seen = new Set<string>();
  for (const f of v5Fixtures) {
    const p = f.packet;
    if ('properties' in p && p.properties !== undefined) for (const key in p.properties) seen.add(key);
    if (p.type === 'connect' && p.will?.properties !== undefined) {
      for (const key in p.will.properties) seen.add(key);
    }
  }
  const missing = PROPERTY_TABLE.filter((spec) => !seen.has(spec.key)).map(
    (spec) => `0x${spec.id.toString(16)} ${spec.name}`,
  );
  assert.deepEqual(missing, []);
});

test('a 3.1.1 encoder never writes reason codes or properties the version does not have', () => {
  const bytes = encode(
    { type: 'puback', packetId: 1, reasonCode: 0x80, properties: { reasonString: 'no' } },
    4,
  );
  assert.deepEqual([...bytes], [0x40, 0x02, 0x00, 0x01]);
  const disconnect = encode({ type: 'disconnect', reasonCode: 0x04 }, 4);
  assert.deepEqual([...disconnect], [0xe0, 0x00]);
});

test('a remaining length needing two bytes is written and read right', () => {
  const payload = Buffer.alloc(200, 7);
  const packet = { type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false } as const;
  const bytes = encode(packet, 4);
  // 2 + 1 (topic) + 200 = 203 = 0xcb: 0xcb 0x01 as a variable byte integer.
  assert.deepEqual([...bytes.subarray(0, 3)], [0x30, 0xcb, 0x01]);
  assert.equal(bytes.length, 206);
  assert.deepStrictEqual(decodeOne(bytes, 4), packet);
});

test('AUTH cannot be encoded below MQTT 5', () => {
  assert.throws(() => encode({ type: 'auth' }, 4), TypeError);
});
