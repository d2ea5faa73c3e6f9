/**
 * Keep alive (MQTT 3.1.1 §3.1.2.10, §3.12, §3.13). Keep alive is 1 s throughout, so the broker must
 * drop an idle client after 1.5 s [MQTT-3.1.2-24]; every wait is bounded at 4 s.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { assertRoundTrip } from '../helpers/mqtt.js';
import { PINGREQ, PINGRESP } from '../helpers/raw.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

/** The spec's bound is 1.5 x keep alive; allow for timer granularity and a loaded 2-core machine. */
const DROP_WITHIN_MS = 4000;

describe('keep alive', () => {
  test('a client with keep alive 1 s that sends nothing is disconnected after ~1.5 s [MQTT-3.1.2-24]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'idle', keepalive: 1 });
    const start = Date.now();
    await raw.expectClosedSilently('idle client with keep alive 1', DROP_WITHIN_MS);
    const elapsed = Date.now() - start;
    // Dropping before one whole keep-alive period would be wrong too.
    assert.ok(elapsed >= 900, `dropped after ${elapsed} ms, before the keep-alive period of 1000 ms`);
  });

  test('PINGREQ gets PINGRESP (d0 00) [MQTT-3.12.4-1]', async () => {
    const b = await scope.broker();
    const { raw } = await scope.rawConnect(b.port, { clientId: 'pinger', keepalive: 1 });
    raw.send(PINGREQ);
    await raw.expectBytes(PINGRESP, 'PINGRESP');
    raw.send(PINGREQ);
    await raw.expectBytes(PINGRESP, 'second PINGRESP');
  });

  test('PINGREQs keep a keep-alive 1 s client connected past the point an idle one is dropped', async () => {
    const b = await scope.broker();
    const { raw: idle } = await scope.rawConnect(b.port, { clientId: 'idle-2', keepalive: 1 });
    const { raw: busy } = await scope.rawConnect(b.port, { clientId: 'busy', keepalive: 1 });
    // "busy" pings every 250 ms, as a real client's keep-alive timer would (this is the client's own
    // timer, not a wait for the broker); the test itself waits only for the idle client to be dropped.
    let stop = false;
    const pinging = (async () => {
      let rounds = 0;
      while (!stop) {
        busy.send(PINGREQ);
        await busy.expectBytes(PINGRESP, 'PINGRESP while the idle client waits to be dropped');
        rounds++;
        await new Promise<void>((resolve) => setTimeout(resolve, 250));
      }
      return rounds;
    })();
    pinging.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    try {
      await idle.expectClosedSilently('idle client', DROP_WITHIN_MS);
    } finally {
      stop = true;
    }
    const rounds = await pinging;
    assert.ok(rounds > 0);
    assert.equal(busy.closed, false, 'the pinging client must still be connected');
    busy.send(PINGREQ);
    await busy.expectBytes(PINGRESP, 'PINGRESP after the idle client was dropped');
  });

  test('an MQTT.js client with keep alive 1 s (automatic PINGREQ) outlives an idle one', async () => {
    const b = await scope.broker();
    const client = await scope.connect(b.url, { clientId: 'mqttjs-ka', keepalive: 1 });
    const { raw: idle } = await scope.rawConnect(b.port, { clientId: 'idle-3', keepalive: 1 });
    await idle.expectClosedSilently('idle client', DROP_WITHIN_MS);
    assert.equal(client.connected, true);
    await assertRoundTrip(client, 'keepalive/mqttjs');
  });

  test('keep alive 0 means no timeout: still connected after a keep-alive 1 client was dropped', async () => {
    // Proving "never" would need an unbounded wait. Instead the marker is a keep-alive 1 s client that
    // connects at the same moment and stays silent: once the broker has dropped it (~1.5 s), the
    // keep-alive 0 client — silent just as long — must still answer PINGREQ.
    const b = await scope.broker();
    const { raw: forever } = await scope.rawConnect(b.port, { clientId: 'ka0', keepalive: 0 });
    const { raw: idle } = await scope.rawConnect(b.port, { clientId: 'ka1-marker', keepalive: 1 });
    await idle.expectClosedSilently('keep-alive 1 marker client', DROP_WITHIN_MS);
    assert.equal(forever.closed, false, 'the keep-alive 0 client must not be dropped');
    forever.send(PINGREQ);
    await forever.expectBytes(PINGRESP, 'PINGRESP to the keep-alive 0 client');
  });
});
