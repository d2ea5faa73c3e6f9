/**
 * Decoder fuzzer. Feeds random bytes and mutated valid packets (fuzz/corpus.ts), split into random
 * chunks, to a Decoder with a random maximum packet size and starting version, and checks:
 * - it throws nothing but CodecError;
 * - it never hangs: each next() either returns a packet (which consumed at least 2 bytes), returns
 *   null, or throws, so draining a chunk takes at most (its bytes + 1) calls;
 * - after next() returns null it holds no more than maxPacketSize bytes;
 * - whatever it decodes re-encodes to bytes it decodes again to the same encoding (encode∘decode is
 *   idempotent), so the encoder never writes what the decoder refuses.
 *
 * Every case is derived from (seed, index) alone, so a failure replays with FUZZ_SEED and FUZZ_CASE.
 */
import { CodecError, Decoder, encode, type Packet, type ProtocolVersion } from '../src/codec/index.js';
import { corpus } from './corpus.js';
import { rng } from './random.js';

export interface FuzzOptions {
  seed: number;
  /** Stop after this long, in milliseconds... */
  timeMs: number;
  /** ...or after this many cases, whichever comes first. */
  maxCases: number;
  /** Run this one case only (replay). */
  onlyCase?: number;
}

export interface FuzzReport {
  cases: number;
  packets: number;
  /** CodecError codes seen, with counts: a fuzzer that only ever sees one code is not exploring. */
  errors: Record<string, number>;
}

export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

const SEEDS = corpus.map((c) => ({ version: c.version, bytes: Buffer.from(c.hex, 'hex') }));
const MAX_SIZES = [5, 16, 64, 256, 4096, 1 << 20];

interface Case {
  input: Buffer;
  cuts: number[];
  maxPacketSize: number;
  version: ProtocolVersion;
}

function makeCase(seed: number, index: number): Case {
  const r = rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const seedPacket = () => pick(SEEDS);
  let version: ProtocolVersion = pick([3, 4, 5] as const);
  let input: Buffer;
  const kind = int(10);
  if (kind === 0) {
    input = Buffer.from(Array.from({ length: int(48) }, () => int(256)));
  } else {
    const parts: Buffer[] = [];
    const count = kind < 7 ? 1 : 2 + int(4);
    for (let i = 0; i < count; i++) {
      const s = seedPacket();
      if (i === 0) version = s.version;
      parts.push(s.bytes);
    }
    input = mutate(Buffer.concat(parts), r, int);
  }
  const cuts: number[] = [];
  const pieces = int(4) === 0 ? input.length : int(4);
  for (let i = 0; i < pieces; i++) cuts.push(int(input.length + 1));
  cuts.sort((a, b) => a - b);
  return { input, cuts, maxPacketSize: pick(MAX_SIZES), version };
}

function mutate(buf: Buffer, r: () => number, int: (n: number) => number): Buffer {
  const bytes = [...buf];
  const rounds = int(5); // 0 keeps a valid input valid: the round-trip check needs those too
  for (let m = 0; m < rounds; m++) {
    const at = int(bytes.length + 1);
    switch (int(7)) {
      case 0: // flip a bit
        if (at < bytes.length) bytes[at]! ^= 1 << int(8);
        break;
      case 1: // overwrite with an interesting byte
        if (at < bytes.length) bytes[at] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0x26, 0x0b][int(8)]!;
        break;
      case 2: // insert a random byte
        bytes.splice(at, 0, int(256));
        break;
      case 3: // delete a run
        bytes.splice(at, 1 + int(4));
        break;
      case 4: // truncate
        bytes.length = Math.min(bytes.length, at);
        break;
      case 5: // duplicate a slice
        bytes.splice(at, 0, ...bytes.slice(int(bytes.length), int(bytes.length + 1)));
        break;
      default: // a random remaining length
        if (bytes.length > 1) bytes[1] = r() < 0.5 ? int(128) : 0x80 | int(128);
    }
  }
  return Buffer.from(bytes);
}

function describe(seed: number, index: number, c: Case, why: string): FuzzFailure {
  return new FuzzFailure(
    `${why}\n  replay: FUZZ_SEED=${seed} FUZZ_CASE=${index}\n  input: ${c.input.toString('hex')}\n` +
      `  cuts: ${c.cuts.join(',')}  maxPacketSize: ${c.maxPacketSize}  version: ${c.version}`,
  );
}

/** Runs one case; returns the packets decoded and the error code it stopped on, if any. */
export function runCase(seed: number, index: number): { packets: number; error?: string } {
  const c = makeCase(seed, index);
  const decoder = new Decoder({ maxPacketSize: c.maxPacketSize });
  decoder.protocolVersion = c.version;
  let packets = 0;
  let from = 0;
  for (const to of [...c.cuts, c.input.length]) {
    const chunk = c.input.subarray(from, to);
    from = to;
    try {
      decoder.push(chunk);
      let calls = 0;
      for (;;) {
        if (++calls > chunk.length + 2) throw describe(seed, index, c, 'decoder does not make progress');
        const version = decoder.protocolVersion;
        const packet = decoder.next();
        if (packet === null) break;
        packets++;
        checkRoundTrip(packet, decoder.protocolVersion, () =>
          describe(seed, index, c, `round trip (v${version})`),
        );
      }
    } catch (err) {
      if (err instanceof FuzzFailure) throw err;
      if (err instanceof CodecError) return { packets, error: err.code };
      const failure = describe(seed, index, c, `threw something other than CodecError: ${String(err)}`);
      failure.cause = err;
      throw failure;
    }
    if (decoder.buffered > c.maxPacketSize) {
      throw describe(
        seed,
        index,
        c,
        `holds ${decoder.buffered} bytes, over maxPacketSize ${c.maxPacketSize}`,
      );
    }
  }
  return { packets };
}

function checkRoundTrip(packet: Packet, version: ProtocolVersion, fail: () => FuzzFailure): void {
  let first: Buffer;
  let again: Packet | null;
  try {
    first = encode(packet, version);
    const d = new Decoder({ maxPacketSize: 1 << 28 });
    d.protocolVersion = version;
    d.push(first);
    again = d.next();
    if (again === null || d.buffered !== 0) throw new Error('re-encoded packet is not one whole packet');
  } catch (err) {
    const failure = fail();
    failure.message += `\n  packet: ${String(err)}`;
    throw failure;
  }
  if (!encode(again, version).equals(first)) throw fail();
}

export function fuzzDecoder(options: FuzzOptions): FuzzReport {
  const report: FuzzReport = { cases: 0, packets: 0, errors: {} };
  const first = options.onlyCase ?? 0;
  const last = options.onlyCase ?? options.maxCases - 1;
  const deadline = Date.now() + options.timeMs;
  for (let i = first; i <= last; i++) {
    // Checking the clock every case costs more than the case; every 256 is plenty.
    if ((i & 0xff) === 0 && Date.now() > deadline) break;
    const { packets, error } = runCase(options.seed, i);
    report.cases++;
    report.packets += packets;
    if (error !== undefined) report.errors[error] = (report.errors[error] ?? 0) + 1;
  }
  return report;
}
