/**
 * The broker's $SYS values as they arrive, and a bounded history (the last few minutes) of the series
 * the Overview charts: counters become per-second rates from the deltas between two live updates.
 */
import { Observable } from './observable';

export const SYS_PREFIX = '$SYS/broker/';
export const EVENTS_TOPIC = '$SYS/broker/clients/events';

/** Seconds of history the charts show. */
export const HISTORY_SECONDS = 300;

/** Counters shown as rates: series key → $SYS topic (after the prefix). */
const COUNTERS = {
  msgIn: 'messages/received',
  msgOut: 'messages/sent',
  msgDropped: 'messages/dropped',
  bytesIn: 'bytes/received',
  bytesOut: 'bytes/sent',
} as const;

/** Gauges charted as they are. */
const GAUGES = {
  connected: 'clients/connected',
  tcp: 'clients/transport/tcp',
  tls: 'clients/transport/tls',
  ws: 'clients/transport/ws',
  wss: 'clients/transport/wss',
  heap: 'heap/current',
  rss: 'memory/rss',
  queued: 'queues/messages',
} as const;

export type SeriesKey = keyof typeof COUNTERS | keyof typeof GAUGES;

const SERIES_KEYS = [...Object.keys(COUNTERS), ...Object.keys(GAUGES)] as SeriesKey[];

export class SysStore extends Observable {
  /** Latest value of every $SYS/broker/... topic, keyed by the part after the prefix. */
  readonly values = new Map<string, string>();
  /** When the latest update arrived (ms), null before any. */
  lastUpdate: number | null = null;
  /** Time axis (seconds since the epoch) and one column per series, all the same length. */
  readonly time: number[] = [];
  readonly series: Record<SeriesKey, (number | null)[]>;
  /** The latest computed rates (per second), null until two live updates have arrived. */
  readonly rates: Record<keyof typeof COUNTERS, number | null> = {
    msgIn: null,
    msgOut: null,
    msgDropped: null,
    bytesIn: null,
    bytesOut: null,
  };

  private pending: ReturnType<typeof setTimeout> | undefined;
  /** The burst being received holds a live update (not only the retained snapshot). */
  private pendingLive = false;
  private previous: { at: number; counters: Record<string, number | null> } | null = null;

  constructor() {
    super();
    this.series = Object.fromEntries(SERIES_KEYS.map((k) => [k, []])) as unknown as Record<
      SeriesKey,
      (number | null)[]
    >;
  }

  number(key: string): number | null {
    const raw = this.values.get(key);
    if (raw === undefined) return null;
    const n = Number.parseFloat(raw);
    return Number.isFinite(n) ? n : null;
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  /**
   * One $SYS message. The broker publishes all its values in one burst every sysInterval; the burst is
   * committed as one sample shortly after it ends. `retained` marks the snapshot a new subscription
   * gets: its values show at once but are never the base of a rate (they may be seconds old).
   */
  receive(topic: string, value: string, retained: boolean): void {
    if (!topic.startsWith(SYS_PREFIX)) return;
    this.values.set(topic.slice(SYS_PREFIX.length), value);
    if (!retained) this.pendingLive = true;
    if (this.pending === undefined) this.pending = setTimeout(() => this.commit(), 120);
  }

  reset(): void {
    this.values.clear();
    this.previous = null;
    this.lastUpdate = null;
    for (const k of Object.keys(this.rates) as (keyof typeof COUNTERS)[]) this.rates[k] = null;
    this.changed();
  }

  /** Drops the rate base (after a reconnect the next live update starts a new pair). */
  resetRates(): void {
    this.previous = null;
    for (const k of Object.keys(this.rates) as (keyof typeof COUNTERS)[]) this.rates[k] = null;
  }

  dispose(): void {
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.pending = undefined;
  }

  private commit(): void {
    this.pending = undefined;
    const live = this.pendingLive;
    this.pendingLive = false;
    const now = Date.now();
    this.lastUpdate = now;
    const counters: Record<string, number | null> = {};
    for (const [key, topic] of Object.entries(COUNTERS)) counters[key] = this.number(topic);

    if (live) {
      const prev = this.previous;
      const dt = prev === null ? 0 : (now - prev.at) / 1000;
      for (const key of Object.keys(COUNTERS) as (keyof typeof COUNTERS)[]) {
        const cur = counters[key] ?? null;
        const before = prev?.counters[key] ?? null;
        // A counter that went down means the broker restarted: no rate for this step.
        this.rates[key] =
          cur !== null && before !== null && dt > 0.2 && cur >= before ? (cur - before) / dt : null;
      }
      this.previous = { at: now, counters };
    }
    this.push(now);
    this.changed();
  }

  private push(now: number): void {
    this.time.push(now / 1000);
    for (const key of SERIES_KEYS) {
      const value =
        key in COUNTERS
          ? this.rates[key as keyof typeof COUNTERS]
          : this.number(GAUGES[key as keyof typeof GAUGES]);
      this.series[key].push(value);
    }
    const oldest = now / 1000 - HISTORY_SECONDS - 10;
    let drop = 0;
    while (drop < this.time.length && (this.time[drop] ?? 0) < oldest) drop++;
    if (drop > 0) {
      this.time.splice(0, drop);
      for (const key of SERIES_KEYS) this.series[key].splice(0, drop);
    }
  }
}
