/**
 * MQTT over WebSocket, frame by frame, with raw `ws` clients: how packets may be cut into frames on the
 * way in (split, coalesced, fragmented), how the broker frames its output (`packetsPerFrame`), the
 * upgrade rules (path, subprotocols, origins, proxies), the plain-HTTP page, and the close codes.
 *
 * Packets are built with midge's own encoder (the codec's fixtures prove it against mqtt-packet); what
 * the broker sends is decoded by mqtt-packet in WsRawClient. Bytes spelled out by hand are commented.
 * Every test starts its own broker, with the ws listener first and a tcp listener second.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { encode, type QoS } from '../../src/codec/index.js';
import type { ConfigInput, ListenerConfig } from '../../src/config/schema.js';
import type { BrokerOptions } from '../../src/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { assertRoundTrip, nextMessage, nextMessages, withTimeout } from '../helpers/mqtt.js';
import { addressOf, listenerOf, urlOf } from '../helpers/transport.js';
import { AuthRecorder, TransportScope } from '../helpers/transport-scope.js';
import { type WsOpenOptions, WsRawClient } from '../helpers/ws-raw.js';

const scope = new TransportScope();
afterEach(() => scope.close());

// ---------------------------------------------------------------------------------------------------
// Packets (MQTT 3.1.1) from the codec.
// ---------------------------------------------------------------------------------------------------

function connectPacket(clientId: string, will?: { topic: string; payload: string }): Buffer {
  return encode(
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId,
      ...(will
        ? { will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: false } }
        : {}),
    },
    4,
  );
}

function subscribePacket(packetId: number, topic: string, qos: QoS = 0): Buffer {
  return encode({ type: 'subscribe', packetId, subscriptions: [{ topic, qos }] }, 4);
}

function publishPacket(topic: string, payload: string | Buffer, qos: QoS = 0, packetId?: number): Buffer {
  return encode(
    {
      type: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos,
      retain: false,
      dup: false,
      ...(packetId !== undefined ? { packetId } : {}),
    },
    4,
  );
}

const DISCONNECT = encode({ type: 'disconnect' }, 4);
const PINGREQ = encode({ type: 'pingreq' }, 4);

// ---------------------------------------------------------------------------------------------------
// Brokers and clients.
// ---------------------------------------------------------------------------------------------------

interface WsBroker {
  b: TestBroker;
  /** ws://127.0.0.1:PORT/mqtt (or the configured path). */
  wsUrl: string;
  /** The port of the ws listener and of the tcp listener beside it. */
  wsPort: number;
  tcpPort: number;
  tcpUrl: string;
}

async function wsBroker(
  ws: Partial<ListenerConfig> = {},
  overrides: ConfigInput = {},
  options: BrokerOptions = {},
): Promise<WsBroker> {
  const b = await scope.broker(
    { ...overrides, listeners: [listenerOf('ws', ws), listenerOf('tcp')] },
    options,
  );
  const wsAddress = addressOf(b.addresses, 'ws');
  const tcpAddress = addressOf(b.addresses, 'tcp');
  return {
    b,
    wsUrl: urlOf(wsAddress, ws.path ?? '/mqtt'),
    wsPort: wsAddress.port,
    tcpPort: tcpAddress.port,
    tcpUrl: urlOf(tcpAddress),
  };
}

/** Opens a raw WebSocket, sends CONNECT in one frame and requires CONNACK 0. */
async function wsConnect(url: string, clientId: string, options: WsOpenOptions = {}): Promise<WsRawClient> {
  const c = await scope.ws(url, options);
  await c.send(connectPacket(clientId));
  const { packet } = await c.expect('connack');
  assert.equal(packet.returnCode, 0, `CONNACK for '${clientId}'`);
  return c;
}

/** Subscribes a raw client and waits for its SUBACK granting `qos`. */
async function wsSubscribe(c: WsRawClient, packetId: number, topic: string, qos: QoS = 0): Promise<void> {
  await c.send(subscribePacket(packetId, topic, qos));
  const { packet } = await c.expect('suback');
  assert.deepEqual(packet.granted, [qos], `SUBACK for ${topic}`);
}

/** Proves the broker still serves: a fresh MQTT.js client on the ws listener completes a round trip. */
async function assertBrokerServes(w: WsBroker, clientId: string): Promise<void> {
  const client = await scope.connect(w.wsUrl, { clientId });
  await assertRoundTrip(client, `alive/${clientId}`);
}

// ---------------------------------------------------------------------------------------------------

describe('WebSocket: packets and frames need not align (inbound)', () => {
  test('a CONNECT split across three frames is accepted', async () => {
    const w = await wsBroker();
    const c = await scope.ws(w.wsUrl);
    const bytes = connectPacket('ws-split-3');
    const a = Math.floor(bytes.length / 3);
    await c.send(bytes.subarray(0, 1)); // the fixed header's first byte alone
    await c.send(bytes.subarray(1, a)); // the remaining length and part of the variable header
    await c.send(bytes.subarray(a)); // the rest
    const { packet } = await c.expect('connack');
    assert.equal(packet.returnCode, 0);
  });

  test('a packet straddling two frames, each also holding another packet, is read whole', async () => {
    const w = await wsBroker();
    const c = await scope.ws(w.wsUrl);
    const subscribe = subscribePacket(1, 'straddle/t', 1);
    const half = Math.floor(subscribe.length / 2);
    await c.send(Buffer.concat([connectPacket('ws-straddle'), subscribe.subarray(0, half)]));
    await c.send(Buffer.concat([subscribe.subarray(half), publishPacket('straddle/t', 'hi', 1, 7)]));
    await c.expect('connack');
    assert.deepEqual((await c.expect('suback')).packet.granted, [1]);
    // PUBACK for our PUBLISH and the PUBLISH itself coming back, in either order.
    const got = [await c.next(), await c.next()].map((r) => r.packet.cmd).sort();
    assert.deepEqual(got, ['puback', 'publish']);
  });

  test('CONNECT, SUBSCRIBE and PUBLISH coalesced in one frame are all served', async () => {
    const w = await wsBroker();
    const c = await scope.ws(w.wsUrl);
    await c.send(
      Buffer.concat([
        connectPacket('ws-coalesced'),
        subscribePacket(1, 'coalesced/t', 0),
        publishPacket('coalesced/t', 'together'),
      ]),
    );
    assert.equal((await c.expect('connack')).packet.returnCode, 0);
    assert.deepEqual((await c.expect('suback')).packet.granted, [0]);
    const { packet } = await c.expect('publish');
    assert.equal(packet.topic, 'coalesced/t');
    assert.equal(packet.payload.toString(), 'together');
  });

  test('a fragmented message (continuation frames) is reassembled', async () => {
    const w = await wsBroker();
    const c = await scope.ws(w.wsUrl);
    const connect = connectPacket('ws-fragmented');
    await c.sendFrame(connect.subarray(0, 3), { fin: false }); // first fragment (opcode binary, FIN 0)
    await c.sendFrame(connect.subarray(3, 9), { fin: false }); // continuation frame, FIN 0
    await c.sendFrame(connect.subarray(9), { fin: true }); // last continuation frame, FIN 1
    assert.equal((await c.expect('connack')).packet.returnCode, 0);
    await wsSubscribe(c, 1, 'fragmented/t');
    const publish = publishPacket('fragmented/t', 'in pieces');
    await c.sendFrame(publish.subarray(0, 5), { fin: false });
    await c.sendFrame(publish.subarray(5), { fin: true });
    const { packet } = await c.expect('publish');
    assert.equal(packet.payload.toString(), 'in pieces');
  });
});

describe('WebSocket: bad frames', () => {
  test('a text frame closes the connection with 1003 (unsupported data)', async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-text');
    await c.sendText('this is not MQTT');
    const { code } = await c.waitClose();
    assert.equal(code, 1003);
    await assertBrokerServes(w, 'ws-text-after');
  });

  test('a frame larger than maxPacketSize closes with 1009 and the broker stays up', async () => {
    const w = await wsBroker({ maxPacketSize: 1024 });
    const c = await wsConnect(w.wsUrl, 'ws-oversize');
    // A well-formed PUBLISH of 2048 bytes in all, in one 2048-byte frame.
    const topic = 'oversize/t';
    // 1 (type) + 2 (remaining length 2045) + 2 + topic (topic name) + payload = 2048.
    const payload = Buffer.alloc(2048 - 3 - (2 + topic.length), 0x61);
    const big = publishPacket(topic, payload);
    assert.equal(big.length, 2048, 'test setup: the frame is 2048 bytes');
    await c.send(big);
    const { code } = await c.waitClose();
    assert.equal(code, 1009);
    await assertBrokerServes(w, 'ws-oversize-after');
  });

  test('an oversize frame is refused from its header alone, before any payload byte is sent', async () => {
    const w = await wsBroker({ maxPacketSize: 1024 });
    const socket = await upgradeByHand(w.wsPort, '/mqtt');
    socket.write(
      Buffer.from([
        0x82, // FIN 1, opcode 0x2: binary frame
        0xfe, // MASK 1, payload length 126: a 16-bit extended length follows
        0x08, // extended payload length MSB: 0x0800 = 2048 bytes
        0x00, // extended payload length LSB
        0x00, // masking key byte 1 (an all-zero key leaves the payload as it is)
        0x00, // masking key byte 2
        0x00, // masking key byte 3
        0x00, // masking key byte 4
        // ... and not one payload byte: the broker must decide from the header.
      ]),
    );
    const code = await readCloseCode(socket);
    assert.equal(code, 1009);
    await assertBrokerServes(w, 'ws-header-after');
  });

  test('a packet whose remaining length exceeds maxPacketSize, in a small frame, closes with 1009', async () => {
    const w = await wsBroker({ maxPacketSize: 1024 });
    const c = await wsConnect(w.wsUrl, 'ws-too-large');
    await c.send([
      0x30, // PUBLISH, QoS 0
      0x80, // remaining length byte 1: 0, continuation
      0x80, // remaining length byte 2: 0, continuation
      0x40, // remaining length byte 3: 64 x 128^2 = 1,048,576 bytes, far over 1024
      0x00, // topic length MSB (nothing more is sent)
      0x01, // topic length LSB
      0x74, // 't'
    ]);
    const { code } = await c.waitClose();
    assert.equal(code, 1009);
  });
});

describe('WebSocket: close codes', () => {
  test("after the client's DISCONNECT: 1000", async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-bye');
    await c.send(DISCONNECT);
    const { code } = await c.waitClose();
    assert.equal(code, 1000);
  });

  test('after a malformed packet: 1002', async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-malformed');
    await c.send([
      0x00, // packet type 0: reserved, forbidden
      0x00, // remaining length 0
    ]);
    const { code } = await c.waitClose();
    assert.equal(code, 1002);
  });

  test('when the broker shuts down: 1001', async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-shutdown');
    const closing = w.b.close();
    const { code } = await c.waitClose(10_000);
    assert.equal(code, 1001);
    await closing;
  });
});

describe('WebSocket: the upgrade', () => {
  test("the server picks the first of the client's offers it supports: ['foo','mqttv3.1','mqtt'] → mqttv3.1", async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-proto-pick', { protocols: ['foo', 'mqttv3.1', 'mqtt'] });
    assert.equal(c.protocol, 'mqttv3.1');
  });

  test('an offer with no supported subprotocol is refused with 400', async () => {
    const w = await wsBroker();
    const r = await WsRawClient.refused(w.wsUrl, { protocols: ['foo'] });
    assert.equal(r.status, 400);
  });

  test('a listener configured with subprotocols ["mqtt"] refuses an offer of only mqttv3.1 with 400', async () => {
    const w = await wsBroker({ subprotocols: ['mqtt'] });
    const r = await WsRawClient.refused(w.wsUrl, { protocols: ['mqttv3.1'] });
    assert.equal(r.status, 400);
    const c = await wsConnect(w.wsUrl, 'ws-proto-custom', { protocols: ['mqttv3.1', 'mqtt'] });
    assert.equal(c.protocol, 'mqtt');
  });

  test('no subprotocol offered: accepted by default', async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-proto-none', { protocols: [] });
    assert.equal(c.protocol, '');
  });

  test('no subprotocol offered with requireSubprotocol: refused with 400', async () => {
    const w = await wsBroker({ requireSubprotocol: true });
    const r = await WsRawClient.refused(w.wsUrl, { protocols: [] });
    assert.equal(r.status, 400);
    await wsConnect(w.wsUrl, 'ws-proto-required-ok', { protocols: ['mqtt'] });
  });

  test('an upgrade on another path gets 404', async () => {
    const w = await wsBroker();
    const wsAddress = addressOf(w.b.addresses, 'ws');
    const r = await WsRawClient.refused(urlOf(wsAddress, '/not-mqtt'));
    assert.equal(r.status, 404);
  });

  test('a configured path is served and the default one is not', async () => {
    const w = await wsBroker({ path: '/custom/ws' });
    const wsAddress = addressOf(w.b.addresses, 'ws');
    await wsConnect(urlOf(wsAddress, '/custom/ws'), 'ws-custom-path');
    const r = await WsRawClient.refused(urlOf(wsAddress, '/mqtt'));
    assert.equal(r.status, 404);
  });

  test('with the dashboard off, a plain GET / answers an HTML page naming midge and the WebSocket path', async () => {
    const w = await wsBroker({}, { dashboard: { enabled: false, path: '/' } });
    const res = await httpGet(w.wsPort, '/');
    assert.equal(res.status, 200);
    assert.match(res.contentType ?? '', /^text\/html/);
    assert.match(res.body, /midge/i);
    assert.ok(res.body.includes('/mqtt'), `page mentions the path /mqtt: ${res.body.slice(0, 300)}`);
  });

  test('allowedOrigins: a listed Origin opens, any other gets 403', async () => {
    const w = await wsBroker({ allowedOrigins: ['https://app.example'] });
    await wsConnect(w.wsUrl, 'ws-origin-ok', { origin: 'https://app.example' });
    const r = await WsRawClient.refused(w.wsUrl, { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
  });
});

describe('WebSocket: the client address behind a proxy', () => {
  test('X-Forwarded-For is believed when the direct peer (127.0.0.1) is a trusted proxy', async () => {
    const auth = new AuthRecorder();
    const w = await wsBroker({ trustedProxies: ['127.0.0.1'] }, {}, { hooks: auth.hooks });
    await wsConnect(w.wsUrl, 'ws-xff-trusted', { headers: { 'X-Forwarded-For': '203.0.113.7' } });
    assert.equal(auth.of('ws-xff-trusted').remoteAddress, '203.0.113.7');
    assert.equal(auth.of('ws-xff-trusted').transport, 'ws');
  });

  test('Forwarded: for= is believed when the direct peer is a trusted proxy', async () => {
    const auth = new AuthRecorder();
    const w = await wsBroker({ trustedProxies: ['127.0.0.1'] }, {}, { hooks: auth.hooks });
    await wsConnect(w.wsUrl, 'ws-fwd-trusted', { headers: { Forwarded: 'for=203.0.113.8' } });
    assert.equal(auth.of('ws-fwd-trusted').remoteAddress, '203.0.113.8');
  });

  test('X-Forwarded-For is ignored when the direct peer is not listed', async () => {
    const auth = new AuthRecorder();
    const w = await wsBroker({ trustedProxies: ['192.0.2.1'] }, {}, { hooks: auth.hooks });
    await wsConnect(w.wsUrl, 'ws-xff-untrusted', { headers: { 'X-Forwarded-For': '203.0.113.7' } });
    assert.equal(auth.of('ws-xff-untrusted').remoteAddress, '127.0.0.1');
  });

  test('X-Forwarded-For is ignored when no proxy is trusted (the default)', async () => {
    const auth = new AuthRecorder();
    const w = await wsBroker({}, {}, { hooks: auth.hooks });
    await wsConnect(w.wsUrl, 'ws-xff-default', { headers: { 'X-Forwarded-For': '203.0.113.7' } });
    assert.equal(auth.of('ws-xff-default').remoteAddress, '127.0.0.1');
  });
});

describe('WebSocket: how the broker frames what it sends', () => {
  /** Sends `count` QoS 0 PUBLISHes to `topic` in one TCP write from a raw client. */
  async function burst(tcpPort: number, topic: string, count: number): Promise<void> {
    const pub = await scope.raw(tcpPort);
    pub.send(connectPacket(`burst-${topic.replaceAll('/', '-')}`));
    await pub.expect('connack');
    const packets: Buffer[] = [];
    for (let i = 0; i < count; i++) packets.push(publishPacket(topic, `m${i}`));
    pub.send(Buffer.concat(packets));
  }

  test("packetsPerFrame 'one' (default): a burst of 10 arrives as 10 frames of exactly one PUBLISH", async () => {
    const w = await wsBroker();
    const sub = await wsConnect(w.wsUrl, 'ws-ppf-one');
    await wsSubscribe(sub, 1, 'ppf/one');
    const start = sub.frames.length;
    await burst(w.tcpPort, 'ppf/one', 10);
    const got = [];
    for (let i = 0; i < 10; i++) got.push((await sub.expect('publish')).packet.payload.toString());
    assert.deepEqual(
      got,
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    const frames = sub.frames.slice(start);
    assert.equal(frames.length, 10, 'one frame per packet');
    for (const [i, f] of frames.entries()) {
      assert.ok(f.binary, `frame ${i} is binary`);
      assert.ok(
        f.whole && f.packets === 1,
        `frame ${i} holds exactly one packet (${f.packets}, whole ${f.whole})`,
      );
    }
  });

  test("packetsPerFrame 'many': a burst of 200 arrives in fewer frames, each holding whole packets", async () => {
    const w = await wsBroker({ packetsPerFrame: 'many' });
    const sub = await wsConnect(w.wsUrl, 'ws-ppf-many');
    await wsSubscribe(sub, 1, 'ppf/many');
    const start = sub.frames.length;
    await burst(w.tcpPort, 'ppf/many', 200);
    const got = [];
    for (let i = 0; i < 200; i++) got.push((await sub.expect('publish')).packet.payload.toString());
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => `m${i}`),
    );
    const frames = sub.frames.slice(start);
    assert.equal(
      frames.reduce((n, f) => n + f.packets, 0),
      200,
    );
    assert.ok(frames.length < 200, `fewer frames than packets (${frames.length} frames)`);
    for (const [i, f] of frames.entries()) {
      assert.ok(f.binary && f.whole, `frame ${i} holds only whole packets`);
    }
  });
});

describe('WebSocket: a client that stops reading', () => {
  test('does not hurt the others, and is dropped after drainTimeout (its will is published)', async () => {
    const FLOOD = 400;
    const DRAIN_MS = 1000;
    const w = await wsBroker(
      {},
      { publisherHoldTimeout: 100, drainTimeout: DRAIN_MS, maxQueuedBytes: 1024 * 1024 },
    );
    const watcher = await scope.connect(w.tcpUrl, { clientId: 'ws-slow-watcher' });
    await watcher.subscribeAsync('slow/will', { qos: 1 });
    const slow = await scope.ws(w.wsUrl);
    await slow.send(connectPacket('ws-slow', { topic: 'slow/will', payload: 'slow reader dropped' }));
    await slow.expect('connack');
    await wsSubscribe(slow, 1, 'flood/t');
    // Stop reading the socket: the kernel buffers fill, then the broker's writes to it back up. While
    // paused this client cannot see its own close either, so the will tells us when it was dropped.
    slow.ws.pause();

    const healthy = await scope.connect(w.wsUrl, { clientId: 'ws-healthy' });
    await healthy.subscribeAsync('flood/t', { qos: 0 });
    const pub = await scope.connect(w.tcpUrl, { clientId: 'ws-flooder' });
    const payload = randomBytes(64 * 1024); // 400 x 64 KiB: far beyond what the socket buffers hold
    for (let i = 0; i < FLOOD; i++) pub.publish('flood/t', payload, { qos: 0 });

    const got = await nextMessages(healthy, FLOOD, 10_000);
    assert.equal(got.length, FLOOD, 'the healthy subscriber gets every message');
    const bystander = await scope.connect(w.wsUrl, { clientId: 'ws-bystander' });
    await assertRoundTrip(bystander, 'bystander/t');

    const will = await nextMessage(watcher, DRAIN_MS + 5000);
    assert.equal(will.payload.toString(), 'slow reader dropped');
    slow.ws.resume(); // now it reads what was buffered and finds the connection closed
    await slow.waitClose(10_000);
  });
});

describe('WebSocket: control frames', () => {
  test('a ping gets a pong with the same payload, and MQTT carries on', async () => {
    const w = await wsBroker();
    const c = await wsConnect(w.wsUrl, 'ws-ping');
    const data = Buffer.from('are you there');
    const pong = await c.ping(data);
    assert.ok(pong.equals(data), 'pong echoes the ping payload');
    await c.send(PINGREQ);
    await c.expect('pingresp');
  });
});

// ---------------------------------------------------------------------------------------------------
// Plain HTTP helpers.
// ---------------------------------------------------------------------------------------------------

interface HttpResult {
  status: number | undefined;
  contentType: string | undefined;
  body: string;
}

/** GET `path` on 127.0.0.1:`port`; bounded, so a server that never answers fails the test. */
function httpGet(port: number, path: string, timeoutMs = 3000): Promise<HttpResult> {
  return withTimeout(
    new Promise<HttpResult>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () =>
          resolve({
            status: res.statusCode,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.once('error', reject);
      });
      req.once('error', reject);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: no answer`)));
    }),
    timeoutMs,
    `GET http://127.0.0.1:${port}${path}`,
  );
}

/** Performs the WebSocket handshake with node:http and hands back the raw socket (no ws on our side). */
function upgradeByHand(port: number, path: string, timeoutMs = 3000): Promise<Socket> {
  return withTimeout(
    new Promise<Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          'Sec-WebSocket-Protocol': 'mqtt',
        },
      });
      req.once('upgrade', (_res, socket: Socket) => {
        scope.track(socket);
        socket.on('error', () => {});
        resolve(socket);
      });
      req.once('response', (res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
      req.once('error', reject);
      req.end();
    }),
    timeoutMs,
    `WebSocket handshake on port ${port}`,
  );
}

/** Reads the server's close frame from a raw upgraded socket and returns its status code. */
function readCloseCode(socket: Socket, timeoutMs = 3000): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        // Server frames are unmasked: [0x88 = FIN + opcode close][length < 126][status code, 2 bytes]...
        if (got.length < 4) return;
        socket.off('data', onData);
        if (got[0] !== 0x88)
          reject(new Error(`expected a close frame, got ${got.subarray(0, 8).toString('hex')}`));
        else resolve(got.readUInt16BE(2));
      };
      socket.on('data', onData);
      socket.once('close', () =>
        reject(new Error(`socket closed without a close frame (${got.toString('hex')})`)),
      );
    }),
    timeoutMs,
    'a WebSocket close frame',
  );
}
