// One raw-TCP MQTT client of the load generator: connects, subscribes, floods pre-built PUBLISH batches
// with backpressure, and counts what arrives. Reads go through net's `onread` into one reused buffer,
// so receiving costs a header walk per packet and no allocation per chunk.

import net from 'node:net';
import { connackAccepted, connectPacket, PacketType, subackGranted, subscribePacket } from './mqtt-bytes.js';
import { PacketWalker } from './packet-walker.js';

const READ_BUFFER_BYTES = 256 * 1024;

interface Waiter {
  resolve: (body: Buffer) => void;
  reject: (err: Error) => void;
}

/** Rejects with "<what> timed out after N ms" unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class BenchClient {
  readonly socket: net.Socket;
  readonly walker: PacketWalker;
  /** Batches handed to socket.write() (accepted by Node, not necessarily by the broker yet). */
  batchesWritten = 0;
  closed = false;
  /** True if the connection ended without us asking (broker closed it, reset it, or died). */
  closedByPeer = false;
  closedAt = 0;
  closeReason = '';

  private flooding = false;
  private stoppedByUs = false;
  private readonly waiters = new Map<number, Waiter>();
  private readonly connected: Promise<void>;

  constructor(
    host: string,
    port: number,
    readonly clientId: string,
  ) {
    this.walker = new PacketWalker((type, _flags, body) => this.onControl(type, body));
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (nread: number, buf: Buffer): boolean => {
          try {
            this.walker.feed(buf, 0, nread);
          } catch (err) {
            this.socket.destroy(err as Error);
            return false;
          }
          return true;
        },
      },
    });
    this.socket.on('error', (err) => this.markClosed(err.message));
    this.socket.on('close', () => this.markClosed(this.stoppedByUs ? 'closed by us' : 'closed by broker'));
    this.connected = new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('close', () => reject(new Error(`${this.clientId}: ${this.closeReason}`)));
    });
    this.connected.catch(() => {}); // observed by connect(); avoid an unhandled rejection otherwise
  }

  /** TCP connect, CONNECT, wait for an accepting CONNACK. */
  async connect(timeoutMs: number): Promise<void> {
    await withTimeout(this.connected, timeoutMs, `${this.clientId}: TCP connect`);
    const connack = this.expect(PacketType.CONNACK);
    this.socket.write(connectPacket(this.clientId));
    const body = await withTimeout(connack, timeoutMs, `${this.clientId}: CONNACK`);
    if (!connackAccepted(body)) {
      throw new Error(`${this.clientId}: CONNACK refused (return code ${body[1]})`);
    }
  }

  /** SUBSCRIBE at QoS 0, wait for a SUBACK that grants it. */
  async subscribe(filter: string, packetId: number, timeoutMs: number): Promise<void> {
    const suback = this.expect(PacketType.SUBACK);
    this.socket.write(subscribePacket(packetId, filter, 0));
    const body = await withTimeout(suback, timeoutMs, `${this.clientId}: SUBACK for ${filter}`);
    if (!subackGranted(body, packetId)) throw new Error(`${this.clientId}: SUBSCRIBE ${filter} refused`);
  }

  /**
   * Writes `batch` over and over, as fast as the broker takes it: stops as soon as write() returns
   * false and resumes on 'drain', so at most one batch waits in Node's buffer. After a few writes in a
   * row the pump yields (setImmediate) so other publishers and the readers get their turn.
   */
  startFlood(batch: Buffer): void {
    this.flooding = true;
    const pump = (): void => {
      let writes = 0;
      while (this.flooding && !this.closed) {
        this.batchesWritten++;
        if (!this.socket.write(batch)) return; // resumed by 'drain'
        if (++writes === 4) {
          setImmediate(pump);
          return;
        }
      }
    };
    this.socket.on('drain', pump);
    pump();
  }

  stopFlood(): void {
    this.flooding = false;
  }

  /** Closes the connection from our side (not counted as a broker failure). */
  destroy(): void {
    this.stoppedByUs = true;
    this.flooding = false;
    this.socket.destroy();
  }

  private expect(type: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error(`${this.clientId}: ${this.closeReason}`));
    return new Promise<Buffer>((resolve, reject) => {
      this.waiters.set(type, { resolve, reject });
    });
  }

  private onControl(type: number, body: Buffer): void {
    const waiter = this.waiters.get(type);
    if (waiter === undefined) return; // e.g. a PINGRESP nobody asked for
    this.waiters.delete(type);
    waiter.resolve(body);
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = performance.now();
    this.closeReason = reason;
    this.closedByPeer = !this.stoppedByUs;
    this.flooding = false;
    for (const waiter of this.waiters.values()) {
      waiter.reject(new Error(`${this.clientId}: ${reason}`));
    }
    this.waiters.clear();
  }
}
