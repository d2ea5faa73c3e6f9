/**
 * `midge passwd [-c] [-D] FILE USER`: adds, changes or deletes a user of a password file.
 *
 * The password never comes from the command line (where `ps` and shell history would show it): it is
 * typed twice with echo off on a terminal, or is the first line of standard input otherwise. The file
 * is replaced atomically (temp file, fsync, rename) with mode 0600, so the broker's watcher never
 * reads it half-written and other users cannot read the hashes.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, realpath, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import {
  checkUsername,
  formatPasswordFile,
  type HashOptions,
  hashPassword,
  isMissingFile,
  loadPasswordFile,
  PasswordFile,
  PasswordFileError,
} from './password-file.js';

export const PASSWD_USAGE = `Usage: midge passwd [-c] [-D] FILE USER

Adds USER to the password file FILE, or changes USER's password; creates FILE (mode 0600) if missing.
The password is read from the terminal (typed twice, not echoed) or from the first line of standard input.

Options:
  -c          create FILE anew, dropping the users it has
  -D          delete USER from FILE
  -h, --help  show this help
`;

/** The longest password an MQTT client can send (a two-byte length prefix). */
const MAX_PASSWORD_BYTES = 65535;

export interface PasswdIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface PasswdOptions {
  /** scrypt parameters for the new hash (tests use cheap ones). */
  hash?: HashOptions;
}

interface Args {
  help: boolean;
  create: boolean;
  remove: boolean;
  file: string;
  user: string;
}

class UsageError extends Error {}

/** Thrown by the prompt on Ctrl-C. */
class Interrupted extends Error {}

/** Fails the command with exit code 1 and this message (after the file's name). */
class Failure extends Error {}

function parseArgs(args: string[]): Args {
  const flags = { help: false, create: false, remove: false };
  const positional: string[] = [];
  let options = true;
  for (const arg of args) {
    if (options && arg === '--') options = false;
    else if (options && (arg === '-h' || arg === '--help')) flags.help = true;
    else if (options && /^-[cD]+$/.test(arg)) {
      if (arg.includes('c')) flags.create = true;
      if (arg.includes('D')) flags.remove = true;
    } else if (options && arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (flags.help) return { ...flags, file: '', user: '' };
  if (flags.create && flags.remove) throw new UsageError('-c and -D cannot be used together');
  if (positional.length !== 2) {
    throw new UsageError(positional.length < 2 ? 'FILE and USER are required' : 'too many arguments');
  }
  const [file, user] = positional as [string, string];
  if (file === '') throw new UsageError('FILE is empty');
  const bad = checkUsername(user);
  if (bad) throw new UsageError(bad);
  return { ...flags, file, user };
}

export async function runPasswd(args: string[], io: PasswdIo, options: PasswdOptions = {}): Promise<number> {
  let parsed: Args;
  try {
    parsed = parseArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`midge passwd: ${err.message}\n\n${PASSWD_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(PASSWD_USAGE);
    return 0;
  }
  const { file, user } = parsed;
  try {
    // The existing file first: a broken one is reported before anyone types a password.
    let users: PasswordFile;
    if (parsed.create) users = new PasswordFile();
    else {
      try {
        users = await loadPasswordFile(file);
      } catch (err) {
        if (parsed.remove || !isMissingFile(err)) throw err;
        users = new PasswordFile();
      }
    }
    if (parsed.remove) {
      if (!users.has(user)) throw new Failure(`no user ${JSON.stringify(user)}`);
      await writeAtomically(file, formatPasswordFile(users.withoutUser(user)));
      return 0;
    }
    const password = await readPassword(io);
    const hash = await hashPassword(password, options.hash);
    password.fill(0);
    await writeAtomically(file, formatPasswordFile(users.withUser(user, hash)));
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) return 130;
    if (err instanceof PasswordFileError) {
      io.stderr.write(`midge passwd: ${err.message}\n`);
      return 1;
    }
    if (err instanceof Failure) {
      io.stderr.write(`midge passwd: ${file}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function readPassword(io: PasswdIo): Promise<Buffer> {
  let password: Buffer;
  if (io.stdin.isTTY) {
    const prompt = new SecretPrompt(io.stdin, io.stderr);
    try {
      const first = await prompt.read('Password: ');
      const second = await prompt.read('Repeat password: ');
      if (!first.equals(second)) throw new Failure('the passwords do not match; nothing changed');
      password = first;
    } finally {
      prompt.close();
    }
  } else {
    const line = await firstLine(io.stdin);
    if (line === undefined) throw new Failure('no password on standard input');
    password = line;
  }
  if (password.length === 0) throw new Failure('the password is empty; nothing changed');
  if (password.length > MAX_PASSWORD_BYTES) {
    throw new Failure(`the password is longer than ${MAX_PASSWORD_BYTES} bytes; nothing changed`);
  }
  return password;
}

/**
 * The first line of a stream (without \n or \r\n), undefined if it ends without any byte. Stops at
 * the first newline rather than waiting for the end, and gives up past the longest usable password.
 */
function firstLine(stream: NodeJS.ReadableStream): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (result: Buffer | undefined, err?: Error): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      if (err) reject(err);
      else resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      const newline = bytes.indexOf(0x0a);
      chunks.push(newline < 0 ? bytes : bytes.subarray(0, newline));
      length += newline < 0 ? bytes.length : newline;
      if (newline >= 0) finish(trimCr(Buffer.concat(chunks)));
      else if (length > MAX_PASSWORD_BYTES + 1) finish(Buffer.concat(chunks));
    };
    const onEnd = (): void => finish(chunks.length === 0 ? undefined : trimCr(Buffer.concat(chunks)));
    const onError = (err: Error): void =>
      finish(undefined, new Failure(`cannot read standard input: ${err.message}`));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

function trimCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
}

type RawCapable = NodeJS.ReadableStream & { isRaw?: boolean; setRawMode?: (mode: boolean) => unknown };

/**
 * Reads lines from a terminal in raw mode, so nothing typed is echoed: Enter ends a line, Backspace
 * erases a character, Ctrl-U the line, Ctrl-C interrupts and Ctrl-D on an empty line ends input.
 * Characters that arrive together (a paste of both answers) are kept for the next read.
 */
class SecretPrompt {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';
  #waiting: { resolve: (line: Buffer) => void; reject: (err: Error) => void } | undefined;
  #current = '';
  readonly #wasRaw: boolean;
  readonly #onData = (chunk: Buffer | string): void => {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    this.#drain();
  };
  readonly #onEnd = (): void => this.#fail(new Failure('standard input ended before the password'));

  constructor(
    private readonly input: RawCapable,
    private readonly output: NodeJS.WritableStream,
  ) {
    this.#wasRaw = input.isRaw ?? false;
    input.setRawMode?.(true);
    input.on('data', this.#onData);
    input.on('end', this.#onEnd);
    input.resume();
  }

  read(prompt: string): Promise<Buffer> {
    this.output.write(prompt);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#drain();
    });
  }

  close(): void {
    this.input.off('data', this.#onData);
    this.input.off('end', this.#onEnd);
    this.input.setRawMode?.(this.#wasRaw);
    this.input.pause();
  }

  #fail(err: Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(err);
  }

  #drain(): void {
    while (this.#waiting && this.#pending.length > 0) {
      const ch = String.fromCodePoint(this.#pending.codePointAt(0)!);
      this.#pending = this.#pending.slice(ch.length);
      if (ch === '\r' || ch === '\n') {
        const line = Buffer.from(this.#current, 'utf8');
        this.#current = '';
        // Raw mode swallowed the Enter: move to the next line ourselves.
        this.output.write('\n');
        const waiting = this.#waiting;
        this.#waiting = undefined;
        waiting.resolve(line);
        // A \r\n pair is one Enter.
        if (ch === '\r' && this.#pending.startsWith('\n')) this.#pending = this.#pending.slice(1);
      } else if (ch === '\x03') {
        this.output.write('\n');
        this.#fail(new Interrupted());
      } else if (ch === '\x04') {
        if (this.#current === '') this.#fail(new Failure('standard input ended before the password'));
      } else if (ch === '\x7f' || ch === '\b') {
        this.#current = [...this.#current].slice(0, -1).join('');
      } else if (ch === '\x15') {
        this.#current = '';
      } else if (!/\p{Cc}/u.test(ch)) {
        this.#current += ch;
      }
    }
  }
}

/**
 * Replaces `file` with `text`: a temp file in the same directory (so the rename stays on one file
 * system), written, fsynced and renamed over it, then the directory fsynced so the rename survives a
 * crash. A symbolic link is followed, so the file it points to is the one replaced.
 */
async function writeAtomically(file: string, text: string): Promise<void> {
  let target = file;
  try {
    target = await realpath(file);
  } catch {
    // Not there yet (or a dangling link): create it under the given name.
  }
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o600);
    // The umask could only take bits away from 0600, but be explicit: the hashes are secrets.
    await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (err) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw new PasswordFileError(file, undefined, `cannot write the file: ${writeReason(err)}`, {
      cause: err,
    });
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms and file systems cannot fsync a directory; the rename itself has happened.
  } finally {
    await handle?.close().catch(() => {});
  }
}

function writeReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'ENOENT') return 'the directory does not exist';
  return e.message ?? String(err);
}
