/** MQTT over plain TCP and over TLS: each accepted socket becomes a SocketLink handed to the broker. */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { ListenerConfig } from '../config/schema.js';
import type { Link } from '../core/link.js';
import { ServerListener } from './server-listener.js';
import { SocketLink } from './socket-link.js';
import { certificateUsername, tlsOptions } from './tls-options.js';

export class TcpListener extends ServerListener {
  protected readonly server: Server;

  constructor(config: ListenerConfig, accept: (link: Link) => void) {
    super('tcp', config.host, config.port);
    this.server = createServer({ noDelay: true }, (socket: Socket) => {
      accept(
        new SocketLink(socket, {
          transport: 'tcp',
          remoteAddress: socket.remoteAddress ?? 'unknown',
          remotePort: socket.remotePort ?? 0,
          listener: this.name,
        }),
      );
    });
  }
}

export class TlsListener extends ServerListener {
  protected readonly server: TlsServer;

  constructor(
    private readonly config: ListenerConfig,
    accept: (link: Link) => void,
  ) {
    super('tls', config.host, config.port);
    this.server = createTlsServer(tlsOptions(config), (socket: TLSSocket) => {
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
    this.server.on('tlsClientError', () => {});
  }

  reload(): void {
    this.server.setSecureContext(tlsOptions(this.config));
  }
}
