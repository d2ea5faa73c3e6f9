/**
 * MQTT 5 CONNECT / CONNACK (MQTT 5.0 §3.1, §3.2): the CONNACK properties midge sends (its limits, an
 * assigned client identifier, capped keep alive and session expiry, response information) and the v5
 * refusals.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { assertRoundTrip, nextMessage } from '../../helpers/mqtt.js';
import { connack, connect, PINGREQ } from '../../helpers/raw.js';
import { connect5, disconnect5, subscribe5 } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('MQTT 5 CONNECT and CONNACK', () => {
  test('a v5 client connects: CONNACK reason 0x00, session present 0 [MQTT-3.2.2-2]', async () => {
    const b = await scope.broker();
    const { client, connack: ack } = await scope.connectWithAck(b.url, { ...V5, clientId: 'v5-plain' });
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.sessionPresent, false);
    await assertRoundTrip(client, 'v5/connect/plain');
  });

  test('CONNACK Maximum Packet Size is the broker maxPacketSize (MQTT 5.0 §3.2.2.3.6)', async () => {
    const b = await scope.broker({ maxPacketSize: 4096 });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-maxpacket' });
    assert.equal(ack.properties?.maximumPacketSize, 4096);
  });

  test('CONNACK Topic Alias Maximum is 256 by default (MQTT 5.0 §3.2.2.3.8)', async () => {
    const b = await scope.broker();
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-alias-default' });
    assert.equal(ack.properties?.topicAliasMaximum, 256);
  });

  test('CONNACK Topic Alias Maximum is the configured topicAliasMaximum', async () => {
    const b = await scope.broker({ topicAliasMaximum: 7 });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-alias-7' });
    assert.equal(ack.properties?.topicAliasMaximum, 7);
  });

  test('CONNACK Receive Maximum is sent when receiveMaximum is below 65535 (MQTT 5.0 §3.2.2.3.3)', async () => {
    const b = await scope.broker({ receiveMaximum: 20 });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-recvmax-20' });
    assert.equal(ack.properties?.receiveMaximum, 20);
  });

  test('CONNACK has no Receive Maximum at the default 65535 (absent means 65535)', async () => {
    const b = await scope.broker();
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-recvmax-default' });
    assert.equal(ack.properties?.receiveMaximum, undefined);
  });

  test('an empty client id gets an Assigned Client Identifier [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]', async () => {
    const b = await scope.broker({ maxClientIdLength: 23 }); // irrelevant to an id the broker assigns
    const { raw, connack: ack } = await scope.rawConnectV5(b.port, {
      clientId: '',
      properties: { sessionExpiryInterval: 60 },
    });
    const assigned = ack.properties?.assignedClientIdentifier;
    assert.equal(typeof assigned, 'string', 'CONNACK carries an Assigned Client Identifier');
    assert.ok(assigned !== undefined && assigned.length > 0, 'the assigned id is not empty');

    const { connack: other } = await scope.rawConnectV5(b.port, { clientId: '' });
    assert.notEqual(
      other.properties?.assignedClientIdentifier,
      assigned,
      'each empty-id client gets its own id',
    );

    // The session lives under the assigned id: it can be resumed with Clean Start 0 within its expiry.
    raw.send(subscribe5(1, [{ filter: 'v5/connect/assigned', qos: 1 }]));
    await raw.expect('suback');
    raw.send(disconnect5());
    raw.socket.end();
    await raw.waitClosed();
    const pub = await scope.connect(b.url, { ...V5, clientId: 'v5-assigned-pub' });
    await pub.publishAsync('v5/connect/assigned', 'kept for you', { qos: 1 });
    const { client, connack: resumed } = await scope.connectWithAck(b.url, {
      ...V5,
      clientId: assigned,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(resumed.sessionPresent, true, 'the session of the assigned id is resumed [MQTT-3.1.2-5]');
    const m = await nextMessage(client);
    assert.equal(m.payload.toString(), 'kept for you');
  });

  test('a client that sent a client id gets no Assigned Client Identifier', async () => {
    const b = await scope.broker();
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-named' });
    assert.equal(ack.properties?.assignedClientIdentifier, undefined);
  });

  test('CONNACK Shared Subscription Available is 0 when sharedSubscriptions: false (MQTT 5.0 §3.2.2.3.13)', async () => {
    const b = await scope.broker({ sharedSubscriptions: false });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-noshare' });
    assert.equal(ack.properties?.sharedSubscriptionAvailable, false, 'property present with value 0');
  });

  test('shared subscriptions are available by default (property absent or 1)', async () => {
    const b = await scope.broker();
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-share' });
    assert.notEqual(ack.properties?.sharedSubscriptionAvailable, false);
  });

  test('a keep alive above maxKeepAlive gets Server Keep Alive = maxKeepAlive [MQTT-3.2.2-21]', async () => {
    const b = await scope.broker({ maxKeepAlive: 30 });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-ka-60', keepalive: 60 });
    assert.equal(ack.properties?.serverKeepAlive, 30);
  });

  test('a keep alive of 0 (off) gets Server Keep Alive = maxKeepAlive when maxKeepAlive is set', async () => {
    const b = await scope.broker({ maxKeepAlive: 30 });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-ka-0', keepalive: 0 });
    assert.equal(ack.properties?.serverKeepAlive, 30);
  });

  test('a keep alive within maxKeepAlive gets no Server Keep Alive [MQTT-3.2.2-22]', async () => {
    const b = await scope.broker({ maxKeepAlive: 30 });
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-ka-10', keepalive: 10 });
    assert.equal(ack.properties?.serverKeepAlive, undefined);
  });

  test('with the default maxKeepAlive (65535) keep alive 0 stays off: no Server Keep Alive', async () => {
    const b = await scope.broker();
    const { connack: ack } = await scope.rawConnectV5(b.port, { clientId: 'v5-ka-default', keepalive: 0 });
    assert.equal(ack.properties?.serverKeepAlive, undefined);
  });

  test('Request Response Information 1 gets Response Information = prefix + client id (MQTT 5.0 §3.2.2.3.15)', async () => {
    const b = await scope.broker();
    const { connack: ack } = await scope.rawConnectV5(b.port, {
      clientId: 'v5-respinfo',
      properties: { requestResponseInformation: 1 },
    });
    assert.equal(ack.properties?.responseInformation, 'response/v5-respinfo');
  });

  test('Response Information uses the configured responseInformationPrefix', async () => {
    const b = await scope.broker({ responseInformationPrefix: 'replies/to/' });
    const { connack: ack } = await scope.rawConnectV5(b.port, {
      clientId: 'v5-respinfo-prefix',
      properties: { requestResponseInformation: 1 },
    });
    assert.equal(ack.properties?.responseInformation, 'replies/to/v5-respinfo-prefix');
  });

  test('no Response Information unless requested [MQTT-3.1.2-28]', async () => {
    const b = await scope.broker();
    const { connack: none } = await scope.rawConnectV5(b.port, { clientId: 'v5-respinfo-none' });
    assert.equal(none.properties?.responseInformation, undefined, 'absent Request Response Information');
    const { connack: zero } = await scope.rawConnectV5(b.port, {
      clientId: 'v5-respinfo-zero',
      properties: { requestResponseInformation: 0 },
    });
    assert.equal(zero.properties?.responseInformation, undefined, 'Request Response Information 0');
  });

  test('a session expiry above maxSessionExpiryInterval is capped and CONNACK says so (MQTT 5.0 §3.2.2.3.2)', async () => {
    const b = await scope.broker({ maxSessionExpiryInterval: 10 });
    const { connack: ack } = await scope.rawConnectV5(b.port, {
      clientId: 'v5-sei-capped',
      properties: { sessionExpiryInterval: 3600 },
    });
    assert.equal(ack.properties?.sessionExpiryInterval, 10);
  });

  test('a session expiry within maxSessionExpiryInterval is kept (CONNACK absent or the same value)', async () => {
    const b = await scope.broker({ maxSessionExpiryInterval: 10 });
    const { connack: ack } = await scope.rawConnectV5(b.port, {
      clientId: 'v5-sei-kept',
      properties: { sessionExpiryInterval: 5 },
    });
    const sei = ack.properties?.sessionExpiryInterval;
    assert.ok(sei === undefined || sei === 5, `CONNACK Session Expiry Interval ${sei}`);
  });

  test('a client id longer than maxClientIdLength gets CONNACK 0x85, then the close [MQTT-3.1.3-8]', async () => {
    const b = await scope.broker({ maxClientIdLength: 32 });
    const raw = await scope.rawV5(b.port);
    raw.send(connect5({ clientId: 'v'.repeat(33) }));
    const { packet } = await raw.expect('connack');
    assert.equal(packet.reasonCode, 0x85, 'Client Identifier not valid');
    assert.equal(packet.sessionPresent, false, 'session present 0 with a failure code [MQTT-3.2.2-6]');
    await raw.expectClosedSilently('after CONNACK 0x85 [MQTT-3.2.2-7]');
  });

  test('a client id exactly maxClientIdLength long is accepted', async () => {
    const b = await scope.broker({ maxClientIdLength: 32 });
    const { raw } = await scope.rawConnectV5(b.port, { clientId: 'v'.repeat(32) });
    raw.send(PINGREQ);
    await raw.expect('pingresp');
  });

  test('MQTT.js v5 sees the refusal of an over-long client id as an error', async () => {
    const b = await scope.broker({ maxClientIdLength: 24 });
    await assert.rejects(
      scope.connectWithAck(b.url, { ...V5, clientId: 'z'.repeat(25) }),
      /connect failed|closed/,
    );
  });

  test('an unsupported protocol level (6) still gets the 3.1.1-style CONNACK 1, then the close [MQTT-3.1.2-2]', async () => {
    const b = await scope.broker();
    const raw = await scope.raw(b.port); // decodes as 3.1.1: the answer must be readable by any client
    raw.send(connect({ clientId: 'level6-v5', protocolName: 'MQTT', protocolLevel: 6 }));
    await raw.expectBytes(connack(false, 1), 'CONNACK unacceptable protocol version');
    await raw.expectClosedSilently('after CONNACK 1');
  });

  test('v5 and 3.1.1 clients talk to each other through one broker', async () => {
    const b = await scope.broker();
    const v5 = await scope.connect(b.url, { ...V5, clientId: 'mix-v5' });
    const v4 = await scope.connect(b.url, { clientId: 'mix-v4' });
    await v5.subscribeAsync('v5/connect/mix/to5', { qos: 1 });
    await v4.subscribeAsync('v5/connect/mix/to4', { qos: 1 });
    await v4.publishAsync('v5/connect/mix/to5', 'from 3.1.1', { qos: 1 });
    await v5.publishAsync('v5/connect/mix/to4', 'from 5', { qos: 1 });
    assert.equal((await nextMessage(v5)).payload.toString(), 'from 3.1.1');
    assert.equal((await nextMessage(v4)).payload.toString(), 'from 5');
  });
});
