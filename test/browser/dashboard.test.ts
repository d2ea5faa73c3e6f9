/**
 * The dashboard in real Chromium, served by the broker it shows (http://127.0.0.1:<ws port>/): the
 * overview counters follow a Node client, a retained topic appears in the tree with its value, a device
 * whose socket dies flips to offline with its will, the console's messages reach a TCP subscriber and a
 * TCP publisher's reach the console, and with authentication on a login is required and a wrong password
 * refused. Each page is screenshot (desktop and phone) into MIDGE_SCREENSHOTS (default
 * dist/screenshots); the current ones are committed under docs/screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { hashPassword } from '../../src/auth/password-file.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { nextMessage } from '../helpers/mqtt.js';
import { RawClient } from '../helpers/raw.js';
import { connect5 } from '../helpers/raw5.js';
import { Scope } from '../helpers/scope.js';
import { launchChromium, PAGE_WAIT_MS, repoRoot } from './harness.js';

const SHOTS = process.env.MIDGE_SCREENSHOTS ?? join(repoRoot(), 'dist', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let browser: Browser;
before(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

const scope = new Scope();
const brokers: TestBroker[] = [];
const contexts: BrowserContext[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  for (const r of raws.splice(0)) r.destroy();
  await scope.close();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

interface Served {
  broker: TestBroker;
  /** http://127.0.0.1:PORT/ — the dashboard */
  http: string;
}

async function serve(overrides: ConfigInput = {}): Promise<Served> {
  const broker = await startBroker({
    sysInterval: 1,
    listeners: [
      { type: 'tcp', host: '127.0.0.1', port: 0 },
      { type: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
    ],
    ...overrides,
  });
  brokers.push(broker);
  return { broker, http: `http://127.0.0.1:${broker.addresses[1]!.port}/` };
}

/** Opens the dashboard at `hash`; page errors fail the test when it ends (see `problems`). */
async function open(url: string, hash = '#/overview', viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  pageProblems.set(page, problems);
  await page.goto(`${url}${hash}`, { waitUntil: 'load', timeout: PAGE_WAIT_MS });
  return page;
}

const pageProblems = new WeakMap<Page, string[]>();

function assertNoPageErrors(page: Page): void {
  assert.deepEqual(pageProblems.get(page) ?? [], [], 'no errors in the page');
}

/** Waits for the dashboard's own MQTT connection. */
async function live(page: Page): Promise<void> {
  await page
    .locator('[data-testid="connection-status"][data-state="connected"]')
    .waitFor({ timeout: PAGE_WAIT_MS });
}

/** Polls the `data-value` of a test id until `accept` says yes (bounded). */
async function dataValue(
  page: Page,
  testId: string,
  accept: (v: number) => boolean,
  what: string,
): Promise<number> {
  const deadline = Date.now() + 8000;
  let last: string | null = null;
  while (Date.now() < deadline) {
    last = await page
      .locator(`[data-testid="${testId}"]`)
      .first()
      .getAttribute('data-value', { timeout: PAGE_WAIT_MS })
      .catch(() => null);
    if (last !== null && accept(Number(last))) return Number(last);
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: ${testId} data-value stayed ${last}`);
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

describe('dashboard', () => {
  test('the overview counters follow a Node client that connects and publishes', async () => {
    const { broker, http } = await serve();
    const page = await open(http);
    await live(page);
    const before = await dataValue(
      page,
      'stat-connections',
      (v) => v >= 1,
      'the dashboard itself is counted',
    );
    const sensor = await scope.connect(broker.url, { clientId: 'sensor-overview' });
    await dataValue(page, 'stat-connections', (v) => v >= before + 1, 'a new connection is counted');
    for (let i = 0; i < 20; i++) await sensor.publishAsync('plant/line-1/count', String(i), { qos: 1 });
    // A rate from the $SYS counters: above 0 for at least one interval after the publishes.
    await dataValue(page, 'stat-messages-in', (v) => v > 0, 'the inbound message rate');
    await shoot(page, 'overview-desktop');
    await page.setViewportSize(PHONE);
    await shoot(page, 'overview-phone');
    assertNoPageErrors(page);
  });

  test('a retained topic appears in the tree with its value', async () => {
    const { broker, http } = await serve();
    const device = await scope.connect(broker.url, { clientId: 'boiler' });
    await device.publishAsync('plant/boiler/temperature', '{"celsius":71.5,"ok":true}', {
      qos: 1,
      retain: true,
    });
    for (const v of [70, 71, 72]) await device.publishAsync('plant/boiler/pressure', String(v), { qos: 0 });
    const page = await open(http, '#/topics');
    await live(page);
    const node = page.locator('[data-testid="topic-node"][data-topic="plant/boiler/temperature"]');
    await node.waitFor({ timeout: PAGE_WAIT_MS });
    await node.click();
    const value = page.locator('[data-testid="topic-retained-value"][data-topic="plant/boiler/temperature"]');
    await value.waitFor({ timeout: PAGE_WAIT_MS });
    assert.match((await value.textContent()) ?? '', /71\.5/);
    await shoot(page, 'topics-desktop');
    await page.setViewportSize(PHONE);
    await shoot(page, 'topics-phone');
    assertNoPageErrors(page);
  });

  test('a device whose socket dies flips to offline, and its will shows', async () => {
    const { broker, http } = await serve();
    const page = await open(http, '#/devices');
    await live(page);
    const raw = await RawClient.openV5(broker.port);
    raws.push(raw);
    raw.send(
      connect5({
        clientId: 'pump-7',
        clean: false,
        keepalive: 30,
        properties: { sessionExpiryInterval: 300 },
        will: { topic: 'status/pump-7', payload: 'offline: lost power', qos: 1, retain: true },
      }),
    );
    await raw.expect('connack');
    const row = page.locator('[data-testid="device-row"][data-client-id="pump-7"]');
    await page
      .locator('[data-testid="device-row"][data-client-id="pump-7"][data-status="online"]')
      .waitFor({ timeout: PAGE_WAIT_MS });
    await shoot(page, 'devices-desktop');
    raw.socket.destroy();
    await page
      .locator('[data-testid="device-row"][data-client-id="pump-7"][data-status="offline"]')
      .waitFor({ timeout: PAGE_WAIT_MS });
    const will = page.locator('[data-testid="device-will"]').first();
    await will.waitFor({ timeout: PAGE_WAIT_MS });
    const text = (await will.textContent()) ?? '';
    assert.match(text, /status\/pump-7/);
    assert.match(text, /lost power/);
    assert.equal(await row.count(), 1);
    await shoot(page, 'devices-offline-desktop');
    await page.setViewportSize(PHONE);
    await shoot(page, 'devices-phone');
    assertNoPageErrors(page);
  });

  test('the console: its publish reaches a TCP subscriber, and a TCP publish reaches it', async () => {
    const { broker, http } = await serve();
    const tcp = await scope.connect(broker.url, { clientId: 'tcp-side' });
    await tcp.subscribeAsync('console/out', { qos: 1 });
    const page = await open(http, '#/console');
    await page.locator('[data-testid="console-connect"]').click();
    await page
      .locator('[data-testid="console-status"][data-state="connected"]')
      .waitFor({ timeout: PAGE_WAIT_MS });
    await page.locator('[data-testid="console-subscribe-filter"]').fill('console/in');
    await page.locator('[data-testid="console-subscribe"]').click();
    await page
      .locator('[data-testid="console-subscription"][data-filter="console/in"][data-state="granted"]')
      .waitFor({ timeout: PAGE_WAIT_MS });
    await tcp.publishAsync('console/in', 'from a device over TCP', { qos: 1 });
    const incoming = page.locator(
      '[data-testid="console-message"][data-topic="console/in"][data-direction="in"]',
    );
    await incoming.waitFor({ timeout: PAGE_WAIT_MS });
    assert.match((await incoming.textContent()) ?? '', /from a device over TCP/);
    const got = nextMessage(tcp);
    await page.locator('[data-testid="console-publish-topic"]').fill('console/out');
    await page.locator('[data-testid="console-publish-payload"]').fill('hello from the browser');
    await page.locator('[data-testid="console-publish"]').click();
    const message = await got;
    assert.equal(message.topic, 'console/out');
    assert.equal(message.payload.toString(), 'hello from the browser');
    await shoot(page, 'console-desktop');
    await page.setViewportSize(PHONE);
    await shoot(page, 'console-phone');
    assertNoPageErrors(page);
  });

  test('with authentication on, a login is required and a wrong password is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midge-dashboard-'));
    const passwordFile = join(dir, 'users.passwd');
    writeFileSync(passwordFile, `operator:${await hashPassword('s3cret-pass', { N: 16, r: 1, p: 1 })}\n`);
    const { http } = await serve({ passwordFile });
    const page = await open(http);
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: PAGE_WAIT_MS });
    await shoot(page, 'login-desktop');
    await page.locator('[data-testid="login-username"]').fill('operator');
    await page.locator('[data-testid="login-password"]').fill('wrong');
    await page.locator('[data-testid="login-submit"]').click();
    await page.locator('[data-testid="login-error"]').waitFor({ timeout: PAGE_WAIT_MS });
    await page.locator('[data-testid="login-password"]').fill('s3cret-pass');
    await page.locator('[data-testid="login-submit"]').click();
    await page
      .locator('[data-testid="user-name"]')
      .filter({ hasText: 'operator' })
      .waitFor({ timeout: PAGE_WAIT_MS });
    await live(page);
    assertNoPageErrors(page);
  });
});
