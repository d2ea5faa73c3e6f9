import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Decoder, encode } from '../../../src/codec/index.js';
import { v4Fixtures } from './fixtures-v4.js';
import { v5Fixtures } from './fixtures-v5.js';
import { decodeChunks } from './helpers.js';

// Fixtures at one version that follow each other on one connection (CONNECTs would switch versions).
const v4Stream = v4Fixtures.filter((f) => f.packet.type !== 'connect');
const v5Stream = v5Fixtures.filter((f) => f.packet.type !== 'connect');

for (const [label, stream, version] of [
  ['3.1.1', v4Stream, 4],
  ['5.0', v5Stream, 5],
] as const) {
  const all = Buffer.concat(stream.map((f) => Buffer.from(f.bytes)));
  const expected = stream.map((f) => f.packet);

  test(`${label}: many packets in one chunk`, () => {
    assert.deepStrictEqual(decodeChunks([all], version), expected);
  });

  test(`${label}: fed byte by byte`, () => {
    const bytes = [...all].map((b) => Buffer.from([b]));
    assert.deepStrictEqual(decodeChunks(bytes, version), expected);
  });

  test(`${label}: split in two at every offset`, () => {
    for (let i = 0; i <= all.length; i++) {
      assert.deepStrictEqual(
        decodeChunks([all.subarray(0, i), all.subarray(i)], version),
        expected,
        `split at ${i}`,
      );
    }
  });

  test(`${label}: split in three at every pair of offsets`, () => {
    for (let i = 0; i <= all.length; i += 3) {
      for (let j = i; j <= all.length; j += 5) {
        const chunks = [all.subarray(0, i), all.subarray(i, j), all.subarray(j)];
        assert.deepStrictEqual(decodeChunks(chunks, version), expected, `split at ${i}, ${j}`);
      }
    }
  });
}

test('every fixture split at every offset decodes the same', () => {
  for (const f of [...v4Fixtures, ...v5Fixtures]) {
    const bytes = Buffer.from(f.bytes);
    for (let i = 1; i < bytes.length; i++) {
      const got = decodeChunks([bytes.subarray(0, i), bytes.subarray(i)], f.version);
      assert.deepStrictEqual(got, [f.packet], `${f.name}, split at ${i}`);
    }
  }
});

test('a v5 CONNECT and a v5 SUBSCRIBE in one chunk: the decoder switches version in between', () => {
  const connect = v5Fixtures.find((f) => f.packet.type === 'connect')!;
  const subscribe = v5Fixtures.find((f) => f.packet.type === 'subscribe')!;
  const decoder = new Decoder({ maxPacketSize: 1024 });
  assert.equal(decoder.protocolVersion, 4);
  decoder.push(Buffer.from([...connect.bytes, ...subscribe.bytes]));
  assert.deepStrictEqual(decoder.next(), connect.packet);
  assert.equal(decoder.protocolVersion, 5);
  assert.deepStrictEqual(decoder.next(), subscribe.packet);
  assert.equal(decoder.next(), null);
  assert.equal(decoder.buffered, 0);
});

test('a PUBLISH lying in one chunk is decoded without copying its payload', () => {
  const bytes = encode(
    { type: 'publish', topic: 't', payload: Buffer.from('abc'), qos: 0, retain: false, dup: false },
    4,
  );
  const chunk = Buffer.concat([bytes, bytes]);
  const decoder = new Decoder({ maxPacketSize: 1024 });
  decoder.push(chunk);
  const packet = decoder.next();
  assert.ok(packet?.type === 'publish');
  assert.equal(packet.payload.buffer, chunk.buffer);
  assert.equal(packet.payload.byteOffset, chunk.byteOffset + 5);
});

test('a PUBLISH spanning chunks is copied once, into a buffer of its own', () => {
  const bytes = encode(
    { type: 'publish', topic: 't', payload: Buffer.from('abc'), qos: 0, retain: false, dup: false },
    4,
  );
  const decoder = new Decoder({ maxPacketSize: 1024 });
  decoder.push(bytes.subarray(0, 4));
  assert.equal(decoder.next(), null);
  assert.equal(decoder.buffered, 4);
  decoder.push(bytes.subarray(4));
  const packet = decoder.next();
  assert.ok(packet?.type === 'publish');
  assert.equal(packet.payload.toString(), 'abc');
  assert.equal(decoder.buffered, 0);
});

test('CONNECT will payload and password are copies, not views of the receive buffer', () => {
  const connect = v4Fixtures[0]!;
  const chunk = Buffer.from(connect.bytes);
  const decoder = new Decoder({ maxPacketSize: 1024 });
  decoder.push(chunk);
  const packet = decoder.next();
  assert.ok(packet?.type === 'connect');
  chunk.fill(0); // the socket's buffer is reused; the session's will must not change with it
  assert.equal(packet.will?.payload.toString(), 'bye');
  assert.equal(packet.password?.toString(), 'pw');
});

test('empty chunks are harmless', () => {
  const decoder = new Decoder({ maxPacketSize: 1024 });
  decoder.push(Buffer.alloc(0));
  assert.equal(decoder.next(), null);
  decoder.push(Buffer.from([0xc0]));
  decoder.push(Buffer.alloc(0));
  assert.equal(decoder.next(), null);
  decoder.push(Buffer.from([0x00]));
  assert.deepStrictEqual(decoder.next(), { type: 'pingreq' });
});
