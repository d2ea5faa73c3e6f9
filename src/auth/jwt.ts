/**
 * Verifies the JSON Web Tokens (RFC 7519, compact JWS of RFC 7515) that clients present as their MQTT
 * password or in the WebSocket upgrade request, and turns them into a username and an expiry.
 *
 * - No dependency: node:crypto does every cryptographic step (HMAC-SHA256, RSASSA-PKCS1-v1_5 and ECDSA
 *   P-256 verification, constant-time comparison). The JOSE framing left over is small enough to own, and
 *   owning it means exactly three algorithms, no remote key fetching (jku/x5u) and no key taken from the
 *   token itself (jwk/x5c headers are ignored) — the usual sources of JWT library vulnerabilities.
 * - Algorithm confusion: every key belongs to exactly one algorithm, decided at creation from its type (the
 *   secret to HS256, RSA keys to RS256, P-256 keys to ES256). A token's `alg` must be configured and only
 *   selects keys of that algorithm, so an HS256 token is never checked against an RSA public key used as an
 *   HMAC secret, `none` is never accepted, and a `kid` that names a key of another algorithm fails. A PEM
 *   text is refused as an HS256 secret for the same reason.
 * - Strict parsing: canonical base64url only (no padding, no stray bits), UTF-8 JSON objects, no `crit`
 *   header (we implement no extension), `typ` absent or "JWT", ES256 signatures in the JOSE raw r||s form
 *   (64 bytes; DER is refused), NumericDate claims finite numbers.
 * - Clock tolerance: default 30 seconds, applied to `exp` and `nbf`. The issuer and the broker are
 *   separate machines; a few seconds of drift would otherwise reject fresh tokens (nbf) or tokens right at
 *   their end. 30 s is small against the minutes-to-hours life of a typical token; set 0 to be exact.
 * - Failure reasons are fixed strings: safe to log, never containing the token, the secret or any
 *   attacker-chosen header value.
 */
import {
  createHmac,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  timingSafeEqual,
  verify as verifySignature,
} from 'node:crypto';

export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'RS256', 'ES256'];
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const DEFAULT_MAX_TOKEN_BYTES = 8192;
/** HS256 secrets must be at least as long as the SHA-256 output (RFC 7518 §3.2). */
export const MIN_HS256_SECRET_BYTES = 32;
/** RSA keys under 2048 bits are refused (RFC 7518 §3.3). */
export const MIN_RSA_BITS = 2048;

export interface JwtOptions {
  /** The algorithms accepted; each needs key material (secret for HS256, publicKeys for RS256/ES256). */
  algorithms: JwtAlgorithm[];
  /** The HS256 shared secret, at least 32 bytes (a string counts its UTF-8 bytes). */
  secret?: Buffer | string;
  /** PEM public keys (SPKI, PKCS#1 or X.509 certificate); RSA keys serve RS256, P-256 keys ES256. */
  publicKeys?: { kid?: string; key: string }[];
  /** When set, the token's `iss` must equal one of these. */
  issuer?: string | string[];
  /** When set, the token's `aud` (a string or an array) must contain one of these. */
  audience?: string | string[];
  /** The claim holding the MQTT username; default 'sub'. */
  usernameClaim?: string;
  /** Leeway for `exp` and `nbf`, in seconds; default 30. */
  clockToleranceSeconds?: number;
  /** Refuse tokens without `exp`; default true. */
  requireExpiry?: boolean;
  /** Longest token accepted, in bytes; default 8192. */
  maxTokenBytes?: number;
}

export type JwtResult =
  | {
      ok: true;
      /** The username claim, or undefined when the token has none. */
      username: string | undefined;
      claims: Record<string, unknown>;
      /** The `exp` claim in milliseconds since the epoch (without the clock tolerance). */
      expiresAt: number | undefined;
    }
  | { ok: false; reason: string };

export interface JwtVerifier {
  verify(token: string, nowMs?: number): JwtResult;
  /**
   * Milliseconds from nowMs until a verified token stops being accepted (`exp` plus the clock tolerance),
   * never negative; undefined for a failed result or a token without `exp`. For scheduling the disconnect:
   * note setTimeout cannot wait longer than 2^31-1 ms (about 24.8 days).
   */
  expiresInMs(result: JwtResult, nowMs?: number): number | undefined;
}

interface PublicKeyEntry {
  kid: string | undefined;
  alg: 'RS256' | 'ES256';
  key: KeyObject;
  /** The exact signature length in bytes: the RSA modulus size, or 64 for ES256. */
  signatureBytes: number;
}

function fail(reason: string): JwtResult {
  return { ok: false, reason };
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`jwt: ${name} must be a non-empty string or a non-empty array of strings`);
  }
  for (const item of list) {
    if (typeof item !== 'string' || item === '') throw new Error(`jwt: ${name} must hold non-empty strings`);
  }
  return list as string[];
}

function publicKeyEntry(entry: unknown, index: number, algorithms: readonly JwtAlgorithm[]): PublicKeyEntry {
  const where = `publicKeys[${index}]`;
  if (typeof entry !== 'object' || entry === null) throw new Error(`jwt: ${where} must be { kid?, key }`);
  const { kid, key: pem } = entry as { kid?: unknown; key?: unknown };
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw new Error(`jwt: ${where}.kid must be a non-empty string`);
  }
  if (typeof pem !== 'string') throw new Error(`jwt: ${where}.key must be a PEM string`);
  if (pem.includes('PRIVATE KEY')) {
    throw new Error(`jwt: ${where}.key is a private key; configure the public key only`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error(`jwt: ${where}.key is not a PEM public key`);
  }
  const type = key.asymmetricKeyType;
  let alg: 'RS256' | 'ES256';
  let signatureBytes: number;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new Error(`jwt: ${where}.key is a ${bits}-bit RSA key; RS256 needs 2048+`);
    alg = 'RS256';
    signatureBytes = Math.ceil(bits / 8);
  } else if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1') {
      throw new Error(`jwt: ${where}.key is an EC key on ${curve ?? 'an unknown curve'}; ES256 needs P-256`);
    }
    alg = 'ES256';
    signatureBytes = 64;
  } else {
    throw new Error(`jwt: ${where}.key is a ${type ?? 'unknown'} key; RS256 needs RSA, ES256 needs EC P-256`);
  }
  if (!algorithms.includes(alg)) {
    throw new Error(`jwt: ${where}.key is a key for ${alg}, which is not in algorithms`);
  }
  return { kid: kid as string | undefined, alg, key, signatureBytes };
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes of a canonical base64url segment (no padding, no non-zero trailing bits), or undefined. */
function decodeSegment(segment: string): Buffer | undefined {
  if (!SEGMENT.test(segment)) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeSegment(segment);
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function createJwtVerifier(options: JwtOptions): JwtVerifier {
  if (typeof options !== 'object' || options === null) throw new Error('jwt: options must be an object');
  const algorithms = options.algorithms;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new Error(`jwt: algorithms must be a non-empty array of ${JWT_ALGORITHMS.join(', ')}`);
  }
  for (const alg of algorithms) {
    if (!JWT_ALGORITHMS.includes(alg)) {
      throw new Error(
        `jwt: algorithm ${JSON.stringify(alg)} is not supported (use ${JWT_ALGORITHMS.join(', ')})`,
      );
    }
  }

  let hmacKey: KeyObject | undefined;
  if (options.secret !== undefined) {
    if (!algorithms.includes('HS256')) throw new Error('jwt: secret is set but HS256 is not in algorithms');
    const secret = options.secret;
    if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
      throw new Error('jwt: secret must be a string or a Buffer');
    }
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (bytes.length < MIN_HS256_SECRET_BYTES) {
      throw new Error(
        `jwt: HS256 secret is ${bytes.length} bytes; it must be at least ${MIN_HS256_SECRET_BYTES}`,
      );
    }
    if (bytes.includes('-----BEGIN')) {
      throw new Error('jwt: HS256 secret looks like a PEM key; put public keys in publicKeys');
    }
    hmacKey = createSecretKey(Buffer.from(bytes));
  } else if (algorithms.includes('HS256')) {
    throw new Error('jwt: HS256 is in algorithms but no secret is set');
  }

  if (options.publicKeys !== undefined && !Array.isArray(options.publicKeys)) {
    throw new Error('jwt: publicKeys must be an array');
  }
  const publicKeys = (options.publicKeys ?? []).map((entry, i) => publicKeyEntry(entry, i, algorithms));
  const kids = new Set<string>();
  for (const entry of publicKeys) {
    if (entry.kid === undefined) continue;
    if (kids.has(entry.kid)) throw new Error(`jwt: publicKeys kid ${JSON.stringify(entry.kid)} is repeated`);
    kids.add(entry.kid);
  }
  for (const alg of ['RS256', 'ES256'] as const) {
    if (algorithms.includes(alg) && !publicKeys.some((entry) => entry.alg === alg)) {
      const kind = alg === 'RS256' ? 'RSA' : 'EC P-256';
      throw new Error(`jwt: ${alg} is in algorithms but publicKeys has no ${kind} key`);
    }
  }

  const issuers = stringList(options.issuer, 'issuer');
  const audiences = stringList(options.audience, 'audience');
  const usernameClaim = options.usernameClaim ?? 'sub';
  if (typeof usernameClaim !== 'string' || usernameClaim === '') {
    throw new Error('jwt: usernameClaim must be a non-empty string');
  }
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!isNumericDate(tolerance) || tolerance < 0) {
    throw new Error('jwt: clockToleranceSeconds must be a finite number >= 0');
  }
  const toleranceMs = tolerance * 1000;
  const requireExpiry = options.requireExpiry ?? true;
  if (typeof requireExpiry !== 'boolean') throw new Error('jwt: requireExpiry must be a boolean');
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (!Number.isSafeInteger(maxTokenBytes) || maxTokenBytes < 16) {
    throw new Error('jwt: maxTokenBytes must be an integer >= 16');
  }

  function signatureValid(
    alg: JwtAlgorithm,
    kid: string | undefined,
    input: Buffer,
    signature: Buffer,
  ): boolean | string {
    if (alg === 'HS256') {
      // One secret: a kid, if any, has nothing to select.
      if (hmacKey === undefined || signature.length !== 32) return false;
      return timingSafeEqual(createHmac('sha256', hmacKey).update(input).digest(), signature);
    }
    let candidates: PublicKeyEntry[];
    if (kid !== undefined) {
      const entry = publicKeys.find((candidate) => candidate.kid === kid);
      if (entry === undefined) return 'unknown kid';
      if (entry.alg !== alg) return 'kid names a key of another algorithm';
      candidates = [entry];
    } else {
      candidates = publicKeys.filter((candidate) => candidate.alg === alg);
    }
    for (const entry of candidates) {
      if (signature.length !== entry.signatureBytes) continue;
      try {
        const key = alg === 'ES256' ? { key: entry.key, dsaEncoding: 'ieee-p1363' as const } : entry.key;
        if (verifySignature('sha256', input, key, signature)) return true;
      } catch {
        // A malformed signature is simply not valid.
      }
    }
    return false;
  }

  function verify(token: string, nowMs: number = Date.now()): JwtResult {
    if (typeof token !== 'string' || token === '') return fail('empty token');
    if (token.length > maxTokenBytes || Buffer.byteLength(token, 'utf8') > maxTokenBytes) {
      return fail('token too large');
    }
    const parts = token.split('.');
    if (parts.length !== 3) return fail('token must have three segments');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

    const header = decodeJsonObject(headerPart);
    if (header === undefined) return fail('malformed header');
    const alg = header['alg'];
    if (typeof alg !== 'string' || !(algorithms as string[]).includes(alg)) return fail('alg not allowed');
    const typ = header['typ'];
    if (typ !== undefined && (typeof typ !== 'string' || typ.toUpperCase() !== 'JWT')) {
      return fail('typ is not JWT');
    }
    if (header['crit'] !== undefined) return fail('crit header not supported');
    const kid = header['kid'];
    if (kid !== undefined && typeof kid !== 'string') return fail('malformed kid');

    const signature = decodeSegment(signaturePart);
    if (signature === undefined) return fail('malformed signature');
    const input = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
    const valid = signatureValid(alg as JwtAlgorithm, kid, input, signature);
    if (typeof valid === 'string') return fail(valid);
    if (!valid) return fail('bad signature');

    const claims = decodeJsonObject(payloadPart);
    if (claims === undefined) return fail('malformed payload');
    const { exp, nbf, iat } = claims;
    if (exp !== undefined && !isNumericDate(exp)) return fail('exp is not a number');
    if (nbf !== undefined && !isNumericDate(nbf)) return fail('nbf is not a number');
    if (iat !== undefined && !isNumericDate(iat)) return fail('iat is not a number');
    if (exp === undefined && requireExpiry) return fail('exp missing');
    if (exp !== undefined && nowMs >= exp * 1000 + toleranceMs) return fail('token expired');
    if (nbf !== undefined && nowMs < nbf * 1000 - toleranceMs) return fail('token not yet valid');

    if (issuers !== undefined) {
      const iss = claims['iss'];
      if (typeof iss !== 'string' || !issuers.includes(iss)) return fail('issuer not accepted');
    }
    if (audiences !== undefined) {
      const aud = claims['aud'];
      const list = typeof aud === 'string' ? [aud] : aud;
      if (
        !Array.isArray(list) ||
        !list.some((item) => typeof item === 'string' && audiences.includes(item))
      ) {
        return fail('audience not accepted');
      }
    }

    const claim = claims[usernameClaim];
    let username: string | undefined;
    if (claim !== undefined) {
      if (typeof claim !== 'string' || claim === '') return fail('username claim is not a non-empty string');
      username = claim;
    }
    return { ok: true, username, claims, expiresAt: exp === undefined ? undefined : exp * 1000 };
  }

  function expiresInMs(result: JwtResult, nowMs: number = Date.now()): number | undefined {
    if (!result.ok || result.expiresAt === undefined) return undefined;
    return Math.max(0, result.expiresAt + toleranceMs - nowMs);
  }

  return { verify, expiresInMs };
}
