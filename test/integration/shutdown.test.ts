/**
 * Graceful close: `broker.close()` with clients connected resolves, and every client sees its
 * connection end; afterwards the port no longer accepts connections.
 */

import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { waitClientClosed, withTimeout } from '../helpers/mqtt.js';
import { Scope } from '../helpers/scope.js';

const scope = new Scope();
afterEach(() => scope.close());

/** Resolves with the error code of a TCP connect to `port` that is expected to fail. */
function connectError(port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${port} neither failed nor closed within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      // Accepted by the kernel after close()? Then the broker must at least close it at once.
      socket.once('close', () => {
        clearTimeout(timer);
        resolve('CLOSED');
      });
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(e.code ?? e.message);
    });
  });
}

describe('graceful close', () => {
  test('broker.close() with connected clients resolves, and the clients see the close', async () => {
    const b = await scope.broker({ shutdownTimeout: 2000 });
    const a = await scope.connect(b.url, { clientId: 'shut-a' });
    const c = await scope.connect(b.url, { clientId: 'shut-c', clean: false });
    await c.subscribeAsync('shut/t', { qos: 1 });
    const { raw } = await scope.rawConnect(b.port, { clientId: 'shut-raw' });
    const aClosed = waitClientClosed(a, 5000);
    const cClosed = waitClientClosed(c, 5000);

    await withTimeout(b.close(), 5000, 'broker.close() did not resolve');
    await aClosed;
    await cClosed;
    await raw.waitClosed(5000);
    assert.equal(raw.closed, true);

    const code = await connectError(b.port);
    assert.ok(['ECONNREFUSED', 'ECONNRESET', 'CLOSED'].includes(code), `after close, connect gave ${code}`);
  });

  test('broker.close() with no clients resolves', async () => {
    const b = await scope.broker();
    await withTimeout(b.close(), 5000, 'broker.close() did not resolve');
  });
});
