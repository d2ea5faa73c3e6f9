/**
 * A short decoder fuzzing run on every test run (fuzz/decoder-fuzz.ts says what it checks). The seed
 * is fixed unless FUZZ_SEED is set; a failure names the seed and case to replay it with:
 *   FUZZ_SEED=<seed> FUZZ_CASE=<case> node --test dist/test/unit/codec/fuzz.test.js
 * FUZZ_TIME_MS and FUZZ_CASES lengthen the run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corpus } from '../../../fuzz/corpus.js';
import { fuzzDecoder } from '../../../fuzz/decoder-fuzz.js';
import { decodeOne } from './helpers.js';

const seed = Number(process.env.FUZZ_SEED ?? 0x6d696467);
const onlyCase = process.env.FUZZ_CASE !== undefined ? Number(process.env.FUZZ_CASE) : undefined;

test(`decoder fuzzing (FUZZ_SEED=${seed})`, () => {
  const report = fuzzDecoder({
    seed,
    timeMs: Number(process.env.FUZZ_TIME_MS ?? 2000),
    maxCases: Number(process.env.FUZZ_CASES ?? 300_000),
    onlyCase,
  });
  if (onlyCase !== undefined) return;
  // A fuzzer that never gets past the fixed header, or never fails, is not testing much.
  assert.ok(report.cases >= 1000, `only ${report.cases} cases ran`);
  assert.ok(report.packets > report.cases / 10, `only ${report.packets} packets decoded`);
  for (const code of ['MALFORMED_PACKET', 'PROTOCOL_ERROR', 'PACKET_TOO_LARGE']) {
    assert.ok((report.errors[code] ?? 0) > 0, `never saw ${code}`);
  }
});

test('every seed of the fuzz corpus is one valid packet (else regenerate it: fuzz/make-corpus.ts)', () => {
  assert.ok(corpus.length > 30);
  for (const seed of corpus) assert.ok(decodeOne(Buffer.from(seed.hex, 'hex'), seed.version), seed.name);
});
