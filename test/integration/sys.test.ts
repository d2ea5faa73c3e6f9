/**
 * $SYS/broker/... statistics, published every `sysInterval` seconds (1 s here).
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type Message, nextMessage } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

const NUMERIC = [
  '$SYS/broker/clients/connected',
  '$SYS/broker/clients/total',
  '$SYS/broker/messages/received',
  '$SYS/broker/messages/sent',
  '$SYS/broker/bytes/received',
  '$SYS/broker/bytes/sent',
  '$SYS/broker/retained messages/count',
  '$SYS/broker/subscriptions/count',
];
const REQUIRED = ['$SYS/broker/version', '$SYS/broker/uptime', ...NUMERIC];

/**
 * Collects $SYS values until every required topic has been seen, within `deadlineMs` overall. midge
 * publishes $SYS retained (a new subscriber sees the last values at once); only live (RETAIN 0)
 * messages count here, so the values are from a publication made after the subscription.
 */
async function collect(
  client: Parameters<typeof nextMessage>[0],
  deadlineMs: number,
): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const end = Date.now() + deadlineMs;
  while (REQUIRED.some((t) => !seen.has(t))) {
    const left = end - Date.now();
    let m: Message;
    try {
      m = await nextMessage(client, Math.max(1, left));
    } catch {
      const missing = REQUIRED.filter((t) => !seen.has(t));
      throw new Error(`within ${deadlineMs} ms, no live $SYS message on: ${missing.join(', ')}`);
    }
    if (!m.packet.retain) seen.set(m.topic, m.payload.toString());
  }
  return seen;
}

describe('$SYS', () => {
  test('with sysInterval 1, $SYS/broker/# delivers the standard statistics within ~3 s', async () => {
    const b = await scope.broker({ sysInterval: 1 });
    const sub = await scope.connect(b.url, { clientId: 'sys-sub' });
    await sub.subscribeAsync('$SYS/broker/#', { qos: 0 });
    const seen = await collect(sub, 3500);

    assert.match(seen.get('$SYS/broker/version') ?? '', /^midge \d+\.\d+\.\d+/);
    // Mosquitto's form, "N seconds", which midge follows; a bare number is accepted too.
    assert.match(seen.get('$SYS/broker/uptime') ?? '', /^\d+( seconds)?$/);
    for (const t of NUMERIC) assert.match(seen.get(t) ?? '', /^\d+$/, `${t} is a decimal number`);
    assert.ok(Number(seen.get('$SYS/broker/clients/connected')) >= 1, 'the subscriber itself is connected');
    assert.ok(Number(seen.get('$SYS/broker/subscriptions/count')) >= 1, 'the subscriber has a subscription');
  });

  test("'#' does not receive $SYS topics [MQTT-4.7.2-1]", async () => {
    const b = await scope.broker({ sysInterval: 1 });
    const sysSub = await scope.connect(b.url, { clientId: 'sys-only' });
    await sysSub.subscribeAsync('$SYS/#', { qos: 0 });
    const all = await scope.connect(b.url, { clientId: 'sys-hash' });
    await all.subscribeAsync('#', { qos: 0 });
    // Wait for a full round of $SYS publications made while both subscriptions exist.
    await collect(sysSub, 3500);
    await all.publishAsync('sys/marker', 'marker', { qos: 0 });
    const m = await nextMessage(all);
    assert.equal(m.topic, 'sys/marker', `'#' received ${m.topic}`);
  });
});
