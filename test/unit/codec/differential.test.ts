/**
 * Differential property test against mqtt-packet: for random valid packets, our encoder's bytes parse
 * in mqtt-packet to the same packet, mqtt-packet's bytes decode in ours to the same packet, and ours
 * round-trips. Compared in a normal form (see oracle.ts): byte-for-byte equality is not required where
 * both encodings are legal (property order, user property grouping, explicit 0x00 reason codes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encode, type Packet, type ProtocolVersion } from '../../../src/codec/index.js';
import { packet } from './arbitraries.js';
import { decodeOne } from './helpers.js';
import { fromMqtt, mqttGenerate, mqttParse, normal, toMqtt } from './oracle.js';

const numRuns = Number(process.env.DIFF_RUNS ?? 1500);

// Level 3 differs from 4 in CONNECT only; its other packets are 3.1.1's.
const arbitraries: [ProtocolVersion, fc.Arbitrary<Packet>][] = [
  [3, packet(3).filter((p) => p.type === 'connect')],
  [4, packet(4)],
  [5, packet(5)],
];

for (const [version, arb] of arbitraries) {
  test(`v${version}: our encoding parses in mqtt-packet to the same packet`, () => {
    fc.assert(
      fc.property(arb, (p) => {
        // mqtt-packet requires a reason code byte on AUTH; MQTT 5.0 §3.15.2.1 lets Remaining Length 0
        // stand for Success without properties, and that is the form we write.
        fc.pre(!(p.type === 'auth' && (p.reasonCode ?? 0) === 0 && p.properties === undefined));
        const theirs = mqttParse(encode(p, version), version);
        assert.equal(theirs.length, 1);
        assert.deepStrictEqual(normal(fromMqtt(theirs[0]!, version), version), normal(p, version));
      }),
      { numRuns },
    );
  });

  test(`v${version}: mqtt-packet's encoding decodes in ours to the same packet`, () => {
    fc.assert(
      fc.property(arb, (p) => {
        if (p.type === 'connect') {
          // mqtt-packet refuses to write a password without a user name, which MQTT 5.0 §3.1.2.9
          // allows, and an empty client id without clean start, which MQTT 5.0 §3.1.3.1 allows.
          fc.pre(!(p.password !== undefined && p.username === undefined));
          fc.pre(!(p.clientId === '' && !p.clean));
        }
        const bytes = mqttGenerate(toMqtt(p, version), version);
        assert.deepStrictEqual(normal(decodeOne(bytes, version), version), normal(p, version));
      }),
      { numRuns },
    );
  });

  test(`v${version}: decode(encode(p)) is p`, () => {
    fc.assert(
      fc.property(arb, (p) => {
        assert.deepStrictEqual(normal(decodeOne(encode(p, version), version), version), normal(p, version));
      }),
      { numRuns },
    );
  });
}

test('v5: a PUBLISH split into head and payload matches encode()', async () => {
  const { encodePublishHead } = await import('../../../src/codec/index.js');
  fc.assert(
    fc.property(packet(5), (p) => {
      if (p.type !== 'publish') return;
      const head = encodePublishHead(p, p.payload.length, 5);
      assert.deepEqual(Buffer.concat([head, p.payload]), encode(p, 5));
    }),
    { numRuns },
  );
});
