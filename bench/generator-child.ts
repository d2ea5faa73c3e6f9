// Entry of the load-generator process (started by bench/run.ts, pinned to its own core when possible).
// argv[2] is a JSON GeneratorConfig. Progress and the final result are printed on stdout as lines
// "@@bench {json}". The process always exits by itself: a hard timeout covers every step.

import { type GeneratorConfig, LINE_PREFIX, runGenerator } from './lib/generator.js';

function emit(message: object, then?: () => void): void {
  process.stdout.write(`${LINE_PREFIX}${JSON.stringify(message)}\n`, then);
}

const raw = process.argv[2];
if (raw === undefined) {
  console.error('usage: generator-child.js <GeneratorConfig as JSON>');
  process.exit(2);
}
const cfg = JSON.parse(raw) as GeneratorConfig;

// Setup (subscribers, then publishers) + warm-up + window (or connect phase + idle hold), plus slack. Normally never fires.
const hardLimitMs =
  2 * cfg.setupTimeoutMs + cfg.warmupMs + cfg.durationMs + cfg.connectPhaseMs + cfg.idleHoldMs + 5_000;
setTimeout(() => {
  emit({ event: 'fatal', error: `generator exceeded its ${hardLimitMs} ms limit` }, () => process.exit(3));
}, hardLimitMs).unref();

runGenerator(cfg, (event) => emit({ event }))
  .then((result) => emit({ event: 'result', result }, () => process.exit(0)))
  .catch((err: unknown) => {
    emit({ event: 'fatal', error: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
  });
