// The C connection-storm generator (bench/conngen/conngen.c) for the connections scenario: compiled on
// demand with the system's `cc` into dist/bench/conngen/conngen (again whenever the source is newer
// than the binary), and the command line that runs it for a GeneratorConfig. Node's own client socket
// setup (~180 µs a connection) made the Node generator the bottleneck of that scenario; see the
// comment at the top of conngen.c. `BENCH_CONNGEN=node` in run-one.ts keeps the Node one available.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratorConfig } from './generator.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench/lib once compiled
const SOURCE_IN_REPO = path.join('bench', 'conngen', 'conngen.c');

/** The binary, next to the compiled bench: dist/bench/conngen/conngen. */
export const CONNGEN_BINARY: string = path.resolve(here, '..', 'conngen', 'conngen');

/**
 * The C source. tsc does not copy it, so it is found in the repository: three levels up from
 * dist/bench/lib, or (a build outside the repository) under the current directory, which npm sets to
 * the repository root.
 */
export function conngenSource(): string {
  const candidates = [path.resolve(here, '..', '..', '..', SOURCE_IN_REPO), path.resolve(SOURCE_IN_REPO)];
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    throw new Error(`conngen: C source not found (looked at ${candidates.join(', ')})`);
  }
  return found;
}

/** Compiles conngen.c unless the binary is newer than the source; returns the binary's path. */
export function buildConngen(): string {
  const source = conngenSource();
  if (existsSync(CONNGEN_BINARY) && statSync(CONNGEN_BINARY).mtimeMs >= statSync(source).mtimeMs) {
    return CONNGEN_BINARY;
  }
  mkdirSync(path.dirname(CONNGEN_BINARY), { recursive: true });
  // Into a temporary name, then renamed: two runs compiling at once never see half a binary.
  const temporary = `${CONNGEN_BINARY}.${process.pid}.tmp`;
  const args = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', temporary, source];
  const cc = spawnSync('cc', args, { encoding: 'utf8', timeout: 60_000 });
  if (cc.error !== undefined) {
    const missing = (cc.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'conngen: no C compiler (`cc` not found): install one (Debian: apt-get install gcc), ' +
            'or run with BENCH_CONNGEN=node to use the Node.js generator for the connections scenario'
        : `conngen: running cc failed: ${cc.error.message}`,
    );
  }
  if (cc.status !== 0) {
    rmSync(temporary, { force: true });
    const output = `${cc.stderr}${cc.stdout}`.trim().slice(-2_000);
    throw new Error(`conngen: cc ${args.join(' ')} failed (status ${cc.status}):\n${output}`);
  }
  renameSync(temporary, CONNGEN_BINARY);
  return CONNGEN_BINARY;
}

/** The GeneratorConfig fields conngen takes. */
export type ConngenConfig = Pick<
  GeneratorConfig,
  | 'mode'
  | 'host'
  | 'port'
  | 'transport'
  | 'wsPath'
  | 'connections'
  | 'connectConcurrency'
  | 'connectPhaseMs'
  | 'idleHoldMs'
>;

/** Command and arguments that run conngen for `cfg` (mode 'connections'), compiling it if needed. */
export function conngenCommand(cfg: ConngenConfig): { command: string; args: string[] } {
  if (cfg.mode !== 'connections') throw new Error(`conngen only runs the connections mode, not ${cfg.mode}`);
  const command = buildConngen();
  const args = [
    cfg.host,
    String(cfg.port),
    cfg.transport,
    cfg.wsPath,
    String(cfg.connections),
    String(cfg.connectConcurrency),
    String(cfg.connectPhaseMs),
    String(cfg.idleHoldMs),
  ];
  return { command, args };
}
