/**
 * The PROXY protocol (HAProxy, versions 1 and 2) on tcp and ws listeners with `proxyProtocol: true`:
 * the header a load balancer sends first carries the real client address, which is what the
 * authenticate hook sees as `remoteAddress`. On such a listener a header is mandatory: a connection
 * without one, or with a malformed one, is closed, and the broker goes on serving.
 *
 * Each test's broker has three listeners: tcp with proxyProtocol, ws with proxyProtocol, plain tcp.
 */

import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import { assertRoundTrip } from '../helpers/mqtt.js';
import { connect } from '../helpers/raw.js';
import { addressOf, listenerOf, urlOf } from '../helpers/transport.js';
import { AuthRecorder, TransportScope } from '../helpers/transport-scope.js';
import { WsRawClient } from '../helpers/ws-raw.js';

const scope = new TransportScope();
afterEach(() => scope.close());

// ---------------------------------------------------------------------------------------------------
// Headers (haproxy doc/proxy-protocol.txt).
// ---------------------------------------------------------------------------------------------------

/** v1 (§2.1): one text line, "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n". */
const V1_TCP4 = Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.1 5555 1883\r\n', 'latin1');

/** v1 over IPv6. */
const V1_TCP6 = Buffer.from('PROXY TCP6 2001:db8::9 ::1 5555 1883\r\n', 'latin1');

/** The 12-byte v2 signature (§2.2). */
const V2_SIGNATURE = [
  0x0d, // \r
  0x0a, // \n
  0x0d, // \r
  0x0a, // \n
  0x00, // \0
  0x0d, // \r
  0x0a, // \n
  0x51, // 'Q'
  0x55, // 'U'
  0x49, // 'I'
  0x54, // 'T'
  0x0a, // \n
];

/** v2, PROXY command, TCP over IPv4, from 203.0.113.10:5555 to 127.0.0.1:1883. */
const V2_TCP4 = Buffer.from([
  ...V2_SIGNATURE,
  0x21, // version 2 (high nibble), command 1 = PROXY (low nibble)
  0x11, // address family 1 = AF_INET (high nibble), protocol 1 = STREAM (low nibble)
  0x00, // address block length MSB
  0x0c, // address block length LSB: 12 = 4 + 4 + 2 + 2
  203, // source address 203.
  0, // 0.
  113, // 113.
  10, // 10
  127, // destination address 127.
  0, // 0.
  0, // 0.
  1, // 1
  0x15, // source port MSB: 0x15b3 = 5555
  0xb3, // source port LSB
  0x07, // destination port MSB: 0x075b = 1883
  0x5b, // destination port LSB
]);

/** v2, PROXY command, TCP over IPv6, from [2001:db8::10]:5555 to [::1]:1883. */
const V2_TCP6 = Buffer.from([
  ...V2_SIGNATURE,
  0x21, // version 2, command PROXY
  0x21, // address family 2 = AF_INET6, protocol 1 = STREAM
  0x00, // address block length MSB
  0x24, // address block length LSB: 36 = 16 + 16 + 2 + 2
  0x20, // source address 2001:0db8::0010, byte 1 of 16: 0x20
  0x01, // byte 2: 0x01 (first group 2001)
  0x0d, // byte 3: 0x0d
  0xb8, // byte 4: 0xb8 (second group 0db8)
  ...new Array<number>(11).fill(0), // bytes 5-15: zero
  0x10, // byte 16: 0x10
  ...new Array<number>(15).fill(0), // destination address ::1, bytes 1-15: zero
  0x01, // byte 16: 1
  0x15, // source port MSB: 5555
  0xb3, // source port LSB
  0x07, // destination port MSB: 1883
  0x5b, // destination port LSB
]);

const MALFORMED: Array<{ name: string; bytes: Buffer }> = [
  {
    name: 'v1 with its ports missing',
    bytes: Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.1\r\n', 'latin1'),
  },
  {
    name: 'v1 with an address that is not IPv4',
    bytes: Buffer.from('PROXY TCP4 not.an.ip.address 127.0.0.1 5555 1883\r\n', 'latin1'),
  },
  {
    name: 'v1 line longer than 107 bytes without CRLF',
    bytes: Buffer.from(`PROXY TCP4 ${'9'.repeat(120)}`, 'latin1'),
  },
  {
    name: 'v2 with version 3',
    bytes: Buffer.from([
      ...V2_SIGNATURE,
      0x31, // version 3 (does not exist), command PROXY
      0x11, // AF_INET, STREAM
      0x00, // address block length MSB
      0x0c, // address block length LSB: 12
      ...new Array<number>(12).fill(0), // an address block, never read
    ]),
  },
  {
    name: 'v2 TCP4 whose address block is too short for IPv4',
    bytes: Buffer.from([
      ...V2_SIGNATURE,
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0x00, // address block length MSB
      0x04, // address block length LSB: 4, less than the 12 an IPv4 block needs
      203, // 203.
      0, // 0.
      113, // 113.
      10, // 10 ... and nothing more
    ]),
  },
];

// ---------------------------------------------------------------------------------------------------

async function proxyBroker(auth: AuthRecorder) {
  const b = await scope.broker(
    {
      listeners: [
        listenerOf('tcp', { proxyProtocol: true }),
        listenerOf('ws', { proxyProtocol: true }),
        listenerOf('tcp'),
      ],
    },
    { hooks: auth.hooks },
  );
  return {
    b,
    tcpProxyPort: addressOf(b.addresses, 'tcp', 0).port,
    wsProxyAddress: addressOf(b.addresses, 'ws'),
    plainUrl: urlOf(addressOf(b.addresses, 'tcp', 1)),
  };
}

type ProxyBroker = Awaited<ReturnType<typeof proxyBroker>>;

/** Sends `chunks` (header, CONNECT, ... in the given cuts) on the proxy tcp listener; requires CONNACK 0. */
async function tcpThroughProxy(p: ProxyBroker, chunks: Buffer[]): Promise<void> {
  const raw = await scope.raw(p.tcpProxyPort);
  for (const chunk of chunks) raw.send(chunk);
  const { packet } = await raw.expect('connack');
  assert.equal(packet.returnCode, 0);
}

/** A WebSocket whose TCP connection starts with `header` (when given), as a load balancer's would. */
function wsOptionsWithHeader(port: number, header: Buffer | undefined) {
  return {
    clientOptions: {
      createConnection: () => {
        const socket = scope.track(net.connect({ host: '127.0.0.1', port }));
        if (header) socket.write(header); // before the HTTP upgrade request, which ws writes next
        return socket;
      },
    },
  };
}

const CONNECT_311 = (clientId: string) =>
  encode(
    { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId },
    4,
  );

/** Opens a WebSocket through the proxy ws listener with `header` first; CONNECT; requires CONNACK 0. */
async function wsThroughProxy(p: ProxyBroker, header: Buffer, clientId: string): Promise<void> {
  const c = await scope.ws(urlOf(p.wsProxyAddress), wsOptionsWithHeader(p.wsProxyAddress.port, header));
  await c.send(CONNECT_311(clientId));
  const { packet } = await c.expect('connack');
  assert.equal(packet.returnCode, 0);
}

/** The broker still serves: through the proxy listener with a good header, and on the plain listener. */
async function assertStillServes(p: ProxyBroker, auth: AuthRecorder, clientId: string): Promise<void> {
  await tcpThroughProxy(p, [V1_TCP4, connect({ clientId: `${clientId}-proxied` })]);
  assert.equal(auth.of(`${clientId}-proxied`).remoteAddress, '203.0.113.9');
  const client = await scope.connect(p.plainUrl, { clientId });
  await assertRoundTrip(client, `alive/${clientId}`);
}

describe('PROXY protocol on a tcp listener', () => {
  test('v1 TCP4, header then CONNECT: the hook sees the carried address', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await tcpThroughProxy(p, [V1_TCP4, connect({ clientId: 'pp-v1' })]);
    assert.equal(auth.of('pp-v1').remoteAddress, '203.0.113.9');
    assert.equal(auth.of('pp-v1').transport, 'tcp');
  });

  test('v1 header and CONNECT in one write', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await tcpThroughProxy(p, [Buffer.concat([V1_TCP4, connect({ clientId: 'pp-v1-one' })])]);
    assert.equal(auth.of('pp-v1-one').remoteAddress, '203.0.113.9');
  });

  test('v1 header arriving in two pieces', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await tcpThroughProxy(p, [
      V1_TCP4.subarray(0, 10),
      V1_TCP4.subarray(10),
      connect({ clientId: 'pp-v1-cut' }),
    ]);
    assert.equal(auth.of('pp-v1-cut').remoteAddress, '203.0.113.9');
  });

  test('v1 TCP6', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await tcpThroughProxy(p, [V1_TCP6, connect({ clientId: 'pp-v1-6' })]);
    assert.equal(auth.of('pp-v1-6').remoteAddress, '2001:db8::9');
  });

  test('v2 TCP over IPv4, header and CONNECT in one write', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await tcpThroughProxy(p, [Buffer.concat([V2_TCP4, connect({ clientId: 'pp-v2' })])]);
    assert.equal(auth.of('pp-v2').remoteAddress, '203.0.113.10');
  });

  test('v2 TCP over IPv6', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await tcpThroughProxy(p, [V2_TCP6, connect({ clientId: 'pp-v2-6' })]);
    assert.equal(auth.of('pp-v2-6').remoteAddress, '2001:db8::10');
  });

  test('a connection without a header is closed; the broker stays up', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    const raw = await scope.raw(p.tcpProxyPort);
    raw.send(connect({ clientId: 'pp-no-header' }));
    await raw.expectClosedSilently('CONNECT without a PROXY header');
    assert.throws(() => auth.of('pp-no-header'), 'the hook never saw it');
    await assertStillServes(p, auth, 'pp-after-no-header');
  });

  for (const { name, bytes } of MALFORMED) {
    test(`a malformed header is closed: ${name}; the broker stays up`, async () => {
      const auth = new AuthRecorder();
      const p = await proxyBroker(auth);
      const raw = await scope.raw(p.tcpProxyPort);
      raw.send(bytes);
      raw.send(connect({ clientId: 'pp-malformed' }));
      await raw.expectClosedSilently(name);
      assert.throws(() => auth.of('pp-malformed'), 'the hook never saw it');
      await assertStillServes(p, auth, 'pp-after-malformed');
    });
  }
});

describe('PROXY protocol on a ws listener', () => {
  test('v1 before the HTTP upgrade: the hook sees the carried address', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await wsThroughProxy(p, V1_TCP4, 'pp-ws-v1');
    assert.equal(auth.of('pp-ws-v1').remoteAddress, '203.0.113.9');
    assert.equal(auth.of('pp-ws-v1').transport, 'ws');
  });

  test('v2 before the HTTP upgrade', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    await wsThroughProxy(p, V2_TCP4, 'pp-ws-v2');
    assert.equal(auth.of('pp-ws-v2').remoteAddress, '203.0.113.10');
  });

  test('an upgrade without a header is closed; the broker stays up', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    const r = await WsRawClient.refused(
      urlOf(p.wsProxyAddress),
      wsOptionsWithHeader(p.wsProxyAddress.port, undefined),
    );
    assert.ok(r.status === undefined || r.status >= 400, `not upgraded (HTTP ${r.status})`);
    await assertStillServes(p, auth, 'pp-ws-after-none');
    await wsThroughProxy(p, V1_TCP4, 'pp-ws-after-none-ws');
  });

  test('an upgrade after a malformed header is closed; the broker stays up', async () => {
    const auth = new AuthRecorder();
    const p = await proxyBroker(auth);
    const r = await WsRawClient.refused(
      urlOf(p.wsProxyAddress),
      wsOptionsWithHeader(p.wsProxyAddress.port, MALFORMED[0]!.bytes),
    );
    assert.ok(r.status === undefined || r.status >= 400, `not upgraded (HTTP ${r.status})`);
    await assertStillServes(p, auth, 'pp-ws-after-bad');
    await wsThroughProxy(p, V2_TCP4, 'pp-ws-after-bad-ws');
  });
});
