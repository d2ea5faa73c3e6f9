/**
 * The transport contract: one client suite, run once over each of tcp, tls, ws and wss with MQTT.js.
 * Above the Link nothing knows the transport (ARCHITECTURE.md), so every transport must carry exactly
 * the same MQTT: connect, QoS 0/1/2, retained messages, wills, persistent sessions, large payloads,
 * all three protocol versions, and traffic between clients on different transports.
 *
 * Each suite has its own broker with one listener of every type (tcp, tls, ws, wss, in that order);
 * the suite's clients use the listener of its transport, and the cross-transport tests use the others.
 * tls/wss clients trust only the fixture CA and check the name 'localhost'.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { assertRoundTrip, nextMessage, nextMessages, waitClientClosed } from '../helpers/mqtt.js';
import {
  addressOf,
  isWebSocket,
  listenerOf,
  TRANSPORTS,
  type Transport,
  trustOptions,
  urlOf,
} from '../helpers/transport.js';
import { AuthRecorder, TransportScope } from '../helpers/transport-scope.js';

/** A 1 MiB payload must cross every transport in one piece within this bound. */
const LARGE_WAIT_MS = 10_000;

const scope = new TransportScope();
afterEach(() => scope.close());

for (const transport of TRANSPORTS) {
  describe(`transport contract over ${transport}`, () => {
    const auth = new AuthRecorder();
    let b: TestBroker | undefined;
    /** Unique per suite, so clients and topics of one suite never meet another's. */
    const tag = `c-${transport}`;

    // The suite's broker outlives each test, so it is not the scope's (which closes after each test).
    before(async () => {
      b = await startBroker({ listeners: TRANSPORTS.map((t) => listenerOf(t)) }, { hooks: auth.hooks });
    });
    after(() => b?.close());

    const urlFor = (t: Transport = transport) => {
      if (!b) throw new Error('the suite broker did not start');
      return urlOf(addressOf(b.addresses, t));
    };
    const optsFor = (t: Transport, extra: IClientOptions) => trustOptions(t, extra);
    const connect = (clientId: string, extra: IClientOptions = {}, t: Transport = transport) =>
      scope.connect(urlFor(t), optsFor(t, { clientId, ...extra }));

    test('connects; the authenticate hook sees the transport and the loopback address', async () => {
      const { client, connack } = await scope.connectWithAck(
        urlFor(),
        optsFor(transport, { clientId: `${tag}-hello` }),
      );
      assert.equal(connack.returnCode, 0);
      const seen = auth.of(`${tag}-hello`);
      assert.equal(seen.transport, transport);
      assert.equal(seen.remoteAddress, '127.0.0.1');
      await assertRoundTrip(client, `${tag}/hello`);
    });

    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos} round trip`, async () => {
        const sub = await connect(`${tag}-sub-q${qos}`);
        const pub = await connect(`${tag}-pub-q${qos}`);
        await sub.subscribeAsync(`${tag}/q${qos}`, { qos: 2 });
        await pub.publishAsync(`${tag}/q${qos}`, `at qos ${qos}`, { qos });
        const m = await nextMessage(sub);
        assert.equal(m.topic, `${tag}/q${qos}`);
        assert.equal(m.payload.toString(), `at qos ${qos}`);
        assert.equal(m.packet.qos, qos, 'delivered at the QoS it was published with');
      });
    }

    test('a retained message is delivered on subscribe with the retain flag', async () => {
      const pub = await connect(`${tag}-ret-pub`);
      await pub.publishAsync(`${tag}/retained`, 'kept', { qos: 1, retain: true });
      const sub = await connect(`${tag}-ret-sub`);
      await sub.subscribeAsync(`${tag}/retained`, { qos: 1 });
      const m = await nextMessage(sub);
      assert.equal(m.payload.toString(), 'kept');
      assert.equal(m.packet.retain, true);
      await pub.publishAsync(`${tag}/retained`, '', { qos: 1, retain: true }); // clear it
    });

    test('the will is published when the socket is lost without DISCONNECT', async () => {
      const watcher = await connect(`${tag}-will-watch`);
      await watcher.subscribeAsync(`${tag}/will`, { qos: 1 });
      const dying = await connect(`${tag}-will-dying`, {
        will: { topic: `${tag}/will`, payload: Buffer.from('lost'), qos: 1, retain: false },
      });
      dying.stream.destroy(); // the transport goes away under MQTT.js: no DISCONNECT is sent
      const m = await nextMessage(watcher);
      assert.equal(m.payload.toString(), 'lost');
      assert.equal(m.packet.qos, 1);
      await waitClientClosed(dying);
    });

    test('a persistent session resumes with the QoS 1 messages queued while it was away', async () => {
      const id = `${tag}-persist`;
      const first = await connect(id, { clean: false });
      await first.subscribeAsync(`${tag}/persist`, { qos: 1 });
      await first.endAsync();
      const pub = await connect(`${tag}-persist-pub`);
      for (const n of [1, 2, 3]) await pub.publishAsync(`${tag}/persist`, `queued ${n}`, { qos: 1 });
      const { client: again, connack } = await scope.connectWithAck(
        urlFor(),
        optsFor(transport, { clientId: id, clean: false }),
      );
      assert.equal(connack.sessionPresent, true, 'session present');
      const got = await nextMessages(again, 3);
      assert.deepEqual(
        got.map((m) => [m.payload.toString(), m.packet.qos]),
        [
          ['queued 1', 1],
          ['queued 2', 1],
          ['queued 3', 1],
        ],
      );
      // Leave nothing behind for the next run of this id.
      await again.endAsync();
      const { client: clean } = await scope.connectWithAck(urlFor(), optsFor(transport, { clientId: id }));
      await clean.endAsync();
    });

    test('a 1 MiB payload crosses intact', async () => {
      const payload = randomBytes(1024 * 1024);
      const sub = await connect(`${tag}-large-sub`);
      const pub = await connect(`${tag}-large-pub`);
      await sub.subscribeAsync(`${tag}/large`, { qos: 1 });
      await pub.publishAsync(`${tag}/large`, payload, { qos: 1 });
      const m = await nextMessage(sub, LARGE_WAIT_MS);
      assert.equal(m.payload.length, payload.length);
      assert.ok(m.payload.equals(payload), 'payload bytes identical');
    });

    const versions: Array<{ name: string; opts: IClientOptions }> = [
      { name: 'MQTT 3.1 (MQIsdp, level 3)', opts: { protocolId: 'MQIsdp', protocolVersion: 3 } },
      { name: 'MQTT 3.1.1', opts: { protocolId: 'MQTT', protocolVersion: 4 } },
      { name: 'MQTT 5.0', opts: { protocolId: 'MQTT', protocolVersion: 5 } },
    ];
    for (const { name, opts } of versions) {
      const note = isWebSocket(transport) && opts.protocolVersion === 3 ? " (subprotocol 'mqttv3.1')" : '';
      test(`${name}${note} connects and round-trips`, async () => {
        const id = `${tag}-v${opts.protocolVersion}`;
        const { client, connack } = await scope.connectWithAck(
          urlFor(),
          optsFor(transport, { clientId: id, ...opts }),
        );
        if (opts.protocolVersion === 5) assert.equal(connack.reasonCode, 0);
        else assert.equal(connack.returnCode, 0);
        assert.equal(auth.of(id).protocolVersion, opts.protocolVersion);
        await assertRoundTrip(client, `${tag}/v${opts.protocolVersion}`);
      });
    }

    for (const other of TRANSPORTS.filter((t) => t !== transport)) {
      test(`exchanges messages with a client on ${other}, both ways`, async () => {
        const here = await connect(`${tag}-x-${other}-here`);
        const there = await connect(`${tag}-x-${other}-there`, {}, other);
        await here.subscribeAsync(`${tag}/x/${other}/in`, { qos: 1 });
        await there.subscribeAsync(`${tag}/x/${other}/out`, { qos: 1 });
        await there.publishAsync(`${tag}/x/${other}/in`, `from ${other}`, { qos: 1 });
        await here.publishAsync(`${tag}/x/${other}/out`, `from ${transport}`, { qos: 1 });
        assert.equal((await nextMessage(here)).payload.toString(), `from ${other}`);
        assert.equal((await nextMessage(there)).payload.toString(), `from ${transport}`);
      });
    }
  });
}
