import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { PASSWD_USAGE, runPasswd } from '../../../src/auth/passwd-command.js';
import { hashPassword, loadPasswordFile, parsePasswordFile } from '../../../src/auth/password-file.js';

const FAST = { hash: { N: 16, r: 1, p: 1 } };

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'midge-passwd-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with `input` as non-terminal standard input (undefined: a stdin that never ends). */
async function run(args: string[], input?: string | Buffer): Promise<Run> {
  const stdin = new PassThrough();
  if (input !== undefined) stdin.end(input);
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await runPasswd(args, { stdin, stdout, stderr }, FAST);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function verify(file: string, user: string, password: string): Promise<boolean> {
  return (await loadPasswordFile(file)).verify(user, Buffer.from(password));
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('midge passwd: adding, changing, deleting', () => {
  test('creates the file with mode 0600 and adds the user', async () => {
    const file = join(tempDir(), 'users.passwd');
    const r = await run([file, 'alice'], 'wonderland\n');
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    assert.equal(mode(file), 0o600);
    assert.equal(await verify(file, 'alice', 'wonderland'), true);
    assert.equal(await verify(file, 'alice', 'wonderland\n'), false);
    assert.match(readFileSync(file, 'utf8'), /^alice:\$scrypt\$N=16,r=1,p=1\$[^$]+\$[^$]+\n$/);
  });

  test('appends new users and changes existing ones in place', async () => {
    const file = join(tempDir(), 'users.passwd');
    assert.equal((await run([file, 'alice'], 'a1\n')).code, 0);
    assert.equal((await run([file, 'bob'], 'b1\r\n')).code, 0);
    assert.equal((await run([file, 'carol'], 'c1')).code, 0);
    assert.equal((await run([file, 'bob'], 'b2\nignored second line\n')).code, 0);
    const users = await loadPasswordFile(file);
    assert.deepEqual(users.users(), ['alice', 'bob', 'carol']);
    assert.equal(await users.verify('alice', Buffer.from('a1')), true);
    assert.equal(await users.verify('bob', Buffer.from('b2')), true);
    assert.equal(await users.verify('bob', Buffer.from('b1')), false);
    assert.equal(await users.verify('carol', Buffer.from('c1')), true);
    assert.equal(mode(file), 0o600);
    assert.deepEqual(readdirSync(join(file, '..')), ['users.passwd'], 'no temp file left behind');
  });

  test('keeps the users of a hand-written file, resets its mode to 0600', async () => {
    const dir = tempDir();
    const file = join(dir, 'users.passwd');
    const zed = await hashPassword('z', FAST.hash);
    writeFileSync(file, `# hand-written\nzed:${zed}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    assert.equal((await run([file, 'alice'], 'a\n')).code, 0);
    assert.deepEqual((await loadPasswordFile(file)).users(), ['zed', 'alice']);
    assert.equal(await verify(file, 'zed', 'z'), true);
    assert.equal(mode(file), 0o600);
  });

  test('the password is bytes: UTF-8 and binary passwords verify as given', async () => {
    const file = join(tempDir(), 'users.passwd');
    assert.equal((await run([file, 'ünï'], 'pässwörd ☃\n')).code, 0);
    assert.equal(await verify(file, 'ünï', 'pässwörd ☃'), true);
    assert.equal((await run([file, 'bin'], Buffer.from([0xff, 0x00, 0x80, 0x0a]))).code, 0);
    assert.equal(await (await loadPasswordFile(file)).verify('bin', Buffer.from([0xff, 0x00, 0x80])), true);
  });

  test('reads only the first line: a stdin that stays open does not hang', async () => {
    const file = join(tempDir(), 'users.passwd');
    const stdin = new PassThrough();
    stdin.write('first\n');
    const out = new Collect();
    const code = await runPasswd([file, 'alice'], { stdin, stdout: out, stderr: out }, FAST);
    assert.equal(code, 0, out.text);
    assert.equal(await verify(file, 'alice', 'first'), true);
  });

  test('-D deletes the user; an absent user or file is an error naming the file', async () => {
    const file = join(tempDir(), 'users.passwd');
    await run([file, 'alice'], 'a\n');
    await run([file, 'bob'], 'b\n');
    assert.deepEqual(await run(['-D', file, 'alice']), { code: 0, stdout: '', stderr: '' });
    assert.deepEqual((await loadPasswordFile(file)).users(), ['bob']);
    assert.equal(mode(file), 0o600);

    const again = await run(['-D', file, 'alice']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `midge passwd: ${file}: no user "alice"\n`);

    const missing = join(tempDir(), 'none.passwd');
    const none = await run([missing, 'bob', '-D']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, `midge passwd: ${missing}: the file does not exist\n`);
  });

  test('-c starts the file anew', async () => {
    const file = join(tempDir(), 'users.passwd');
    await run([file, 'alice'], 'a\n');
    assert.equal((await run(['-c', file, 'bob'], 'b\n')).code, 0);
    assert.deepEqual((await loadPasswordFile(file)).users(), ['bob']);
  });

  test('a symbolic link is followed: the file it points to is replaced', async () => {
    const dir = tempDir();
    const real = join(dir, 'real.passwd');
    const link = join(dir, 'users.passwd');
    await run([real, 'alice'], 'a\n');
    symlinkSync(real, link);
    assert.equal((await run([link, 'bob'], 'b\n')).code, 0);
    assert.ok(statSync(link, { throwIfNoEntry: true }).isFile());
    assert.deepEqual((await loadPasswordFile(real)).users(), ['alice', 'bob']);
  });
});

describe('midge passwd: errors', () => {
  test('no password, an empty one or one too long: exit 1, file untouched', async () => {
    const file = join(tempDir(), 'users.passwd');
    await run([file, 'alice'], 'a\n');
    const before = readFileSync(file, 'utf8');
    const cases: [string | Buffer, RegExp][] = [
      ['', /: no password on standard input\n$/],
      ['\n', /: the password is empty; nothing changed\n$/],
      ['\r\nsecond\n', /: the password is empty/],
      [Buffer.alloc(65536, 'x'), /: the password is longer than 65535 bytes/],
    ];
    for (const [input, message] of cases) {
      const r = await run([file, 'alice'], input);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.startsWith(`midge passwd: ${file}: `), r.stderr);
      assert.match(r.stderr, message);
    }
    assert.equal(readFileSync(file, 'utf8'), before);
    // 65535 bytes is still fine: the longest password an MQTT client can send.
    assert.equal((await run([file, 'alice'], `${'y'.repeat(65535)}\n`)).code, 0);
  });

  test('a broken existing file is reported with its line, before any password is read', async () => {
    const file = join(tempDir(), 'users.passwd');
    writeFileSync(file, 'alice:plaintext\n');
    const r = await run([file, 'bob']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^midge passwd: ${file}:1: the hash is not in the \\$scrypt\\$`));
    assert.equal(readFileSync(file, 'utf8'), 'alice:plaintext\n');
  });

  test('a directory that cannot be written: exit 1 naming the file', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root ignores permissions');
      return;
    }
    const dir = join(tempDir(), 'locked');
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    try {
      const file = join(dir, 'users.passwd');
      const r = await run([file, 'alice'], 'a\n');
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `midge passwd: ${file}: cannot write the file: permission denied\n`);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  test('a missing directory: exit 1 naming the file', async () => {
    const file = join(tempDir(), 'no', 'such', 'users.passwd');
    const r = await run([file, 'alice'], 'a\n');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `midge passwd: ${file}: cannot write the file: the directory does not exist\n`);
  });

  test('usage errors: exit 2 with the reason and the usage on stderr', async () => {
    const cases: [string[], string][] = [
      [[], 'FILE and USER are required'],
      [['users.passwd'], 'FILE and USER are required'],
      [['users.passwd', 'alice', 'secret'], 'too many arguments'],
      [['-x', 'users.passwd', 'alice'], 'unknown option -x'],
      [['--password=x', 'users.passwd', 'alice'], 'unknown option --password=x'],
      [['-c', '-D', 'users.passwd', 'alice'], '-c and -D cannot be used together'],
      [['-cD', 'users.passwd', 'alice'], '-c and -D cannot be used together'],
      [['', 'alice'], 'FILE is empty'],
      [['users.passwd', ''], 'the user name is empty'],
      [['users.passwd', 'al:ice'], 'the user name contains ":"'],
      [['users.passwd', 'al\tice'], 'the user name contains a control character'],
    ];
    for (const [args, reason] of cases) {
      const r = await run(args, 'pw\n');
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `midge passwd: ${reason}\n\n${PASSWD_USAGE}`);
    }
  });

  test('--help and -h print the usage on stdout and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run([flag]);
      assert.deepEqual(r, { code: 0, stdout: PASSWD_USAGE, stderr: '' });
    }
    assert.match(PASSWD_USAGE, /^Usage: midge passwd \[-c\] \[-D\] FILE USER\n/);
  });

  test('after --, arguments that look like options are names', async () => {
    const dir = tempDir();
    const r = await run(['--', join(dir, '-users'), '-alice'], 'pw\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await loadPasswordFile(join(dir, '-users'))).users(), ['-alice']);
  });
});

describe('midge passwd: on a terminal', () => {
  /** A stand-in for a TTY: records raw-mode switches. */
  function terminal() {
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      isRaw: false,
      rawModes: [] as boolean[],
      setRawMode(mode: boolean) {
        stdin.isRaw = mode;
        stdin.rawModes.push(mode);
        return stdin;
      },
    });
    return stdin;
  }

  async function runTty(args: string[], typed: string[]): Promise<Run & { rawModes: boolean[] }> {
    const stdin = terminal();
    for (const keys of typed) stdin.write(keys);
    const stdout = new Collect();
    const stderr = new Collect();
    const code = await runPasswd(args, { stdin, stdout, stderr }, FAST);
    return { code, stdout: stdout.text, stderr: stderr.text, rawModes: stdin.rawModes };
  }

  test('prompts twice with echo off; Backspace and Ctrl-U edit; raw mode is restored', async () => {
    const file = join(tempDir(), 'users.passwd');
    const r = await runTty([file, 'alice'], ['sex\x7fcret\r', 'junk\x15se', 'cret\r']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'Password: \nRepeat password: \n');
    assert.equal(r.stdout, '');
    assert.deepEqual(r.rawModes, [true, false]);
    assert.equal(await verify(file, 'alice', 'secret'), true);
    assert.equal(mode(file), 0o600);
  });

  test('both answers pasted at once, non-ASCII characters erased whole', async () => {
    const file = join(tempDir(), 'users.passwd');
    const r = await runTty([file, 'alice'], ['pé☃\x7f\r\npé\n']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await verify(file, 'alice', 'pé'), true);
  });

  test('different answers are refused and nothing is written', async () => {
    const file = join(tempDir(), 'users.passwd');
    const r = await runTty([file, 'alice'], ['one\r', 'two\r']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`midge passwd: ${file}: the passwords do not match; nothing changed\n$`),
    );
    assert.deepEqual(r.rawModes, [true, false]);
    assert.throws(() => statSync(file), /ENOENT/);
  });

  test('an empty password is refused', async () => {
    const file = join(tempDir(), 'users.passwd');
    const r = await runTty([file, 'alice'], ['\r', '\r']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the password is empty/);
  });

  test('Ctrl-C exits with 130, Ctrl-D on an empty line with 1; raw mode is restored', async () => {
    const file = join(tempDir(), 'users.passwd');
    const c = await runTty([file, 'alice'], ['sec\x03']);
    assert.equal(c.code, 130);
    assert.deepEqual(c.rawModes, [true, false]);
    const d = await runTty([file, 'alice'], ['secret\r', '\x04']);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /standard input ended before the password/);
    assert.deepEqual(d.rawModes, [true, false]);
    assert.throws(() => statSync(file), /ENOENT/);
  });

  test('the default parameters are used when none are given', async () => {
    const file = join(tempDir(), 'users.passwd');
    const stdin = new PassThrough();
    stdin.end('pw\n');
    const out = new Collect();
    assert.equal(await runPasswd([file, 'alice'], { stdin, stdout: out, stderr: out }), 0, out.text);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^alice:\$scrypt\$N=16384,r=8,p=1\$/);
    assert.equal(await parsePasswordFile(text, file).verify('alice', Buffer.from('pw')), true);
  });
});
