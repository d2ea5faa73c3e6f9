/**
 * The configuration: its types, its defaults, and the validation that turns untrusted input (a JSON
 * file, flags) into a `BrokerConfig` or a `ConfigError` naming the key and the reason.
 *
 * Every key here is documented in docs/configuration.md; keep the two in step.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type SharedStrategy = 'round-robin' | 'random' | 'sticky';
export const SHARED_STRATEGIES: readonly SharedStrategy[] = ['round-robin', 'random', 'sticky'];

export type ListenerType = 'tcp' | 'tls' | 'ws' | 'wss';
export const LISTENER_TYPES: readonly ListenerType[] = ['tcp', 'tls', 'ws', 'wss'];

export interface ListenerConfig {
  type: ListenerType;
  /** Address to bind; '' binds every interface (IPv6 and IPv4 where the system allows). */
  host: string;
  port: number;
  /** Largest packet accepted on this listener, in bytes; defaults to the broker-wide maxPacketSize. */
  maxPacketSize?: number;

  // tls, wss
  /** PEM certificate chain file. Required for tls and wss. */
  cert?: string;
  /** PEM private key file. Required for tls and wss. */
  key?: string;
  /** PEM CA file: the CAs client certificates are checked against. */
  ca?: string;
  /** Refuse clients without a certificate signed by `ca` (default false: a certificate is optional). */
  requireClientCertificate?: boolean;
  /** Use the client certificate's CN or whole subject as the MQTT username (default 'none'). */
  certificateUsername?: 'none' | 'cn' | 'subject';

  // ws, wss
  /** HTTP path of the WebSocket endpoint (default '/mqtt'). */
  path?: string;
  /** Subprotocols accepted, in order of preference (default ['mqtt', 'mqttv3.1']). */
  subprotocols?: string[];
  /** Refuse an upgrade that offers no subprotocol (default false: accepted). */
  requireSubprotocol?: boolean;
  /** Origins allowed to open a WebSocket (default: any). */
  allowedOrigins?: string[];
  /** permessage-deflate compression (default false; costs memory per connection, see docs). */
  perMessageDeflate?: boolean;
  /** 'one' MQTT packet per WebSocket frame (default, safe for every client) or 'many' per frame. */
  packetsPerFrame?: 'one' | 'many';
  /** Peers whose X-Forwarded-For / Forwarded headers name the real client address (default none). */
  trustedProxies?: string[];
  /** Cookie whose value is taken as the client's token (JWT) when CONNECT carries no password. */
  tokenCookie?: string;
  /** Query parameter of the upgrade URL taken as the client's token (e.g. `?token=...`). */
  tokenQueryParameter?: string;

  // tcp, ws
  /** Expect a PROXY protocol v1/v2 header on every connection (default false). */
  proxyProtocol?: boolean;
}

/** JWT authentication (docs/security.md): tokens as the MQTT password, in the WebSocket upgrade, or via AUTH. */
export interface JwtConfig {
  /** Algorithms accepted: HS256 needs `secret` or `secretFile`, RS256 / ES256 need `publicKeys`. */
  algorithms: Array<'HS256' | 'RS256' | 'ES256'>;
  /** HS256 shared secret (at least 32 bytes); prefer `secretFile`, which keeps it out of the config. */
  secret?: string;
  /** File holding the HS256 secret (its bytes, a trailing newline removed). */
  secretFile?: string;
  /** PEM public keys (or certificates), each with an optional `kid` a token may name. */
  publicKeys?: Array<{ kid?: string; file: string }>;
  /** Accepted `iss` values; unset: any. */
  issuer?: string | string[];
  /** Accepted `aud` values (the token must name one); unset: not checked. */
  audience?: string | string[];
  /** Claim holding the MQTT username (default 'sub'). A token without it is refused. */
  usernameClaim?: string;
  /** Seconds of leeway for `exp` and `nbf` (default 30). */
  clockTolerance?: number;
  /** Refuse tokens without `exp` (default true). */
  requireExpiry?: boolean;
}

export interface BrokerConfig {
  listeners: ListenerConfig[];
  /**
   * Clients without credentials: true accepts them from anywhere, false never; unset (the default)
   * accepts them from loopback addresses only, and only while no authentication is configured.
   */
  allowAnonymous?: boolean | undefined;
  /** Password file (`midge passwd`): users and scrypt hashes; reloaded on SIGHUP and when it changes. */
  passwordFile?: string | undefined;
  /** ACL file: what each client may publish and subscribe to; reloaded on SIGHUP and when it changes. */
  aclFile?: string | undefined;
  jwt?: JwtConfig | undefined;
  logLevel: LogLevel;
  /** Largest packet accepted from a client, in bytes (remaining length + fixed header). */
  maxPacketSize: number;
  /** Longest client identifier accepted, in UTF-8 bytes (the spec guarantees 23). */
  maxClientIdLength: number;
  /** Most levels a topic name or filter may have. */
  maxTopicLevels: number;
  /** Longest topic name or filter, in UTF-8 bytes. */
  maxTopicLength: number;
  /** Most subscriptions one client may hold; a SUBSCRIBE beyond it gets the failure code. */
  maxSubscriptionsPerClient: number;
  /** Milliseconds a new connection has to send CONNECT before it is closed. */
  connectTimeout: number;
  /** Open connections in total; beyond it a new socket is closed at once. 0 = unlimited. */
  maxConnections: number;
  /** Open connections from one client address. 0 = unlimited. */
  maxConnectionsPerAddress: number;
  /** New connections one address may open per second (also the burst allowed). 0 = unlimited. */
  maxConnectRatePerAddress: number;
  /** Failed logins from one address within authFailureWindow before its logins are refused. 0 = never. */
  maxAuthFailures: number;
  /** Milliseconds over which failed logins are counted, and for which a blocked address stays blocked. */
  authFailureWindow: number;
  /** Messages per second one client may publish (also the burst). 0 = unlimited. */
  maxPublishRate: number;
  /**
   * Payload + topic bytes queued for all clients together. Above 80 % of it QoS 0 messages are no
   * longer queued; at it, new QoS 1/2 PUBLISHes are refused (MQTT 5: 0x97; 3.1.1: the connection
   * closes). 0 = unlimited.
   */
  maxQueuedBytesTotal: number;
  /** Most QoS 1/2 messages in flight (sent, not yet acknowledged) to one client. */
  maxInflight: number;
  /** Most messages queued for one client (offline, or beyond the inflight window). */
  maxQueuedMessages: number;
  /** Most payload + topic bytes queued for one client. */
  maxQueuedBytes: number;
  /** Queue QoS 0 messages for offline persistent sessions too (the spec allows, does not require). */
  queueQos0: boolean;
  /** Milliseconds a client may keep the broker's writes to it blocked before it is disconnected. */
  drainTimeout: number;
  /**
   * Milliseconds a publisher is held back (not read) because a subscriber it feeds is congested;
   * after that the subscriber counts as stalled and its messages follow its queue limits instead.
   */
  publisherHoldTimeout: number;
  /**
   * The same, for a publisher whose message also goes to other subscribers (they wait while it is
   * held): short, so one stalled subscriber barely delays the others. At most publisherHoldTimeout.
   */
  fanoutHoldTimeout: number;
  /** The broker's MQTT 5 receive maximum: unacknowledged QoS 2 messages one client may send. */
  receiveMaximum: number;
  /** MQTT 5 topic aliases a client may use per connection; also caps the aliases midge assigns. */
  topicAliasMaximum: number;
  /** Cap, in seconds, on the session expiry interval an MQTT 5 client asks for. */
  maxSessionExpiryInterval: number;
  /** Cap, in seconds, on a client's keep alive (MQTT 5 clients are told through Server Keep Alive). */
  maxKeepAlive: number;
  /** Whether `$share/{group}/{filter}` subscriptions are served. */
  sharedSubscriptions: boolean;
  /** Which member of a shared subscription group receives a message. */
  sharedSubscriptionStrategy: SharedStrategy;
  /** Prefix of the Response Information sent to an MQTT 5 client that requests it (plus its client id). */
  responseInformationPrefix: string;
  /** Where durable state lives: 'sqlite' (a file in dataDir) or 'memory' (nothing survives a restart). */
  store: 'sqlite' | 'memory';
  /** Directory of the SQLite store. */
  dataDir: string;
  /** 'sync': QoS 1/2 acknowledged after the commit holding them; 'batched': at once, committed within batchInterval. */
  durability: 'sync' | 'batched';
  /** Milliseconds between commits in batched mode. */
  batchInterval: number;
  /** fsync every commit: acknowledged messages survive power loss too (slower). */
  fsync: boolean;
  /** Payload + topic bytes the store may hold; beyond it, new messages for offline sessions are dropped. */
  maxStoreBytes: number;
  /** The dashboard on the ws/wss listeners: served or not, and where (a path ending in `/`). */
  dashboard: { enabled: boolean; path: string };
  /** Seconds between $SYS/broker/... updates; 0 turns them off. */
  sysInterval: number;
  /** Milliseconds the broker waits for connections to close on shutdown before destroying them. */
  shutdownTimeout: number;
}

export const DEFAULT_CONFIG: BrokerConfig = {
  listeners: [
    { type: 'tcp', host: '', port: 1883 },
    { type: 'ws', host: '', port: 8080, path: '/mqtt' },
  ],
  logLevel: 'info',
  maxPacketSize: 16 * 1024 * 1024,
  maxClientIdLength: 256,
  maxTopicLevels: 128,
  maxTopicLength: 65535,
  maxSubscriptionsPerClient: 10_000,
  connectTimeout: 10_000,
  maxConnections: 100_000,
  maxConnectionsPerAddress: 10_000,
  maxConnectRatePerAddress: 1_000,
  maxAuthFailures: 10,
  authFailureWindow: 60_000,
  maxPublishRate: 0,
  maxQueuedBytesTotal: 1024 * 1024 * 1024,
  maxInflight: 64,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
  queueQos0: false,
  drainTimeout: 30_000,
  publisherHoldTimeout: 1_000,
  fanoutHoldTimeout: 50,
  receiveMaximum: 65535,
  topicAliasMaximum: 256,
  maxSessionExpiryInterval: 0xffffffff,
  maxKeepAlive: 65535,
  sharedSubscriptions: true,
  sharedSubscriptionStrategy: 'round-robin',
  responseInformationPrefix: 'response/',
  store: 'sqlite',
  dataDir: './data',
  durability: 'sync',
  batchInterval: 10,
  fsync: false,
  maxStoreBytes: 1024 * 1024 * 1024,
  dashboard: { enabled: true, path: '/' },
  sysInterval: 2,
  shutdownTimeout: 5_000,
};

/** A configuration as a user may write it: any key may be left out; the flag shortcuts are keys too. */
export type ConfigInput = Partial<Omit<BrokerConfig, 'listeners'>> & {
  listeners?: Array<Partial<ListenerConfig> & { type?: string }>;
  port?: number;
  host?: string;
  wsPort?: number;
  wsPath?: string;
  tlsPort?: number;
  wssPort?: number;
  cert?: string;
  key?: string;
  ca?: string;
};
