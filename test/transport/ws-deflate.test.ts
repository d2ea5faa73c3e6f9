/**
 * MQTT over WebSocket with permessage-deflate negotiated: the connection stays with `ws` entirely
 * (DeflateWsLink), while one without the extension on the same listener is read by midge's own frame
 * reader (WsLink). Both must serve MQTT alike, and close alike on a text frame (1003), an oversize
 * message (1009) and DISCONNECT (1000).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import { addressOf, listenerOf, urlOf } from '../helpers/transport.js';
import { TransportScope } from '../helpers/transport-scope.js';
import type { WsRawClient } from '../helpers/ws-raw.js';

const scope = new TransportScope();
afterEach(() => scope.close());

function connectPacket(clientId: string): Buffer {
  return encode(
    { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId },
    4,
  );
}

async function deflateBroker(maxPacketSize?: number): Promise<string> {
  const b = await scope.broker({
    listeners: [listenerOf('ws', { perMessageDeflate: true, ...(maxPacketSize ? { maxPacketSize } : {}) })],
  });
  return urlOf(addressOf(b.addresses, 'ws'));
}

async function open(url: string, clientId: string, deflate: boolean): Promise<WsRawClient> {
  const c = await scope.ws(url, { clientOptions: { perMessageDeflate: deflate } });
  assert.equal(c.ws.extensions.includes('permessage-deflate'), deflate, 'extension negotiated as asked');
  await c.send(connectPacket(clientId));
  assert.equal((await c.expect('connack')).packet.returnCode, 0);
  return c;
}

describe('WebSocket with permessage-deflate', () => {
  for (const deflate of [true, false]) {
    const name = deflate ? 'with the extension' : 'without it, on the same listener';
    test(`${name}: subscribe, publish, receive, DISCONNECT → 1000`, async () => {
      const url = await deflateBroker();
      const c = await open(url, `deflate-${deflate}`, deflate);
      await c.send(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'z/t', qos: 1 }] }, 4));
      assert.deepEqual((await c.expect('suback')).packet.granted, [1]);
      const payload = Buffer.alloc(5000, 0x61); // compresses well
      await c.send(
        encode({ type: 'publish', topic: 'z/t', payload, qos: 1, packetId: 2, retain: false, dup: false }, 4),
      );
      const got = [await c.next(), await c.next()];
      const publish = got.find((r) => r.packet.cmd === 'publish');
      assert.ok(publish !== undefined && got.some((r) => r.packet.cmd === 'puback'));
      assert.ok((publish.packet as { payload: Buffer }).payload.equals(payload));
      await c.send(encode({ type: 'disconnect' }, 4));
      assert.equal((await c.waitClose()).code, 1000);
    });

    test(`${name}: a text frame → 1003`, async () => {
      const url = await deflateBroker();
      const c = await open(url, `deflate-text-${deflate}`, deflate);
      await c.sendText('not MQTT');
      assert.equal((await c.waitClose()).code, 1003);
    });

    test(`${name}: a message over maxPacketSize → 1009`, async () => {
      const url = await deflateBroker(1024);
      const c = await open(url, `deflate-big-${deflate}`, deflate);
      await c.send(Buffer.alloc(2048));
      assert.equal((await c.waitClose()).code, 1009);
    });
  }
});
