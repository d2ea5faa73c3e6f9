/**
 * The real-browser harness: Debian's Chromium driven by playwright-core, and a small static HTTP server
 * on 127.0.0.1 that serves the test pages and the two browser MQTT clients (MQTT.js's browser bundle,
 * the Eclipse Paho JavaScript client) straight from node_modules — never from a CDN.
 *
 * Chromium must be the system one (`scripts/setup-tests.sh` installs Debian's package); this machine
 * cannot download a browser, so `npx playwright install` is never used. A missing Chromium FAILS the
 * tests with a message saying what to run; it is never a skip.
 *
 * Where the files come from: the tests run compiled, from dist/test/browser/, and tsc copies no HTML, so
 * the pages and node_modules are resolved from the repository root. `npm test` runs at the root, so
 * that root is `process.cwd()`; a run from elsewhere fails at once saying so.
 *
 * wss: the broker serves test/fixtures/tls/server.pem, signed by the test CA that Chromium does not
 * trust. A test that needs wss opens its page in a context made with `{ ignoreHTTPSErrors: true }`:
 * playwright applies it per context (CDP Security.setIgnoreCertificateErrors), and it does cover
 * WebSocket handshakes, so no browser-wide --ignore-certificate-errors flag is needed and every other
 * context still refuses the certificate (each wss suite checks that as a control).
 */

import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import type { AuthenticateRequest } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { withTimeout } from '../helpers/mqtt.js';

/** Debian's Chromium; MIDGE_CHROMIUM may name another system Chromium (never a downloaded one). */
export const CHROMIUM_PATH = process.env.MIDGE_CHROMIUM ?? '/usr/bin/chromium';

/** Bound for one page load or in-page wait (a message, a CONNACK); `call` guards each call at twice it. */
export const PAGE_WAIT_MS = 5000;

/**
 * Flags for a browser that may only talk to loopback: no background requests to Google's hosts (refused
 * on this machine, many at a time), no QUIC, no GPU, no sandbox (we are root).
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-dev-shm-usage',
  '--no-default-browser-check',
  '--metrics-recording-only',
  '--password-store=basic',
];

/** The repository root: where `npm test` runs (see the header). */
export function repoRoot(): string {
  const root = process.cwd();
  if (!existsSync(join(root, 'test', 'browser', 'pages'))) {
    throw new Error(
      `browser tests must run from the repository root (as 'npm test' does); ${root} has no test/browser/pages`,
    );
  }
  return root;
}

/**
 * Launches Chromium once (a test file calls this in `before`). playwright-core gives it a fresh, empty
 * temporary user-data-dir and removes it on close. `extraArgs` adds flags.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the browser tests need Debian's chromium package. ` +
        `Run 'bash scripts/setup-tests.sh' (as root; it runs apt-get install chromium), then npm test again.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 30_000,
  });
}

/** The files the static server serves, by URL path. Nothing else is served. */
function servedFiles(root: string): Map<string, { file: string; type: string }> {
  const js = 'text/javascript; charset=utf-8';
  const html = 'text/html; charset=utf-8';
  const files = new Map<string, { file: string; type: string }>([
    ['/mqtt.min.js', { file: join(root, 'node_modules', 'mqtt', 'dist', 'mqtt.min.js'), type: js }],
    ['/paho-mqtt.js', { file: join(root, 'node_modules', 'paho-mqtt', 'paho-mqtt.js'), type: js }],
  ]);
  for (const page of ['mqttjs.html', 'paho.html', 'example.html', 'common.js']) {
    files.set(`/${page}`, {
      file: join(root, 'test', 'browser', 'pages', page),
      type: page.endsWith('.js') ? js : html,
    });
  }
  return files;
}

export interface StaticServer {
  /** http://127.0.0.1:PORT (no trailing slash) */
  origin: string;
  close(): Promise<void>;
}

/** Serves the pages and client libraries on 127.0.0.1, port 0. Files are read per request (no cache). */
export async function startStaticServer(): Promise<StaticServer> {
  const files = servedFiles(repoRoot());
  for (const { file } of files.values()) {
    if (!existsSync(file)) throw new Error(`static server: ${file} is missing (npm ci not run?)`);
  }
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/favicon.ico') {
      res.writeHead(204).end(); // no icon, and no 404 in the page's console
      return;
    }
    const entry = files.get(path);
    if (req.method !== 'GET' || entry === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not served: ${path}\n`);
      return;
    }
    const body = readFileSync(entry.file);
    res
      .writeHead(200, {
        'content-type': entry.type,
        'content-length': body.length,
        'cache-control': 'no-store',
      })
      .end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Opens `url` in a new page of `context` and waits until the page says it is ready (`window.ready`),
 * which it sets once its client library has loaded. Page errors and console errors are collected so a
 * failing assertion can show them.
 */
export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  pageProblems.set(page, problems);
  await page.goto(url, { waitUntil: 'load', timeout: PAGE_WAIT_MS });
  await waitReady(page);
  return page;
}

/** Waits for the page's `window.ready` flag (after a goto or reload). */
export async function waitReady(page: Page): Promise<void> {
  try {
    await page.waitForFunction(
      () => (globalThis as unknown as { ready?: boolean }).ready === true,
      undefined,
      {
        timeout: PAGE_WAIT_MS,
      },
    );
  } catch (e) {
    throw new Error(
      `page ${page.url()} never became ready: ${(e as Error).message}${describeProblems(page)}`,
    );
  }
}

const pageProblems = new WeakMap<Page, string[]>();

function describeProblems(page: Page): string {
  const p = pageProblems.get(page) ?? [];
  return p.length === 0 ? '' : `\npage problems:\n  ${p.join('\n  ')}`;
}

/**
 * Calls `window.t[fn](...args)` in the page (the test API every test page exposes, each function
 * bounded in the page itself) and returns its result; bounded again on the Node side, and any failure is
 * reported with the page's own errors.
 */
export async function call<T = unknown>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  const what = `page call t.${fn}(${args
    .map((a) => JSON.stringify(a) ?? 'undefined')
    .join(', ')
    .slice(0, 200)})`;
  try {
    return await withTimeout(
      page.evaluate(
        ([name, rest]) => {
          const api = (globalThis as unknown as { t: Record<string, (...a: unknown[]) => unknown> }).t;
          const f = api[name as string];
          if (typeof f !== 'function') throw new Error(`the page has no t.${name as string}`);
          return f(...(rest as unknown[]));
        },
        [fn, args] as const,
      ) as Promise<T>,
      PAGE_WAIT_MS * 2,
      what,
    );
  } catch (e) {
    throw new Error(`${what} failed: ${(e as Error).message}${describeProblems(page)}`);
  }
}

/** The deterministic byte pattern the pages and the tests both make for large payloads. */
export function pattern(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** What a page reports for one received message (see pages/common.js). */
export interface PageMessage {
  topic: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  length: number;
  /** The payload as UTF-8 text when it is at most 4 KiB; otherwise null (use sha256). */
  text: string | null;
  sha256: string;
  /** MQTT 5 properties (MQTT.js only); correlationData is hex. */
  properties?: {
    userProperties?: Record<string, string | string[]>;
    contentType?: string;
    responseTopic?: string;
    correlationData?: string;
    payloadFormatIndicator?: boolean;
  };
}

/** One CONNECT as the broker's authenticate hook saw it. */
export type SeenConnect = Pick<AuthenticateRequest, 'clientId' | 'protocolVersion' | 'transport'>;

/**
 * Everything a browser test file shares: one Chromium, one static server, one broker with a tcp, a ws
 * and a wss listener on 127.0.0.1 (ephemeral ports), and a log of the CONNECTs the broker accepted.
 * Tests use their own topics and client ids, and their own browser contexts (`newContext`), closed by
 * `closeContexts()` after each test.
 */
export interface BrowserEnv {
  browser: Browser;
  pages: StaticServer;
  broker: TestBroker;
  /** mqtt://127.0.0.1:PORT, for native MQTT.js clients in Node */
  tcpUrl: string;
  /** ws://127.0.0.1:PORT/mqtt */
  wsUrl: string;
  /** wss://127.0.0.1:PORT/mqtt, served with test/fixtures/tls/server.pem (CN=localhost, IP 127.0.0.1) */
  wssUrl: string;
  /** Every CONNECT the broker authenticated, in order. */
  connects: SeenConnect[];
  /** The last CONNECT seen for `clientId`. */
  connectOf(clientId: string): SeenConnect | undefined;
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** `origin/NAME` of a served page. */
  pageUrl(name: string): string;
  closeContexts(): Promise<void>;
  close(): Promise<void>;
}

export async function startEnv(): Promise<BrowserEnv> {
  const root = repoRoot();
  const browser = await launchChromium();
  const cleanups: (() => Promise<void>)[] = [() => browser.close()];
  const closeAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await withTimeout(c(), 10_000, 'browser env cleanup');
  };
  try {
    const pages = await startStaticServer();
    cleanups.push(() => pages.close());
    const connects: SeenConnect[] = [];
    const tls = join(root, 'test', 'fixtures', 'tls');
    const broker = await startBroker(
      {
        listeners: [
          { type: 'tcp', host: '127.0.0.1', port: 0 },
          { type: 'ws', host: '127.0.0.1', port: 0 },
          {
            type: 'wss',
            host: '127.0.0.1',
            port: 0,
            cert: join(tls, 'server.pem'),
            key: join(tls, 'server-key.pem'),
          },
        ],
      },
      {
        hooks: {
          authenticate: ({ clientId, protocolVersion, transport }) => {
            connects.push({ clientId, protocolVersion, transport });
            return true;
          },
        },
      },
    );
    cleanups.push(() => broker.close());
    const [tcp, ws, wss] = broker.addresses;
    if (tcp === undefined || ws === undefined || wss === undefined) {
      throw new Error(`the broker opened ${broker.addresses.length} listeners, not 3`);
    }
    const contexts = new Set<BrowserContext>();
    return {
      browser,
      pages,
      broker,
      tcpUrl: `mqtt://127.0.0.1:${tcp.port}`,
      wsUrl: `ws://127.0.0.1:${ws.port}/mqtt`,
      wssUrl: `wss://127.0.0.1:${wss.port}/mqtt`,
      connects,
      connectOf: (clientId) => [...connects].reverse().find((c) => c.clientId === clientId),
      async newContext(options) {
        const context = await browser.newContext(options);
        contexts.add(context);
        return context;
      },
      pageUrl: (name) => `${pages.origin}/${name}`,
      async closeContexts() {
        const all = [...contexts];
        contexts.clear();
        await Promise.all(all.map((c) => withTimeout(c.close(), 10_000, 'closing a browser context')));
      },
      close: closeAll,
    };
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
}

/**
 * Registers the per-file hooks and returns the getter every test starts with: `before` starts the
 * environment once (Chromium once per file), `afterEach` closes the test's browser contexts, `after`
 * closes it all. If the start fails (Chromium missing, a listener that cannot open), every test FAILS
 * with that error — a failed `before` alone would only mark the tests "cancelled".
 */
export function useBrowserEnv(): () => Promise<BrowserEnv> {
  let started: Promise<BrowserEnv> | undefined;
  const get = () => {
    started ??= startEnv();
    return started;
  };
  before(async () => {
    await get().catch(() => undefined); // reported by each test
  });
  afterEach(async () => {
    const env = await started?.catch(() => undefined);
    await env?.closeContexts();
  });
  after(async () => {
    const env = await started?.catch(() => undefined);
    await env?.close();
  });
  return get;
}
