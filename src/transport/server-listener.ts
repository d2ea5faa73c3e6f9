/** Listening and closing, the same for every node:net-based server (net, tls, http, https). */
import type { Server } from 'node:net';
import { formatHost, type Listener, type ListenerAddress } from './listener.js';

export abstract class ServerListener implements Listener {
  name: string;
  protected abstract readonly server: Server;

  constructor(
    readonly type: string,
    protected readonly host: string,
    protected readonly port: number,
    protected readonly path?: string,
  ) {
    this.name = `${type} ${formatHost(host)}:${port}`;
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
        this.name = `${this.type} ${formatHost(host)}:${port}`;
        const result: ListenerAddress = { type: this.type, host, port };
        if (this.path !== undefined) result.path = this.path;
        resolve(result);
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
