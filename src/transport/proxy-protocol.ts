/**
 * The HAProxy PROXY protocol, versions 1 (text) and 2 (binary), as in haproxy's doc/proxy-protocol.txt.
 * A load balancer sends one header as the very first bytes of a connection, before MQTT or HTTP, to
 * say who the real client is. A listener configured for it must not guess whether a header is there
 * (§2: that would let anyone spoof their address), so anything that is not a header is an error.
 *
 * Invariants:
 * - parseProxyHeader is pure and looks at the bytes from the start of the connection; it answers
 *   'need-more' only while those bytes are a valid prefix of some header, so garbage fails on the
 *   first byte that cannot belong to one, not at a timeout.
 * - Bounded: a v1 line is at most 107 bytes with its CRLF (§2.1); a v2 header at most V2_MAX_BYTES,
 *   refused as soon as its length field says more (the format allows 16 + 65535).
 * - `consumed` counts the header only; the bytes after it are the caller's.
 * - readProxyHeader returns with its listeners removed and the socket paused, whichever way it ends,
 *   and hands back the bytes that came after the header in the same chunk.
 *
 * v2 TLVs are skipped unread (so PP2_TYPE_CRC32C is not checked). Combinations the spec lists but midge
 * has no use for (DGRAM, UNSPEC) fall back to family 'unknown' without addresses, as §2.2 asks of a
 * receiver that does not implement them; a LOCAL header's address block is discarded (§2.2).
 */
import { isIPv4, isIPv6, type Socket, SocketAddress } from 'node:net';

export interface ProxyHeader {
  version: 1 | 2;
  command: 'proxy' | 'local';
  family: 'tcp4' | 'tcp6' | 'unknown' | 'unix';
  sourceAddress?: string;
  sourcePort?: number;
  destinationAddress?: string;
  destinationPort?: number;
}

export type ProxyParse =
  | { status: 'need-more' }
  | { status: 'done'; header: ProxyHeader; consumed: number }
  | { status: 'error'; reason: string };

/** Longest v1 line including CRLF: "PROXY UNKNOWN " + two full IPv6 addresses + two ports (§2.1). */
export const V1_MAX_BYTES = 107;
/** Largest v2 header accepted (16-byte fixed part + address block + TLVs). */
export const V2_MAX_BYTES = 4096;

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');
const CR = 0x0d;
const LF = 0x0a;

/** v2 address family (high nibble of byte 14) → address block bytes it needs with STREAM. */
const V2_ADDRESS_BYTES = [0, 12, 36, 216] as const;
const AF_INET = 1;
const AF_INET6 = 2;
const AF_UNIX = 3;
const STREAM = 1;
const UNIX_PATH_BYTES = 108;

const NEED_MORE: ProxyParse = { status: 'need-more' };

function fail(reason: string): ProxyParse {
  return { status: 'error', reason };
}

/** Looks at the bytes received so far (from the start of the connection). */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  if (bytes.length === 0) return NEED_MORE;
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  if (bytes[0] === V1_SIGNATURE[0]) return parseV1(bytes);
  return fail('not a PROXY protocol header');
}

function startsLike(bytes: Buffer, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return bytes.subarray(0, n).equals(signature.subarray(0, n));
}

// ---- version 2 ----

function parseV2(bytes: Buffer): ProxyParse {
  if (!startsLike(bytes, V2_SIGNATURE)) return fail('bad v2 signature');
  if (bytes.length < 13) return NEED_MORE;
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return fail(`unsupported v2 version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return fail(`unknown v2 command ${command}`);
  if (bytes.length < 14) return NEED_MORE;
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  if (family > AF_UNIX) return fail(`unknown v2 address family ${family}`);
  if (transport > 2) return fail(`unknown v2 transport ${transport}`);
  if (bytes.length < 16) return NEED_MORE;
  const length = bytes.readUInt16BE(14);
  const total = 16 + length;
  if (total > V2_MAX_BYTES) return fail(`v2 header of ${total} bytes exceeds ${V2_MAX_BYTES}`);
  const decoded = command === 1 && transport === STREAM ? family : 0;
  const needed = V2_ADDRESS_BYTES[decoded as 0 | 1 | 2 | 3];
  if (length < needed) return fail(`v2 address block of ${length} bytes, family needs ${needed}`);
  if (bytes.length < total) return NEED_MORE;

  if (command === 0) return done({ version: 2, command: 'local', family: 'unknown' }, total);
  const a = 16;
  switch (decoded) {
    case AF_INET:
      return done(
        {
          version: 2,
          command: 'proxy',
          family: 'tcp4',
          sourceAddress: bytes.subarray(a, a + 4).join('.'),
          sourcePort: bytes.readUInt16BE(a + 8),
          destinationAddress: bytes.subarray(a + 4, a + 8).join('.'),
          destinationPort: bytes.readUInt16BE(a + 10),
        },
        total,
      );
    case AF_INET6:
      return done(
        {
          version: 2,
          command: 'proxy',
          family: 'tcp6',
          sourceAddress: ipv6(bytes.subarray(a, a + 16)),
          sourcePort: bytes.readUInt16BE(a + 32),
          destinationAddress: ipv6(bytes.subarray(a + 16, a + 32)),
          destinationPort: bytes.readUInt16BE(a + 34),
        },
        total,
      );
    case AF_UNIX:
      return done(
        {
          version: 2,
          command: 'proxy',
          family: 'unix',
          sourceAddress: unixPath(bytes.subarray(a, a + UNIX_PATH_BYTES)),
          destinationAddress: unixPath(bytes.subarray(a + UNIX_PATH_BYTES, a + 2 * UNIX_PATH_BYTES)),
        },
        total,
      );
    default:
      return done({ version: 2, command: 'proxy', family: 'unknown' }, total);
  }
}

function done(header: ProxyHeader, consumed: number): ProxyParse {
  return { status: 'done', header, consumed };
}

/** 16 bytes → the form node prints for a socket address (compressed, lower case, ::ffff:a.b.c.d). */
function ipv6(raw: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  return canonicalIPv6(groups.join(':'));
}

function canonicalIPv6(address: string): string {
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

/** A sun_path: the bytes up to the first NUL (an abstract socket's name starts with NUL, so reads ''). */
function unixPath(raw: Buffer): string {
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end === -1 ? raw.length : end);
}

// ---- version 1 ----

const V1_PROTOCOLS = ['TCP4', 'TCP6', 'UNKNOWN'] as const;
/** Characters an address may hold (TCP6 allows a dotted IPv4 tail; no zone ids) and its longest form. */
const V1_ADDRESS = {
  TCP4: { chars: /^[0-9.]*$/, max: 15 },
  TCP6: { chars: /^[0-9A-Fa-f:.]*$/, max: 45 },
} as const;
const V1_PORT_PREFIX = /^(0|[1-9][0-9]{0,4})?$/;

function parseV1(bytes: Buffer): ProxyParse {
  if (!startsLike(bytes, V1_SIGNATURE)) return fail('bad v1 signature');
  if (bytes.length < V1_SIGNATURE.length) return NEED_MORE;
  const scan = Math.min(bytes.length, V1_MAX_BYTES);
  for (let i = 0; i < scan; i++) {
    const byte = bytes[i]!;
    if (byte === LF) return fail('v1 line ends in LF without CR');
    if (byte !== CR) continue;
    if (i + 2 > V1_MAX_BYTES) break; // no room left for the LF
    if (i + 1 === bytes.length) return parseV1Line(bytes.toString('latin1', 0, i), false);
    if (bytes[i + 1] !== LF) return fail('v1 line has CR without LF');
    return parseV1Line(bytes.toString('latin1', 0, i), true, i + 2);
  }
  if (bytes.length >= V1_MAX_BYTES) return fail(`no CRLF in the first ${V1_MAX_BYTES} bytes of a v1 line`);
  return parseV1Line(bytes.toString('latin1'), false);
}

/**
 * Checks a v1 line without its CRLF (`complete`) or the part received so far: each field followed by
 * a space (or by the CRLF) is checked in full, a field still arriving only for what it may hold.
 */
function parseV1Line(line: string, complete: boolean, consumed = 0): ProxyParse {
  const fields = line.split(' ');
  const protocol = fields[1] ?? '';
  if (fields.length === 2 && !complete) {
    return V1_PROTOCOLS.some((p) => p.startsWith(protocol)) ? NEED_MORE : fail('bad v1 protocol');
  }
  if (protocol === 'UNKNOWN') {
    // The rest of the line is to be ignored (§2.1).
    return complete ? done({ version: 1, command: 'proxy', family: 'unknown' }, consumed) : NEED_MORE;
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return fail('bad v1 protocol');
  const rest = fields.slice(2);
  const address = V1_ADDRESS[protocol];
  const isIP = protocol === 'TCP4' ? isIPv4 : isIPv6;
  for (const [i, field] of rest.entries()) {
    const partial = !complete && i === rest.length - 1;
    if (i >= 4) return fail('too many fields in v1 line');
    if (i < 2) {
      if (!address.chars.test(field) || field.length > address.max) return fail('bad v1 address');
      if (!partial && !isIP(field)) return fail('bad v1 address');
    } else {
      if (!V1_PORT_PREFIX.test(field) || Number(field) > 65535) return fail('bad v1 port');
      if (!partial && field === '') return fail('bad v1 port');
    }
  }
  if (!complete) return NEED_MORE;
  if (rest.length < 4) return fail('missing fields in v1 line');
  const [source, destination, sourcePort, destinationPort] = rest as [string, string, string, string];
  const tcp6 = protocol === 'TCP6';
  return done(
    {
      version: 1,
      command: 'proxy',
      family: tcp6 ? 'tcp6' : 'tcp4',
      sourceAddress: tcp6 ? canonicalIPv6(source) : source,
      sourcePort: Number(sourcePort),
      destinationAddress: tcp6 ? canonicalIPv6(destination) : destination,
      destinationPort: Number(destinationPort),
    },
    consumed,
  );
}

// ---- reading from a socket ----

export type ProxyHeaderErrorCode = 'PROXY_HEADER_INVALID' | 'PROXY_HEADER_TIMEOUT' | 'PROXY_HEADER_CLOSED';

export class ProxyHeaderError extends Error {
  readonly code: ProxyHeaderErrorCode;

  constructor(code: ProxyHeaderErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProxyHeaderError';
    this.code = code;
  }
}

/**
 * Reads a PROXY header from a socket before anything else sees it: resolves with the header and the
 * bytes after it (to hand on), rejects (and the caller destroys the socket) on error, bounded by
 * timeoutMs and by the maximum header size. Either way the socket is left paused with this function's
 * listeners removed; the caller handles `rest` first, then attaches its own reader and resumes.
 */
export function readProxyHeader(
  socket: Socket,
  timeoutMs: number,
): Promise<{ header: ProxyHeader; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readableEnded) {
      reject(new ProxyHeaderError('PROXY_HEADER_CLOSED', 'connection closed before a PROXY header'));
      return;
    }
    let received: Buffer = Buffer.alloc(0);

    const stop = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      socket.off('error', onError);
      socket.pause();
    };
    const failWith = (error: ProxyHeaderError) => {
      stop();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const result = parseProxyHeader(received);
      if (result.status === 'need-more') return;
      if (result.status === 'error')
        return failWith(new ProxyHeaderError('PROXY_HEADER_INVALID', result.reason));
      stop();
      resolve({ header: result.header, rest: received.subarray(result.consumed) });
    };
    const onClosed = () =>
      failWith(
        new ProxyHeaderError('PROXY_HEADER_CLOSED', 'connection closed before a complete PROXY header'),
      );
    const onError = (error: Error) =>
      failWith(
        new ProxyHeaderError('PROXY_HEADER_CLOSED', `socket error before a PROXY header: ${error.message}`, {
          cause: error,
        }),
      );
    const timer = setTimeout(
      () => failWith(new ProxyHeaderError('PROXY_HEADER_TIMEOUT', `no PROXY header within ${timeoutMs} ms`)),
      timeoutMs,
    );

    socket.on('data', onData);
    socket.on('end', onClosed);
    socket.on('close', onClosed);
    socket.on('error', onError);
    socket.resume();
  });
}
