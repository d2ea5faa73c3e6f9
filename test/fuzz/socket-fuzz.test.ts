/**
 * A short socket fuzzing run on every test run (fuzz/socket-fuzz.ts says what it checks). It runs in a
 * child process started with --expose-gc, so that the memory check runs although the suite does not
 * expose gc, and so that a broker hung in a loop is killed by the timeout instead of hanging the suite.
 * The seed is random unless SOCKET_FUZZ_SEED is set; it is in the test's name, and every failure says
 * how to replay it:
 *   SOCKET_FUZZ_SEED=<seed> node --test dist/test/fuzz/socket-fuzz.test.js
 *   node --expose-gc dist/fuzz/socket-run.js 60 <seed>
 * SOCKET_FUZZ_SECONDS lengthens the run; SOCKET_FUZZ_CLIENTS and SOCKET_FUZZ_STRICT pass through.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SocketFuzzReport } from '../../fuzz/socket-fuzz.js';

const seedEnv = Number(process.env.SOCKET_FUZZ_SEED);
const seed = Number.isInteger(seedEnv) ? seedEnv : Math.floor(Math.random() * 2 ** 31);
const seconds = Number(process.env.SOCKET_FUZZ_SECONDS ?? 8);
const RUNNER = fileURLToPath(new URL('../../fuzz/socket-run.js', import.meta.url));
/** The run ends within its duration plus about 15 s even when the broker misbehaves; then it is killed. */
const KILL_AFTER_MS = (seconds + 45) * 1000;
/** Liveness, not speed: a probe round trip at p99 must stay under this. */
const P99_BOUND_MS = 1000;

interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runFuzzer(): Promise<Child> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', RUNNER, String(seconds), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

test(`socket fuzzing over TCP and WebSocket (SOCKET_FUZZ_SEED=${seed})`, async (t) => {
  t.diagnostic(`SOCKET_FUZZ_SEED=${seed}, ${seconds} s`);
  const child = await runFuzzer();
  const tail = child.stderr.slice(-4000);
  assert.ok(
    !child.timedOut,
    `the fuzzer did not finish within ${KILL_AFTER_MS} ms (a hung broker?)\n${tail}`,
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  let report: SocketFuzzReport;
  try {
    report = JSON.parse(last) as SocketFuzzReport;
  } catch {
    assert.fail(`the fuzzer (exit ${child.code}) printed no report\n${tail}`);
  }
  t.diagnostic(JSON.stringify({ ...report, failures: report.failures.length }));
  assert.deepEqual(report.failures, [], `the socket fuzzer failed (SOCKET_FUZZ_SEED=${seed})`);
  assert.equal(child.code, 0, tail);
  // A fuzzer that runs few cases, or whose probe never got through, is not testing much.
  assert.ok(report.cases >= 30, `only ${report.cases} cases ran`);
  for (const scenario of ['session', 'mutated', 'ws-frames', 'ws-upgrade']) {
    assert.ok((report.scenarios[scenario] ?? 0) > 0, `no ${scenario} case ran`);
  }
  assert.ok(report.probe.roundTrips > 0, 'the probe made no round trip');
  assert.ok(
    report.probe.p99 < P99_BOUND_MS,
    `probe round trips: p99 ${report.probe.p99} ms, over ${P99_BOUND_MS} ms (max ${report.probe.max} ms)`,
  );
  // --expose-gc was given: the memory check ran (its failure would be in report.failures).
  assert.equal(report.gc, true, 'gc was not exposed to the fuzzer: the memory check did not run');
  assert.ok(report.heapAfter > 0 && report.heapBefore > 0);
});
