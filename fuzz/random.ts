/**
 * The fuzzers' randomness: a seeded PRNG (mulberry32: small, fast, good enough to drive a fuzzer, and
 * the same sequence on every machine so a seed replays a failure) and the few draws they all make.
 */
import type { QoS } from '../src/codec/index.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** One of `weights`' keys, in proportion to its weight. */
  weighted<K extends string>(weights: Partial<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let n = this.r() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, w] of entries) {
      n -= w;
      if (n < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
  qos(): QoS {
    return this.int(3) as QoS;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  /** A seed for a nested generator. */
  seed(): number {
    return this.int(2 ** 31);
  }
}
