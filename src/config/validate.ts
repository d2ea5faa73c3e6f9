/**
 * Turns untrusted configuration input into a BrokerConfig, or a ConfigError that names the source,
 * the key and the reason — so a bad file or flag stops start-up with one clear line.
 */
import {
  type BrokerConfig,
  type ConfigInput,
  DEFAULT_CONFIG,
  type ListenerConfig,
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
  maxInflight: { min: 1, max: 65535 },
  maxQueuedMessages: { min: 0, max: 10_000_000 },
  maxQueuedBytes: { min: 0, max: 2 ** 40 },
  drainTimeout: { min: 100, max: 3_600_000 },
  publisherHoldTimeout: { min: 0, max: 3_600_000 },
  receiveMaximum: { min: 1, max: 65535 },
  topicAliasMaximum: { min: 0, max: 65535 },
  maxSessionExpiryInterval: { min: 0, max: 0xffffffff },
  maxKeepAlive: { min: 1, max: 65535 },
  sysInterval: { min: 0, max: 86_400 },
  shutdownTimeout: { min: 0, max: 600_000 },
};

const KNOWN_KEYS = new Set([...Object.keys(DEFAULT_CONFIG), 'port', 'host']);

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

function listener(source: string, key: string, value: unknown): ListenerConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(source, key, 'must be an object like { "type": "tcp", "port": 1883 }');
  }
  const input = value as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!['type', 'host', 'port', 'maxPacketSize'].includes(name)) {
      throw new ConfigError(source, `${key}.${name}`, 'unknown key');
    }
  }
  const type = input.type ?? 'tcp';
  if (type !== 'tcp') throw new ConfigError(source, `${key}.type`, `unknown listener type ${describe(type)}`);
  const host = input.host ?? '';
  if (typeof host !== 'string') throw new ConfigError(source, `${key}.host`, 'must be a string');
  const result: ListenerConfig = {
    type,
    host,
    port: integer(source, `${key}.port`, input.port ?? 1883, { min: 0, max: 65535 }),
  };
  if (input.maxPacketSize !== undefined) {
    result.maxPacketSize = integer(
      source,
      `${key}.maxPacketSize`,
      input.maxPacketSize,
      INTEGER_KEYS.maxPacketSize!,
    );
  }
  return result;
}

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
  for (const key of ['queueQos0', 'sharedSubscriptions'] as const) {
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
  if (raw.listeners !== undefined) {
    if (!Array.isArray(raw.listeners)) throw new ConfigError(source, 'listeners', 'must be an array');
    config.listeners = raw.listeners.map((value, i) => listener(source, `listeners[${i}]`, value));
  }
  if (raw.host !== undefined || raw.port !== undefined) {
    const index = config.listeners.findIndex((l) => l.type === 'tcp');
    const current = config.listeners[index] ?? { type: 'tcp' as const, host: '', port: 1883 };
    if (raw.host !== undefined) {
      if (typeof raw.host !== 'string') throw new ConfigError(source, 'host', 'must be a string');
      current.host = raw.host;
    }
    if (raw.port !== undefined) current.port = integer(source, 'port', raw.port, { min: 0, max: 65535 });
    if (current.port === 0) {
      if (index >= 0) config.listeners.splice(index, 1);
    } else if (index < 0) {
      config.listeners.push(current);
    } else {
      config.listeners[index] = current;
    }
  }
  return config;
}

/** Builds a full configuration from defaults and a programmatic input (createBroker). */
export function resolveConfig(input: ConfigInput = {}): BrokerConfig {
  return applyConfig(DEFAULT_CONFIG, input, 'config');
}
