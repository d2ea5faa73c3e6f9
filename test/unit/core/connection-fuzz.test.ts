/**
 * A short connection fuzzing run on every test run (fuzz/connection-fuzz.ts says what it checks). The
 * seed is fixed unless CONN_FUZZ_SEED is set ("random" picks one and names it); a failure names the
 * seed and case, shrunk to the fewest steps that still fail, with the bytes sent and received:
 *   CONN_FUZZ_SEED=<seed> CONN_FUZZ_CASE=<case> node --test dist/test/unit/core/connection-fuzz.test.js
 * CONN_FUZZ_SECONDS and CONN_FUZZ_CASES lengthen the run, e.g. CONN_FUZZ_SEED=random CONN_FUZZ_SECONDS=600.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzConnections } from '../../../fuzz/connection-fuzz.js';
import { type ConnectPacket, encode } from '../../../src/codec/index.js';
import {
  INTERNAL_ERROR_MSG,
  type MemoryBroker,
  type MemoryLink,
  memoryBroker,
} from '../../helpers/memory-link.js';

const seedEnv = process.env.CONN_FUZZ_SEED;
const seed = seedEnv === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(seedEnv ?? 0x636f6e6e);
const onlyCase = process.env.CONN_FUZZ_CASE !== undefined ? Number(process.env.CONN_FUZZ_CASE) : undefined;

test(`connection fuzzing (CONN_FUZZ_SEED=${seed})`, async (t) => {
  const report = await fuzzConnections({
    seed,
    timeMs: Number(process.env.CONN_FUZZ_SECONDS ?? 2) * 1000,
    maxCases: Number(process.env.CONN_FUZZ_CASES ?? 5000),
    // Enough cases for the checks below to mean something, even if a loaded machine makes them slow.
    minCases: 100,
    onlyCase,
  });
  t.diagnostic(JSON.stringify(report));
  if (onlyCase !== undefined) return;
  // A fuzzer that never gets a client connected, or never sees a message delivered, is not testing much.
  const expected = ['connack', 'suback', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect'];
  for (const type of expected) {
    assert.ok((report.received[type] ?? 0) > 0, `the broker never sent ${type.toUpperCase()}`);
  }
  assert.ok(report.accepted > report.cases, `only ${report.accepted} CONNACKs accepted`);
  assert.ok(report.refused > 0, 'no CONNECT was ever refused');
});

test('the fuzzer sees a handler that throws (its log capture works)', async () => {
  const broker = memoryBroker();
  broker.core.subscribe = () => {
    throw new Error('canary');
  };
  const link = broker.connect();
  link.deliver(
    encode(
      { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'c' },
      4,
    ),
  );
  link.deliver(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }, 4));
  await broker.close();
  assert.deepEqual(
    broker.log.problems.map((r) => r.msg),
    [INTERNAL_ERROR_MSG],
  );
  assert.equal(link.closed, true);
});

// ---- regressions: bugs this fuzzer found, replayed as their shrunk byte sequences ----

const connect5 = (properties?: ConnectPacket['properties']): Buffer =>
  encode(
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'c',
      properties,
    },
    5,
  );

/** Runs `send` on a v5 link and returns the reason code of the broker's DISCONNECT (its decoder must read it). */
async function disconnectCode(
  broker: MemoryBroker,
  send: (link: MemoryLink) => Promise<void>,
): Promise<number> {
  const link = broker.connect({ clientVersion: 5 });
  await send(link);
  await broker.close();
  assert.deepEqual(broker.log.problems, []);
  const last = link.read().at(-1);
  assert.equal(last?.type, 'disconnect');
  return last.reasonCode ?? 0;
}

test('a failed re-authentication closes with a DISCONNECT code, even if the hook says 0x8C', async () => {
  const broker = memoryBroker(
    {},
    {
      enhancedAuthentication: {
        methods: ['M'],
        step: (r) => (r.reauthenticate ? { status: 'failure', reasonCode: 0x8c } : { status: 'success' }),
      },
    },
  );
  const code = await disconnectCode(broker, async (link) => {
    link.deliver(connect5({ authenticationMethod: 'M' }));
    await turns();
    link.deliver(encode({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'M' } }, 5));
    await turns();
  });
  assert.equal(code, 0x87); // was 0x8C, which a DISCONNECT may not carry (MQTT 5.0 §3.14.2.1)
});

test('a second CONNECT naming an unsupported level is a protocol error, not DISCONNECT 0x84', async () => {
  const broker = memoryBroker();
  const code = await disconnectCode(broker, async (link) => {
    const first = connect5();
    link.deliver(first);
    await turns();
    const second = Buffer.from(first);
    second[8] = 6; // protocol level 6
    link.deliver(second);
    await turns();
  });
  assert.equal(code, 0x82);
});

async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
