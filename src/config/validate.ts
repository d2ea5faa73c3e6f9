/**
 * Turns untrusted configuration input into a BrokerConfig, or a ConfigError that names the source,
 * the key and the reason — so a bad file or flag stops start-up with one clear line.
 */
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import {
  type BrokerConfig,
  type ConfigInput,
  DEFAULT_CONFIG,
  type JwtConfig,
  LISTENER_TYPES,
  type ListenerConfig,
  type ListenerType,
  LOG_LEVELS,
  type LogLevel,
  SHARED_STRATEGIES,
  type SharedStrategy,
} from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${source}: ${key}: ${reason}`);
    this.name = 'ConfigError';
  }
}

interface IntRule {
  min: number;
  max: number;
}

const INTEGER_KEYS: Record<string, IntRule> = {
  maxPacketSize: { min: 64, max: 268_435_455 + 5 },
  maxClientIdLength: { min: 23, max: 65535 },
  maxTopicLevels: { min: 1, max: 65535 },
  maxTopicLength: { min: 1, max: 65535 },
  maxSubscriptionsPerClient: { min: 1, max: 10_000_000 },
  connectTimeout: { min: 100, max: 3_600_000 },
  maxConnections: { min: 0, max: 10_000_000 },
  maxConnectionsPerAddress: { min: 0, max: 10_000_000 },
  maxConnectRatePerAddress: { min: 0, max: 1_000_000 },
  maxAuthFailures: { min: 0, max: 1_000_000 },
  authFailureWindow: { min: 1_000, max: 86_400_000 },
  maxPublishRate: { min: 0, max: 100_000_000 },
  maxQueuedBytesTotal: { min: 0, max: 2 ** 48 },
  maxInflight: { min: 1, max: 65535 },
  maxQueuedMessages: { min: 0, max: 10_000_000 },
  maxQueuedBytes: { min: 0, max: 2 ** 40 },
  drainTimeout: { min: 100, max: 3_600_000 },
  publisherHoldTimeout: { min: 0, max: 3_600_000 },
  fanoutHoldTimeout: { min: 0, max: 3_600_000 },
  receiveMaximum: { min: 1, max: 65535 },
  topicAliasMaximum: { min: 0, max: 65535 },
  maxSessionExpiryInterval: { min: 0, max: 0xffffffff },
  maxKeepAlive: { min: 1, max: 65535 },
  batchInterval: { min: 1, max: 60_000 },
  maxStoreBytes: { min: 0, max: 2 ** 48 },
  sysInterval: { min: 0, max: 86_400 },
  shutdownTimeout: { min: 0, max: 600_000 },
};

const SHORTCUT_KEYS = ['port', 'host', 'wsPort', 'wsPath', 'tlsPort', 'wssPort', 'cert', 'key', 'ca'];
const OPTIONAL_KEYS = ['allowAnonymous', 'passwordFile', 'aclFile', 'jwt'];
const KNOWN_KEYS = new Set([...Object.keys(DEFAULT_CONFIG), ...SHORTCUT_KEYS, ...OPTIONAL_KEYS]);

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function integer(source: string, key: string, value: unknown, rule: IntRule): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
    throw new ConfigError(
      source,
      key,
      `must be an integer from ${rule.min} to ${rule.max} (got ${describe(value)})`,
    );
  }
  return value;
}

const LISTENER_KEYS: Record<string, readonly ListenerType[]> = {
  type: LISTENER_TYPES,
  host: LISTENER_TYPES,
  port: LISTENER_TYPES,
  maxPacketSize: LISTENER_TYPES,
  cert: ['tls', 'wss'],
  key: ['tls', 'wss'],
  ca: ['tls', 'wss'],
  requireClientCertificate: ['tls', 'wss'],
  certificateUsername: ['tls', 'wss'],
  path: ['ws', 'wss'],
  subprotocols: ['ws', 'wss'],
  requireSubprotocol: ['ws', 'wss'],
  allowedOrigins: ['ws', 'wss'],
  perMessageDeflate: ['ws', 'wss'],
  packetsPerFrame: ['ws', 'wss'],
  trustedProxies: ['ws', 'wss'],
  tokenCookie: ['ws', 'wss'],
  tokenQueryParameter: ['ws', 'wss'],
  proxyProtocol: ['tcp', 'ws'],
};

function oneOf<T extends string>(source: string, key: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new ConfigError(source, key, `must be one of ${allowed.join(', ')} (got ${describe(value)})`);
  }
  return value as T;
}

function boolean(source: string, key: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new ConfigError(source, key, `must be true or false (got ${describe(value)})`);
  return value;
}

function text(source: string, key: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new ConfigError(source, key, `must be a string (got ${describe(value)})`);
  return value;
}

function strings(
  source: string,
  key: string,
  value: unknown,
  check?: (s: string) => string | null,
): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new ConfigError(source, key, 'must be an array of strings');
  }
  for (const entry of value as string[]) {
    const problem = check?.(entry);
    if (problem) throw new ConfigError(source, key, `${problem} (got ${describe(entry)})`);
  }
  return value as string[];
}

function wsPath(source: string, key: string, value: unknown): string {
  const path = text(source, key, value);
  if (!path.startsWith('/'))
    throw new ConfigError(source, key, `must start with "/" (got ${describe(path)})`);
  return path;
}

function listener(source: string, key: string, value: unknown): ListenerConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(source, key, 'must be an object like { "type": "tcp", "port": 1883 }');
  }
  const input = value as Record<string, unknown>;
  const type = oneOf(source, `${key}.type`, input.type ?? 'tcp', LISTENER_TYPES);
  for (const name of Object.keys(input)) {
    const types = LISTENER_KEYS[name];
    if (types === undefined) throw new ConfigError(source, `${key}.${name}`, 'unknown key');
    if (!types.includes(type)) {
      throw new ConfigError(source, `${key}.${name}`, `only for ${types.join(' and ')} listeners`);
    }
  }
  const defaultPort = { tcp: 1883, tls: 8883, ws: 8080, wss: 8443 }[type];
  const result: ListenerConfig = {
    type,
    host: text(source, `${key}.host`, input.host ?? ''),
    port: integer(source, `${key}.port`, input.port ?? defaultPort, { min: 0, max: 65535 }),
  };
  if (input.maxPacketSize !== undefined) {
    result.maxPacketSize = integer(
      source,
      `${key}.maxPacketSize`,
      input.maxPacketSize,
      INTEGER_KEYS.maxPacketSize!,
    );
  }
  for (const name of ['cert', 'key', 'ca'] as const) {
    if (input[name] !== undefined) result[name] = text(source, `${key}.${name}`, input[name]);
  }
  for (const name of [
    'requireClientCertificate',
    'requireSubprotocol',
    'perMessageDeflate',
    'proxyProtocol',
  ] as const) {
    if (input[name] !== undefined) result[name] = boolean(source, `${key}.${name}`, input[name]);
  }
  if (input.certificateUsername !== undefined) {
    result.certificateUsername = oneOf(source, `${key}.certificateUsername`, input.certificateUsername, [
      'none',
      'cn',
      'subject',
    ] as const);
  }
  if (type === 'ws' || type === 'wss') result.path = wsPath(source, `${key}.path`, input.path ?? '/mqtt');
  if (input.subprotocols !== undefined) {
    result.subprotocols = strings(source, `${key}.subprotocols`, input.subprotocols, (s) =>
      /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s) ? null : 'a subprotocol must be an HTTP token',
    );
  }
  if (input.allowedOrigins !== undefined) {
    result.allowedOrigins = strings(source, `${key}.allowedOrigins`, input.allowedOrigins);
  }
  if (input.trustedProxies !== undefined) {
    result.trustedProxies = strings(source, `${key}.trustedProxies`, input.trustedProxies, (s) =>
      isIP(s) === 0 ? 'must be an IP address' : null,
    );
  }
  if (input.tokenCookie !== undefined) {
    result.tokenCookie = text(source, `${key}.tokenCookie`, input.tokenCookie);
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(result.tokenCookie)) {
      throw new ConfigError(source, `${key}.tokenCookie`, 'a cookie name must be an HTTP token');
    }
  }
  if (input.tokenQueryParameter !== undefined) {
    result.tokenQueryParameter = text(source, `${key}.tokenQueryParameter`, input.tokenQueryParameter);
    if (result.tokenQueryParameter.length === 0) {
      throw new ConfigError(source, `${key}.tokenQueryParameter`, 'must not be empty');
    }
  }
  if (input.packetsPerFrame !== undefined) {
    result.packetsPerFrame = oneOf(source, `${key}.packetsPerFrame`, input.packetsPerFrame, [
      'one',
      'many',
    ] as const);
  }
  return result;
}

const JWT_KEYS = new Set([
  'algorithms',
  'secret',
  'secretFile',
  'publicKeys',
  'issuer',
  'audience',
  'usernameClaim',
  'clockTolerance',
  'requireExpiry',
]);

function stringOrStrings(source: string, key: string, value: unknown): string | string[] {
  return typeof value === 'string' ? value : strings(source, key, value);
}

/** The shape of `jwt`; its files and keys are read (and judged) when the broker starts. */
function jwtConfig(source: string, value: unknown): JwtConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(source, 'jwt', 'must be an object');
  }
  const raw = value as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!JWT_KEYS.has(name)) throw new ConfigError(source, `jwt.${name}`, 'unknown key');
  }
  if (raw.algorithms === undefined) {
    throw new ConfigError(
      source,
      'jwt.algorithms',
      'required: the algorithms accepted (HS256, RS256, ES256)',
    );
  }
  const algorithms = strings(source, 'jwt.algorithms', raw.algorithms).map((a, i) =>
    oneOf(source, `jwt.algorithms[${i}]`, a, ['HS256', 'RS256', 'ES256'] as const),
  );
  if (algorithms.length === 0) throw new ConfigError(source, 'jwt.algorithms', 'must name at least one');
  const result: JwtConfig = { algorithms };
  if (raw.secret !== undefined) result.secret = text(source, 'jwt.secret', raw.secret);
  if (raw.secretFile !== undefined) result.secretFile = text(source, 'jwt.secretFile', raw.secretFile);
  if (result.secret !== undefined && result.secretFile !== undefined) {
    throw new ConfigError(source, 'jwt.secretFile', 'give secret or secretFile, not both');
  }
  if (raw.publicKeys !== undefined) {
    if (!Array.isArray(raw.publicKeys)) throw new ConfigError(source, 'jwt.publicKeys', 'must be an array');
    result.publicKeys = raw.publicKeys.map((entry: unknown, i) => {
      const key = `jwt.publicKeys[${i}]`;
      if (typeof entry !== 'object' || entry === null) {
        throw new ConfigError(source, key, 'must be an object with file (and optionally kid)');
      }
      const { kid, file, ...rest } = entry as Record<string, unknown>;
      const unknown = Object.keys(rest)[0];
      if (unknown !== undefined) throw new ConfigError(source, `${key}.${unknown}`, 'unknown key');
      const result: { kid?: string; file: string } = { file: text(source, `${key}.file`, file) };
      if (kid !== undefined) result.kid = text(source, `${key}.kid`, kid);
      return result;
    });
  }
  if (raw.issuer !== undefined) result.issuer = stringOrStrings(source, 'jwt.issuer', raw.issuer);
  if (raw.audience !== undefined) result.audience = stringOrStrings(source, 'jwt.audience', raw.audience);
  if (raw.usernameClaim !== undefined)
    result.usernameClaim = text(source, 'jwt.usernameClaim', raw.usernameClaim);
  if (raw.clockTolerance !== undefined) {
    result.clockTolerance = integer(source, 'jwt.clockTolerance', raw.clockTolerance, { min: 0, max: 3600 });
  }
  if (raw.requireExpiry !== undefined)
    result.requireExpiry = boolean(source, 'jwt.requireExpiry', raw.requireExpiry);
  return result;
}

function dashboardConfig(
  source: string,
  value: unknown,
  base: BrokerConfig['dashboard'],
): BrokerConfig['dashboard'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(source, 'dashboard', 'must be an object like { "enabled": true, "path": "/" }');
  }
  const raw = value as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (name !== 'enabled' && name !== 'path')
      throw new ConfigError(source, `dashboard.${name}`, 'unknown key');
  }
  const result = { ...base };
  if (raw.enabled !== undefined) result.enabled = boolean(source, 'dashboard.enabled', raw.enabled);
  if (raw.path !== undefined) {
    let path = wsPath(source, 'dashboard.path', raw.path);
    if (!path.endsWith('/')) path += '/';
    result.path = path;
  }
  return result;
}

/** The first listener of `type`, created (with that type's defaults) when there is none. */
function firstOfType(config: BrokerConfig, type: ListenerType): ListenerConfig {
  let found = config.listeners.find((l) => l.type === type);
  if (found === undefined) {
    found = { type, host: '', port: 0 };
    if (type === 'ws' || type === 'wss') found.path = '/mqtt';
    config.listeners.push(found);
  }
  return found;
}

/** `port`, `wsPort`, `tlsPort`, `wssPort`: the first listener of that type; 0 removes it. */
const PORT_SHORTCUTS = [
  ['port', 'tcp'],
  ['wsPort', 'ws'],
  ['tlsPort', 'tls'],
  ['wssPort', 'wss'],
] as const;

/**
 * Applies `input` over `base`. `port` and `host` are shortcuts for the first TCP listener; port 0 in
 * them removes that listener (a `listeners` entry with port 0 binds an ephemeral port instead).
 */
export function applyConfig(base: BrokerConfig, input: unknown, source: string): BrokerConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(source, '(top level)', 'must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  const config: BrokerConfig = { ...base, listeners: base.listeners.map((l) => ({ ...l })) };
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) throw new ConfigError(source, key, 'unknown key');
  }
  for (const [key, rule] of Object.entries(INTEGER_KEYS)) {
    if (raw[key] !== undefined)
      (config as unknown as Record<string, number>)[key] = integer(source, key, raw[key], rule);
  }
  if (raw.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(raw.logLevel as LogLevel)) {
      throw new ConfigError(
        source,
        'logLevel',
        `must be one of ${LOG_LEVELS.join(', ')} (got ${describe(raw.logLevel)})`,
      );
    }
    config.logLevel = raw.logLevel as LogLevel;
  }
  if (raw.store !== undefined)
    config.store = oneOf(source, 'store', raw.store, ['sqlite', 'memory'] as const);
  if (raw.durability !== undefined) {
    config.durability = oneOf(source, 'durability', raw.durability, ['sync', 'batched'] as const);
  }
  if (raw.dataDir !== undefined) config.dataDir = text(source, 'dataDir', raw.dataDir);
  for (const key of ['queueQos0', 'sharedSubscriptions', 'fsync'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean')
      throw new ConfigError(source, key, `must be true or false (got ${describe(value)})`);
    config[key] = value;
  }
  if (raw.sharedSubscriptionStrategy !== undefined) {
    const value = raw.sharedSubscriptionStrategy;
    if (!SHARED_STRATEGIES.includes(value as SharedStrategy)) {
      throw new ConfigError(
        source,
        'sharedSubscriptionStrategy',
        `must be one of ${SHARED_STRATEGIES.join(', ')} (got ${describe(value)})`,
      );
    }
    config.sharedSubscriptionStrategy = value as SharedStrategy;
  }
  if (raw.responseInformationPrefix !== undefined) {
    if (typeof raw.responseInformationPrefix !== 'string') {
      throw new ConfigError(source, 'responseInformationPrefix', 'must be a string');
    }
    config.responseInformationPrefix = raw.responseInformationPrefix;
  }
  if (raw.allowAnonymous !== undefined)
    config.allowAnonymous = boolean(source, 'allowAnonymous', raw.allowAnonymous);
  if (raw.passwordFile !== undefined) config.passwordFile = text(source, 'passwordFile', raw.passwordFile);
  if (raw.aclFile !== undefined) config.aclFile = text(source, 'aclFile', raw.aclFile);
  if (raw.jwt !== undefined) config.jwt = jwtConfig(source, raw.jwt);
  if (raw.dashboard !== undefined)
    config.dashboard = dashboardConfig(source, raw.dashboard, config.dashboard);
  if (raw.listeners !== undefined) {
    if (!Array.isArray(raw.listeners)) throw new ConfigError(source, 'listeners', 'must be an array');
    config.listeners = raw.listeners.map((value, i) => listener(source, `listeners[${i}]`, value));
  }
  for (const [shortcut, type] of PORT_SHORTCUTS) {
    if (raw[shortcut] === undefined) continue;
    const port = integer(source, shortcut, raw[shortcut], { min: 0, max: 65535 });
    if (port === 0) {
      const first = config.listeners.find((l) => l.type === type);
      config.listeners = config.listeners.filter((l) => l !== first);
    } else {
      firstOfType(config, type).port = port;
    }
  }
  if (raw.wsPath !== undefined) {
    const path = wsPath(source, 'wsPath', raw.wsPath);
    for (const l of config.listeners) if (l.type === 'ws' || l.type === 'wss') l.path = path;
  }
  for (const name of ['cert', 'key', 'ca'] as const) {
    if (raw[name] === undefined) continue;
    const file = text(source, name, raw[name]);
    for (const l of config.listeners) if (l.type === 'tls' || l.type === 'wss') l[name] = file;
  }
  if (raw.host !== undefined) {
    const host = text(source, 'host', raw.host);
    for (const l of config.listeners) l.host = host;
  }
  return config;
}

/**
 * Checks what only the whole configuration can tell: every tls/wss listener has a certificate and a
 * key, and every file named is readable.
 */
export function checkConfig(config: BrokerConfig, source: string): BrokerConfig {
  config.listeners.forEach((l, i) => {
    if (l.type !== 'tls' && l.type !== 'wss') return;
    for (const name of ['cert', 'key'] as const) {
      if (l[name] === undefined) {
        throw new ConfigError(
          source,
          `listeners[${i}].${name}`,
          `required for a ${l.type} listener (--${name} FILE)`,
        );
      }
    }
    const certifies = l.certificateUsername !== undefined && l.certificateUsername !== 'none';
    if ((certifies || l.requireClientCertificate === true) && l.ca === undefined) {
      // Without a CA, Node would check client certificates against the public roots: any certificate
      // bought anywhere would pass, and with certificateUsername name any user.
      throw new ConfigError(
        source,
        `listeners[${i}].ca`,
        `required with ${certifies ? 'certificateUsername' : 'requireClientCertificate'}: the CA that issues your clients' certificates`,
      );
    }
    for (const name of ['cert', 'key', 'ca'] as const) {
      const file = l[name];
      if (file === undefined) continue;
      try {
        accessSync(file, constants.R_OK);
      } catch (error) {
        throw new ConfigError(
          source,
          `listeners[${i}].${name}`,
          `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`,
        );
      }
    }
  });
  return config;
}

/** Builds a full configuration from defaults and a programmatic input (createBroker). */
export function resolveConfig(input: ConfigInput = {}): BrokerConfig {
  return checkConfig(applyConfig(DEFAULT_CONFIG, input, 'config'), 'config');
}
