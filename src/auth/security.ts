/**
 * midge's own authentication and authorization, assembled from the configuration and offered to the
 * core as Hooks (the same hooks an embedding application may set; both are combined here).
 *
 * Authentication, in order — the first source that can judge the credentials decides:
 * 1. a verified TLS client certificate standing for the username (tls/wss `certificateUsername`);
 * 2. a JWT (`jwt`): the WebSocket upgrade's token, or a CONNECT password that has the shape of one;
 *    its username claim becomes the MQTT username, its `exp` closes the connection (MQTT 5 clients
 *    may re-authenticate first, with AUTH and the method `JWT`);
 * 3. the password file (`passwordFile`), for a username it holds (scrypt, checked in constant time);
 * 4. the application's `authenticate` hook, for everything else;
 * 5. clients with no credentials at all: `allowAnonymous` (see `anonymous` below).
 * Credentials that no configured source accepts are refused: 3.1.1 return code 4, MQTT 5 0x86.
 *
 * Authorization: the ACL file's rules for the client, intersected with the application's
 * `permissions` hook when both are set.
 *
 * Files are read at start (an unusable one stops start-up with a ConfigError naming the key, the
 * file and the reason) and again on SIGHUP (`reload`) and when they change; a version that cannot be
 * used is logged and the previous one stays in force.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { BrokerConfig, JwtConfig } from '../config/schema.js';
import { ConfigError } from '../config/validate.js';
import type {
  AuthenticateRequest,
  AuthenticateResult,
  ClientIdentity,
  ClientPermissions,
  EnhancedAuthentication,
  EnhancedAuthRequest,
  EnhancedAuthResult,
  Hooks,
} from '../core/hooks.js';
import { type Acl, parseAcl } from './acl.js';
import { createJwtVerifier, type JwtVerifier } from './jwt.js';
import { loadPasswordFile, type PasswordFile } from './password-file.js';
import { WatchedFile } from './watched-file.js';

/** The MQTT 5 Authentication Method under which a client presents (and renews) a JWT. */
export const JWT_METHOD = 'JWT';

const BAD_CREDENTIALS = { returnCode: 4 } as const;
const NOT_AUTHORIZED = { returnCode: 5 } as const;

/** Three base64url segments: what a JWT looks like (checked before trying one as a password). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback: clients on this machine. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/** A listener host that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || (host !== '' && isLoopback(host));
}

async function loadAcl(path: string): Promise<Acl> {
  return parseAcl(await readFile(path, 'utf8'), path);
}

function unusable(source: string, key: string, error: unknown): ConfigError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ConfigError(source, key, reason.startsWith(`${key}: `) ? reason.slice(key.length + 2) : reason);
}

function readKeyFile(source: string, key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(source, key, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
}

function jwtVerifier(config: JwtConfig, source: string): JwtVerifier {
  let secret: Buffer | string | undefined = config.secret;
  if (config.secretFile !== undefined) {
    secret = readKeyFile(source, 'jwt.secretFile', config.secretFile).replace(/\r?\n$/, '');
  }
  const publicKeys = (config.publicKeys ?? []).map((entry, i) => {
    const key = readKeyFile(source, `jwt.publicKeys[${i}].file`, entry.file);
    return entry.kid === undefined ? { key } : { kid: entry.kid, key };
  });
  try {
    return createJwtVerifier({
      algorithms: config.algorithms,
      ...(secret === undefined ? {} : { secret }),
      publicKeys,
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
      ...(config.usernameClaim === undefined ? {} : { usernameClaim: config.usernameClaim }),
      ...(config.clockTolerance === undefined ? {} : { clockToleranceSeconds: config.clockTolerance }),
      ...(config.requireExpiry === undefined ? {} : { requireExpiry: config.requireExpiry }),
    });
  } catch (error) {
    throw unusable(source, 'jwt', error);
  }
}

export class Security {
  private constructor(
    private readonly config: BrokerConfig,
    private readonly log: Logger,
    private readonly passwords: WatchedFile<PasswordFile> | undefined,
    private readonly acl: WatchedFile<Acl> | undefined,
    private readonly jwt: JwtVerifier | undefined,
    private readonly app: Hooks,
  ) {}

  /**
   * Reads every file the configuration names; throws a ConfigError when one cannot be used. `app`:
   * the embedding application's hooks, combined with midge's own. `onAclChange` runs after the ACL
   * was loaded again (the broker then asks every connected client's permissions anew).
   */
  static async open(
    config: BrokerConfig,
    log: Logger,
    app: Hooks = {},
    onAclChange: () => void = () => {},
    source = 'config',
  ): Promise<Security> {
    const watch = <T>(key: string, file: string, load: (path: string) => Promise<T>, changed?: () => void) =>
      WatchedFile.open(file, load, {
        onChange: () => {
          log.info({ [key]: file }, `${key} reloaded`);
          changed?.();
        },
        onError: (error) =>
          log.error({ [key]: file, reason: error.message }, `${key} not reloaded: ${error.message}`),
      }).catch((error: unknown) => {
        throw unusable(source, key, error);
      });
    const jwt = config.jwt === undefined ? undefined : jwtVerifier(config.jwt, source);
    const passwords =
      config.passwordFile === undefined
        ? undefined
        : await watch('passwordFile', config.passwordFile, loadPasswordFile);
    let acl: WatchedFile<Acl> | undefined;
    try {
      acl =
        config.aclFile === undefined
          ? undefined
          : await watch('aclFile', config.aclFile, loadAcl, onAclChange);
    } catch (error) {
      passwords?.close();
      throw error;
    }
    const security = new Security(config, log, passwords, acl, jwt, app);
    security.announce();
    return security;
  }

  /** Whether any way to authenticate is configured (then anonymous clients need allowAnonymous). */
  get authenticationConfigured(): boolean {
    return (
      this.passwords !== undefined ||
      this.jwt !== undefined ||
      this.app.authenticate !== undefined ||
      this.app.enhancedAuthentication !== undefined ||
      this.config.listeners.some(
        (l) => l.certificateUsername !== undefined && l.certificateUsername !== 'none',
      )
    );
  }

  /** One line at start saying who may connect; a warning where anonymous clients reach the network. */
  private announce(): void {
    const sources = [
      this.passwords && `password file ${this.passwords.path} (${this.passwords.current.size} users)`,
      this.jwt && `JWT (${this.config.jwt!.algorithms.join(', ')})`,
      this.app.authenticate && 'authenticate hook',
    ].filter(Boolean);
    const exposed = this.config.listeners.filter((l) => !isLoopbackHost(l.host));
    const allow = this.config.allowAnonymous;
    if (allow === true && exposed.length > 0) {
      this.log.warn('anonymous clients are accepted from any address (allowAnonymous: true)');
    } else if (allow === undefined && !this.authenticationConfigured && exposed.length > 0) {
      this.log.info(
        'no authentication configured: anonymous clients are accepted from this machine only; ' +
          'set allowAnonymous: true to accept them from the network, or configure passwordFile or jwt',
      );
    }
    if (sources.length > 0) this.log.info(`authentication: ${sources.join(', ')}`);
    if (this.acl !== undefined) {
      this.log.info({ aclFile: this.acl.path, rules: this.acl.current.ruleCount }, 'ACL loaded');
    }
  }

  /** SIGHUP: reads the password file and the ACL again (a bad version is logged and not used). */
  async reload(): Promise<void> {
    await Promise.all([this.passwords?.reload(), this.acl?.reload()]);
  }

  close(): void {
    this.passwords?.close();
    this.acl?.close();
  }

  /** The hooks the core runs: midge's own sources, then the application's. */
  hooks(): Hooks {
    const app = this.app;
    const hooks: Hooks = { authenticate: (request) => this.authenticate(request) };
    const enhanced = this.enhanced();
    if (enhanced !== undefined) hooks.enhancedAuthentication = enhanced;
    if (this.acl !== undefined || app.permissions !== undefined) {
      hooks.permissions = (client) => this.permissions(client);
    }
    return hooks;
  }

  private authenticate(request: AuthenticateRequest): AuthenticateResult | Promise<AuthenticateResult> {
    if (request.certified) return this.app.authenticate?.(request) ?? { ok: true };
    const password = request.password;
    const hasPassword = password !== undefined && password.length > 0;
    const passwordToken =
      this.jwt !== undefined && hasPassword && JWT_SHAPE.test(password.toString('latin1'))
        ? password.toString('latin1')
        : undefined;
    // What CONNECT carries comes first; the upgrade's token stands in only when it has no password.
    const token = passwordToken ?? (hasPassword ? undefined : request.token);
    const username = request.username;
    const passwords = this.passwords?.current;
    if (this.jwt !== undefined && token !== undefined) {
      const result = this.checkToken(token);
      // A password that only looks like a token is still a password to a user the file holds.
      const fallBack = result === BAD_CREDENTIALS && passwordToken !== undefined && username !== undefined;
      if (!fallBack || passwords === undefined || !passwords.has(username)) return result;
    }
    if (
      passwords !== undefined &&
      username !== undefined &&
      (passwords.has(username) || this.app.authenticate === undefined)
    ) {
      return passwords.verify(username, password).then((ok) => (ok ? true : BAD_CREDENTIALS));
    }
    if (this.app.authenticate !== undefined) return this.app.authenticate(request);
    const anonymous = username === undefined && password === undefined && request.token === undefined;
    // Credentials nothing can check, while nothing is configured to check any: as good as none.
    if (anonymous || !this.authenticationConfigured) return this.anonymous(request.remoteAddress);
    return BAD_CREDENTIALS;
  }

  private checkToken(token: string): AuthenticateResult {
    const result = this.jwt!.verify(token);
    if (!result.ok) {
      this.log.info({ reason: result.reason }, 'token refused');
      return BAD_CREDENTIALS;
    }
    if (result.username === undefined) {
      this.log.info({ claim: this.config.jwt?.usernameClaim ?? 'sub' }, 'token refused: it names no user');
      return BAD_CREDENTIALS;
    }
    return { ok: true, username: result.username, expiresAt: this.expiresAt(result.expiresAt) };
  }

  /** When the connection must end: `exp` plus the clock tolerance the token was accepted with. */
  private expiresAt(exp: number | undefined): number | undefined {
    if (exp === undefined) return undefined;
    return exp + (this.config.jwt?.clockTolerance ?? 30) * 1000;
  }

  /** Whether a client without credentials from `address` is let in (MQTT and the dashboard alike). */
  acceptsAnonymousFrom(address: string): boolean {
    const allow = this.config.allowAnonymous;
    if (allow === true) return true;
    return allow === undefined && !this.authenticationConfigured && isLoopback(address);
  }

  private anonymous(address: string): AuthenticateResult {
    return this.acceptsAnonymousFrom(address) ? true : NOT_AUTHORIZED;
  }

  /** The application's enhanced authentication, plus the method JWT when tokens are configured. */
  private enhanced(): EnhancedAuthentication | undefined {
    const app = this.app.enhancedAuthentication;
    if (this.jwt === undefined) return app;
    const methods = [...(app?.methods ?? []).filter((m) => m !== JWT_METHOD), JWT_METHOD];
    return {
      methods,
      step: (request: EnhancedAuthRequest) =>
        request.method === JWT_METHOD || app === undefined ? this.tokenStep(request) : app.step(request),
    };
  }

  /** AUTH method JWT: the token is the Authentication Data of the CONNECT (or of a re-authentication). */
  private tokenStep(request: EnhancedAuthRequest): EnhancedAuthResult {
    const token = request.data?.toString('latin1');
    if (token === undefined || token.length === 0) return { status: 'failure', reasonCode: 0x86 };
    const result = this.checkToken(token);
    if (result === BAD_CREDENTIALS || typeof result !== 'object' || !('ok' in result)) {
      return { status: 'failure', reasonCode: 0x86 };
    }
    const success: EnhancedAuthResult = { status: 'success' };
    if (result.username !== undefined) success.username = result.username;
    if (result.expiresAt !== undefined) success.expiresAt = result.expiresAt;
    return success;
  }

  private permissions(client: ClientIdentity): ClientPermissions | undefined {
    const fromAcl = this.acl?.current.forClient(client.username, client.clientId);
    const fromApp = this.app.permissions?.(client);
    if (fromAcl === undefined) return fromApp;
    if (fromApp === undefined) return fromAcl;
    return both(fromAcl, fromApp);
  }
}

/** What two sets of permissions both allow. */
function both(a: ClientPermissions, b: ClientPermissions): ClientPermissions {
  return {
    canPublish: (topic) => a.canPublish(topic) && b.canPublish(topic),
    canRead: (topic) => a.canRead(topic) && b.canRead(topic),
    canSubscribe: (filter) => {
      const x = a.canSubscribe(filter);
      const y = b.canSubscribe(filter);
      if (x === 'deny' || y === 'deny') return 'deny';
      return x === 'filter' || y === 'filter' ? 'filter' : 'allow';
    },
  };
}
