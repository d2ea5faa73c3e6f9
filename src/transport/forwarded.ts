/**
 * The real client address of an HTTP request that came through reverse proxies. X-Forwarded-For and
 * Forwarded are believed only when the direct peer is a configured trusted proxy; then the address is
 * the right-most entry that is not itself a trusted proxy (entries further left were written by the
 * client or by proxies nobody vouches for).
 */
import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';

/** "::ffff:10.0.0.1" and "10.0.0.1" are the same peer. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The addresses a Forwarded header names in its for= parameters (RFC 7239), in order. */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const [name, raw] = pair.split('=', 2);
      if (name?.trim().toLowerCase() !== 'for' || raw === undefined) continue;
      let value = raw.trim().replace(/^"|"$/g, '');
      if (value.startsWith('[')) value = value.slice(1, value.indexOf(']'));
      else if (isIP(value) === 0 && value.includes(':')) value = value.slice(0, value.lastIndexOf(':'));
      out.push(value);
    }
  }
  return out;
}

export function clientAddress(
  request: IncomingMessage,
  socket: Socket,
  trustedProxies: readonly string[] | undefined,
): { address: string; port: number } {
  const peer = plain(socket.remoteAddress ?? 'unknown');
  const port = socket.remotePort ?? 0;
  if (trustedProxies === undefined || !trustedProxies.includes(peer)) return { address: peer, port };
  const forwarded = request.headers.forwarded;
  const xff = request.headers['x-forwarded-for'];
  const chain =
    forwarded !== undefined
      ? forwardedFor(forwarded)
      : (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').map((entry) => entry.trim());
  for (let i = chain.length - 1; i >= 0; i--) {
    const candidate = plain(chain[i]!);
    if (isIP(candidate) === 0) break;
    if (!trustedProxies.includes(candidate)) return { address: candidate, port: 0 };
  }
  return { address: peer, port };
}
