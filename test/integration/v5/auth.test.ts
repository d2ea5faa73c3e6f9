/**
 * Enhanced authentication without a configured method (MQTT 5.0 §4.12): a CONNECT naming an
 * Authentication Method midge does not support is refused, and AUTH is a Protocol Error on a
 * connection that did not start enhanced authentication. The hook-driven AUTH exchange has its own tests.
 */

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { auth5, codeName, connect5, expectDisconnect } from '../../helpers/raw5.js';
import { Scope } from '../../helpers/scope.js';
import { V5 } from '../../helpers/v5.js';

const scope = new Scope();
afterEach(() => scope.close());

describe('enhanced authentication, no method configured', () => {
  test('an unsupported Authentication Method gets CONNACK 0x8C, then the close [MQTT-4.12.0-1]', async () => {
    const b = await scope.broker();
    const raw = await scope.rawV5(b.port);
    raw.send(
      connect5({
        clientId: 'auth-scram',
        properties: { authenticationMethod: 'SCRAM-X', authenticationData: 'client-first' },
      }),
    );
    const { packet } = await raw.expect('connack');
    assert.equal(
      packet.reasonCode,
      0x8c,
      `CONNACK ${codeName(packet.reasonCode)}, expected 0x8C Bad authentication method`,
    );
    assert.equal(packet.sessionPresent, false, '[MQTT-3.2.2-6]');
    assert.equal(packet.properties?.authenticationMethod, undefined, 'no method is echoed for a refusal');
    await raw.expectClosedSilently('after CONNACK 0x8C [MQTT-3.2.2-7]');
  });

  test('MQTT.js sees the refusal of an unsupported Authentication Method as an error', async () => {
    const b = await scope.broker();
    await assert.rejects(
      scope.connectWithAck(b.url, {
        ...V5,
        clientId: 'auth-mqttjs',
        properties: { authenticationMethod: 'SCRAM-X' },
      }),
      /connect failed|closed/,
    );
  });

  test('Authentication Data without an Authentication Method is a Protocol Error (§3.1.2.11.10)', async () => {
    const b = await scope.broker();
    const raw = await scope.rawV5(b.port);
    raw.send(connect5({ clientId: 'auth-data-only', properties: { authenticationData: 'orphan' } }));
    const first = await raw.next().catch(() => undefined);
    if (first !== undefined) {
      assert.equal(
        first.packet.cmd,
        'connack',
        `got ${first.packet.cmd.toUpperCase()}, never a DISCONNECT [MQTT-3.14.0-1]`,
      );
      const code = (first.packet as { reasonCode?: number }).reasonCode;
      assert.equal(code, 0x82, `CONNACK ${codeName(code)}, expected 0x82 Protocol Error`);
    }
    await raw.expectClosedSilently('after refusing the CONNECT');
  });

  test('AUTH on a connection that did not start enhanced authentication: DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
    const b = await scope.broker();
    const { raw, connack } = await scope.rawConnectV5(b.port, { clientId: 'auth-unasked' });
    assert.equal(connack.properties?.authenticationMethod, undefined, 'no method in CONNACK [MQTT-4.12.0-6]');
    raw.send(auth5(0x19, { authenticationMethod: 'SCRAM-X' })); // 0x19 Re-authenticate
    await expectDisconnect(raw, 0x82, 'AUTH without enhanced authentication');
  });
});
