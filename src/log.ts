/**
 * Logging: pino, to stderr. JSON lines when stderr is not a terminal (for log collectors); one
 * readable line per record on a terminal. stdout is kept for the "midge listening ..." lines.
 */
import { type Logger, pino } from 'pino';
import type { LogLevel } from './config/schema.js';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** A terminal-friendly rendering of pino's JSON records. */
function prettyStream(out: NodeJS.WritableStream): { write(line: string): void } {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const time = new Date(Number(record.time)).toISOString().slice(11, 23);
      const level = LEVEL_NAMES[Number(record.level)] ?? String(record.level);
      const extra = Object.entries(record)
        .filter(([key]) => !HIDDEN.has(key))
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      out.write(`${time} ${level.padEnd(5)} ${String(record.msg ?? '')}${extra ? ` ${extra}` : ''}\n`);
    },
  };
}

export function createLogger(level: LogLevel, pretty = process.stderr.isTTY === true): Logger {
  const options = { level, base: undefined };
  if (pretty) return pino(options, prettyStream(process.stderr));
  return pino(options, pino.destination({ dest: 2, sync: false }));
}
