import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DEFAULT_SCRYPT,
  formatPasswordFile,
  hashPassword,
  isMissingFile,
  loadPasswordFile,
  type PasswordFile,
  PasswordFileError,
  parsePasswordFile,
  SCRYPT_LIMITS,
  watchPasswordFile,
} from '../../../src/auth/password-file.js';

/** Cheap parameters: the tests check behaviour, not strength. */
const FAST = { N: 16, r: 1, p: 1 };
const SALT = 'AAAAAAAAAAAAAAAAAAAAAA==';
const KEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const HASH = `$scrypt$N=16,r=1,p=1$${SALT}$${KEY}`;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'midge-pw-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function parseError(text: string): PasswordFileError {
  try {
    parsePasswordFile(text, 'users.passwd');
  } catch (e) {
    assert.ok(e instanceof PasswordFileError, String(e));
    return e;
  }
  assert.fail('expected a PasswordFileError');
}

/** Polls `check` until it returns true; fails after `ms`. */
async function waitFor(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('password file parsing', () => {
  test('users in file order; comments, blank lines, CRLF, a BOM and trailing blanks are fine', () => {
    const file = parsePasswordFile(
      `\uFEFF# midge users\n\nalice:${HASH}\r\n  \n#bob:${HASH}\nbob smith:${HASH} \t\nünï:${HASH}`,
      'users.passwd',
    );
    assert.deepEqual(file.users(), ['alice', 'bob smith', 'ünï']);
    assert.equal(file.size, 3);
    assert.ok(file.has('alice'));
    assert.ok(!file.has('#bob'));
    assert.equal(file.entries()[1]?.hash, HASH);
  });

  test('an empty file has no users', () => {
    assert.deepEqual(parsePasswordFile('', 'x').users(), []);
    assert.deepEqual(parsePasswordFile('# nobody\n\n', 'x').users(), []);
  });

  test('every bad line names the file, the line and the reason', () => {
    const cases: [string, RegExp][] = [
      ['alice', /expected username:hash/],
      [`:${HASH}`, /the user name is empty/],
      [`al\x01ice:${HASH}`, /control character/],
      [`al\x7fice:${HASH}`, /control character/],
      [`al\u0085ice:${HASH}`, /control character/],
      [`${'é'.repeat(32768)}:${HASH}`, /longer than 65535 bytes/],
      ['alice:', /not in the \$scrypt\$/],
      ['alice:plaintext', /not in the \$scrypt\$/],
      [`alice:$2b$10$${SALT}`, /not in the \$scrypt\$/],
      [`alice:$scrypt$N=16,r=1$${SALT}$${KEY}`, /not in the \$scrypt\$/],
      [`alice:$scrypt$N=16,r=1,p=1$${SALT}`, /not in the \$scrypt\$/],
      [`alice:$scrypt$N=16,r=1,p=1$${SALT}$${KEY}$`, /not in the \$scrypt\$/],
      [`alice:$scrypt$N=16,r=1,p=1$not base64!$${KEY}`, /not in the \$scrypt\$/],
      [`alice:$scrypt$N=15,r=1,p=1$${SALT}$${KEY}`, /N must be a power of 2 from 2 to 1048576 \(got 15\)/],
      [`alice:$scrypt$N=1,r=1,p=1$${SALT}$${KEY}`, /N must be a power of 2/],
      [`alice:$scrypt$N=2097152,r=1,p=1$${SALT}$${KEY}`, /N must be a power of 2/],
      [`alice:$scrypt$N=16,r=0,p=1$${SALT}$${KEY}`, /r must be from 1 to 32 \(got 0\)/],
      [`alice:$scrypt$N=16,r=33,p=1$${SALT}$${KEY}`, /r must be from 1 to 32/],
      [`alice:$scrypt$N=16,r=1,p=0$${SALT}$${KEY}`, /p must be from 1 to 16/],
      [`alice:$scrypt$N=16,r=1,p=17$${SALT}$${KEY}`, /p must be from 1 to 16/],
      [`alice:$scrypt$N=1048576,r=8,p=1$${SALT}$${KEY}`, /needs more than 256 MiB of memory/],
      [`alice:$scrypt$N=262144,r=8,p=16$${SALT}$${KEY}`, /too slow/],
      [`alice:$scrypt$N=16,r=1,p=1$AB$${KEY}`, /the salt is not valid base64/],
      [`alice:$scrypt$N=16,r=1,p=1$${SALT}$AB`, /the hash is not valid base64/],
      [`alice:$scrypt$N=16,r=1,p=1$AAAA$${KEY}`, /the salt must be 8 to 1024 bytes \(got 3\)/],
      [`alice:$scrypt$N=16,r=1,p=1$${SALT}$AAAA`, /the hash must be 16 to 1024 bytes \(got 3\)/],
    ];
    for (const [line, reason] of cases) {
      const e = parseError(`# users\n\n${line}\nbob:${HASH}\n`);
      assert.match(e.message, /^users\.passwd:3: /, line.slice(0, 60));
      assert.match(e.message, reason, line.slice(0, 60));
      assert.equal(e.file, 'users.passwd');
      assert.equal(e.line, 3);
    }
  });

  test('a duplicate user is refused, naming both lines', () => {
    const e = parseError(`alice:${HASH}\nbob:${HASH}\nalice:${HASH}\n`);
    assert.equal(e.message, 'users.passwd:3: duplicate user "alice" (first on line 1)');
  });

  test('the limits are the documented ones', () => {
    assert.deepEqual(DEFAULT_SCRYPT, { N: 16384, r: 8, p: 1 });
    assert.equal(SCRYPT_LIMITS.maxN, 2 ** 20);
    assert.equal(SCRYPT_LIMITS.maxR, 32);
    assert.equal(SCRYPT_LIMITS.maxP, 16);
    // The largest accepted parameters parse.
    parsePasswordFile(`a:$scrypt$N=1048576,r=2,p=2$${SALT}$${KEY}\n`, 'x');
    parsePasswordFile(`a:$scrypt$N=2,r=32,p=16$${SALT}$${KEY}\n`, 'x');
  });
});

describe('hashing and verifying', () => {
  test('the default parameters: N=16384, r=8, p=1, a 16-byte salt and a 32-byte key', async () => {
    const hash = await hashPassword('correct horse');
    const m = /^\$scrypt\$N=16384,r=8,p=1\$([^$]+)\$([^$]+)$/.exec(hash);
    assert.ok(m, hash);
    assert.equal(Buffer.from(m[1]!, 'base64').length, 16);
    assert.equal(Buffer.from(m[2]!, 'base64').length, 32);
    const file = parsePasswordFile(`alice:${hash}\n`, 'x');
    assert.equal(await file.verify('alice', Buffer.from('correct horse')), true);
    assert.equal(await file.verify('alice', Buffer.from('correct horsE')), false);
  });

  test('round trip; wrong password, unknown user and no password are refused', async () => {
    const alice = await hashPassword('s3cret', FAST);
    const bob = await hashPassword(Buffer.from([0, 1, 2, 255]), FAST);
    assert.notEqual(alice, await hashPassword('s3cret', FAST), 'a fresh salt each time');
    const file = parsePasswordFile(`alice:${alice}\nbob:${bob}\n`, 'x');
    assert.equal(await file.verify('alice', Buffer.from('s3cret')), true);
    assert.equal(await file.verify('bob', Buffer.from([0, 1, 2, 255])), true);
    assert.equal(await file.verify('alice', Buffer.from('s3cret!')), false);
    assert.equal(await file.verify('alice', Buffer.alloc(0)), false);
    assert.equal(await file.verify('bob', Buffer.from('s3cret')), false);
    assert.equal(await file.verify('carol', Buffer.from('s3cret')), false);
    assert.equal(await file.verify('alice', undefined), false);
    assert.equal(await file.verify('carol', undefined), false);
  });

  test('a hash with another key length verifies at that length', async () => {
    const hash = await hashPassword('pw', { ...FAST, saltBytes: 8, keyBytes: 64 });
    const file = parsePasswordFile(`u:${hash}\n`, 'x');
    assert.equal(await file.verify('u', Buffer.from('pw')), true);
    assert.equal(await file.verify('u', Buffer.from('px')), false);
  });

  test('hashPassword refuses parameters the parser would refuse', async () => {
    await assert.rejects(hashPassword('pw', { N: 3 }), RangeError);
    await assert.rejects(hashPassword('pw', { N: 2 ** 21 }), /N must be a power of 2/);
    await assert.rejects(hashPassword('pw', { ...FAST, r: 33 }), /r must be from 1 to 32/);
    await assert.rejects(hashPassword('pw', { ...FAST, p: 17 }), /p must be from 1 to 16/);
    await assert.rejects(hashPassword('pw', { ...FAST, saltBytes: 4 }), /saltBytes/);
    await assert.rejects(hashPassword('pw', { ...FAST, keyBytes: 8 }), /keyBytes/);
  });

  test('a hash at the largest memory bound still runs (maxmem is raised)', async () => {
    // 128·N·r = 256 MiB would be slow in a unit test; 64 MiB is above node's 32 MiB default.
    const hash = await hashPassword('pw', { N: 2 ** 16, r: 8, p: 1 });
    assert.equal(await parsePasswordFile(`u:${hash}\n`, 'x').verify('u', Buffer.from('pw')), true);
  });
});

describe('formatting and editing', () => {
  test('format parses back to the same entries, in order', async () => {
    const text = `# comment\nzed:${HASH}\n\nalice:${await hashPassword('a', FAST)}\nbob:${HASH}\n`;
    const file = parsePasswordFile(text, 'x');
    const out = formatPasswordFile(file);
    assert.equal(out.split('\n').length, 4);
    assert.ok(out.endsWith('\n'));
    assert.deepEqual(parsePasswordFile(out, 'x').entries(), file.entries());
    assert.equal(formatPasswordFile(file.entries()), out);
    assert.equal(formatPasswordFile([]), '');
  });

  test('withUser replaces in place and appends new users; withoutUser removes', () => {
    const file = parsePasswordFile(`a:${HASH}\nb:${HASH}\nc:${HASH}\n`, 'x');
    const other = HASH.replace('N=16', 'N=32');
    const changed = file.withUser('b', other).withUser('d', HASH);
    assert.deepEqual(changed.users(), ['a', 'b', 'c', 'd']);
    assert.equal(changed.entries()[1]?.hash, other);
    assert.deepEqual(file.users(), ['a', 'b', 'c'], 'the original is unchanged');
    assert.deepEqual(changed.withoutUser('a').withoutUser('nobody').users(), ['b', 'c', 'd']);
  });

  test('entries that would not parse back are refused', () => {
    const file = parsePasswordFile('', 'x');
    assert.throws(() => file.withUser('a:b', HASH), /contains ":"/);
    assert.throws(() => file.withUser('a\nb', HASH), /control character/);
    assert.throws(() => file.withUser('a', 'plain'), /not in the \$scrypt\$/);
    assert.throws(
      () =>
        formatPasswordFile([
          { username: 'a', hash: HASH },
          { username: 'a', hash: HASH },
        ]),
      /duplicate/,
    );
  });
});

describe('loading', () => {
  test('reads a file; errors name the path', async () => {
    const dir = tempDir();
    const path = join(dir, 'users.passwd');
    writeFileSync(path, `alice:${HASH}\n`);
    assert.deepEqual((await loadPasswordFile(path)).users(), ['alice']);

    const missing = join(dir, 'nope.passwd');
    await assert.rejects(loadPasswordFile(missing), (e: unknown) => {
      assert.ok(e instanceof PasswordFileError);
      assert.equal(e.message, `${missing}: the file does not exist`);
      assert.ok(isMissingFile(e));
      return true;
    });
    await assert.rejects(loadPasswordFile(dir), new RegExp(`^PasswordFileError: ${dir}: is a directory`));

    writeFileSync(path, `alice:${HASH}\nbob\n`);
    await assert.rejects(loadPasswordFile(path), (e: unknown) => {
      assert.ok(e instanceof PasswordFileError);
      assert.equal(e.message, `${path}:2: expected username:hash`);
      assert.ok(!isMissingFile(e));
      return true;
    });

    writeFileSync(path, Buffer.concat([Buffer.from('al'), Buffer.from([0xff]), Buffer.from(`:${HASH}\n`)]));
    await assert.rejects(loadPasswordFile(path), /: the file is not valid UTF-8$/);
  });
});

describe('watching', () => {
  function watch(path: string, initial: PasswordFile) {
    const changes: PasswordFile[] = [];
    const errors: Error[] = [];
    const watcher = watchPasswordFile(path, initial, {
      interval: 20,
      debounce: 20,
      onChange: (f) => changes.push(f),
      onError: (e) => errors.push(e),
    });
    return { watcher, changes, errors };
  }

  test('reloads when the file is rewritten, keeps the last good file on a bad one', async () => {
    const path = join(tempDir(), 'users.passwd');
    writeFileSync(path, `alice:${HASH}\n`);
    const { watcher, changes, errors } = watch(path, await loadPasswordFile(path));
    try {
      writeFileSync(path, `alice:${HASH}\nbob:${HASH}\n`);
      await waitFor('the reload', () => changes.length === 1);
      assert.deepEqual(watcher.current.users(), ['alice', 'bob']);

      writeFileSync(path, `alice:${HASH}\nbob:oops\n`);
      await waitFor('the error', () => errors.length === 1);
      assert.match(errors[0]!.message, /users\.passwd:2: the hash is not in the \$scrypt\$/);
      assert.deepEqual(watcher.current.users(), ['alice', 'bob'], 'still the last good file');

      rmSync(path);
      await waitFor('the error for a deleted file', () => errors.length === 2);
      assert.match(errors[1]!.message, /the file does not exist/);
      assert.deepEqual(watcher.current.users(), ['alice', 'bob']);

      writeFileSync(path, `carol:${HASH}\n`);
      await waitFor('the recovery', () => changes.length === 2);
      assert.deepEqual(watcher.current.users(), ['carol']);
      assert.equal(changes[1], watcher.current);
    } finally {
      watcher.close();
    }
  });

  test('follows an editor that writes a new file and renames it over the old one', async () => {
    const dir = tempDir();
    const path = join(dir, 'users.passwd');
    writeFileSync(path, `alice:${HASH}\n`);
    const { watcher, changes } = watch(path, await loadPasswordFile(path));
    try {
      for (const user of ['bob', 'carol']) {
        const temp = join(dir, `.users.passwd.${user}.tmp`);
        writeFileSync(temp, `${user}:${HASH}\n`);
        renameSync(temp, path);
        await waitFor(`the reload with ${user}`, () => watcher.current.has(user));
      }
      assert.deepEqual(watcher.current.users(), ['carol']);
      assert.ok(changes.length >= 2);
    } finally {
      watcher.close();
    }
  });

  test('debounces a burst of writes into few reloads, ending with the last content', async () => {
    const path = join(tempDir(), 'users.passwd');
    writeFileSync(path, `u0:${HASH}\n`);
    const changes: PasswordFile[] = [];
    const watcher = watchPasswordFile(path, await loadPasswordFile(path), {
      interval: 10,
      debounce: 300,
      onChange: (f) => changes.push(f),
    });
    try {
      for (let i = 1; i <= 5; i++) {
        writeFileSync(path, `u${i}:${HASH}\n`);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await waitFor('the reload', () => watcher.current.has('u5'));
      assert.ok(changes.length <= 2, `${changes.length} reloads`);
    } finally {
      watcher.close();
    }
  });

  test('close() stops reloading', async () => {
    const dir = tempDir();
    const path = join(dir, 'users.passwd');
    writeFileSync(path, `alice:${HASH}\n`);
    const { watcher, changes, errors } = watch(path, await loadPasswordFile(path));
    watcher.close();
    watcher.close();
    writeFileSync(path, `bob:${HASH}\n`);
    // Several poll intervals and debounce delays: long enough for a reload that should not happen.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(changes.length, 0);
    assert.equal(errors.length, 0);
    assert.deepEqual(watcher.current.users(), ['alice']);
  });

  test('a watcher on a path in a directory that goes away reports, not throws', async () => {
    const dir = join(tempDir(), 'sub');
    mkdirSync(dir);
    const path = join(dir, 'users.passwd');
    writeFileSync(path, `alice:${HASH}\n`);
    const { watcher, errors } = watch(path, await loadPasswordFile(path));
    try {
      rmSync(dir, { recursive: true });
      await waitFor('the error', () => errors.length === 1);
      assert.match(errors[0]!.message, /does not exist/);
      assert.deepEqual(watcher.current.users(), ['alice']);
    } finally {
      watcher.close();
    }
  });
});
