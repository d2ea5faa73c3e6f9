/**
 * The places where an embedding application decides: who may connect. (Authorization of publish
 * and subscribe joins this with the security work.) Every hook may be synchronous or async.
 */
import type { TransportKind } from './link.js';

export interface AuthenticateRequest {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string;
  transport: TransportKind;
}

/**
 * true accepts; false refuses as "not authorized"; `{ returnCode }` refuses with a specific 3.1.1
 * CONNACK return code (4 bad user name or password, 5 not authorized).
 */
export type AuthenticateResult = boolean | { returnCode: 4 | 5 };

export interface Hooks {
  authenticate?(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult>;
}
