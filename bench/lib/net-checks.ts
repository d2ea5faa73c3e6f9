// Bounded network checks around a broker: pick a free port, wait until it accepts TCP connections,
// and probe it with a real MQTT CONNECT (does it still answer after a run?).

import net from 'node:net';
import { BenchClient } from './client.js';
import type { Managed } from './processes.js';

/** A TCP port that was free a moment ago on `host` (the kernel picks it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls until `host:port` accepts a TCP connection. Gives up after `timeoutMs`, or at once if the
 * process that should be listening has exited. Returns null on success, else the reason.
 */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  owner: Managed,
): Promise<string | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (owner.exit !== null) return 'the process exited before listening';
    if (await tryConnect(host, port, 500)) return null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return `port ${port} did not accept connections within ${timeoutMs} ms`;
}

/** Connects a fresh MQTT client and waits for its CONNACK. Returns null if the broker answered. */
export async function mqttProbe(host: string, port: number, timeoutMs: number): Promise<string | null> {
  const client = new BenchClient({ host, port, transport: 'tcp', path: '' }, `bench-probe-${process.pid}`);
  try {
    await client.connect(timeoutMs);
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.destroy();
  }
}
