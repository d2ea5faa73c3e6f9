/**
 * MQTT 5 enhanced authentication through the `enhancedAuthentication` hook (MQTT 5.0 §4.12): a
 * challenge/response over AUTH packets, failure, re-authentication, and the AUTH rules. Raw sockets
 * with midge's own codec, so every packet of the exchange is seen.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { Decoder, encode, type Packet } from '../../src/codec/index.js';
import type { EnhancedAuthentication, EnhancedAuthRequest } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { withTimeout } from '../helpers/mqtt.js';

/** A v5 client on a raw socket: sends packets, awaits the next one, or the close. */
class Client {
  private readonly decoder = new Decoder({ maxPacketSize: 1 << 20 });
  private readonly packets: Packet[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(readonly socket: Socket) {
    this.decoder.protocolVersion = 5;
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let p = this.decoder.next(); p !== null; p = this.decoder.next()) this.packets.push(p);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, '127.0.0.1', () => resolve(new Client(socket)));
      socket.on('error', reject);
    });
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, 5));
  }

  async next(): Promise<Packet> {
    while (this.packets.length === 0) {
      if (this.closed) throw new Error('connection closed while waiting for a packet');
      await withTimeout(new Promise<void>((resolve) => (this.waiter = resolve)), 3000, 'the next packet');
    }
    return this.packets.shift()!;
  }

  async closedByBroker(): Promise<void> {
    while (!this.closed)
      await withTimeout(new Promise<void>((resolve) => (this.waiter = resolve)), 3000, 'close');
  }
}

/** A toy challenge/response: the server sends "challenge-N", the client must answer "response-N". */
const steps: EnhancedAuthRequest[] = [];
const hook: EnhancedAuthentication = {
  methods: ['TOY'],
  step(request) {
    steps.push(request);
    if (request.step === 0) return { status: 'continue', data: Buffer.from('challenge-1') };
    if (request.data?.toString() === 'response-1') return { status: 'success', data: Buffer.from('welcome') };
    return { status: 'failure', reasonCode: 0x86 };
  },
};

const brokers: TestBroker[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  steps.length = 0;
});

async function open(withHook = true): Promise<Client> {
  // With enhanced authentication configured, a client that uses none is accepted only by allowAnonymous.
  const b = await startBroker(
    { allowAnonymous: true },
    withHook ? { hooks: { enhancedAuthentication: hook } } : {},
  );
  brokers.push(b);
  const c = await Client.open(b.port);
  clients.push(c);
  return c;
}

function connectPacket(method: string, data?: string): Packet {
  return {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: 5,
    clean: true,
    keepAlive: 0,
    clientId: 'auth-client',
    properties: {
      authenticationMethod: method,
      authenticationData: data === undefined ? undefined : Buffer.from(data),
    },
  };
}

describe('MQTT 5 enhanced authentication', () => {
  test('challenge, response, CONNACK with the method and the final data', async () => {
    const c = await open();
    c.send(connectPacket('TOY', 'hello'));
    const challenge = await c.next();
    assert.equal(challenge.type, 'auth');
    assert.equal(challenge.type === 'auth' && challenge.reasonCode, 0x18);
    assert.equal(
      challenge.type === 'auth' && challenge.properties?.authenticationData?.toString(),
      'challenge-1',
    );
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('response-1') },
    });
    const connack = await c.next();
    assert.equal(connack.type, 'connack');
    if (connack.type !== 'connack') return;
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, 'TOY');
    assert.equal(connack.properties?.authenticationData?.toString(), 'welcome');
    assert.deepEqual(
      steps.map((s) => [s.step, s.data?.toString(), s.reauthenticate]),
      [
        [0, 'hello', false],
        [1, 'response-1', false],
      ],
    );
    // The connection works: a PINGREQ gets its PINGRESP.
    c.send({ type: 'pingreq' });
    assert.equal((await c.next()).type, 'pingresp');
  });

  test("a wrong response gets CONNACK with the hook's reason code, then the close", async () => {
    const c = await open();
    c.send(connectPacket('TOY'));
    assert.equal((await c.next()).type, 'auth');
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('nope') },
    });
    const connack = await c.next();
    assert.equal(connack.type === 'connack' && connack.reasonCode, 0x86);
    await c.closedByBroker();
  });

  test('a method the hook does not serve gets CONNACK 0x8C [MQTT-4.12.0-1]', async () => {
    const c = await open();
    c.send(connectPacket('SCRAM-SHA-1'));
    const connack = await c.next();
    assert.equal(connack.type === 'connack' && connack.reasonCode, 0x8c);
    await c.closedByBroker();
  });

  test('without any hook, a method gets CONNACK 0x8C', async () => {
    const c = await open(false);
    c.send(connectPacket('TOY'));
    const connack = await c.next();
    assert.equal(connack.type === 'connack' && connack.reasonCode, 0x8c);
    await c.closedByBroker();
  });

  test('re-authentication on the open connection ends with AUTH 0x00 [MQTT-4.12.1-1]', async () => {
    const c = await open();
    c.send(connectPacket('TOY'));
    await c.next();
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('response-1') },
    });
    assert.equal((await c.next()).type, 'connack');
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'TOY' } });
    const challenge = await c.next();
    assert.equal(challenge.type === 'auth' && challenge.reasonCode, 0x18);
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('response-1') },
    });
    const done = await c.next();
    assert.equal(done.type === 'auth' && done.reasonCode, 0x00);
    assert.equal(steps.at(-1)?.reauthenticate, true);
  });

  test('a failed re-authentication gets DISCONNECT 0x87, then the close', async () => {
    const c = await open();
    c.send(connectPacket('TOY'));
    await c.next();
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('response-1') },
    });
    await c.next();
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'TOY' } });
    await c.next();
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('bad') },
    });
    const disconnect = await c.next();
    assert.equal(disconnect.type === 'disconnect' && disconnect.reasonCode, 0x87, 'Not authorized');
    await c.closedByBroker();
  });

  test('AUTH with another method than CONNECT named is a protocol error (DISCONNECT 0x82)', async () => {
    const c = await open();
    c.send(connectPacket('TOY'));
    await c.next();
    c.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'OTHER', authenticationData: Buffer.from('x') },
    });
    await c.closedByBroker();
  });

  test('AUTH on a connection made without enhanced authentication: DISCONNECT 0x82', async () => {
    const c = await open();
    c.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'plain',
    });
    assert.equal((await c.next()).type, 'connack');
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'TOY' } });
    const disconnect = await c.next();
    assert.equal(disconnect.type === 'disconnect' && disconnect.reasonCode, 0x82);
    await c.closedByBroker();
  });
});
