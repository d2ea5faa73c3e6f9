// Child processes of the benchmark (brokers and the load generator): start, optionally pinned to one
// core with taskset; keep the tail of their output for diagnostics; stop them for sure; read their CPU
// time and memory from /proc.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const OUTPUT_TAIL_CHARS = 4_000;

export interface Managed {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<void>;
  /** Set once exited: how. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Last few KB of stdout + stderr. */
  output(): string;
}

const live = new Set<ChildProcess>();

/** Kill whatever is still running if the benchmark itself exits or is interrupted. */
function killAllSync(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

let tasksetPath: string | null | undefined;
export function findTaskset(): string | null {
  if (tasksetPath === undefined) tasksetPath = findExecutable('taskset');
  return tasksetPath;
}

/** Looks `name` up in PATH and the sbin directories (Debian puts mosquitto in /usr/sbin). */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return null;
}

/** CPUs this process may run on, from /proc/self/status (e.g. "0-1" or "2,4-5"). */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    if (list === undefined) return [];
    const cpus: number[] = [];
    for (const part of list.split(',')) {
      const [from, to] = part.split('-').map(Number);
      if (from === undefined || Number.isNaN(from)) continue;
      for (let c = from; c <= (to ?? from); c++) cpus.push(c);
    }
    return cpus;
  } catch {
    return [];
  }
}

/** Starts `command args`, under `taskset -c <cpu>` when `cpu` is given (taskset execs: same pid). */
export function startProcess(command: string, args: string[], cpu: number | null): Managed {
  const taskset = cpu === null ? null : findTaskset();
  const child =
    taskset === null
      ? spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(taskset, ['-c', String(cpu), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const managed: Managed = {
    child,
    pid: child.pid ?? -1,
    exit: null,
    output: () => tail,
    exited: new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        managed.exit = { code, signal };
        live.delete(child);
        resolve();
      });
      child.once('error', (err) => {
        keep(Buffer.from(`spawn error: ${err.message}\n`));
        managed.exit = { code: null, signal: null };
        live.delete(child);
        resolve();
      });
    }),
  };
  return managed;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(managed: Managed, graceMs: number): Promise<void> {
  if (managed.exit !== null) return;
  managed.child.kill('SIGTERM');
  const timer = setTimeout(() => managed.child.kill('SIGKILL'), graceMs);
  await managed.exited;
  clearTimeout(timer);
}

/** "exited with code 1" / "killed by SIGABRT". */
export function describeExit(managed: Managed): string {
  const exit = managed.exit;
  if (exit === null) return 'still running';
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The last few meaningful output lines (error lines first choice; no stack frames), joined with " | ". */
export function outputSummary(managed: Managed, maxLines = 2): string {
  const lines = managed
    .output()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at ') && !/^\^+$/.test(l) && !/^Node\.js v\d/.test(l));
  const errors = lines.filter((l) => /error|fatal|abort|memory|killed|exception/i.test(l));
  return (errors.length > 0 ? errors : lines).slice(-maxLines).join(' | ') || '(no output)';
}

/** Resolves true if the process exits within `ms`. */
export async function exitsWithin(managed: Managed, ms: number): Promise<boolean> {
  if (managed.exit !== null) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([managed.exited, timeout]);
  clearTimeout(timer);
  return managed.exit !== null;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

export interface ProcSample {
  /** user + system CPU time, seconds */
  cpuSeconds: number;
  /** peak resident set size so far, KiB */
  peakRssKiB: number;
  /** current resident set size, KiB */
  rssKiB: number;
  at: number;
}

/** CPU time and peak RSS of a live process, or null if it is gone (or /proc is unavailable). */
export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    const at = performance.now();
    return { cpuSeconds: ticks / ticksPerSecond(), peakRssKiB: kib('VmHWM'), rssKiB: kib('VmRSS'), at };
  } catch {
    return null;
  }
}
