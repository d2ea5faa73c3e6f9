/**
 * Where the configuration comes from, in order of precedence: defaults < config file (JSON) <
 * command-line flags. Every flag is also a config-file key.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BrokerConfig, DEFAULT_CONFIG } from './schema.js';
import { applyConfig, ConfigError, checkConfig } from './validate.js';

export interface CommandLine {
  help: boolean;
  version: boolean;
  config: BrokerConfig;
  /** Where the configuration came from, for errors found after loading (the files it names). */
  source: string;
}

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'ws-port': { type: 'string' },
  'ws-path': { type: 'string' },
  'tls-port': { type: 'string' },
  'wss-port': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  'data-dir': { type: 'string' },
  durability: { type: 'string' },
  memory: { type: 'boolean' },
  fsync: { type: 'boolean' },
  'password-file': { type: 'string' },
  'acl-file': { type: 'string' },
  'allow-anonymous': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export const USAGE = `Usage: midge [options]

Starts the midge MQTT broker.

Options:
  --port N           MQTT over TCP port (default 1883; 0 disables it)
  --ws-port N        MQTT over WebSocket port (default 8080; 0 disables it)
  --ws-path PATH     WebSocket endpoint path (default /mqtt)
  --tls-port N       MQTT over TLS port (default: none; needs --cert and --key)
  --wss-port N       MQTT over secure WebSocket port (default: none; needs --cert and --key)
  --cert FILE        PEM certificate chain for the tls and wss listeners
  --key FILE         PEM private key for the tls and wss listeners
  --ca FILE          PEM CA bundle that client certificates are checked against
  --host ADDR        address every listener binds (default: every interface)
  --data-dir DIR     where the SQLite store keeps its file (default ./data)
  --memory           keep state in memory only: nothing survives a restart
  --durability MODE  sync (default: acknowledge after commit) or batched
  --fsync            fsync every commit (survives power loss; slower)
  --password-file F  users and scrypt hashes (create with: midge passwd F USER)
  --acl-file FILE    what each client may publish and subscribe to (docs/security.md)
  --allow-anonymous  accept clients without credentials from any address (by default:
                     from this machine only, and only while no authentication is set up)
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
  const portFlags = [
    ['port', 'port'],
    ['ws-port', 'wsPort'],
    ['tls-port', 'tlsPort'],
    ['wss-port', 'wssPort'],
  ] as const;
  for (const [flag, key] of portFlags) {
    const value = values[flag];
    if (value !== undefined) flags[key] = parseInteger(flag, value);
  }
  if (values['ws-path'] !== undefined) flags.wsPath = values['ws-path'];
  for (const key of ['host', 'cert', 'key', 'ca'] as const) {
    if (values[key] !== undefined) flags[key] = values[key];
  }
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  if (values['data-dir'] !== undefined) flags.dataDir = values['data-dir'];
  if (values.durability !== undefined) flags.durability = values.durability;
  if (values.memory === true) flags.store = 'memory';
  if (values.fsync === true) flags.fsync = true;
  if (values['password-file'] !== undefined) flags.passwordFile = values['password-file'];
  if (values['acl-file'] !== undefined) flags.aclFile = values['acl-file'];
  if (values['allow-anonymous'] === true) flags.allowAnonymous = true;
  try {
    config = applyConfig(config, flags, 'command line');
  } catch (error) {
    if (error instanceof ConfigError) {
      const flag = `--${error.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new ConfigError('command line', flag, error.reason);
    }
    throw error;
  }
  checkConfig(config, values.config ?? 'command line');
  return {
    help: values.help === true,
    version: values.version === true,
    config,
    source: values.config ?? 'command line',
  };
}
