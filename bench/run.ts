// Entry of `npm run bench`: every selected scenario against every available broker, each on a fresh
// broker process, then the summary table on stdout and in bench/results/latest.md (+ latest.json).
// Run from the repository root (npm does). See bench/README.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { aedesVersion, type Broker, findBroker, mosquittoVersion } from './lib/brokers.js';
import { describeMachine } from './lib/machine.js';
import { type Options, parseOptions, USAGE, UsageError } from './lib/options.js';
import { allowedCpus, findTaskset } from './lib/processes.js';
import { headlineFigure, noteLines, type RunInfo, renderMarkdown, renderSummaryText } from './lib/report.js';
import { type Outcome, type Pinning, runOne } from './lib/run-one.js';
import { buildScenario } from './lib/scenarios.js';

function choosePinning(opts: Options): { pinning: Pinning | null; text: string } {
  if (!opts.pin) return { pinning: null, text: 'none (--no-pin)' };
  const cpus = allowedCpus();
  if (cpus.length < 2)
    return { pinning: null, text: `none (only ${cpus.length || 'unknown'} CPU(s) available)` };
  if (findTaskset() === null)
    return { pinning: null, text: 'none (taskset not found; run bench/install-peers.sh)' };
  const [broker, generator] = cpus as [number, number];
  return {
    pinning: { broker, generator },
    text: `broker on CPU ${broker}, load generator on CPU ${generator} (taskset -c)`,
  };
}

async function main(): Promise<number> {
  let parsed: Options | 'help';
  try {
    parsed = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const opts = parsed;
  const log = (line: string): void => console.log(line);

  const { pinning, text: pinningText } = choosePinning(opts);
  const scenarios = opts.scenarios.map((name) => buildScenario(name, opts.clients, opts.window));
  const brokers: Broker[] = [];
  const skipped: RunInfo['skipped'] = [];
  for (const name of opts.brokers) {
    const found = findBroker(name, opts);
    if (found.ok) brokers.push(found.broker);
    else {
      skipped.push({ broker: name, reason: found.reason });
      log(`SKIPPING ${name}: ${found.reason}`);
    }
  }

  const perRun = opts.warmupSec + opts.durationSec + 2;
  const runs = scenarios.reduce(
    (n, s) =>
      n +
      brokers.reduce(
        (m, b) =>
          m +
          b
            .setups(s.durable)
            .reduce(
              (k, setup) =>
                k + opts.transports.filter((t) => t === 'tcp' || setup.noWebSocket === null).length,
              0,
            ),
        0,
      ),
    0,
  );
  log(
    `midge bench: ${scenarios.map((s) => s.name).join(', ')} × ${brokers.map((b) => b.name).join(', ') || 'no broker'} ` +
      `over ${opts.transports.join(', ')}; ${runs} runs, warm-up ${opts.warmupSec} s + window ${opts.durationSec} s ` +
      `each (~${Math.ceil(perRun * runs)} s)`,
  );
  log(`pinning: ${pinningText}`);

  const outcomes: Outcome[] = [];
  for (const scenario of scenarios) {
    log(`\n${scenario.name}: ${scenario.description}`);
    for (const transport of opts.transports)
      for (const broker of brokers.flatMap((b) => b.setups(scenario.durable))) {
        const outcome = await runOne(broker, scenario, transport, opts, pinning, log);
        outcomes.push(outcome);
        if (outcome.status === 'skipped') {
          log(`  → ${broker.label} over ${transport}: skipped (${outcome.reason ?? ''})`);
          continue;
        }
        const g = outcome.gen;
        const figure = g !== undefined ? headlineFigure(outcome) : '';
        const extra = [
          g !== undefined ? `generator CPU ${g.cpuPercent}%${g.saturated ? ' SATURATED' : ''}` : '',
          outcome.brokerCpuPercent !== undefined ? `broker CPU ${outcome.brokerCpuPercent}%` : '',
        ].filter((s) => s !== '');
        log(
          `  → ${broker.label} over ${transport}: ${outcome.status.toUpperCase()} ${figure}${extra.length ? ` (${extra.join(', ')})` : ''}`,
        );
        if (outcome.status !== 'ok') log(`    ${outcome.reason ?? ''}`);
        for (const note of outcome.notes) log(`    note: ${note}`);
      }
  }

  const info: RunInfo = {
    date: new Date(),
    command: ['node', 'dist/bench/run.js', ...process.argv.slice(2)].join(' '),
    machine: describeMachine(),
    versions: {
      midge: brokers.find((b) => b.name === 'midge')?.version ?? 'not run',
      aedes: aedesVersion() ?? 'not installed',
      mosquitto: mosquittoVersion() ?? 'not installed',
    },
    pinning: pinningText,
    opts,
    scenarios,
    brokers: opts.brokers,
    skipped,
  };
  log(`\n${renderSummaryText(info, outcomes)}\n`);
  const notes = noteLines(info, outcomes);
  if (notes.length > 0) log(`${notes.map((n) => `* ${n}`).join('\n')}\n`);

  mkdirSync(opts.outDir, { recursive: true });
  const md = path.join(opts.outDir, 'latest.md');
  writeFileSync(md, renderMarkdown(info, outcomes));
  writeFileSync(path.join(opts.outDir, 'latest.json'), `${JSON.stringify({ ...info, outcomes }, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), md) || md}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench: unexpected error:', err);
    process.exit(1);
  },
);
