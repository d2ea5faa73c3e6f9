/** midge as a library: create a broker, give it hooks, listen, close. */
export type { BrokerConfig, ConfigInput, ListenerConfig, LogLevel } from './config/schema.js';
export { DEFAULT_CONFIG } from './config/schema.js';
export { ConfigError } from './config/validate.js';
export type {
  AuthenticateRequest,
  AuthenticateResult,
  EnhancedAuthentication,
  EnhancedAuthRequest,
  EnhancedAuthResult,
  Hooks,
} from './core/hooks.js';
export { VERSION } from './core/sys.js';
export type { Broker, BrokerOptions } from './server.js';
export { createBroker } from './server.js';
export type { ListenerAddress } from './transport/listener.js';
