/**
 * The places where an embedding application decides: who may connect, and how (MQTT 5 enhanced
 * authentication). Authorization of publish and subscribe joins this with the security work. Every
 * hook may be synchronous or async.
 */
import type { TransportKind } from './link.js';

export interface AuthenticateRequest {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string;
  transport: TransportKind;
  protocolVersion: 3 | 4 | 5;
}

/**
 * true accepts; false refuses as "not authorized"; `{ returnCode }` refuses with a 3.1.1 CONNACK
 * return code (4 bad user name or password, 5 not authorized), which MQTT 5 clients receive as the
 * matching reason code (0x86, 0x87); `{ reasonCode }` refuses an MQTT 5 client with that exact code.
 */
export type AuthenticateResult = boolean | { returnCode: 4 | 5 } | { reasonCode: number };

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
  | { status: 'success'; data?: Buffer }
  | { status: 'continue'; data: Buffer }
  | { status: 'failure'; reasonCode?: number };

export interface EnhancedAuthentication {
  /** Authentication Method names this hook serves; others get CONNACK 0x8C. */
  methods: readonly string[];
  step(request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult>;
}

export interface Hooks {
  authenticate?(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult>;
  /** MQTT 5 enhanced authentication (AUTH packets); without it, a CONNECT naming a method gets 0x8C. */
  enhancedAuthentication?: EnhancedAuthentication;
}
