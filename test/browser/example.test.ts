/**
 * The README's "Connect from a browser" page (pages/example.html), exactly as users copy it: it loads
 * `mqtt.min.js` from beside itself, connects to ws://localhost:8080/mqtt unless `?url=` says otherwise,
 * subscribes to sensors/# and adds a table row per message. Here it is pointed at the test broker's ws
 * listener, and a native TCP client publishes.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { withTimeout } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';
import { PAGE_WAIT_MS, useBrowserEnv } from './harness.js';

const getEnv = useBrowserEnv();
const scope = new Scope();
afterEach(() => scope.close());

/** The table's rows as [time, topic, message] texts, newest first. */
async function rows(page: Page): Promise<string[][]> {
  const out: string[][] = [];
  for (const row of await page.locator('#messages tr').all())
    out.push(await row.locator('td').allTextContents());
  return out;
}

async function waitForStatus(page: Page, text: string): Promise<void> {
  try {
    await page.locator('#status').filter({ hasText: text }).waitFor({ timeout: PAGE_WAIT_MS });
  } catch {
    const status = await page.locator('#status').textContent();
    throw new Error(`status never said "${text}"; it says "${status}"`);
  }
}

async function waitForRows(page: Page, count: number): Promise<string[][]> {
  try {
    await page
      .locator('#messages tr')
      .nth(count - 1)
      .waitFor({ timeout: PAGE_WAIT_MS });
  } catch {
    throw new Error(`the page never showed ${count} message(s); rows: ${JSON.stringify(await rows(page))}`);
  }
  return rows(page);
}

describe('README example page', () => {
  test('shows messages published on sensors/# by a native client, live, as text', async () => {
    const env = await getEnv();
    const context = await env.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${env.pageUrl('example.html')}?url=${encodeURIComponent(env.wsUrl)}`, {
      timeout: PAGE_WAIT_MS,
    });
    await waitForStatus(page, `connected to ${env.wsUrl}, subscribed to sensors/#`);

    const native = await scope.connect(env.tcpUrl, { clientId: 'example-publisher' });
    await native.publishAsync('elsewhere/kitchen', 'not for this page', { qos: 1 });
    await native.publishAsync('sensors/kitchen/temperature', '21.5', { qos: 1 });
    let shown = await waitForRows(page, 1);
    assert.equal(shown.length, 1, 'only the sensors/# message is shown');
    assert.equal(shown[0]?.[1], 'sensors/kitchen/temperature');
    assert.equal(shown[0]?.[2], '21.5');
    assert.match(shown[0]?.[0] ?? '', /\d/, 'a time is shown');

    // A payload is shown as text, never run as HTML; the newest row comes first.
    await native.publishAsync('sensors/hall/note', '<img src=x onerror=alert(1)>', { qos: 1 });
    shown = await waitForRows(page, 2);
    assert.deepEqual(
      shown.map((r) => r.slice(1)),
      [
        ['sensors/hall/note', '<img src=x onerror=alert(1)>'],
        ['sensors/kitchen/temperature', '21.5'],
      ],
    );
    assert.equal(await page.locator('#messages img').count(), 0);
    assert.deepEqual(errors, []);
  });

  test('connects to ws://localhost:8080/mqtt when no ?url is given', async () => {
    const env = await getEnv();
    const context = await env.newContext();
    const page = await context.newPage();
    // Intercepted in the browser: nothing is opened on port 8080.
    let first: (url: string) => void = () => undefined;
    const firstUrl = new Promise<string>((resolve) => {
      first = resolve;
    });
    await page.routeWebSocket(/.*/, (ws) => {
      first(ws.url());
      ws.close({ code: 1000 });
    });
    await page.goto(env.pageUrl('example.html'), { timeout: PAGE_WAIT_MS });
    assert.equal(
      await withTimeout(firstUrl, PAGE_WAIT_MS, 'the page opening a WebSocket'),
      'ws://localhost:8080/mqtt',
    );
  });
});
