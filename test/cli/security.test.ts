/**
 * The security side of the `midge` command, as a user runs it: `midge passwd` writing the password file
 * a running broker then accepts (and reloads on SIGHUP), and start-up refusing unusable password, ACL
 * and JWT settings with exit code 2 and one line naming the key, the file and the line.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { IClientOptions } from 'mqtt';
import mqtt from 'mqtt';
import { withTimeout } from '../helpers/mqtt.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
}

/** Runs `midge args` in a new temporary working directory; `stdin`, if given, is written and closed. */
function run(args: string[], stdin?: string): Run {
  const cwd = mkdtempSync(join(tmpdir(), 'midge-run-'));
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (text: string) => stdout.push(text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  child.stdin?.on('error', () => {});
  if (stdin === undefined) child.stdin?.end();
  else child.stdin?.end(stdin);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exit };
}

/** Resolves when the text `stream` collected (from `from` characters on) matches `pattern`. */
function output(running: Run, stream: 'stdout' | 'stderr', pattern: RegExp, from = 0): Promise<void> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const check = () => {
        if (pattern.test(running[stream].join('').slice(from))) resolve();
      };
      running.child[stream]?.on('data', () => setImmediate(check));
      running.child.on('exit', () => reject(new Error(`exited; stderr: ${running.stderr.join('')}`)));
      check();
    }),
    10_000,
    `${stream} matching ${pattern}`,
  );
}

/** A port that was free a moment ago (port 0 means "no TCP listener" to the command). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The 3.1.1 CONNACK return code MQTT.js receives; the client is closed afterwards. */
async function connackCode(url: string, opts: IClientOptions = {}): Promise<number> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  client.on('error', () => {});
  try {
    return await withTimeout(
      new Promise<number>((resolve, reject) => {
        client.on('packetreceive', (packet) => {
          if (packet.cmd === 'connack') resolve(packet.returnCode ?? -1);
        });
        client.on('close', () => reject(new Error('closed before CONNACK')));
      }),
      5000,
      'CONNACK',
    );
  } finally {
    client.end(true);
  }
}

/** `midge passwd ...` with `password` as the first line of standard input; resolves with its exit code. */
async function passwd(args: string[], password?: string): Promise<{ code: number | null; stderr: string }> {
  const running = run(['passwd', ...args], password);
  const code = await withTimeout(running.exit, 15_000, `midge passwd ${args.join(' ')}`);
  return { code, stderr: running.stderr.join('') };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'midge-cli-sec-'));
}

describe('midge passwd and a broker using the file', () => {
  test('passwd creates a 0600 file, the broker accepts its users, passwd -D and SIGHUP remove one', async () => {
    const dir = tempDir();
    const file = join(dir, 'passwd');
    assert.deepEqual(await passwd([file, 'alice'], 'alice-pw\n'), { code: 0, stderr: '' });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(
      readFileSync(file, 'utf8'),
      /^alice:\$scrypt\$N=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/,
    );
    // A second user is added; \r\n ends the line too.
    assert.equal((await passwd([file, 'bob'], 'bob-pw\r\n')).code, 0);
    assert.deepEqual(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0]),
      ['alice', 'bob'],
    );

    const port = await freePort();
    const config = join(dir, 'midge.json');
    writeFileSync(
      config,
      JSON.stringify({
        host: '127.0.0.1',
        port,
        wsPort: 0,
        store: 'memory',
        logLevel: 'info',
        passwordFile: file,
      }),
    );
    const broker = run(['--config', config]);
    try {
      await output(broker, 'stdout', new RegExp(`midge listening mqtt tcp 127\\.0\\.0\\.1:${port}\n`));
      const url = `mqtt://127.0.0.1:${port}`;
      assert.equal(await connackCode(url, { clientId: 'a1', username: 'alice', password: 'alice-pw' }), 0);
      assert.equal(await connackCode(url, { clientId: 'b1', username: 'bob', password: 'bob-pw' }), 0);
      assert.equal(await connackCode(url, { clientId: 'a2', username: 'alice', password: 'bob-pw' }), 4);
      assert.equal(await connackCode(url, { clientId: 'anon' }), 5);

      assert.deepEqual(await passwd(['-D', file, 'alice']), { code: 0, stderr: '' });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /^alice:/m);
      const mark = broker.stderr.join('').length;
      broker.child.kill('SIGHUP');
      await output(broker, 'stderr', /passwordFile reloaded/, mark);
      assert.equal(await connackCode(url, { clientId: 'a3', username: 'alice', password: 'alice-pw' }), 4);
      assert.equal(await connackCode(url, { clientId: 'b2', username: 'bob', password: 'bob-pw' }), 0);
      // Nothing the command or the broker printed holds a password.
      const printed = broker.stdout.join('') + broker.stderr.join('');
      assert.ok(!printed.includes('alice-pw') && !printed.includes('bob-pw'), 'a password was printed');

      broker.child.kill('SIGTERM');
      assert.equal(await withTimeout(broker.exit, 10_000, 'exit after SIGTERM'), 0);
    } finally {
      broker.child.kill('SIGKILL');
    }
  });

  test('passwd refuses what it cannot do: exit 1 and the reason, the file unchanged', async () => {
    const dir = tempDir();
    const file = join(dir, 'passwd');
    assert.equal((await passwd([file, 'alice'], 'alice-pw\n')).code, 0);
    const before = readFileSync(file, 'utf8');
    const unknown = await passwd(['-D', file, 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^midge passwd: .*passwd: no user "nobody"\n$/);
    const empty = await passwd([file, 'bob'], '');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no password on standard input/);
    assert.equal(readFileSync(file, 'utf8'), before);
    const usage = await passwd([file]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /FILE and USER are required/);
  });
});

describe('security settings that stop start-up (exit code 2, one line)', () => {
  async function refusedStart(settings: Record<string, unknown>): Promise<string> {
    const dir = tempDir();
    const config = join(dir, 'midge.json');
    const port = await freePort();
    writeFileSync(
      config,
      JSON.stringify({ host: '127.0.0.1', port, wsPort: 0, store: 'memory', logLevel: 'warn', ...settings }),
    );
    const broker = run(['--config', config]);
    try {
      assert.equal(await withTimeout(broker.exit, 10_000, 'exit'), 2);
    } finally {
      broker.child.kill('SIGKILL');
    }
    assert.equal(broker.stdout.join(''), '', 'no listener line: nothing was opened');
    const stderr = broker.stderr.join('');
    assert.match(stderr, /^midge: configuration error: /);
    assert.equal(stderr.trim().split('\n').length, 1, `one line, got: ${stderr}`);
    return stderr;
  }

  test('a password file with a bad line names passwordFile, the file and the line', async () => {
    const dir = tempDir();
    const file = join(dir, 'passwd');
    assert.equal((await passwd([file, 'alice'], 'alice-pw\n')).code, 0);
    writeFileSync(
      file,
      `# users\n${readFileSync(file, 'utf8')}bob:$scrypt$N=3,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==\n`,
    );
    const stderr = await refusedStart({ passwordFile: file });
    assert.match(stderr, /passwordFile: /);
    assert.ok(stderr.includes(`${file}:3: `), `names ${file}:3 — got: ${stderr}`);
    assert.match(stderr, /scrypt N must be a power of 2/);
  });

  test('a missing password file names passwordFile and the file', async () => {
    const file = join(tempDir(), 'missing');
    const stderr = await refusedStart({ passwordFile: file });
    assert.match(stderr, /passwordFile: /);
    assert.ok(stderr.includes(file), `names ${file} — got: ${stderr}`);
    assert.match(stderr, /does not exist/);
  });

  test('an ACL with a bad line names aclFile, the file and the line', async () => {
    const file = join(tempDir(), 'acl');
    writeFileSync(file, 'user alice\ntopic read alice/#\ntopic raed x/#\n');
    const stderr = await refusedStart({ aclFile: file });
    assert.match(stderr, /aclFile: /);
    assert.ok(stderr.includes(`${file}:3: `), `names ${file}:3 — got: ${stderr}`);
    assert.match(stderr, /unknown access 'raed'/);
  });

  test('a JWT secret shorter than 32 bytes names jwt and the reason', async () => {
    const stderr = await refusedStart({ jwt: { algorithms: ['HS256'], secret: 'too-short' } });
    assert.match(stderr, /jwt/);
    assert.match(stderr, /secret is 9 bytes; it must be at least 32/);
  });

  test('a JWT secretFile holding a short secret names jwt too', async () => {
    const secretFile = join(tempDir(), 'secret');
    writeFileSync(secretFile, 'short\n');
    const stderr = await refusedStart({ jwt: { algorithms: ['HS256'], secretFile } });
    assert.match(stderr, /jwt/);
    assert.match(stderr, /secret is 5 bytes; it must be at least 32/);
  });
});
