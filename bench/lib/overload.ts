// The drivers of the two overload scenarios (see scenarios.ts), used by generator.ts:
// - PacedLoad (fan-in-paced): the fan-in publishers take turns writing their pre-built batches while
//   the PUBLISHes written but not yet delivered stay under a bound, so the broker always has work but
//   is never flooded. QoS 0 may be dropped: when nothing arrives for a while, what is outstanding is
//   counted as lost and the loop goes on.
// - StallWatch (stalled-subscriber): delivered rates, longest gaps between deliveries and the
//   publisher's longest wait for 'drain', per half of the window; one subscriber stops reading between
//   the halves.
// Both work per read chunk or per write of a whole batch, never per message.

import type { BenchClient } from './client.js';

/**
 * fan-in-paced: most PUBLISHes outstanding (written, not yet delivered), in whole batches of one
 * publisher. 8 batches (~6,900 messages, ~512 KiB with 64-byte payloads) is twice what one read of
 * the subscriber takes (256 KiB), so while the generator turns one chunk round the broker still has a
 * read's worth waiting. In our runs midge over WebSocket sat at ~55 % CPU with 2 batches and ~87 % with
 * 4, ~100 % from 8 on; 16 or 32 delivered no more, they only queue more (towards a flood).
 */
export const PACED_BATCHES = 8;
/** fan-in-paced: nothing delivered this long with messages outstanding: count them as lost. */
export const LOSS_AFTER_MS = 200;
const LOSS_CHECK_MS = 50;

export class PacedLoad {
  /** Messages counted as lost (outstanding when deliveries stopped), less those that came late. */
  lost = 0;
  readonly bound: number;
  private written = 0;
  /** The publisher whose turn it is. */
  private next = 0;
  private lastReceived = 0;
  private lastProgressAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  /** `batches[i]`: publisher i's batch as framed() by it, and its PUBLISHes (topics differ in length). */
  constructor(
    private readonly publishers: BenchClient[],
    private readonly batches: { batch: Buffer; count: number }[],
    private readonly subscribers: BenchClient[],
  ) {
    this.bound = PACED_BATCHES * Math.max(...batches.map((b) => b.count));
  }

  start(): void {
    this.running = true;
    for (const s of this.subscribers) s.onRead = () => this.refill();
    this.lastProgressAt = performance.now();
    this.timer = setInterval(() => this.checkLoss(), LOSS_CHECK_MS);
    this.refill();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.timer);
    for (const s of this.subscribers) s.onRead = null;
  }

  private received(): number {
    let total = 0;
    for (const s of this.subscribers) total += s.walker.publishes;
    return total;
  }

  /** Writes batches, publishers in turn, while the outstanding messages stay within the bound. */
  private refill(): void {
    if (!this.running) return;
    const received = this.received();
    if (received > this.written - this.lost) this.lost = Math.max(0, this.written - received); // came late
    let outstanding = this.written - this.lost - received;
    // Stops at the bound, or once every publisher in a row was found closed.
    for (let skipped = 0; skipped < this.publishers.length; ) {
      const i = this.next;
      const { batch, count } = this.batches[i]!;
      if (outstanding + count > this.bound) return;
      this.next = (i + 1) % this.publishers.length;
      const p = this.publishers[i]!;
      if (p.closed) {
        skipped++;
        continue;
      }
      skipped = 0;
      p.writeBatch(batch, count);
      this.written += count;
      outstanding += count;
    }
  }

  /** Deliveries stopped with messages outstanding (so at the bound): the broker dropped them. */
  private checkLoss(): void {
    const received = this.received();
    const now = performance.now();
    if (received !== this.lastReceived) {
      this.lastReceived = received;
      this.lastProgressAt = now;
      return;
    }
    const outstanding = this.written - this.lost - received;
    if (now - this.lastProgressAt < LOSS_AFTER_MS || outstanding <= 0) return;
    this.lost += outstanding;
    this.lastProgressAt = now;
    this.refill();
  }
}

/** stalled-subscriber: what one half of the window looked like. */
export interface HalfFigures {
  ms: number;
  /** Delivered msg/s, summed over the healthy subscribers of the publisher's topic. */
  healthyPerSec: number;
  /** Delivered msg/s of the unrelated stream's subscriber(s). */
  otherPerSec: number;
  /**
   * Longest time between two reads that brought deliveries, over the healthy subscribers (other: the
   * unrelated stream's), counted from the half's start and up to its end, ms.
   */
  healthyGapMs: number;
  otherGapMs: number;
  /** The publisher's longest wait for 'drain' (socket not writable), ms; ongoing: not over at the end. */
  publisherStallMs: number;
  publisherStallOngoing: boolean;
}

/**
 * stalled-subscriber: the subscribers of `topic` (published by `publisher`) are the watched group, the
 * last of them the one that stops reading; subscribers of any other filter are the unrelated stream.
 */
export class StallWatch {
  readonly healthy: BenchClient[];
  readonly other: BenchClient[];
  private readonly stalled: BenchClient;
  /** healthy, then other: the clients whose deliveries are timed. */
  private readonly watched: BenchClient[];
  private readonly seen: Float64Array;
  private readonly last: Float64Array;
  private readonly longest: Float64Array;
  private readonly counts0: Float64Array;
  private since = 0;

  constructor(
    subscribers: BenchClient[],
    filters: string[],
    private readonly publisher: BenchClient,
    topic: string,
  ) {
    const group = subscribers.filter((_, i) => filters[i] === topic);
    const stalled = group.pop();
    if (stalled === undefined || group.length === 0)
      throw new Error(`stall: too few subscribers of ${topic}`);
    this.stalled = stalled;
    this.healthy = group;
    this.other = subscribers.filter((_, i) => filters[i] !== topic);
    this.watched = [...this.healthy, ...this.other];
    const n = this.watched.length;
    this.seen = new Float64Array(n);
    this.last = new Float64Array(n);
    this.longest = new Float64Array(n);
    this.counts0 = new Float64Array(n);
    this.watched.forEach((c, i) => {
      c.onRead = () => this.onRead(i);
    });
  }

  /** A read chunk of watched client i was walked: if it brought PUBLISHes, time the gap before it. */
  private onRead(i: number): void {
    const n = this.watched[i]!.walker.publishes;
    if (n === this.seen[i]) return;
    this.seen[i] = n;
    const now = performance.now();
    const gap = now - this.last[i]!;
    if (gap > this.longest[i]!) this.longest[i] = gap;
    this.last[i] = now;
  }

  /** Starts a half: counts, gaps and the publisher's waits from now. */
  begin(): void {
    const now = performance.now();
    this.since = now;
    this.last.fill(now);
    this.longest.fill(0);
    this.watched.forEach((c, i) => {
      this.counts0[i] = c.walker.publishes;
    });
    this.publisher.takeLongestWait(now);
  }

  /** Ends the first half, stops the stalled subscriber's reading and starts the second. */
  halfway(): HalfFigures {
    const figures = this.end();
    this.stalled.pauseReading();
    this.begin();
    return figures;
  }

  end(): HalfFigures {
    const now = performance.now();
    const seconds = (now - this.since) / 1000;
    let healthy = 0;
    let other = 0;
    let healthyGap = 0;
    let otherGap = 0;
    this.watched.forEach((c, i) => {
      const count = c.walker.publishes - this.counts0[i]!;
      const gap = Math.max(this.longest[i]!, now - this.last[i]!);
      if (i < this.healthy.length) {
        healthy += count;
        healthyGap = Math.max(healthyGap, gap);
      } else {
        other += count;
        otherGap = Math.max(otherGap, gap);
      }
    });
    const wait = this.publisher.takeLongestWait(now);
    return {
      ms: Math.round(now - this.since),
      healthyPerSec: Math.round(healthy / seconds),
      otherPerSec: Math.round(other / seconds),
      healthyGapMs: Math.round(healthyGap),
      otherGapMs: Math.round(otherGap),
      publisherStallMs: Math.round(wait.ms),
      publisherStallOngoing: wait.ongoing,
    };
  }

  stop(): void {
    for (const c of this.watched) c.onRead = null;
  }
}
