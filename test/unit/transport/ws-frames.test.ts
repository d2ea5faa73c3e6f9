/**
 * FrameReader (src/transport/ws-frames.ts): client frames built by hand (masked, as RFC 6455 §5.3
 * requires of clients), fed whole, several to a chunk, cut at every offset and one byte at a time;
 * payload pieces must add up to the payloads, unmasked, whatever the cuts. Then every protocol error
 * with its close code, the payload limit, and stopping mid-frame (the link pausing) and reading on.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FrameReader, type FrameSink, validCloseCode } from '../../../src/transport/ws-frames.js';
import { clientFrame as frame } from '../../helpers/ws-frame.js';

/** A sink that records what the reader reports; `stopEvery` makes frameData return false every n calls. */
class Recorder implements FrameSink {
  data: Buffer[] = [];
  events: string[] = [];
  pings: Buffer[] = [];
  close: number | undefined;
  error: number | undefined;
  errors = 0;
  calls = 0;
  constructor(private readonly stopEvery = 0) {}

  frameData(bytes: Buffer): boolean {
    assert.ok(bytes.length > 0, 'no empty data pieces');
    this.data.push(Buffer.from(bytes));
    this.events.push('data');
    this.calls++;
    return this.stopEvery === 0 || this.calls % this.stopEvery !== 0;
  }
  framePing(payload: Buffer): void {
    this.pings.push(Buffer.from(payload));
    this.events.push(`ping:${payload.toString()}`);
  }
  frameClose(code: number): void {
    assert.equal(this.close, undefined, 'one close');
    this.close = code;
    this.events.push(`close:${code}`);
  }
  frameError(code: number): void {
    this.errors++;
    this.error = code;
    this.events.push(`error:${code}`);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.data);
  }
}

/** Feeds `chunks` (copies: the reader unmasks in place) to a reader, reading on wherever it stopped. */
function feed(
  chunks: Buffer[],
  sink: Recorder,
  maxPayload = 0,
  reader = new FrameReader(maxPayload),
): FrameReader {
  for (const original of chunks) {
    const chunk = Buffer.from(original);
    let offset = 0;
    let rounds = 0;
    while (offset < chunk.length) {
      offset = reader.read(chunk, offset, sink);
      assert.ok(++rounds < 1_000_000, 'the reader makes progress');
    }
  }
  return reader;
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at)].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
}

function oneByteAtATime(bytes: Buffer): Buffer[] {
  return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
}

describe('FrameReader: binary payloads as a byte stream', () => {
  test('a small frame, whole', () => {
    const r = new Recorder();
    feed([frame('hello')], r);
    assert.equal(r.bytes.toString(), 'hello');
    assert.equal(r.errors, 0);
  });

  test('16-bit and 64-bit lengths, a zero mask, an empty frame', () => {
    const medium = randomBytes(300);
    const large = randomBytes(70_000);
    const r = new Recorder();
    feed(
      [
        Buffer.concat([
          frame(medium),
          frame(large),
          frame('', {}),
          frame('zero mask', { mask: Buffer.alloc(4) }),
          frame('64-bit form for a short payload', { lengthForm: 64 }),
        ]),
      ],
      r,
    );
    assert.ok(
      r.bytes.equals(
        Buffer.concat([
          medium,
          large,
          Buffer.from('zero mask'),
          Buffer.from('64-bit form for a short payload'),
        ]),
      ),
    );
    assert.equal(r.errors, 0);
  });

  test('several frames in one chunk: their payloads joined into one piece, in order', () => {
    const r = new Recorder();
    feed([Buffer.concat([frame('one'), frame('two'), frame('three')])], r);
    assert.deepEqual(
      r.data.map((d) => d.toString()),
      ['onetwothree'],
    );
  });

  test('a payload over 4 KiB is not moved: the data before it goes alone', () => {
    const big = randomBytes(5000);
    const r = new Recorder();
    feed([Buffer.concat([frame('small'), frame(big), frame('after')])], r);
    assert.equal(r.data.length, 2);
    assert.equal(r.data[0]!.toString(), 'small');
    assert.ok(r.data[1]!.equals(Buffer.concat([big, Buffer.from('after')])));
  });

  test('the mask continues across chunk boundaries: every cut of a frame, short and long payloads', () => {
    for (const size of [5, 31, 32, 33, 64, 200]) {
      const payload = randomBytes(size);
      const bytes = frame(payload);
      for (let at = 1; at < bytes.length; at++) {
        const r = new Recorder();
        feed(cut(bytes, [at]), r);
        assert.ok(r.bytes.equals(payload), `size ${size}, cut at ${at}`);
      }
      // Two cuts inside the payload at every mask offset pair.
      const start = bytes.length - size;
      for (let a = start + 1; a < Math.min(bytes.length, start + 9); a++) {
        for (let b = a + 1; b < Math.min(bytes.length, a + 40); b++) {
          const r = new Recorder();
          feed(cut(bytes, [a, b]), r);
          assert.ok(r.bytes.equals(payload), `size ${size}, cuts at ${a} and ${b}`);
        }
      }
    }
  });

  test('one byte at a time: headers of every length form and payloads are gathered', () => {
    const payloads = [randomBytes(3), randomBytes(130), randomBytes(40), Buffer.from('end')];
    const bytes = Buffer.concat([
      frame(payloads[0]!),
      frame(payloads[1]!),
      frame(payloads[2]!, { lengthForm: 64 }),
      frame('ping me', { opcode: 9 }),
      frame(payloads[3]!),
      frame(Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), { opcode: 8 }), // close 1000 "bye"
    ]);
    const r = new Recorder();
    feed(oneByteAtATime(bytes), r);
    assert.ok(r.bytes.equals(Buffer.concat(payloads)));
    assert.deepEqual(
      r.pings.map((p) => p.toString()),
      ['ping me'],
    );
    assert.equal(r.close, 1000);
    assert.equal(r.errors, 0);
  });

  test('any chunking of any frames gives back the same bytes (property)', () => {
    const frameArb = fc.record({
      payload: fc.uint8Array({ minLength: 0, maxLength: 300 }),
      mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      form: fc.constantFrom<16 | 64 | undefined>(undefined, undefined, 16, 64),
      pingBefore: fc.boolean(),
      split: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat({ max: 4 }),
        (frames, cuts, stopEvery) => {
          const expected: Buffer[] = [];
          const wire: Buffer[] = [];
          for (const f of frames) {
            const payload = Buffer.from(f.payload);
            expected.push(payload);
            if (f.pingBefore) wire.push(frame('p', { opcode: 9 }));
            // The payload as a message of `split` fragments, a ping between the first two.
            const at = Array.from({ length: f.split - 1 }, (_, i) =>
              Math.floor(((i + 1) * payload.length) / f.split),
            );
            const pieces = cut(payload, at);
            pieces.forEach((piece, i) => {
              wire.push(
                frame(piece, {
                  opcode: i === 0 ? 2 : 0,
                  fin: i === pieces.length - 1,
                  mask: Buffer.from(f.mask),
                  ...(f.form !== undefined ? { lengthForm: f.form } : {}),
                }),
              );
              if (i === 0 && pieces.length > 1) wire.push(frame('between', { opcode: 9 }));
            });
          }
          const bytes = Buffer.concat(wire);
          const r = new Recorder(stopEvery);
          feed(
            cut(
              bytes,
              cuts.map((c) => c % (bytes.length + 1)),
            ),
            r,
          );
          assert.equal(r.errors, 0);
          assert.ok(r.bytes.equals(Buffer.concat(expected)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('FrameReader: fragmentation and control frames', () => {
  test('a fragmented message with a ping and a pong between its fragments', () => {
    const r = new Recorder();
    feed(
      [
        Buffer.concat([
          frame('frag-', { fin: false }),
          frame('ping-1', { opcode: 9 }),
          frame('men', { opcode: 0, fin: false }),
          frame('pong', { opcode: 10 }),
          frame('ted', { opcode: 0, fin: true }),
          frame('next'),
        ]),
      ],
      r,
    );
    assert.equal(r.bytes.toString(), 'frag-mentednext');
    // The data before each control frame goes first.
    assert.deepEqual(
      r.data.map((d) => d.toString()),
      ['frag-', 'men', 'tednext'],
    );
    assert.deepEqual(r.events, ['data', 'ping:ping-1', 'data', 'data']);
  });

  test('a ping whose payload is split across chunks is answered whole', () => {
    const ping = frame('split ping payload', { opcode: 9 });
    for (let at = 1; at < ping.length; at++) {
      const r = new Recorder();
      feed(cut(ping, [at, at + 3]), r);
      assert.deepEqual(
        r.pings.map((p) => p.toString()),
        ['split ping payload'],
        `cut at ${at}`,
      );
    }
  });

  test('an empty ping; an empty close is reported as 1005', () => {
    const r = new Recorder();
    feed([Buffer.concat([frame('', { opcode: 9 }), frame('', { opcode: 8 })])], r);
    assert.deepEqual(r.events, ['ping:', 'close:1005']);
  });

  test('a close with a code and a UTF-8 reason; nothing after it is read', () => {
    const r = new Recorder();
    const reader = feed(
      [
        Buffer.concat([
          frame(Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('fin ✓')]), { opcode: 8 }), // 4000
          frame('after the close'),
          Buffer.from([0xff, 0xff, 0xff]), // garbage
        ]),
      ],
      r,
    );
    assert.deepEqual(r.events, ['close:4000']);
    assert.ok(reader.done);
  });
});

describe('FrameReader: protocol errors and their close codes', () => {
  const cases: [string, Buffer, number][] = [
    ['RSV1 set', frame('x', { rsv: 0x40 }), 1002],
    ['RSV2 set', frame('x', { rsv: 0x20 }), 1002],
    ['RSV3 set', frame('x', { rsv: 0x10 }), 1002],
    ['an unmasked client frame', frame('x', { masked: false }), 1002],
    ['an unmasked ping', frame('x', { opcode: 9, masked: false }), 1002],
    ['a continuation with nothing to continue', frame('x', { opcode: 0 }), 1002],
    [
      'a new binary message inside a fragmented one',
      Buffer.concat([frame('a', { fin: false }), frame('b')]),
      1002,
    ],
    [
      'a text frame inside a fragmented message',
      Buffer.concat([frame('a', { fin: false }), frame('b', { opcode: 1 })]),
      1002,
    ],
    ['a fragmented ping', frame('x', { opcode: 9, fin: false }), 1002],
    ['a ping of 126 bytes', frame(Buffer.alloc(126), { opcode: 9 }), 1002],
    ['a close frame of 1 byte', frame(Buffer.from([0x03]), { opcode: 8 }), 1002],
    ['a close with code 1005', frame(Buffer.from([0x03, 0xed]), { opcode: 8 }), 1002],
    ['a close with code 999', frame(Buffer.from([0x03, 0xe7]), { opcode: 8 }), 1002],
    ['a close with code 2000', frame(Buffer.from([0x07, 0xd0]), { opcode: 8 }), 1002],
    ['a close with code 5000', frame(Buffer.from([0x13, 0x88]), { opcode: 8 }), 1002],
    ['a close reason that is not UTF-8', frame(Buffer.from([0x03, 0xe8, 0xc3, 0x28]), { opcode: 8 }), 1007],
    ['a text frame', frame('text', { opcode: 1 }), 1003],
    ['a 64-bit length with its top bit set', frame('x', { lengthForm: 64, length64: 1n << 63n }), 1002],
    ['a 64-bit length beyond 2^53', frame('x', { lengthForm: 64, length64: 1n << 60n }), 1009],
    ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((opcode): [string, Buffer, number] => [
      `opcode ${opcode}`,
      frame('x', { opcode }),
      1002,
    ]),
  ];
  for (const [name, bytes, code] of cases) {
    test(`${name} → ${code}, once, and nothing more is read (whole and byte by byte)`, () => {
      for (const chunks of [[bytes], oneByteAtATime(bytes)]) {
        const r = new Recorder();
        const reader = feed([...chunks, frame('after')], r);
        assert.equal(r.error, code);
        assert.equal(r.errors, 1);
        assert.ok(reader.done);
        assert.ok(!r.bytes.toString().includes('after'), 'nothing read after the error');
      }
    });
  }

  test('valid close codes', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      assert.ok(validCloseCode(code), `${code}`);
    }
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000])
      assert.ok(!validCloseCode(code), `${code}`);
  });
});

describe('FrameReader: maxPayload', () => {
  test('a frame of exactly maxPayload bytes passes; one byte more is refused with 1009 from its header', () => {
    const ok = new Recorder();
    feed([frame(Buffer.alloc(1024, 1))], ok, 1024);
    assert.equal(ok.bytes.length, 1024);
    assert.equal(ok.errors, 0);

    const big = new Recorder();
    const header = frame(Buffer.alloc(1025)).subarray(0, 8); // 2 + 2 (16-bit length) + 4 (mask)
    feed([header], big, 1024);
    assert.equal(big.error, 1009);
    assert.equal(big.bytes.length, 0, 'no byte handed over');
  });

  test('a fragmented message counts in total (as ws does); the next message starts from zero', () => {
    const r = new Recorder();
    feed(
      [
        Buffer.concat([
          frame(Buffer.alloc(600), { fin: false }),
          frame(Buffer.alloc(424), { opcode: 0, fin: true }), // 1024 in all: fine
          frame(Buffer.alloc(1000)), // a new message
          frame(Buffer.alloc(600), { fin: false }),
          frame('x', { opcode: 9 }), // control frames do not count
          frame(Buffer.alloc(425), { opcode: 0 }), // 1025 in all
        ]),
      ],
      r,
      1024,
    );
    assert.equal(r.error, 1009);
    assert.equal(r.bytes.length, 600 + 424 + 1000 + 600);
  });

  test('control frames are bounded by 125 bytes, not by maxPayload', () => {
    const r = new Recorder();
    feed([frame(Buffer.alloc(100, 0x61), { opcode: 9 })], r, 10);
    assert.equal(r.errors, 0);
    assert.equal(r.pings[0]?.length, 100);
  });
});

describe('FrameReader: stopping mid-chunk (a paused link)', () => {
  test('read returns where it stopped (before a control frame); the rest is untouched and reads on', () => {
    const payload = randomBytes(100);
    const bytes = Buffer.concat([
      frame(payload.subarray(0, 50)),
      frame('p', { opcode: 9 }),
      frame(payload.subarray(50)),
    ]);
    const chunk = Buffer.from(bytes);
    const reader = new FrameReader(0);
    const r = new Recorder(1); // stop after every piece
    const first = reader.read(chunk, 0, r);
    assert.equal(first, 2 + 4 + 50);
    assert.ok(
      chunk.subarray(first).equals(bytes.subarray(first)),
      'the bytes after the stop are as they came',
    );
    assert.equal(r.pings.length, 0);
    const second = reader.read(chunk, first, r);
    assert.equal(second, chunk.length);
    assert.ok(r.bytes.equals(payload));
    assert.equal(r.pings.length, 1);
  });

  test('read stops before a long payload that follows a run, and reads it on', () => {
    const big = randomBytes(6000);
    const bytes = Buffer.concat([frame('run'), frame(big)]);
    const chunk = Buffer.from(bytes);
    const reader = new FrameReader(0);
    const r = new Recorder(1);
    const first = reader.read(chunk, 0, r);
    assert.equal(first, 2 + 4 + 3 + 4 + 4, 'after the long frame header');
    assert.ok(chunk.subarray(first).equals(bytes.subarray(first)), 'the long payload is untouched');
    assert.equal(reader.read(chunk, first, r), chunk.length);
    assert.ok(r.bytes.equals(Buffer.concat([Buffer.from('run'), big])));
  });

  test('errors come after the data before them', () => {
    const r = new Recorder();
    feed([Buffer.concat([frame('good'), frame('more'), frame('bad', { masked: false })])], r);
    assert.deepEqual(r.events, ['data', 'error:1002']);
    assert.equal(r.bytes.toString(), 'goodmore');
  });

  test('stopping inside a frame split across chunks keeps the mask offset', () => {
    const payload = randomBytes(77);
    const bytes = frame(payload);
    for (let at = 7; at < bytes.length; at++) {
      const r = new Recorder(1);
      feed(cut(bytes, [at, at + 5, at + 11]), r);
      assert.ok(r.bytes.equals(payload), `cut at ${at}`);
    }
  });
});
