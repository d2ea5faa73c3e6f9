/**
 * The benchmark's C connection-storm generator (bench/conngen/conngen.c, built by bench/lib/conngen.ts):
 * compiled with `cc`, run against a midge broker in this process over TCP and over WebSocket, it must
 * report every client opened, and the broker must really hold each one connected and subscribed to its
 * own conn/<i> while the generator says "idle". Skipped when there is no C compiler.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type ConngenConfig, conngenCommand } from '../../bench/lib/conngen.js';
import type { GeneratorResult } from '../../bench/lib/generator.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';

const CLIENTS = 300;
const CONCURRENCY = 50;
const CONNECT_PHASE_MS = 10_000;
const IDLE_HOLD_MS = 100;
/** Beyond the generator's own hard limit (connect phase + 1.2 s + hold + 5 s): kill it. */
const KILL_AFTER_MS = CONNECT_PHASE_MS + 10_000;
const LINE_PREFIX = '@@bench ';

const noCompiler = spawnSync('cc', ['--version']).error !== undefined;

interface Run {
  events: string[];
  result: GeneratorResult | null;
  /** Connected and subscribed bench-conn-<i> sessions, counted when the generator said "idle". */
  subscribedAtIdle: number | null;
  exitCode: number | null;
  output: string;
}

/** Sessions bench-conn-0..count-1 that are connected and subscribed to their own conn/<i>. */
function subscribedClients(b: TestBroker, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) {
    const session = b.broker.core.sessions.get(`bench-conn-${i}`);
    if (session !== undefined && session.output !== null && session.subscriptions.has(`conn/${i}`)) n++;
  }
  return n;
}

/** Runs conngen to its end (asynchronously: the broker answers from this same process). */
function runConngen(b: TestBroker, cfg: ConngenConfig): Promise<Run> {
  const { command, args } = conngenCommand(cfg);
  const run: Run = { events: [], result: null, subscribedAtIdle: null, exitCode: null, output: '' };
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    run.output += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith(LINE_PREFIX)) continue;
      const msg = JSON.parse(line.slice(LINE_PREFIX.length)) as { event: string; result?: GeneratorResult };
      run.events.push(msg.event);
      if (msg.event === 'idle') run.subscribedAtIdle = subscribedClients(b, cfg.connections);
      if (msg.event === 'result' && msg.result !== undefined) run.result = msg.result;
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    run.output += chunk.toString('utf8');
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      run.exitCode = code;
      resolve(run);
    });
  });
}

describe('bench conngen (C connection-storm generator)', {
  skip: noCompiler ? 'no C compiler (cc)' : false,
}, () => {
  let b: TestBroker;

  before(async () => {
    b = await startBroker({
      // Every client comes from 127.0.0.1: no per-address limits (as the benchmark configures midge).
      maxConnectionsPerAddress: 0,
      maxConnectRatePerAddress: 0,
      listeners: [
        { type: 'tcp', host: '127.0.0.1', port: 0 },
        { type: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
      ],
    });
  });
  after(() => b.close());

  for (const transport of ['tcp', 'ws'] as const) {
    test(`${CLIENTS} clients over ${transport}, ${CONCURRENCY} handshakes at a time`, async () => {
      const port = b.addresses[transport === 'tcp' ? 0 : 1]?.port;
      assert.ok(port !== undefined, `the ${transport} listener's port`);
      const run = await runConngen(b, {
        mode: 'connections',
        host: '127.0.0.1',
        port,
        transport,
        wsPath: '/mqtt',
        connections: CLIENTS,
        connectConcurrency: CONCURRENCY,
        connectPhaseMs: CONNECT_PHASE_MS,
        idleHoldMs: IDLE_HOLD_MS,
      });
      assert.equal(run.exitCode, 0, run.output);
      assert.deepEqual(run.events, ['measure-start', 'idle', 'measure-end', 'result'], run.output);
      const result = run.result;
      assert.ok(result !== null, run.output);
      assert.equal(result.ok, true, result.error);
      assert.equal(result.connections?.count, CLIENTS);
      assert.ok((result.connections?.ms ?? 0) > 0 && result.elapsedMs === result.connections?.ms);
      const rate = (CLIENTS * 1000) / result.elapsedMs; // elapsedMs is rounded: allow for it
      assert.ok(Math.abs((result.connections?.perSec ?? 0) - rate) <= rate * 0.02 + 1);
      assert.equal(result.closedByBroker, 0, result.closeReasons.join('; '));
      assert.equal(result.firstCloseMs, null);
      assert.equal(result.delivered, 0);
      assert.ok(result.cpuPercent >= 0 && result.saturated === result.cpuPercent > 90);
      // The broker's side: every client connected and subscribed while the generator held them idle.
      assert.equal(run.subscribedAtIdle, CLIENTS);
    });
  }
});
