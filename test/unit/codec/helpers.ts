import { CodecError, Decoder, type Packet, type ProtocolVersion } from '../../../src/codec/index.js';

/** The UTF-8 bytes of `s`, to spread into a byte fixture. */
export function str(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

export interface Fixture {
  name: string;
  /** The version both sides speak; a CONNECT names its own. */
  version: ProtocolVersion;
  packet: Packet;
  bytes: number[];
}

/** Feeds `chunks` to a fresh decoder set to `version` and returns every packet, draining after each push. */
export function decodeChunks(chunks: Buffer[], version: ProtocolVersion, maxPacketSize = 1 << 20): Packet[] {
  const decoder = new Decoder({ maxPacketSize });
  decoder.protocolVersion = version;
  const out: Packet[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let p = decoder.next(); p !== null; p = decoder.next()) out.push(p);
  }
  if (decoder.buffered !== 0) throw new Error(`${decoder.buffered} bytes left over`);
  return out;
}

/** Decodes bytes holding exactly one packet. */
export function decodeOne(bytes: number[] | Buffer, version: ProtocolVersion): Packet {
  const packets = decodeChunks([Buffer.from(bytes)], version);
  if (packets.length !== 1) throw new Error(`expected one packet, got ${packets.length}`);
  return packets[0]!;
}

export interface Rejection {
  name: string;
  version: ProtocolVersion;
  bytes: number[];
  code: string;
}

/** Asserts that decoding `bytes` at `version` throws a CodecError with `code`, and returns it. */
export function decodeError(bytes: number[] | Buffer, version: ProtocolVersion, maxPacketSize = 1 << 20) {
  const decoder = new Decoder({ maxPacketSize });
  decoder.protocolVersion = version;
  decoder.push(Buffer.from(bytes));
  try {
    for (let p = decoder.next(); p !== null; p = decoder.next()) {
      // keep going: the bad packet may follow good ones
    }
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error(decoder.buffered > 0 ? 'waits for more bytes instead of failing' : 'decoded without error');
}
