/**
 * The `midge` command as a user runs it: a real child process, its stdout lines, signals, exit codes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { withTimeout } from '../helpers/mqtt.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
}

/** Each run in its own working directory, so the default ./data store lands in a temporary place. */
function run(args: string[]): Run {
  const cwd = mkdtempSync(join(tmpdir(), 'midge-run-'));
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (text: string) => stdout.push(text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exit };
}

/** Resolves with the first stdout line matching `pattern`. */
function line(runing: Run, pattern: RegExp): Promise<RegExpMatchArray> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const check = () => {
        const match = runing.stdout.join('').match(pattern);
        if (match) resolve(match);
      };
      runing.child.stdout?.on('data', check);
      runing.child.on('exit', () => reject(new Error(`exited; stderr: ${runing.stderr.join('')}`)));
      check();
    }),
    10_000,
    `stdout line ${pattern}`,
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

describe('midge command', () => {
  test('--version and --help print and exit 0', async () => {
    const version = run(['--version']);
    assert.equal(await withTimeout(version.exit, 10_000, 'exit'), 0);
    assert.match(version.stdout.join(''), /^midge \d+\.\d+\.\d+\n$/);
    const help = run(['--help']);
    assert.equal(await withTimeout(help.exit, 10_000, 'exit'), 0);
    assert.match(help.stdout.join(''), /--port N/);
    assert.match(help.stdout.join(''), /--config FILE/);
  });

  test('starts, prints one line per listener, serves MQTT, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const wsPort = await freePort();
    const broker = run([
      '--port',
      String(port),
      '--ws-port',
      String(wsPort),
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
    ]);
    try {
      await line(broker, new RegExp(`midge listening mqtt tcp 127\\.0\\.0\\.1:${port}\n`));
      await line(broker, new RegExp(`midge listening mqtt ws 127\\.0\\.0\\.1:${wsPort}/mqtt\n`));
      const ws = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { reconnectPeriod: 0 });
      await ws.endAsync();
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
      broker.child.kill('SIGTERM');
      assert.equal(await withTimeout(broker.exit, 10_000, 'exit after SIGTERM'), 0);
      await withTimeout(closed, 5_000, 'client connection to close');
      client.end(true);
    } finally {
      broker.child.kill('SIGKILL');
    }
  });

  test('SIGINT stops it too', async () => {
    const broker = run(['--port', String(await freePort()), '--ws-port', '0', '--host', '127.0.0.1']);
    try {
      await line(broker, /midge listening mqtt tcp/);
      broker.child.kill('SIGINT');
      assert.equal(await withTimeout(broker.exit, 10_000, 'exit after SIGINT'), 0);
    } finally {
      broker.child.kill('SIGKILL');
    }
  });

  test('reads a JSON config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midge-cli-'));
    const file = join(dir, 'midge.json');
    const port = await freePort();
    writeFileSync(
      file,
      JSON.stringify({ host: '127.0.0.1', port, wsPort: 0, logLevel: 'warn', maxInflight: 10 }),
    );
    const broker = run(['--config', file]);
    try {
      await line(broker, new RegExp(`midge listening mqtt tcp 127\\.0\\.0\\.1:${port}`));
    } finally {
      broker.child.kill('SIGTERM');
      await withTimeout(broker.exit, 10_000, 'exit');
    }
  });

  const bad: Array<[string, string[], RegExp, object?]> = [
    ['an unknown flag', ['--nope'], /command line: flags: .*nope/],
    ['port 0 with no other listener', ['--port', '0', '--ws-port', '0'], /listeners: none left/],
    [
      'a tls port without a certificate',
      ['--tls-port', '8883'],
      /listeners\[2\]\.cert: required for a tls listener/,
    ],
    [
      'an unreadable certificate file',
      ['--wss-port', '8443', '--cert', '/nonexistent.pem', '--key', '/nonexistent.pem'],
      /listeners\[2\]\.cert: cannot read \/nonexistent.pem: ENOENT/,
    ],
    ['a ws path without a slash', ['--ws-path', 'mqtt'], /--ws-path: must start with "\/"/],
    ['a port that is not a number', ['--port', 'abc'], /command line: --port: must be a whole number/],
    ['a port out of range', ['--port', '70000'], /command line: --port: must be an integer from 0 to 65535/],
    ['an unknown log level', ['--log-level', 'loud'], /command line: --log-level: must be one of/],
    [
      'a missing config file',
      ['--config', '/nonexistent/midge.json'],
      /\/nonexistent\/midge.json: \(file\): cannot be read/,
    ],
    ['an unknown config key', [], /midge.json: maxInflights: unknown key/, { maxInflights: 5 }],
    [
      'a bad config value',
      [],
      /midge.json: maxInflight: must be an integer from 1 to 65535 \(got "many"\)/,
      { maxInflight: 'many' },
    ],
    ['a config file that is not JSON', [], /midge.json: \(file\): is not valid JSON/, undefined],
  ];
  for (const [what, args, expected, fileContent] of bad) {
    test(`${what} stops start-up with one clear line and exit code 2`, async () => {
      let argv = args;
      if (args.length === 0) {
        const dir = mkdtempSync(join(tmpdir(), 'midge-cli-'));
        const file = join(dir, 'midge.json');
        writeFileSync(file, fileContent === undefined ? '{ nope' : JSON.stringify(fileContent));
        argv = ['--config', file];
      }
      const broker = run(argv);
      assert.equal(await withTimeout(broker.exit, 10_000, 'exit'), 2);
      const stderr = broker.stderr.join('');
      assert.match(stderr, /^midge: configuration error: /);
      assert.match(stderr, expected);
      assert.equal(stderr.trim().split('\n').length, 1, `one line, got: ${stderr}`);
    });
  }
});
