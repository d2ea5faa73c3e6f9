/**
 * PROXY protocol v1/v2 (haproxy doc/proxy-protocol.txt): table-driven parser fixtures, each fed whole,
 * with trailing bytes and byte by byte; malformed input that must fail at a known byte; and
 * readProxyHeader over a real loopback socket pair.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type ProxyHeader,
  ProxyHeaderError,
  parseProxyHeader,
  readProxyHeader,
  V2_MAX_BYTES,
} from '../../../src/transport/proxy-protocol.js';

// biome-ignore format: one comment per group of bytes
const SIG = [
  0x0d, 0x0a, 0x0d, 0x0a, // "\r\n\r\n"
  0x00, // NUL
  0x0d, 0x0a, // "\r\n"
  0x51, 0x55, 0x49, 0x54, // "QUIT"
  0x0a, // "\n"
];

/** An MQTT 3.1.1 CONNECT, the bytes that follow a header on a real connection. */
// biome-ignore format: one comment per group of bytes
const CONNECT = [
  0x10, 0x0c, // CONNECT, remaining length 12
  0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
  0x04, // protocol level 4
  0x02, // flags: clean session
  0x00, 0x3c, // keep alive 60
  0x00, 0x00, // client id ""
];

const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];
/** A 108-byte sun_path: the path, then NUL padding. */
const sunPath = (path: string): number[] => [...Buffer.from(path), ...new Array(108 - path.length).fill(0)];

interface Valid {
  name: string;
  bytes: number[];
  header: ProxyHeader;
}

const IPV6_MAX = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

const valid: Valid[] = [
  {
    name: 'v1 TCP4',
    bytes: ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '192.168.0.1',
      sourcePort: 56324,
      destinationAddress: '192.168.0.11',
      destinationPort: 443,
    },
  },
  {
    name: 'v1 TCP4 longest line (56 bytes), port 0',
    bytes: ascii('PROXY TCP4 255.255.255.255 255.255.255.255 65535 0\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '255.255.255.255',
      sourcePort: 65535,
      destinationAddress: '255.255.255.255',
      destinationPort: 0,
    },
  },
  {
    name: 'v1 TCP6, addresses in the form node prints',
    bytes: ascii('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::FFFF:203.0.113.7 65535 1883\r\n'),
    header: {
      version: 1,
      command: 'proxy',
      family: 'tcp6',
      sourceAddress: '2001:db8::1',
      sourcePort: 65535,
      destinationAddress: '::ffff:203.0.113.7',
      destinationPort: 1883,
    },
  },
  {
    name: 'v1 TCP6 longest line (104 bytes)',
    bytes: ascii(`PROXY TCP6 ${IPV6_MAX} ${IPV6_MAX} 65535 65535\r\n`),
    header: {
      version: 1,
      command: 'proxy',
      family: 'tcp6',
      sourceAddress: IPV6_MAX,
      sourcePort: 65535,
      destinationAddress: IPV6_MAX,
      destinationPort: 65535,
    },
  },
  {
    name: 'v1 UNKNOWN, short form',
    bytes: ascii('PROXY UNKNOWN\r\n'),
    header: { version: 1, command: 'proxy', family: 'unknown' },
  },
  {
    name: 'v1 UNKNOWN, worst case 107 bytes, rest of line ignored',
    bytes: ascii(`PROXY UNKNOWN ${IPV6_MAX} ${IPV6_MAX} 65535 65535\r\n`),
    header: { version: 1, command: 'proxy', family: 'unknown' },
  },
  {
    name: 'v2 PROXY TCP over IPv4',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0x00, 0x0c, // address block: 12 bytes
      192, 168, 0, 1, // source address 192.168.0.1
      192, 168, 0, 11, // destination address 192.168.0.11
      0xdc, 0x04, // source port 56324
      0x01, 0xbb, // destination port 443
    ],
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '192.168.0.1',
      sourcePort: 56324,
      destinationAddress: '192.168.0.11',
      destinationPort: 443,
    },
  },
  {
    name: 'v2 PROXY TCP over IPv4 with TLVs',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0x00, 0x18, // 24 bytes: 12 of addresses, 12 of TLVs
      10, 0, 0, 1, // source address 10.0.0.1
      10, 0, 0, 2, // destination address 10.0.0.2
      0x9c, 0x40, // source port 40000
      0x07, 0x5b, // destination port 1883
      0x01, 0x00, 0x04, // TLV PP2_TYPE_ALPN, length 4
      0x6d, 0x71, 0x74, 0x74, // "mqtt"
      0x04, 0x00, 0x02, // TLV PP2_TYPE_NOOP, length 2
      0x00, 0x00, // padding
    ],
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '10.0.0.1',
      sourcePort: 40000,
      destinationAddress: '10.0.0.2',
      destinationPort: 1883,
    },
  },
  {
    name: 'v2 PROXY TCP over IPv6',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x21, // AF_INET6, STREAM
      0x00, 0x24, // address block: 36 bytes
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, // source 2001:db8::1
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0, 0, 0, // destination 2001:db8:0:0:1::
      0xff, 0xff, // source port 65535
      0x22, 0xb3, // destination port 8883
    ],
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp6',
      sourceAddress: '2001:db8::1',
      sourcePort: 65535,
      destinationAddress: '2001:db8:0:0:1::',
      destinationPort: 8883,
    },
  },
  {
    name: 'v2 PROXY TCP over IPv6 with TLVs, IPv4-mapped source',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x21, // AF_INET6, STREAM
      0x00, 0x39, // 57 bytes: 36 of addresses, 21 of TLVs
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7, // source ::ffff:203.0.113.7
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // destination ::1
      0x00, 0x00, // source port 0
      0x07, 0x5b, // destination port 1883
      0x03, 0x00, 0x04, // TLV PP2_TYPE_CRC32C, length 4
      0xde, 0xad, 0xbe, 0xef, // checksum (not verified)
      0x02, 0x00, 0x0b, // TLV PP2_TYPE_AUTHORITY, length 11
      ...ascii('example.com'), // "example.com"
    ],
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp6',
      sourceAddress: '::ffff:203.0.113.7',
      sourcePort: 0,
      destinationAddress: '::1',
      destinationPort: 1883,
    },
  },
  {
    name: 'v2 LOCAL',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x20, // version 2, command LOCAL
      0x00, // AF_UNSPEC, UNSPEC
      0x00, 0x00, // no address block
    ],
    header: { version: 2, command: 'local', family: 'unknown' },
  },
  {
    name: 'v2 LOCAL with an address block, skipped by its length',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x20, // version 2, command LOCAL
      0x11, // AF_INET, STREAM (ignored for LOCAL)
      0x00, 0x0c, // address block: 12 bytes
      127, 0, 0, 1, // source address (discarded)
      127, 0, 0, 1, // destination address (discarded)
      0x30, 0x39, // source port (discarded)
      0x07, 0x5b, // destination port (discarded)
    ],
    header: { version: 2, command: 'local', family: 'unknown' },
  },
  {
    name: 'v2 PROXY with AF_UNSPEC',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x00, // AF_UNSPEC, UNSPEC
      0x00, 0x00, // no address block
    ],
    header: { version: 2, command: 'proxy', family: 'unknown' },
  },
  {
    name: 'v2 PROXY UDP over IPv4 falls back to unknown',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x12, // AF_INET, DGRAM
      0x00, 0x0c, // address block: 12 bytes
      10, 0, 0, 1, // source address (ignored)
      10, 0, 0, 2, // destination address (ignored)
      0x00, 0x35, // source port (ignored)
      0x00, 0x35, // destination port (ignored)
    ],
    header: { version: 2, command: 'proxy', family: 'unknown' },
  },
  {
    name: 'v2 PROXY UNIX stream',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x31, // AF_UNIX, STREAM
      0x00, 0xd8, // address block: 216 bytes
      ...sunPath('/run/lb.sock'), // source path, NUL-padded to 108 bytes
      ...sunPath('/run/midge.sock'), // destination path, NUL-padded to 108 bytes
    ],
    header: {
      version: 2,
      command: 'proxy',
      family: 'unix',
      sourceAddress: '/run/lb.sock',
      destinationAddress: '/run/midge.sock',
    },
  },
  {
    name: `v2 at the size cap (${V2_MAX_BYTES} bytes)`,
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0x0f, 0xf0, // 4080 bytes: 12 of addresses, 4068 of TLV
      10, 0, 0, 1, // source address 10.0.0.1
      10, 0, 0, 2, // destination address 10.0.0.2
      0x00, 0x01, // source port 1
      0x00, 0x02, // destination port 2
      0x04, 0x0f, 0xe1, // TLV PP2_TYPE_NOOP, length 4065
      ...new Array(4065).fill(0), // padding
    ],
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '10.0.0.1',
      sourcePort: 1,
      destinationAddress: '10.0.0.2',
      destinationPort: 2,
    },
  },
];

for (const v of valid) {
  const bytes = Buffer.from(v.bytes);

  test(`parse: ${v.name}`, () => {
    assert.deepStrictEqual(parseProxyHeader(bytes), {
      status: 'done',
      header: v.header,
      consumed: bytes.length,
    });
  });

  test(`parse with MQTT bytes after it: ${v.name}`, () => {
    const withData = Buffer.concat([bytes, Buffer.from(CONNECT)]);
    assert.deepStrictEqual(parseProxyHeader(withData), {
      status: 'done',
      header: v.header,
      consumed: bytes.length,
    });
  });

  test(`parse byte by byte: ${v.name}`, () => {
    for (let n = 0; n < bytes.length; n++) {
      assert.deepStrictEqual(parseProxyHeader(bytes.subarray(0, n)), { status: 'need-more' }, `${n} bytes`);
    }
    assert.equal(parseProxyHeader(bytes).status, 'done');
  });
}

test('v1 header followed by a CRLF of its own counts only its line', () => {
  const line = ascii('PROXY UNKNOWN\r\n');
  const result = parseProxyHeader(Buffer.from([...line, ...ascii('\r\n'), ...CONNECT]));
  assert.equal(result.status === 'done' && result.consumed, line.length);
});

interface Malformed {
  name: string;
  bytes: number[];
  /** The shortest prefix that is already an error: every shorter one is 'need-more'. */
  errorsAt: number;
  reason: RegExp;
}

const at = (text: string) => Buffer.byteLength(text, 'latin1');
const v1Tail = ' 5.6.7.8 1 2\r\n';

const malformed: Malformed[] = [
  { name: 'MQTT CONNECT without a header', bytes: CONNECT, errorsAt: 1, reason: /not a PROXY/ },
  { name: 'an HTTP request', bytes: ascii('GET / HTTP/1.1\r\n\r\n'), errorsAt: 1, reason: /not a PROXY/ },
  // biome-ignore format: one comment per group of bytes
  {
    name: 'a TLS ClientHello',
    bytes: [
      0x16, // handshake record
      0x03, 0x01, // TLS 1.0 record version
    ],
    errorsAt: 1,
    reason: /not a PROXY/,
  },
  {
    name: 'v1 signature misspelt',
    bytes: ascii('PROXZ TCP4 1.2.3.4' + v1Tail),
    errorsAt: 5,
    reason: /v1 signature/,
  },
  { name: 'v1 without a space', bytes: ascii('PROXY\r\n'), errorsAt: 6, reason: /v1 signature/ },
  {
    name: 'v2 signature wrong at byte 8',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      0x0d, 0x0a, 0x0d, 0x0a, // "\r\n\r\n"
      0x00, // NUL
      0x0d, 0x0a, // "\r\n"
      0x50, // "P" where the signature has "Q"
      0x55, 0x49, 0x54, 0x0a, // "UIT\n"
      0x21, // version 2, command PROXY
      0x00, // AF_UNSPEC, UNSPEC
      0x00, 0x00, // no address block
    ],
    errorsAt: 8,
    reason: /v2 signature/,
  },
  {
    name: 'v2 header with version 1',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x11, // version 1 (not allowed), command PROXY
      0x00, // AF_UNSPEC, UNSPEC
      0x00, 0x00, // no address block
    ],
    errorsAt: 13,
    reason: /version 1/,
  },
  {
    name: 'v2 header with command 2',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x22, // version 2, command 2 (unassigned)
      0x00, // AF_UNSPEC, UNSPEC
      0x00, 0x00, // no address block
    ],
    errorsAt: 13,
    reason: /command 2/,
  },
  {
    name: 'v2 header with address family 4',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x41, // family 4 (unassigned), STREAM
      0x00, 0x00, // no address block
    ],
    errorsAt: 14,
    reason: /family 4/,
  },
  {
    name: 'v2 header with transport 3',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x13, // AF_INET, transport 3 (unassigned)
      0x00, 0x00, // no address block
    ],
    errorsAt: 14,
    reason: /transport 3/,
  },
  {
    name: 'v2 length too short for IPv4 addresses',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0x00, 0x08, // address block: 8 bytes, 4 short of two addresses and two ports
      10, 0, 0, 1, // source address 10.0.0.1
      10, 0, 0, 2, // destination address 10.0.0.2
    ],
    errorsAt: 16,
    reason: /needs 12/,
  },
  {
    name: 'v2 length too short for IPv6 addresses',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x21, // AF_INET6, STREAM
      0x00, 0x0c, // address block: 12 bytes, an IPv4 size
      10, 0, 0, 1, 10, 0, 0, 2, 0x00, 0x01, 0x00, 0x02, // IPv4-shaped addresses and ports
    ],
    errorsAt: 16,
    reason: /needs 36/,
  },
  {
    name: 'v2 length of 65535, over the cap',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0xff, 0xff, // 65535 bytes to follow
      10, 0, 0, 1, // source address 10.0.0.1
    ],
    errorsAt: 16,
    reason: /exceeds 4096/,
  },
  {
    name: 'v2 one byte over the cap',
    // biome-ignore format: one comment per group of bytes
    bytes: [
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0x0f, 0xf1, // 4081 bytes to follow: 4097 in all
    ],
    errorsAt: 16,
    reason: /4097 bytes exceeds/,
  },
  {
    name: 'v1 line with no CRLF in 107 bytes',
    bytes: ascii(`PROXY UNKNOWN ${'f'.repeat(93)}\r\n`),
    errorsAt: 107,
    reason: /no CRLF/,
  },
  {
    name: 'v1 line of 108 bytes with its CRLF',
    bytes: ascii(`PROXY UNKNOWN ${'f'.repeat(92)}\r\n`),
    errorsAt: 107,
    reason: /no CRLF/,
  },
  {
    name: 'v1 IPv4 octet over 255',
    bytes: ascii('PROXY TCP4 256.1.1.1' + v1Tail),
    errorsAt: at('PROXY TCP4 256.1.1.1 '),
    reason: /address/,
  },
  {
    name: 'v1 IPv4 with a leading zero',
    bytes: ascii('PROXY TCP4 01.2.3.4' + v1Tail),
    errorsAt: at('PROXY TCP4 01.2.3.4 '),
    reason: /address/,
  },
  {
    name: 'v1 IPv4 with three parts',
    bytes: ascii('PROXY TCP4 1.2.3' + v1Tail),
    errorsAt: at('PROXY TCP4 1.2.3 '),
    reason: /address/,
  },
  {
    name: 'v1 TCP4 with an IPv6 address',
    bytes: ascii('PROXY TCP4 ::1' + v1Tail),
    errorsAt: at('PROXY TCP4 :'),
    reason: /address/,
  },
  {
    name: 'v1 TCP6 with an IPv4 address',
    bytes: ascii('PROXY TCP6 1.2.3.4 ::1 1 2\r\n'),
    errorsAt: at('PROXY TCP6 1.2.3.4 '),
    reason: /address/,
  },
  {
    name: 'v1 TCP6 with a zone id',
    bytes: ascii('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'),
    errorsAt: at('PROXY TCP6 fe80::1%'),
    reason: /address/,
  },
  {
    name: 'v1 destination address missing its last part',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7. 1 2\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7. '),
    reason: /address/,
  },
  {
    name: 'v1 port over 65535',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 65536 80\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 65536'),
    reason: /port/,
  },
  {
    name: 'v1 port with six digits',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 1 100000'),
    reason: /port/,
  },
  {
    name: 'v1 port with a leading +',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 +80 80\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 +'),
    reason: /port/,
  },
  {
    name: 'v1 negative port',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 -1 80\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 -'),
    reason: /port/,
  },
  {
    name: 'v1 port with a leading zero',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 08'),
    reason: /port/,
  },
  {
    name: 'v1 port in hex',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 0x50\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 1 0x'),
    reason: /port/,
  },
  {
    name: 'v1 line without the destination port',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n'),
    reason: /missing/,
  },
  {
    name: 'v1 line with an extra field',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 x\r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 '),
    reason: /too many/,
  },
  {
    name: 'v1 line with a space before CRLF',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 \r\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 80 443 '),
    reason: /too many/,
  },
  {
    name: 'v1 line with two spaces',
    bytes: ascii('PROXY TCP4  1.2.3.4' + v1Tail),
    errorsAt: at('PROXY TCP4  '),
    reason: /address/,
  },
  {
    name: 'v1 protocol in lower case',
    bytes: ascii('PROXY tcp4 1.2.3.4' + v1Tail),
    errorsAt: 7,
    reason: /protocol/,
  },
  { name: 'v1 protocol UDP4', bytes: ascii('PROXY UDP4 1.2.3.4' + v1Tail), errorsAt: 8, reason: /protocol/ },
  { name: 'v1 protocol UNKNOWNX', bytes: ascii('PROXY UNKNOWNX\r\n'), errorsAt: 14, reason: /protocol/ },
  {
    name: 'v1 line ended by LF alone',
    bytes: ascii('PROXY UNKNOWN\n'),
    errorsAt: 14,
    reason: /LF without CR/,
  },
  {
    name: 'v1 TCP4 line ended by LF alone',
    bytes: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'),
    errorsAt: at('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'),
    reason: /LF without CR/,
  },
  {
    name: 'v1 line with CR then CR',
    bytes: ascii('PROXY UNKNOWN\r\r\n'),
    errorsAt: 15,
    reason: /CR without LF/,
  },
];

for (const m of malformed) {
  test(`reject: ${m.name}`, () => {
    const bytes = Buffer.from(m.bytes);
    for (let n = 0; n < m.errorsAt; n++) {
      assert.deepStrictEqual(parseProxyHeader(bytes.subarray(0, n)), { status: 'need-more' }, `${n} bytes`);
    }
    for (let n = m.errorsAt; n <= bytes.length; n++) {
      const result = parseProxyHeader(bytes.subarray(0, n));
      assert.equal(result.status, 'error', `${n} bytes`);
      assert.match(result.status === 'error' ? result.reason : '', m.reason, `${n} bytes`);
    }
  });
}

test('random bytes never throw, and an error stays an error as bytes arrive', () => {
  const start = fc.oneof(
    fc.constant(Buffer.from(SIG)),
    fc.constant(Buffer.from('PROXY ')),
    fc.constant(Buffer.from('PROXY TCP4 ')),
    fc.constant(Buffer.from('PROXY TCP6 ')),
    fc.constant(Buffer.alloc(0)),
  );
  fc.assert(
    fc.property(start, fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 20 }), (head, a, b) => {
      const first = Buffer.concat([head, a]);
      const before = parseProxyHeader(first);
      const after = parseProxyHeader(Buffer.concat([first, b]));
      if (before.status === 'error') assert.equal(after.status, 'error');
      if (before.status === 'done') assert.deepStrictEqual(after, before);
      if (after.status === 'done') assert.ok(after.consumed <= first.length + b.length);
    }),
    { numRuns: 2000 },
  );
});

// ---- readProxyHeader over real sockets ----

interface Pair {
  /** The load balancer's end. */
  client: Socket;
  /** The broker's end, as a listener accepts it. */
  server: Socket;
}

async function withPair(body: (pair: Pair) => Promise<void>): Promise<void> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port });
  const connected = once(client, 'connect');
  client.setNoDelay(true);
  client.on('error', () => {});
  const [server] = await accepted;
  server.on('error', () => {});
  await connected;
  try {
    await body({ client, server });
  } finally {
    client.destroy();
    server.destroy();
    await new Promise((resolve) => listener.close(resolve));
  }
}

const EVENTS = ['data', 'end', 'close', 'error', 'readable'] as const;
const listeners = (socket: Socket) => EVENTS.map((e) => socket.listenerCount(e));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects what the socket delivers once resumed, until `length` bytes have come. */
function collect(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) resolve(Buffer.concat(chunks));
    });
    socket.resume();
  });
}

const v2ipv4 = Buffer.from(valid.find((v) => v.name === 'v2 PROXY TCP over IPv4')!.bytes);
const v2ipv6tlv = Buffer.from(
  valid.find((v) => v.name.startsWith('v2 PROXY TCP over IPv6 with TLVs'))!.bytes,
);
const v2ipv4Header = valid.find((v) => v.name === 'v2 PROXY TCP over IPv4')!.header;

test('readProxyHeader: header and MQTT bytes in one write; rest holds the MQTT bytes', async () => {
  await withPair(async ({ client, server }) => {
    const before = listeners(server);
    client.write(Buffer.concat([v2ipv4, Buffer.from(CONNECT)]));
    const { header, rest } = await readProxyHeader(server, 2000);
    assert.deepStrictEqual(header, v2ipv4Header);
    assert.deepStrictEqual([...rest], CONNECT);
    assert.ok(server.isPaused(), 'left paused');
    assert.deepStrictEqual(listeners(server), before, 'listeners removed');

    // Bytes sent later wait in the paused socket until the caller resumes it.
    client.write('later');
    await sleep(30);
    assert.deepStrictEqual(await collect(server, 5), Buffer.from('later'));
  });
});

test('readProxyHeader: header split over several writes', async () => {
  await withPair(async ({ client, server }) => {
    const all = Buffer.concat([v2ipv6tlv, Buffer.from(CONNECT)]);
    const reading = readProxyHeader(server, 2000);
    for (const [from, to] of [
      [0, 5],
      [5, 14],
      [14, 40],
      [40, all.length],
    ] as const) {
      client.write(all.subarray(from, to));
      await sleep(15);
    }
    const { header, rest } = await reading;
    assert.equal(header.family, 'tcp6');
    assert.equal(header.sourceAddress, '::ffff:203.0.113.7');
    assert.deepStrictEqual([...rest], CONNECT);
    assert.ok(server.isPaused());
  });
});

test('readProxyHeader: v1 line byte by byte, MQTT bytes after it in a later write', async () => {
  await withPair(async ({ client, server }) => {
    const before = listeners(server);
    const line = Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 40000 1883\r\n');
    const reading = readProxyHeader(server, 5000);
    for (const byte of line) {
      client.write(Buffer.from([byte]));
      await sleep(2);
    }
    const { header, rest } = await reading;
    assert.equal(header.destinationAddress, '2001:db8::2');
    assert.equal(header.sourcePort, 40000);
    assert.equal(rest.length, 0);
    assert.deepStrictEqual(listeners(server), before);
    client.write(Buffer.from(CONNECT));
    assert.deepStrictEqual([...(await collect(server, CONNECT.length))], CONNECT);
  });
});

test('readProxyHeader: nothing lost when much data follows the header at once', async () => {
  await withPair(async ({ client, server }) => {
    const header = Buffer.from(valid.find((v) => v.name.startsWith('v2 at the size cap'))!.bytes);
    const payload = Buffer.alloc(256 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    client.write(Buffer.concat([header, payload]));
    const { rest } = await readProxyHeader(server, 2000);
    assert.ok(server.isPaused());
    const more =
      rest.length < payload.length ? await collect(server, payload.length - rest.length) : Buffer.alloc(0);
    assert.ok(Buffer.concat([rest, more]).equals(payload));
  });
});

test('readProxyHeader: no complete header within the timeout rejects', async () => {
  await withPair(async ({ client, server }) => {
    const before = listeners(server);
    client.write(v2ipv4.subarray(0, 10));
    const started = Date.now();
    await assert.rejects(readProxyHeader(server, 100), (e: unknown) => {
      assert.ok(e instanceof ProxyHeaderError);
      assert.equal(e.code, 'PROXY_HEADER_TIMEOUT');
      return true;
    });
    assert.ok(Date.now() - started >= 90);
    assert.deepStrictEqual(listeners(server), before);
    assert.ok(server.isPaused());
  });
});

test('readProxyHeader: garbage rejects at once, not at the timeout', async () => {
  await withPair(async ({ client, server }) => {
    const before = listeners(server);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    await assert.rejects(readProxyHeader(server, 10_000), (e: unknown) => {
      assert.ok(e instanceof ProxyHeaderError);
      assert.equal(e.code, 'PROXY_HEADER_INVALID');
      assert.match(e.message, /not a PROXY/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    assert.deepStrictEqual(listeners(server), before);
  });
});

test('readProxyHeader: an oversized v2 length rejects without waiting for the bytes', async () => {
  await withPair(async ({ client, server }) => {
    // biome-ignore format: one comment per group of bytes
    client.write(Buffer.from([
      ...SIG, // signature
      0x21, // version 2, command PROXY
      0x11, // AF_INET, STREAM
      0xff, 0xff, // 65535 bytes to follow
    ]));
    await assert.rejects(readProxyHeader(server, 10_000), { code: 'PROXY_HEADER_INVALID' });
  });
});

test('readProxyHeader: the peer closing mid-header rejects', async () => {
  await withPair(async ({ client, server }) => {
    client.end(Buffer.from('PROXY TCP4 1.2.3.4'));
    await assert.rejects(readProxyHeader(server, 10_000), { code: 'PROXY_HEADER_CLOSED' });
  });
});

test('readProxyHeader: a destroyed socket rejects at once', async () => {
  await withPair(async ({ server }) => {
    server.destroy();
    await assert.rejects(readProxyHeader(server, 10_000), { code: 'PROXY_HEADER_CLOSED' });
  });
});
