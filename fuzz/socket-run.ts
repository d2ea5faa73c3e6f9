/**
 * Socket fuzzing from the command line (the test suite runs a short one in a child process):
 *   node --expose-gc dist/fuzz/socket-run.js [seconds] [seed] [case]    e.g. ... socket-run.js 600
 * A random seed is chosen and printed unless one is given; with a case, that one case runs alone
 * (replay). --expose-gc enables the memory check (without it the check is skipped, with a note).
 * SOCKET_FUZZ_CLIENTS sets the number of concurrent hostile clients (default 16); SOCKET_FUZZ_STRICT=1
 * makes known issues failures.
 *
 * Progress goes to stderr; the report is the last line of stdout, as JSON. Exit status 1 on failures.
 */
import { fuzzSockets } from './socket-fuzz.js';

const seconds = Number(process.argv[2] ?? 60);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : Math.floor(Math.random() * 2 ** 31);
const onlyCase = process.argv[4] !== undefined ? Number(process.argv[4]) : undefined;
const clients =
  process.env.SOCKET_FUZZ_CLIENTS !== undefined ? Number(process.env.SOCKET_FUZZ_CLIENTS) : undefined;
const strict = process.env.SOCKET_FUZZ_STRICT === '1';

console.error(
  onlyCase !== undefined
    ? `socket fuzzing: case ${onlyCase} of SOCKET_FUZZ_SEED=${seed}`
    : `socket fuzzing for ${seconds}s with SOCKET_FUZZ_SEED=${seed}`,
);
const report = await fuzzSockets({
  seed,
  durationMs: seconds * 1000,
  clients,
  onlyCase,
  strict,
  log: (line) => console.error(line),
});
for (const failure of report.failures) console.error(`FAILURE: ${failure}\n`);
const code = report.failures.length > 0 ? 1 : 0;
process.exitCode = code;
process.stdout.write(`${JSON.stringify(report)}\n`, () => {
  // Whatever a hostile client left behind must not keep the process alive.
  setTimeout(() => process.exit(code), 1000).unref();
});
