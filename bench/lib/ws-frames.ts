// MQTT over WebSocket for the load generator, by hand (RFC 6455): the HTTP upgrade request, client
// frames (binary, masked) and a reader that unwraps the server's frames (unmasked) across chunk
// boundaries, handing the payload bytes to a callback without copying them. MQTT packets may span
// frames and frames may hold several packets: the MQTT walker behind it does not care.

import { createHash, randomBytes } from 'node:crypto';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The fixed masking key of every client frame (RFC 6455 §5.3: clients must mask; any key is valid). */
export const MASK_KEY: Buffer = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** The upgrade request, and the Sec-WebSocket-Accept value the server must answer with. */
export function upgradeRequest(
  host: string,
  port: number,
  path: string,
): { request: Buffer; accept: string } {
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  const request = Buffer.from(
    `GET ${path} HTTP/1.1\r\n` +
      `Host: ${host}:${port}\r\n` +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${key}\r\n` +
      'Sec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Protocol: mqtt\r\n' +
      '\r\n',
    'latin1',
  );
  return { request, accept };
}

/**
 * One final binary frame (FIN + opcode 2, or `opcode`) carrying `payload`, masked with MASK_KEY.
 *   byte 0        0x82: FIN, opcode 2 (binary)
 *   byte 1        0x80 | len (< 126), or 0x80|126 + 2-byte length, or 0x80|127 + 8-byte length
 *   4 bytes       masking key
 *   payload       each byte XOR key[i % 4]
 */
export function wsFrame(payload: Buffer, opcode = 0x2): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 0x10000) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(n, 6);
  }
  MASK_KEY.copy(out, head);
  const at = head + 4;
  const k0 = MASK_KEY[0]!;
  const k1 = MASK_KEY[1]!;
  const k2 = MASK_KEY[2]!;
  const k3 = MASK_KEY[3]!;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    out[at + i] = payload[i]! ^ k0;
    out[at + i + 1] = payload[i + 1]! ^ k1;
    out[at + i + 2] = payload[i + 2]! ^ k2;
    out[at + i + 3] = payload[i + 3]! ^ k3;
  }
  for (; i < n; i++) out[at + i] = payload[i]! ^ MASK_KEY[i & 3]!;
  return out;
}

const HEADER_MAX = 8 * 1024;

/**
 * Reads the server side of a WebSocket connection: first the HTTP 101 response (checked), then frames.
 * Binary/continuation payloads go to `onData` (a view into the chunk, valid only during the call),
 * a ping is answered through `sendPong`, a close frame ends it through `onClose`.
 */
export class WsReader {
  /** True once the 101 response has been read and checked. */
  open = false;
  private header = '';
  /** Frame header bytes collected so far (a header may be split across chunks). */
  private readonly frameHead = Buffer.alloc(14);
  private headLen = 0;
  private remaining = 0;
  private opcode = 0;
  private inPayload = false;
  /** Control frame payload (ping/close), collected. */
  private control: Buffer | null = null;
  private controlPos = 0;

  constructor(
    private readonly accept: string,
    private readonly onOpen: () => void,
    private readonly onData: (buf: Buffer, start: number, end: number) => void,
    private readonly sendPong: (payload: Buffer) => void,
    private readonly onClose: (reason: string) => void,
  ) {}

  feed(buf: Buffer, start: number, end: number): void {
    let pos = start;
    if (!this.open) {
      const take = buf.toString('latin1', pos, end);
      const at = (this.header + take).indexOf('\r\n\r\n');
      if (at < 0) {
        this.header += take;
        if (this.header.length > HEADER_MAX) throw new Error('WebSocket upgrade: response header too long');
        return;
      }
      const used = at + 4 - this.header.length;
      const head = (this.header + take).slice(0, at);
      this.header = '';
      pos += used;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      if (status !== '101') throw new Error(`WebSocket upgrade refused: ${head.split('\r\n')[0]}`);
      const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(head)?.[1];
      if (accept !== this.accept) throw new Error('WebSocket upgrade: bad Sec-WebSocket-Accept');
      this.open = true;
      this.onOpen();
    }
    while (pos < end) {
      if (!this.inPayload) {
        // Fast path: a whole short header in this chunk, nothing pending.
        if (this.headLen === 0 && pos + 1 < end) {
          const b1 = buf[pos + 1]!;
          const len7 = b1 & 0x7f;
          if ((b1 & 0x80) === 0 && len7 < 126) {
            this.begin(buf[pos]! & 0x0f, len7);
            pos += 2;
            continue;
          }
        }
        this.frameHead[this.headLen++] = buf[pos++]!;
        if (this.headLen < 2) continue;
        const b1 = this.frameHead[1]!;
        if (b1 & 0x80) throw new Error('WebSocket: masked frame from the server');
        const len7 = b1 & 0x7f;
        const need = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
        if (this.headLen < need) continue;
        const len =
          len7 < 126
            ? len7
            : len7 === 126
              ? this.frameHead.readUInt16BE(2)
              : this.frameHead.readUInt32BE(2) * 2 ** 32 + this.frameHead.readUInt32BE(6);
        this.headLen = 0;
        this.begin(this.frameHead[0]! & 0x0f, len);
        continue;
      }
      const take = Math.min(this.remaining, end - pos);
      if (this.control !== null) {
        buf.copy(this.control, this.controlPos, pos, pos + take);
        this.controlPos += take;
      } else if (take > 0) {
        this.onData(buf, pos, pos + take);
      }
      pos += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endFrame();
    }
  }

  private begin(opcode: number, length: number): void {
    this.opcode = opcode;
    this.remaining = length;
    this.inPayload = true;
    if (opcode >= 0x8) {
      if (length > 125) throw new Error('WebSocket: control frame longer than 125 bytes');
      this.control = Buffer.alloc(length);
      this.controlPos = 0;
    } else if (opcode === 0x1) {
      throw new Error('WebSocket: text frame (MQTT needs binary frames)');
    }
    if (length === 0) this.endFrame();
  }

  private endFrame(): void {
    this.inPayload = false;
    const control = this.control;
    this.control = null;
    if (control === null) return;
    if (this.opcode === 0x9) this.sendPong(control);
    else if (this.opcode === 0x8) {
      const code = control.length >= 2 ? control.readUInt16BE(0) : 1005;
      this.onClose(`WebSocket close ${code}${control.length > 2 ? ` ${control.toString('utf8', 2)}` : ''}`);
    }
  }
}
