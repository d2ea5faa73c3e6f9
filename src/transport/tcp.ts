/** MQTT over plain TCP and over TLS: each accepted socket becomes a SocketLink handed to the broker. */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { ListenerConfig } from '../config/schema.js';
import type { Link } from '../core/link.js';
import { ignore } from './buffered-link.js';
import { readProxyHeader } from './proxy-protocol.js';
import { ServerListener } from './server-listener.js';
import { SocketLink } from './socket-link.js';
import { certificateUsername, tlsOptions } from './tls-options.js';

/** Time a connection on a PROXY-protocol listener has to send its header. */
export const PROXY_HEADER_TIMEOUT = 5000;

/**
 * Calls `next` with the client's address: the socket's own, or — on a listener behind a load balancer
 * speaking the PROXY protocol — the one in the header, plus the bytes that followed the header. A
 * connection without a valid header is destroyed.
 */
export function withClientAddress(
  socket: Socket,
  proxyProtocol: boolean,
  next: (address: string, port: number, rest: Buffer | undefined) => void,
): void {
  if (!proxyProtocol) {
    next(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0, undefined);
    return;
  }
  socket.on('error', ignore);
  readProxyHeader(socket, PROXY_HEADER_TIMEOUT).then(
    ({ header, rest }) => {
      if (header.command === 'proxy' && header.sourceAddress !== undefined) {
        next(header.sourceAddress, header.sourcePort ?? 0, rest);
      } else {
        // LOCAL (a health check by the balancer itself) or an unknown family: the peer is who it is.
        next(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0, rest);
      }
    },
    () => socket.destroy(),
  );
}

export class TcpListener extends ServerListener {
  protected readonly server: Server;

  constructor(config: ListenerConfig, accept: (link: Link) => void) {
    super('tcp', config.host, config.port);
    this.server = createServer({ noDelay: true }, (socket: Socket) => {
      withClientAddress(socket, config.proxyProtocol === true, (remoteAddress, remotePort, rest) => {
        accept(
          new SocketLink(socket, { transport: 'tcp', remoteAddress, remotePort, listener: this.name }, rest),
        );
      });
    });
  }
}

export class TlsListener extends ServerListener {
  protected readonly server: TlsServer;

  /** `handshakeTimeout`: ms a client has to complete the TLS handshake (the broker's connectTimeout). */
  constructor(
    private readonly config: ListenerConfig,
    accept: (link: Link) => void,
    handshakeTimeout = 10_000,
  ) {
    super('tls', config.host, config.port);
    this.server = createTlsServer({ ...tlsOptions(config), handshakeTimeout }, (socket: TLSSocket) => {
      accept(
        new SocketLink(socket, {
          transport: 'tls',
          remoteAddress: socket.remoteAddress ?? 'unknown',
          remotePort: socket.remotePort ?? 0,
          listener: this.name,
          certificateUsername: certificateUsername(socket, config),
        }),
      );
    });
    // A failed handshake concerns that one client only.
    this.server.on('tlsClientError', ignore);
  }

  reload(): void {
    this.server.setSecureContext(tlsOptions(this.config));
  }
}
