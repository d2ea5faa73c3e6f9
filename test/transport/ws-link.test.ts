/**
 * WsLink (src/transport/ws-link.ts) on a real loopback socket pair, without a broker: the server side
 * is a WsLink as after an upgrade without extensions, the client side a plain socket writing masked
 * frames by hand and reading the server's frames. Flow control (pause holds what was received, in
 * order), the head bytes, ping, the close handshake either way, protocol errors, the 2 s bound on a
 * close the peer never answers, and 'close' reported exactly once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LinkHandler } from '../../src/core/link.js';
import { WsLink } from '../../src/transport/ws-link.js';
import { withTimeout } from '../helpers/mqtt.js';
import { clientFrame } from '../helpers/ws-frame.js';

/** A masked client frame. */
function frame(payload: Buffer | string, opcode = 2, fin = true): Buffer {
  return clientFrame(payload, { opcode, fin });
}

function closeFrame(code: number): Buffer {
  return frame(Buffer.from([code >>> 8, code & 0xff]), 8);
}

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Reads the server's (unmasked, short) frames from the client socket. */
class FrameCollector {
  frames: ServerFrame[] = [];
  ended = false;
  closed = false;
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (;;) {
        if (this.buffered.length < 2) break;
        let length = this.buffered[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (this.buffered.length < 4) break;
          length = this.buffered.readUInt16BE(2);
          offset = 4;
        }
        if (this.buffered.length < offset + length) break;
        this.frames.push({
          opcode: this.buffered[0]! & 0x0f,
          payload: Buffer.from(this.buffered.subarray(offset, offset + length)),
        });
        this.buffered = this.buffered.subarray(offset + length);
      }
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(what: string, ok: () => boolean, timeoutMs = 3000): Promise<void> {
    await withTimeout(
      (async () => {
        while (!ok()) await new Promise<void>((resolve) => this.waiters.push(resolve));
      })(),
      timeoutMs,
      what,
    );
  }

  async closeCode(): Promise<number> {
    await this.until('a close frame', () => this.frames.some((f) => f.opcode === 8));
    return this.frames.find((f) => f.opcode === 8)!.payload.readUInt16BE(0);
  }
}

class Handler implements LinkHandler {
  data: Buffer[] = [];
  closes = 0;
  onEachData: ((chunk: Buffer) => void) | undefined;
  onData(chunk: Buffer): void {
    this.data.push(Buffer.from(chunk));
    this.onEachData?.(chunk);
  }
  onDrain(): void {}
  onClose(): void {
    this.closes++;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.data);
  }
}

const opened: Socket[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

interface Pair {
  link: WsLink;
  client: Socket;
  server: Socket;
  handler: Handler;
  frames: FrameCollector;
}

/** A connected pair; the link is attached (reading) unless `attach` is false. */
async function pair(options: { head?: Buffer; maxPayload?: number; attach?: boolean } = {}): Promise<Pair> {
  // allowHalfOpen as on an HTTP server's sockets, which WebSocket connections are.
  const srv = net.createServer({ allowHalfOpen: true });
  servers.push(srv);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const client = net.connect((srv.address() as AddressInfo).port, '127.0.0.1');
  opened.push(client);
  client.on('error', () => {});
  const [server] = (await accepted) as [Socket];
  opened.push(server);
  server.on('error', () => {});
  const frames = new FrameCollector(client);
  const link = new WsLink(
    server,
    options.head ?? Buffer.alloc(0),
    { transport: 'ws', remoteAddress: '127.0.0.1', remotePort: 0, listener: 'test' },
    { packetsPerFrame: 'one' },
    options.maxPayload ?? 1024 * 1024,
  );
  const handler = new Handler();
  if (options.attach !== false) link.attach(handler);
  return { link, client, server, handler, frames };
}

async function waitClosed(p: Pair, timeoutMs = 3000): Promise<void> {
  await withTimeout(
    (async () => {
      while (p.handler.closes === 0) await sleep(5);
    })(),
    timeoutMs,
    'the link reports closed',
  );
}

describe('WsLink: reading', () => {
  test('the head bytes come first, then frames from the socket, unmasked, in order', async () => {
    const p = await pair({ head: Buffer.concat([frame('he'), frame('ad-', 2, false)]) });
    p.client.write(Buffer.concat([frame('cont', 0, true), frame('-tail')]));
    await withTimeout(
      (async () => {
        while (p.handler.bytes.length < 'head-cont-tail'.length) await sleep(5);
      })(),
      3000,
      'data',
    );
    assert.equal(p.handler.bytes.toString(), 'head-cont-tail');
  });

  test('nothing is read before attach', async () => {
    const p = await pair({ attach: false });
    p.client.write(frame('early'));
    await sleep(50);
    const handler = new Handler();
    p.link.attach(handler);
    await withTimeout(
      (async () => {
        while (handler.bytes.length < 5) await sleep(5);
      })(),
      3000,
      'data',
    );
    assert.equal(handler.bytes.toString(), 'early');
  });

  test('pause holds what was received (the rest of a chunk, later chunks) until resume, in order', async () => {
    const p = await pair();
    const payloads = Array.from({ length: 20 }, (_, i) => randomBytes(50 + i));
    let pausedOnce = false;
    p.handler.onEachData = () => {
      if (!pausedOnce) {
        pausedOnce = true;
        p.link.pause();
      }
    };
    // All 20 frames in one write: the first piece pauses the link in the middle of the chunk.
    p.client.write(Buffer.concat(payloads.map((b) => frame(b))));
    await sleep(100);
    assert.equal(p.handler.data.length, 1, 'one piece before the pause');
    assert.equal(p.server.isPaused(), true, 'the socket is paused');
    // More arrives while paused: it waits behind the rest.
    const more = randomBytes(3000);
    p.client.write(frame(more));
    await sleep(50);
    assert.equal(p.handler.data.length, 1);
    p.link.resume();
    const expected = Buffer.concat([...payloads, more]);
    await withTimeout(
      (async () => {
        while (p.handler.bytes.length < expected.length) await sleep(5);
      })(),
      3000,
      'the rest after resume',
    );
    assert.ok(p.handler.bytes.equals(expected));
  });

  test('pausing and resuming from the handler on every piece loses nothing', async () => {
    const p = await pair();
    const payload = randomBytes(200_000);
    p.handler.onEachData = () => {
      p.link.pause();
      setImmediate(() => p.link.resume());
    };
    const frames: Buffer[] = [];
    for (let i = 0; i < payload.length; i += 1000) frames.push(frame(payload.subarray(i, i + 1000)));
    p.client.write(Buffer.concat(frames));
    await withTimeout(
      (async () => {
        while (p.handler.bytes.length < payload.length) await sleep(5);
      })(),
      10_000,
      'all of it',
    );
    assert.ok(p.handler.bytes.equals(payload));
  });

  test('a ping is answered with a pong carrying its payload', async () => {
    const p = await pair();
    p.client.write(frame('are you there', 9));
    await p.frames.until('a pong', () => p.frames.frames.some((f) => f.opcode === 10));
    assert.equal(p.frames.frames.find((f) => f.opcode === 10)!.payload.toString(), 'are you there');
  });
});

describe('WsLink: closing', () => {
  test("the peer's close: its code echoed, the socket ended, closed reported once", async () => {
    const p = await pair();
    p.client.write(Buffer.concat([frame('before'), closeFrame(4001), frame('after')]));
    assert.equal(await p.frames.closeCode(), 4001);
    await p.frames.until('the server ends the socket', () => p.frames.ended);
    p.client.end();
    await waitClosed(p);
    assert.equal(p.handler.bytes.toString(), 'before');
    await sleep(50);
    assert.equal(p.handler.closes, 1);
  });

  test("the peer's empty close is answered with 1000", async () => {
    const p = await pair();
    p.client.write(frame('', 8));
    assert.equal(await p.frames.closeCode(), 1000);
  });

  test('a protocol error: close 1002, the socket ended, closed reported once', async () => {
    const p = await pair();
    p.client.write(Buffer.from([0x82, 0x01, 0x61])); // an unmasked binary frame
    assert.equal(await p.frames.closeCode(), 1002);
    await p.frames.until('the server ends the socket', () => p.frames.ended);
    p.client.end();
    await waitClosed(p);
    assert.equal(p.handler.data.length, 0);
    assert.equal(p.handler.closes, 1);
  });

  test('a text frame: close 1003', async () => {
    const p = await pair();
    p.client.write(frame('text', 1));
    assert.equal(await p.frames.closeCode(), 1003);
  });

  test('a frame over maxPayload: close 1009 from its header', async () => {
    const p = await pair({ maxPayload: 100 });
    p.client.write(frame(Buffer.alloc(101)).subarray(0, 8));
    assert.equal(await p.frames.closeCode(), 1009);
  });

  test("end(): what was written, our close frame, nothing handed over after it; the peer's answer ends it", async () => {
    const p = await pair();
    p.link.write(Buffer.from('last'));
    p.link.end(0x8b); // server shutting down → 1001
    p.link.write(Buffer.from('too late'));
    await p.frames.until('data and close', () => p.frames.frames.length >= 2);
    assert.deepEqual(
      p.frames.frames.map((f) => [f.opcode, f.payload.toString('hex')]),
      [
        [2, Buffer.from('last').toString('hex')],
        [8, '03e9'],
      ],
    );
    p.client.write(Buffer.concat([frame('ignored'), closeFrame(1001)]));
    await p.frames.until('the server ends the socket', () => p.frames.ended);
    p.client.end();
    await waitClosed(p);
    assert.equal(p.handler.data.length, 0);
    assert.equal(p.handler.closes, 1);
  });

  test('end() while paused still sees the close answer', async () => {
    const p = await pair();
    p.link.pause();
    p.link.end(0);
    assert.equal(await p.frames.closeCode(), 1000);
    p.client.write(closeFrame(1000));
    await p.frames.until('the server ends the socket', () => p.frames.ended);
  });

  test('a peer that never answers our close loses its socket within about 2 s', async () => {
    const p = await pair();
    const started = Date.now();
    p.link.end(0);
    assert.equal(await p.frames.closeCode(), 1000);
    await waitClosed(p, 4000);
    const took = Date.now() - started;
    assert.ok(took >= 1800 && took < 3000, `closed after ${took} ms`);
    await p.frames.until('the client sees the socket close', () => p.frames.closed);
    assert.equal(p.handler.closes, 1);
  });

  test('a protocol error from a peer that keeps its socket open: destroyed within about 2 s', async () => {
    const p = await pair();
    p.client.write(frame('x', 3)); // unknown opcode
    assert.equal(await p.frames.closeCode(), 1002);
    await waitClosed(p, 4000);
    assert.equal(p.handler.closes, 1);
  });

  test('destroy(): closed at once, reported once', async () => {
    const p = await pair();
    p.link.destroy();
    await waitClosed(p, 1000);
    p.link.destroy();
    p.link.end(0);
    await sleep(50);
    assert.equal(p.handler.closes, 1);
  });

  test("the peer's FIN without a close frame: the socket is ended and closed reported", async () => {
    const p = await pair();
    p.client.write(frame('bye'));
    p.client.end();
    await waitClosed(p);
    assert.equal(p.handler.bytes.toString(), 'bye');
    assert.equal(p.handler.closes, 1);
  });
});
