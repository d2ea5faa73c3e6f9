/** Plain TCP listener: each accepted socket becomes a SocketLink handed to the broker. */
import { createServer, type Server, type Socket } from 'node:net';
import type { Link } from '../core/link.js';
import { SocketLink } from './socket-link.js';

export interface ListenerAddress {
  type: string;
  host: string;
  port: number;
}

export interface Listener {
  readonly name: string;
  listen(): Promise<ListenerAddress>;
  /** Stops accepting; open links stay until the broker closes them. */
  close(): Promise<void>;
}

export class TcpListener implements Listener {
  name: string;
  private readonly server: Server;

  constructor(
    private readonly host: string,
    private readonly port: number,
    accept: (link: Link) => void,
  ) {
    this.name = `tcp ${formatHost(host)}:${port}`;
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

  listen(): Promise<ListenerAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      const done = () => {
        this.server.off('error', onError);
        const address = this.server.address();
        const port = typeof address === 'object' && address ? address.port : this.port;
        const host = typeof address === 'object' && address ? address.address : this.host;
        this.name = `tcp ${formatHost(host)}:${port}`;
        resolve({ type: 'tcp', host, port });
      };
      if (this.host === '') this.server.listen(this.port, done);
      else this.server.listen(this.port, this.host, done);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}

function formatHost(host: string): string {
  if (host === '') return '*';
  return host.includes(':') ? `[${host}]` : host;
}
