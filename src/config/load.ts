/**
 * Where the configuration comes from, in order of precedence: defaults < config file (JSON) <
 * command-line flags. Every flag is also a config-file key.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BrokerConfig, DEFAULT_CONFIG } from './schema.js';
import { applyConfig, ConfigError } from './validate.js';

export interface CommandLine {
  help: boolean;
  version: boolean;
  config: BrokerConfig;
}

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export const USAGE = `Usage: midge [options]

Starts the midge MQTT broker.

Options:
  --port N           TCP listener port (default 1883; 0 disables it)
  --host ADDR        address the TCP listener binds (default: every interface)
  -c, --config FILE  JSON configuration file (every key: docs/configuration.md)
  --log-level LEVEL  fatal, error, warn, info (default), debug, trace or silent
  -h, --help         show this help
  -v, --version      show the version
`;

function parseInteger(flag: string, value: string): number {
  if (!/^\d+$/.test(value))
    throw new ConfigError('command line', `--${flag}`, `must be a whole number (got "${value}")`);
  return Number(value);
}

export function loadCommandLine(argv: string[]): CommandLine {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true; allowPositionals: false }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ConfigError('command line', 'flags', (error as Error).message);
  }
  const values = parsed.values;
  let config = DEFAULT_CONFIG;
  if (values.config !== undefined) {
    const file = values.config;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        file,
        '(file)',
        `cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(file, '(file)', `is not valid JSON: ${(error as Error).message}`);
    }
    config = applyConfig(config, json, file);
  }
  const flags: Record<string, unknown> = {};
  if (values.port !== undefined) flags.port = parseInteger('port', values.port);
  if (values.host !== undefined) flags.host = values.host;
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  try {
    config = applyConfig(config, flags, 'command line');
  } catch (error) {
    if (error instanceof ConfigError) {
      const flag = error.key === 'logLevel' ? '--log-level' : `--${error.key}`;
      throw new ConfigError('command line', flag, error.reason);
    }
    throw error;
  }
  return { help: values.help === true, version: values.version === true, config };
}
