// The brokers under test: how to find each one, its version, and the command that starts a fresh
// instance listening on a given port.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrokerName, Options } from './options.js';
import { findExecutable } from './processes.js';

export interface Launch {
  command: string;
  args: string[];
  /** Removes whatever the launch created (temporary config files). */
  cleanup: () => void;
}

export interface Broker {
  name: BrokerName;
  version: string;
  launch(port: number, host: string): Launch;
}

export type Availability = { ok: true; broker: Broker } | { ok: false; reason: string };

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const noop = (): void => {};

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
  return {
    ok: true,
    broker: {
      name: 'midge',
      version,
      launch: (port, host) => ({
        command: process.execPath,
        args: [
          ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []),
          opts.midgeEntry,
          '--port',
          String(port),
          '--ws-port',
          '0',
          '--memory',
          '--host',
          host,
          '--log-level',
          'warn',
        ],
        cleanup: noop,
      }),
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
      launch: (port, host) => ({
        command: process.execPath,
        args: [server, '--port', String(port), '--host', host],
        cleanup: noop,
      }),
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
      launch: (port, host) => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'midge-bench-mosquitto-'));
        const conf = path.join(dir, 'mosquitto.conf');
        writeFileSync(
          conf,
          [
            `listener ${port} ${host}`,
            'allow_anonymous true',
            'persistence false',
            'log_dest stderr',
            'log_type error',
            'log_type warning',
            '',
          ].join('\n'),
        );
        return {
          command: bin,
          args: ['-c', conf],
          cleanup: () => rmSync(dir, { recursive: true, force: true }),
        };
      },
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
