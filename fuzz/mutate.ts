/**
 * Byte mutations of an encoded packet, shared by the connection and socket fuzzers: a few rounds of bit
 * flips, interesting bytes, insertions, deletions, truncation, duplicated slices and random remaining
 * lengths. `extended` adds what only a real socket should see: a remaining length claiming 256 MB (or a
 * five-byte, malformed one) and one off by a little. Derived from `seed` alone, so a case replays.
 */
import { Gen } from './random.js';

export function mutate(buf: Buffer, seed: number, extended = false): Buffer {
  const g = new Gen(seed);
  const bytes = [...buf];
  const rounds = 1 + g.int(4);
  for (let m = 0; m < rounds; m++) {
    const at = g.int(bytes.length + 1);
    switch (g.int(extended ? 9 : 7)) {
      case 0: // flip a bit
        if (at < bytes.length) bytes[at]! ^= 1 << g.int(8);
        break;
      case 1: // overwrite with an interesting byte
        if (at < bytes.length) bytes[at] = g.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0x26, 0x0b]);
        break;
      case 2: // insert a random byte
        bytes.splice(at, 0, g.int(256));
        break;
      case 3: // delete a run
        bytes.splice(at, 1 + g.int(4));
        break;
      case 4: // truncate
        bytes.length = Math.min(bytes.length, at);
        break;
      case 5: // duplicate a slice
        bytes.splice(at, 0, ...bytes.slice(g.int(bytes.length), g.int(bytes.length + 1)));
        break;
      case 6: // a random remaining length
        if (bytes.length > 1) bytes[1] = g.chance(0.5) ? g.int(128) : 0x80 | g.int(128);
        break;
      case 7: // a huge remaining length claim: 268,435,455 bytes, or a five-byte (malformed) one
        if (bytes.length > 1)
          bytes.splice(1, 1, ...(g.chance(0.7) ? [0xff, 0xff, 0xff, 0x7f] : [0xff, 0xff, 0xff, 0xff, 0x01]));
        break;
      default: // a remaining length off by a little
        if (bytes.length > 1) bytes[1] = (bytes[1]! + g.pick([-2, -1, 1, 2])) & 0x7f;
    }
  }
  return Buffer.from(bytes);
}
