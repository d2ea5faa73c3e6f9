// Command-line and environment options of `npm run bench`.

import path from 'node:path';
import { TRANSPORTS, type Transport } from './client.js';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios.js';

export type BrokerName = 'midge' | 'aedes' | 'mosquitto';
export const BROKER_NAMES: readonly BrokerName[] = ['midge', 'aedes', 'mosquitto'];

export interface Options {
  brokers: BrokerName[];
  scenarios: ScenarioName[];
  transports: Transport[];
  durationSec: number;
  warmupSec: number;
  /** The "many" side of each scenario. */
  clients: number;
  /** qos1-pairs: most unacknowledged QoS 1 PUBLISHes per publisher. */
  window: number;
  payloadBytes: number;
  batchBytes: number;
  setupTimeoutSec: number;
  pin: boolean;
  host: string;
  /** midge's entry point (default: dist/src/main.js under the current directory). */
  midgeEntry: string;
  /** Where latest.md / latest.json go. */
  outDir: string;
}

export const USAGE = `usage: npm run bench -- [options]   (or: node dist/bench/run.js [options])

  --brokers LIST     comma-separated, from ${BROKER_NAMES.join(',')} (default: all)       env BENCH_BROKERS
  --scenarios LIST   comma-separated (default: all)                                   env BENCH_SCENARIOS
                     from ${SCENARIO_NAMES.join(',')}
  --transports LIST  comma-separated, from ${TRANSPORTS.join(',')} (default: both)                env BENCH_TRANSPORTS
  --duration SEC     measurement window per run (default 5)                           env BENCH_DURATION
  --warmup SEC       load before the window starts (default 1)                        env BENCH_WARMUP
  --clients N        publishers (fan-in, fan-in-paced) / subscribers (fan-out) / pairs
                     (qos1-pairs) (default 50; stalled-subscriber: always 10 + 1)     env BENCH_CLIENTS
  --window N         qos1-pairs: unacknowledged PUBLISHes per publisher (default 64)  env BENCH_WINDOW
  --no-pin           do not pin broker and generator to separate cores                env BENCH_NO_PIN=1
  --midge PATH       midge entry point (default dist/src/main.js)                     env MIDGE_ENTRY
  --out DIR          results directory (default bench/results)                        env BENCH_OUT
  --help`;

export class UsageError extends Error {}

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new UsageError(`unknown ${what} "${item}" (use ${allowed.join(', ')})`);
  }
  if (items.length === 0) throw new UsageError(`no ${what} given`);
  return [...new Set(items)] as T[];
}

function num(value: string, what: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${what} must be in ${min}..${max}`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options | 'help' {
  const given = new Map<string, string>();
  const envMap: Record<string, string> = {
    BENCH_BROKERS: 'brokers',
    BENCH_SCENARIOS: 'scenarios',
    BENCH_TRANSPORTS: 'transports',
    BENCH_DURATION: 'duration',
    BENCH_WARMUP: 'warmup',
    BENCH_CLIENTS: 'clients',
    BENCH_WINDOW: 'window',
    MIDGE_ENTRY: 'midge',
    BENCH_OUT: 'out',
  };
  for (const [key, name] of Object.entries(envMap)) {
    const value = env[key];
    if (value !== undefined && value !== '') given.set(name, value);
  }
  let pin = env['BENCH_NO_PIN'] === undefined || env['BENCH_NO_PIN'] === '' || env['BENCH_NO_PIN'] === '0';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--no-pin') {
      pin = false;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = m?.[1];
    if (name === undefined || !Object.values(envMap).includes(name))
      throw new UsageError(`unknown option ${arg}`);
    const value = m?.[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    given.set(name, value);
  }
  return {
    brokers: list(given.get('brokers') ?? BROKER_NAMES.join(','), BROKER_NAMES, 'broker'),
    scenarios: list(given.get('scenarios') ?? SCENARIO_NAMES.join(','), SCENARIO_NAMES, 'scenario'),
    transports: list(given.get('transports') ?? TRANSPORTS.join(','), TRANSPORTS, 'transport'),
    durationSec: num(given.get('duration') ?? '5', '--duration', 0.5, 120),
    warmupSec: num(given.get('warmup') ?? '1', '--warmup', 0, 60),
    clients: Math.round(num(given.get('clients') ?? '50', '--clients', 1, 1000)),
    window: Math.round(num(given.get('window') ?? '64', '--window', 1, 4096)),
    payloadBytes: 64,
    batchBytes: 64 * 1024,
    setupTimeoutSec: 4,
    pin,
    host: '127.0.0.1',
    midgeEntry: path.resolve(given.get('midge') ?? 'dist/src/main.js'),
    outDir: path.resolve(given.get('out') ?? 'bench/results'),
  };
}
