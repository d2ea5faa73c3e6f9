// The benchmark scenarios: who publishes where, who subscribes to what, at which QoS, and how the
// load is driven (flood, paced, flood with a stalled subscriber, QoS 1 window, fixed rate, connection
// storm). Each runs over TCP and WebSocket.

import type { GeneratorMode } from './generator.js';
import { PACED_BATCHES } from './overload.js';

export type ScenarioName =
  | 'fan-in'
  | 'fan-in-paced'
  | 'fan-out'
  | 'stalled-subscriber'
  | 'qos1-pairs'
  | 'latency'
  | 'connections';
export const SCENARIO_NAMES: readonly ScenarioName[] = [
  'fan-in',
  'fan-in-paced',
  'fan-out',
  'stalled-subscriber',
  'qos1-pairs',
  'latency',
  'connections',
];

/** latency: total QoS 1 PUBLISHes per second. */
export const LATENCY_RATE = 2_000;
/** latency: shortest warm-up and window (see Scenario.minWarmupSec). */
export const LATENCY_WARMUP_SEC = 5;
export const LATENCY_DURATION_SEC = 20;
/** connections: clients opened. */
export const CONNECTIONS = 5_000;
/** stalled-subscriber: subscribers of bench/x, one of which stops reading. */
export const STALL_SUBSCRIBERS = 10;

export interface Scenario {
  name: ScenarioName;
  /** One line for the table notes and the README. */
  description: string;
  publishTopics: string[];
  subscribeFilters: string[];
  qos: 0 | 1;
  mode: GeneratorMode;
  /** latency: PUBLISHes per second (total). */
  rate: number;
  /** connections: clients to open. */
  connections: number;
  /**
   * Subscribers keep sessions that outlive their connection, and the brokers run with their
   * persistence on (midge also once per store configuration): see brokers.ts.
   */
  durable: boolean;
  /**
   * Shortest warm-up and window for this scenario, whatever --warmup / --duration say. latency: at
   * 2,000 msg/s a Node.js broker's handlers are still being optimised by the JIT seconds into the run,
   * and the 99th percentile of a 5 s window is 100 messages — a few slow turns or one GC move it.
   */
  minWarmupSec?: number;
  minDurationSec?: number;
  /** paced: the flood with the same topology and packets, whose rate the report compares with this. */
  floodTwin?: ScenarioName;
}

/** `clients` is the "many" side of each scenario (50 by default); `window` the QoS 1 window. */
export function buildScenario(name: ScenarioName, clients: number, window: number): Scenario {
  const many = Array.from({ length: clients }, (_, i) => i);
  const load = { rate: 0, connections: 0 };
  if (name === 'latency') {
    return {
      name,
      description:
        `QoS 1 at a fixed ${LATENCY_RATE.toLocaleString('en-US')} msg/s: 1 publisher → lat/0 → 1 subscriber ` +
        '(clean sessions); publish→delivery latency of every message (timestamp in the payload)',
      publishTopics: ['lat/0'],
      subscribeFilters: ['lat/0'],
      qos: 1,
      mode: 'latency',
      rate: LATENCY_RATE,
      connections: 0,
      durable: false,
      minWarmupSec: LATENCY_WARMUP_SEC,
      minDurationSec: LATENCY_DURATION_SEC,
    };
  }
  if (name === 'connections') {
    return {
      name,
      description:
        `${CONNECTIONS.toLocaleString('en-US')} clients, each CONNECT (clean session) + one SUBSCRIBE ` +
        'at QoS 0 (conn/<i>), as fast as the broker takes them; then held idle',
      publishTopics: [],
      subscribeFilters: [],
      qos: 0,
      mode: 'connections',
      rate: 0,
      connections: CONNECTIONS,
      durable: false,
    };
  }
  if (name === 'fan-in' || name === 'fan-in-paced') {
    const topology = `${clients} publishers, each on its own topic bench/<i> → 1 subscriber on bench/#`;
    return {
      name,
      description:
        name === 'fan-in'
          ? topology
          : `${topology}, paced: publishers take turns writing a batch while the PUBLISHes written ` +
            `but not yet delivered stay within ${PACED_BATCHES} batches in all`,
      publishTopics: many.map((i) => `bench/${i}`),
      subscribeFilters: ['bench/#'],
      qos: 0,
      mode: name === 'fan-in' ? 'flood' : 'paced',
      ...load,
      durable: false,
      ...(name === 'fan-in-paced' ? { floodTwin: 'fan-in' as const } : {}),
    };
  }
  if (name === 'stalled-subscriber') {
    return {
      name,
      description:
        `QoS 0 floods: 1 publisher on bench/x → ${STALL_SUBSCRIBERS} subscribers, the last of which ` +
        'stops reading (connection kept open) half way through the window; 1 publisher on bench/y → ' +
        '1 subscriber (an unrelated stream)',
      publishTopics: ['bench/x', 'bench/y'],
      subscribeFilters: [...Array.from({ length: STALL_SUBSCRIBERS }, () => 'bench/x'), 'bench/y'],
      qos: 0,
      mode: 'stall',
      ...load,
      durable: false,
    };
  }
  if (name === 'fan-out') {
    return {
      name,
      description: `1 publisher on bench/x → ${clients} subscribers of bench/x (deliveries counted across all)`,
      publishTopics: ['bench/x'],
      subscribeFilters: many.map(() => 'bench/x'),
      qos: 0,
      mode: 'flood',
      ...load,
      durable: false,
    };
  }
  return {
    name,
    description:
      `${clients} pairs at QoS 1: publisher i → pairs/i → subscriber i (Clean Session 0, fixed client ` +
      `id, PUBACKs every PUBLISH); each publisher keeps ${window} PUBLISHes unacknowledged`,
    publishTopics: many.map((i) => `pairs/${i}`),
    subscribeFilters: many.map((i) => `pairs/${i}`),
    qos: 1,
    mode: 'window',
    ...load,
    durable: true,
  };
}
