/**
 * The places where an embedding application (and midge's own password file, JWT and ACL, which are
 * built on them: src/auth) decides: who may connect and how (authenticate, MQTT 5 enhanced
 * authentication), and what a connected client may do (permissions). Authentication hooks may be
 * synchronous or async; permissions are asked once per connection and then queried synchronously on
 * the hot path, so they must answer from memory.
 */
import type { TransportKind } from './link.js';

export interface AuthenticateRequest {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string;
  transport: TransportKind;
  protocolVersion: 3 | 4 | 5;
  /** True when `username` comes from a verified TLS client certificate, not from CONNECT. */
  certified: boolean;
  /** A token the transport received with the connection (WebSocket upgrade: bearer, cookie, query). */
  token: string | undefined;
}

/**
 * true accepts; false refuses as "not authorized"; `{ returnCode }` refuses with a 3.1.1 CONNACK
 * return code (4 bad user name or password, 5 not authorized), which MQTT 5 clients receive as the
 * matching reason code (0x86, 0x87); `{ reasonCode }` refuses an MQTT 5 client with that exact code.
 */
export type AuthenticateResult = boolean | { returnCode: 4 | 5 } | { reasonCode: number } | AuthenticatedAs;

/** Accepted, with what the credentials said: the username to use, and when they stop being valid. */
export interface AuthenticatedAs {
  ok: true;
  /** Replaces the CONNECT's username (e.g. the subject of a token). */
  username?: string | undefined;
  /** Ms since the epoch: the connection is closed then (MQTT 5: DISCONNECT 0x87) unless it re-authenticates. */
  expiresAt?: number | undefined;
}

export interface EnhancedAuthRequest {
  clientId: string;
  username: string | undefined;
  /** The Authentication Method the client named in CONNECT. */
  method: string;
  /** The Authentication Data of this step (CONNECT, then each AUTH). */
  data: Buffer | undefined;
  /** 0 for the CONNECT (or the re-authentication's first AUTH), then 1, 2, ... */
  step: number;
  /** True when the client re-authenticates on an open connection (AUTH 0x19). */
  reauthenticate: boolean;
  remoteAddress: string;
  transport: TransportKind;
}

export type EnhancedAuthResult =
  | { status: 'success'; data?: Buffer; username?: string; expiresAt?: number }
  | { status: 'continue'; data: Buffer }
  | { status: 'failure'; reasonCode?: number };

export interface EnhancedAuthentication {
  /** Authentication Method names this hook serves; others get CONNACK 0x8C. */
  methods: readonly string[];
  step(request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult>;
}

/** What one client may do. `canSubscribe` 'filter': granted, and each message is checked with canRead. */
export interface ClientPermissions {
  canPublish(topic: string): boolean;
  canSubscribe(filter: string): 'allow' | 'deny' | 'filter';
  canRead(topic: string): boolean;
}

export interface ClientIdentity {
  clientId: string;
  username: string | undefined;
  remoteAddress: string;
  transport: TransportKind;
}

export interface Hooks {
  authenticate?(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult>;
  /** MQTT 5 enhanced authentication (AUTH packets); without it, a CONNECT naming a method gets 0x8C. */
  enhancedAuthentication?: EnhancedAuthentication;
  /**
   * The permissions of a client that has just authenticated (undefined: it may do anything). Asked
   * again for every connected client when BrokerCore.refreshPermissions runs (an ACL reload).
   */
  permissions?(client: ClientIdentity): ClientPermissions | undefined;
}
