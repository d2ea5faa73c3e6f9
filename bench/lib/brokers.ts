// The brokers under test: how to find each one, its version, and the command that starts a fresh
// instance listening on a given port. A broker has one setup per scenario, except in durable scenarios
// (qos1-pairs) where midge runs once per store: memory, SQLite with sync durability, SQLite batched.

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrokerName, Options } from './options.js';
import { findExecutable } from './processes.js';

export interface Launch {
  command: string;
  args: string[];
  /**
   * Called once the broker has stopped: a note if its store did not end up as expected (e.g. no
   * database file written), else null.
   */
  checkStore?: () => string | null;
  /** Removes whatever the launch created (temporary config files, data directories). */
  cleanup: () => void;
}

/** The ports a broker listens on: MQTT over TCP, and MQTT over WebSocket (at WS_PATH). */
export interface Ports {
  tcp: number;
  ws: number;
}

/** The WebSocket endpoint path of every broker that has one. */
export const WS_PATH = '/mqtt';

/** One way of running a broker: its label in the tables, what it keeps its state in, how to start it. */
export interface BrokerSetup {
  /** Table label: "midge", "midge sqlite sync", "aedes", ... */
  label: string;
  /** What state is kept in, for the QoS 1 table ("memory", "SQLite, durability sync", ...). */
  store: string;
  /** Null if it serves MQTT over WebSocket (on ports.ws, WS_PATH); else why not. */
  noWebSocket: string | null;
  launch(ports: Ports, host: string): Launch;
}

export interface Broker {
  name: BrokerName;
  version: string;
  /** The setups to run for a scenario: one, or for midge in a durable scenario, one per store. */
  setups(durable: boolean): BrokerSetup[];
}

export type Availability = { ok: true; broker: Broker } | { ok: false; reason: string };

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const noop = (): void => {};

/** A fresh temporary directory, and the cleanup that removes it. */
function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `midge-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A note unless `file` exists and is not empty. */
function expectFile(file: string, what: string): string | null {
  try {
    if (statSync(file).size > 0) return null;
    return `${what}: ${file} is empty after the run`;
  } catch {
    return `${what}: ${file} was not written`;
  }
}

/** The config file midge runs with in the bench (see README: no per-address limits, like the peers). */
export const MIDGE_BENCH_CONFIG = { maxConnectionsPerAddress: 0, maxConnectRatePerAddress: 0 };

function midge(opts: Options): Availability {
  if (!existsSync(opts.midgeEntry)) {
    return { ok: false, reason: `${opts.midgeEntry} not found — run npm run build` };
  }
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // not run from the repository root: the version stays unknown
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim();
  if (commit) version += ` (${commit})`;
  // Every bench client comes from 127.0.0.1: midge's per-address limits (defaults 10,000 connections
  // and 1,000 connects/s per address) are turned off with a config file in the run's temp directory.
  const args = (ports: Ports, host: string, config: string, store: string[]): string[] => [
    ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []),
    opts.midgeEntry,
    '--config',
    config,
    '--port',
    String(ports.tcp),
    '--ws-port',
    String(ports.ws),
    '--ws-path',
    WS_PATH,
    ...store,
    '--host',
    host,
    '--log-level',
    'warn',
  ];
  const configFile = (dir: string): string => {
    const file = path.join(dir, 'midge-bench.json');
    writeFileSync(file, `${JSON.stringify(MIDGE_BENCH_CONFIG, null, 2)}\n`);
    return file;
  };
  const memory: BrokerSetup = {
    label: 'midge',
    store: 'memory (--memory)',
    noWebSocket: null,
    launch: (ports, host) => {
      const temp = tempDir('midge');
      return {
        command: process.execPath,
        args: args(ports, host, configFile(temp.dir), ['--memory']),
        cleanup: temp.cleanup,
      };
    },
  };
  // A fresh data directory per run: nothing restored at start, nothing left behind.
  const sqlite = (durability: 'sync' | 'batched'): BrokerSetup => ({
    label: `midge sqlite ${durability}`,
    store: `SQLite (--durability ${durability})`,
    noWebSocket: null,
    launch: (ports, host) => {
      const data = tempDir('midge-data');
      return {
        command: process.execPath,
        args: args(ports, host, configFile(data.dir), ['--data-dir', data.dir, '--durability', durability]),
        checkStore: () => expectFile(path.join(data.dir, 'midge.db'), 'SQLite store'),
        cleanup: data.cleanup,
      };
    },
  });
  return {
    ok: true,
    broker: {
      name: 'midge',
      version,
      setups: (durable) => (durable ? [memory, sqlite('sync'), sqlite('batched')] : [memory]),
    },
  };
}

/** Aedes' version, read from its package.json (its exports map hides "aedes/package.json"). */
export function aedesVersion(): string | null {
  try {
    const entry = createRequire(import.meta.url).resolve('aedes');
    let dir = path.dirname(entry);
    while (!existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return null;
  }
}

function aedes(): Availability {
  const version = aedesVersion();
  if (version === null) return { ok: false, reason: 'the aedes package is not installed (npm install)' };
  const server = path.join(benchDir, 'aedes-server.js');
  if (!existsSync(server)) return { ok: false, reason: `${server} not found — run npm run build` };
  return {
    ok: true,
    broker: {
      name: 'aedes',
      version,
      setups: () => [
        {
          label: 'aedes',
          store: 'memory (Aedes defaults)',
          noWebSocket: null,
          launch: (ports, host) => ({
            command: process.execPath,
            args: [
              server,
              '--port',
              String(ports.tcp),
              '--ws-port',
              String(ports.ws),
              '--ws-path',
              WS_PATH,
              '--host',
              host,
            ],
            cleanup: noop,
          }),
        },
      ],
    },
  };
}

/** "mosquitto version 2.0.11", from the first line of `mosquitto -h`, or null if not installed. */
export function mosquittoVersion(): string | null {
  const bin = findExecutable('mosquitto');
  if (bin === null) return null;
  const out = spawnSync(bin, ['-h'], { encoding: 'utf8', timeout: 5_000 });
  const first = `${out.stdout ?? ''}${out.stderr ?? ''}`.split('\n')[0]?.trim() ?? '';
  return first.replace(/^mosquitto version\s*/i, '') || 'unknown';
}

function mosquitto(): Availability {
  const bin = findExecutable('mosquitto');
  const version = mosquittoVersion();
  if (bin === null || version === null) {
    return { ok: false, reason: 'mosquitto is not installed — run bench/install-peers.sh' };
  }
  return {
    ok: true,
    broker: {
      name: 'mosquitto',
      version,
      setups: (durable) => [
        {
          label: 'mosquitto',
          store: durable ? 'persistence true' : 'persistence false',
          noWebSocket: null,
          launch: (ports, host) => {
            const temp = tempDir('mosquitto');
            const conf = path.join(temp.dir, 'mosquitto.conf');
            const store = path.join(temp.dir, 'store');
            if (durable) {
              // Started as root, Mosquitto drops to its own user (`user`, default mosquitto), which
              // must be able to write the snapshot: open up just this temporary directory.
              mkdirSync(store);
              chmodSync(temp.dir, 0o755);
              chmodSync(store, 0o777);
            }
            writeFileSync(
              conf,
              [
                `listener ${ports.tcp} ${host}`,
                'allow_anonymous true',
                // Debian's 2.0.11 is built with libwebsockets; it serves MQTT on any path.
                `listener ${ports.ws} ${host}`,
                'protocol websockets',
                'allow_anonymous true',
                ...(durable ? ['persistence true', `persistence_location ${store}/`] : ['persistence false']),
                'log_dest stderr',
                'log_type error',
                'log_type warning',
                '',
              ].join('\n'),
            );
            return {
              command: bin,
              args: ['-c', conf],
              ...(durable
                ? { checkStore: () => expectFile(path.join(store, 'mosquitto.db'), 'Mosquitto persistence') }
                : {}),
              cleanup: temp.cleanup,
            };
          },
        },
      ],
    },
  };
}

export function findBroker(name: BrokerName, opts: Options): Availability {
  switch (name) {
    case 'midge':
      return midge(opts);
    case 'aedes':
      return aedes();
    case 'mosquitto':
      return mosquitto();
  }
}
