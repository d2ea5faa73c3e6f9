/**
 * The password file: users and scrypt hashes of their passwords, read at start-up, reloaded when the
 * file changes, and checked in time that does not reveal whether a user exists.
 *
 * Format (UTF-8, one user per line; blank lines and lines starting with `#` are ignored):
 *
 *   username:$scrypt$N=<n>,r=<r>,p=<p>$<salt base64>$<hash base64>
 *
 * - username: not empty, no `:` and no control characters, at most 65535 UTF-8 bytes (the MQTT limit).
 * - N (a power of 2), r and p: the scrypt cost parameters; salt and hash: standard base64 (with or
 *   without `=` padding). The hash's length is the derived key's length.
 *
 * `midge passwd` writes this file; hand edits are fine. The scrypt parameters are bounded (see
 * SCRYPT_LIMITS) so that a careless or hostile file cannot make each CONNECT take seconds or gigabytes.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WatchedFile, type WatchOptions } from './watched-file.js';

export class PasswordFileError extends Error {
  constructor(
    /** The path, or '' for entries that do not come from a file. */
    readonly file: string,
    /** 1-based line number, when the problem is on one line. */
    readonly line: number | undefined,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    const where = line === undefined ? file : `${file}:${line}`;
    super(where ? `${where}: ${reason}` : reason, options);
    this.name = 'PasswordFileError';
  }
}

export interface ScryptParams {
  /** CPU/memory cost: a power of 2. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** The parameters for new hashes: node's defaults, about 50 ms and 16 MiB per verification. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = { N: 16384, r: 8, p: 1 };

/**
 * What a file may ask for. Each verification runs one scrypt on the libuv thread pool, so the bounds
 * cap both the memory (128·N·r bytes) and the work (∝ N·r·p, 32 times the default at most).
 */
export const SCRYPT_LIMITS = {
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  maxMemory: 256 * 1024 * 1024,
  maxWork: 32 * DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r * DEFAULT_SCRYPT.p,
  saltBytes: { min: 8, max: 1024 },
  keyBytes: { min: 16, max: 1024 },
} as const;

export const MAX_USERNAME_BYTES = 65535;

export interface HashOptions extends Partial<ScryptParams> {
  /** Default 16. */
  saltBytes?: number;
  /** Default 32. */
  keyBytes?: number;
}

/** One line of the file: the user and the encoded `$scrypt$…` string. */
export interface PasswordEntry {
  readonly username: string;
  readonly hash: string;
}

interface ScryptHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

interface User {
  entry: PasswordEntry;
  decoded: ScryptHash;
}

/** The reason `username` cannot be in the file, or undefined when it can. */
export function checkUsername(username: string): string | undefined {
  if (username.length === 0) return 'the user name is empty';
  if (username.includes(':')) return 'the user name contains ":"';
  if (/\p{Cc}/u.test(username)) return 'the user name contains a control character';
  // A lone surrogate cannot be encoded in UTF-8; it would silently become U+FFFD.
  if (/\p{Cs}/u.test(username)) return 'the user name is not valid Unicode';
  if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) {
    return `the user name is longer than ${MAX_USERNAME_BYTES} bytes`;
  }
  return undefined;
}

/** The reason these parameters are refused, or undefined when they are within SCRYPT_LIMITS. */
function checkParams({ N, r, p }: ScryptParams): string | undefined {
  const L = SCRYPT_LIMITS;
  if (!Number.isSafeInteger(N) || N < 2 || N > L.maxN || (N & (N - 1)) !== 0) {
    return `scrypt N must be a power of 2 from 2 to ${L.maxN} (got ${N})`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > L.maxR) {
    return `scrypt r must be from 1 to ${L.maxR} (got ${r})`;
  }
  if (!Number.isSafeInteger(p) || p < 1 || p > L.maxP) {
    return `scrypt p must be from 1 to ${L.maxP} (got ${p})`;
  }
  if (128 * N * r > L.maxMemory) {
    return `scrypt N=${N},r=${r} needs more than ${L.maxMemory / 2 ** 20} MiB of memory (128·N·r bytes)`;
  }
  if (N * r * p > L.maxWork) return `scrypt N=${N},r=${r},p=${p} is too slow (N·r·p above ${L.maxWork})`;
  return undefined;
}

const HASH_FORMAT =
  /^\$scrypt\$N=(\d{1,10}),r=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from skips what it cannot decode; only accept text that is exactly the bytes' encoding.
  return bytes.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '') ? bytes : undefined;
}

/** The decoded hash, or the reason it is refused. */
function decodeHash(encoded: string): ScryptHash | string {
  const m = HASH_FORMAT.exec(encoded);
  if (!m) return 'the hash is not in the $scrypt$N=<n>,r=<r>,p=<p>$<salt>$<hash> format';
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const bad = checkParams(params);
  if (bad) return bad;
  const salt = decodeBase64(m[4]!);
  if (!salt) return 'the salt is not valid base64';
  const key = decodeBase64(m[5]!);
  if (!key) return 'the hash is not valid base64';
  const { saltBytes, keyBytes } = SCRYPT_LIMITS;
  if (salt.length < saltBytes.min || salt.length > saltBytes.max) {
    return `the salt must be ${saltBytes.min} to ${saltBytes.max} bytes (got ${salt.length})`;
  }
  if (key.length < keyBytes.min || key.length > keyBytes.max) {
    return `the hash must be ${keyBytes.min} to ${keyBytes.max} bytes (got ${key.length})`;
  }
  return { ...params, salt, key };
}

function derive(
  password: Buffer | string,
  h: ScryptParams & { salt: Buffer },
  keylen: number,
): Promise<Buffer> {
  // OpenSSL needs about 128·r·(N + p + 2) bytes; node's default maxmem (32 MiB) would refuse larger N.
  const maxmem = 128 * h.r * (h.N + h.p + 2) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, h.salt, keylen, { N: h.N, r: h.r, p: h.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** A new `$scrypt$…` string for `password`, with a random salt. */
export async function hashPassword(password: string | Buffer, options: HashOptions = {}): Promise<string> {
  const params = {
    N: options.N ?? DEFAULT_SCRYPT.N,
    r: options.r ?? DEFAULT_SCRYPT.r,
    p: options.p ?? DEFAULT_SCRYPT.p,
  };
  const saltBytes = options.saltBytes ?? 16;
  const keyBytes = options.keyBytes ?? 32;
  // Refuse here what the parser would refuse, so a hash we write can always be read back.
  const bad = checkParams(params);
  if (bad) throw new RangeError(bad);
  const { saltBytes: S, keyBytes: K } = SCRYPT_LIMITS;
  if (!Number.isInteger(saltBytes) || saltBytes < S.min || saltBytes > S.max) {
    throw new RangeError(`saltBytes must be from ${S.min} to ${S.max} (got ${saltBytes})`);
  }
  if (!Number.isInteger(keyBytes) || keyBytes < K.min || keyBytes > K.max) {
    throw new RangeError(`keyBytes must be from ${K.min} to ${K.max} (got ${keyBytes})`);
  }
  const salt = randomBytes(saltBytes);
  const key = await derive(password, { ...params, salt }, keyBytes);
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** What an unknown user is checked against: default parameters, like the hashes midge writes. */
const DUMMY: ScryptHash = {
  ...DEFAULT_SCRYPT,
  salt: Buffer.alloc(16, 0x5a),
  key: randomBytes(32),
};

/** The users of a password file; immutable (the `with…` methods return a new one). */
export class PasswordFile {
  readonly #users: Map<string, User>;

  /** Throws a PasswordFileError (without file or line) for a bad name, a bad hash or a duplicate. */
  constructor(entries: Iterable<PasswordEntry> = []) {
    this.#users = new Map();
    for (const entry of entries) {
      const reason = PasswordFile.#check(entry, this.#users);
      if (typeof reason === 'string') throw new PasswordFileError('', undefined, reason);
      this.#users.set(entry.username, { entry, decoded: reason });
    }
  }

  /** The decoded hash, or the reason the entry cannot be added to `users`. */
  static #check(entry: PasswordEntry, users: ReadonlyMap<string, User>): ScryptHash | string {
    const badName = checkUsername(entry.username);
    if (badName) return badName;
    if (users.has(entry.username)) return `duplicate user ${JSON.stringify(entry.username)}`;
    return decodeHash(entry.hash);
  }

  /** Used by the parser, which has already checked every entry. */
  static #fromChecked(users: Map<string, User>): PasswordFile {
    const file = new PasswordFile();
    for (const [name, user] of users) file.#users.set(name, user);
    return file;
  }

  static parse(text: string, file: string): PasswordFile {
    const users = new Map<string, User>();
    const firstLine = new Map<string, number>();
    const lines = text.replace(/^\uFEFF/, '').split('\n');
    for (const [index, raw] of lines.entries()) {
      const lineNo = index + 1;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      if (colon < 0) throw new PasswordFileError(file, lineNo, 'expected username:hash');
      const username = line.slice(0, colon);
      // Trailing blanks after the hash are an editor's doing; base64 never ends with one.
      const entry = { username, hash: line.slice(colon + 1).trimEnd() };
      if (users.has(username)) {
        const reason = `duplicate user ${JSON.stringify(username)} (first on line ${firstLine.get(username)})`;
        throw new PasswordFileError(file, lineNo, reason);
      }
      const decoded = PasswordFile.#check(entry, users);
      if (typeof decoded === 'string') throw new PasswordFileError(file, lineNo, decoded);
      users.set(username, { entry, decoded });
      firstLine.set(username, lineNo);
    }
    return PasswordFile.#fromChecked(users);
  }

  get size(): number {
    return this.#users.size;
  }

  has(username: string): boolean {
    return this.#users.has(username);
  }

  /** The user names, in file order. */
  users(): string[] {
    return [...this.#users.keys()];
  }

  /** The entries, in file order. */
  entries(): PasswordEntry[] {
    return [...this.#users.values()].map((u) => u.entry);
  }

  /** A copy with `username` set to `hash`: replaced in place if present, appended if new. */
  withUser(username: string, hash: string): PasswordFile {
    const others = new Map(this.#users);
    others.delete(username);
    const entry = { username, hash };
    const decoded = PasswordFile.#check(entry, others);
    if (typeof decoded === 'string') throw new PasswordFileError('', undefined, decoded);
    const users = new Map(this.#users);
    users.set(username, { entry, decoded });
    return PasswordFile.#fromChecked(users);
  }

  /** A copy without `username` (the same users if it is not there). */
  withoutUser(username: string): PasswordFile {
    const users = new Map(this.#users);
    users.delete(username);
    return PasswordFile.#fromChecked(users);
  }

  /**
   * Whether `password` is `username`'s. An unknown user or a missing password still costs one scrypt
   * (against a fixed hash with the default parameters), so the answer's timing does not tell whether
   * the user exists — as long as the file's hashes use the default parameters too.
   */
  async verify(username: string, password: Buffer | undefined): Promise<boolean> {
    const user = this.#users.get(username);
    const target = user && password !== undefined ? user.decoded : DUMMY;
    const key = await derive(password ?? Buffer.alloc(0), target, target.key.length);
    // Equal lengths by construction: the key is derived at the stored hash's length.
    const match = timingSafeEqual(key, target.key);
    return match && target !== DUMMY;
  }
}

/** Parses the text of a password file; errors name `file` and the line. */
export function parsePasswordFile(text: string, file: string): PasswordFile {
  return PasswordFile.parse(text, file);
}

/** The file's text for these entries, in their order; comments are not kept. */
export function formatPasswordFile(entries: Iterable<PasswordEntry> | PasswordFile): string {
  // Through the constructor, so that what is written always parses back.
  const file = entries instanceof PasswordFile ? entries : new PasswordFile(entries);
  return file
    .entries()
    .map((e) => `${e.username}:${e.hash}\n`)
    .join('');
}

function ioReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'the file does not exist';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'cannot read the file: permission denied';
  if (e.code === 'EISDIR') return 'is a directory, not a file';
  return `cannot read the file: ${e.message ?? String(err)}`;
}

/** Whether a PasswordFileError from loadPasswordFile means the file is not there. */
export function isMissingFile(err: unknown): boolean {
  return (
    err instanceof PasswordFileError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
  );
}

/** Reads and parses the file at `path`; every error is a PasswordFileError naming `path`. */
export async function loadPasswordFile(path: string): Promise<PasswordFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new PasswordFileError(path, undefined, ioReason(err), { cause: err });
  }
  let text: string;
  try {
    // Strict: a mis-encoded name would otherwise turn into U+FFFD and never match a client's.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new PasswordFileError(path, undefined, 'the file is not valid UTF-8', { cause: err });
  }
  return parsePasswordFile(text, path);
}

export type PasswordWatchOptions = WatchOptions<PasswordFile>;

/** Keeps a password file's users current (see WatchedFile); reload errors are PasswordFileErrors. */
export function watchPasswordFile(
  path: string,
  initial: PasswordFile,
  options: PasswordWatchOptions = {},
): WatchedFile<PasswordFile> {
  return new WatchedFile(path, loadPasswordFile, initial, options);
}

/** Loads a password file, then keeps it current. */
export function openPasswordFile(
  path: string,
  options: PasswordWatchOptions = {},
): Promise<WatchedFile<PasswordFile>> {
  return WatchedFile.open(path, loadPasswordFile, options);
}
