/**
 * The assembled broker: the core plus the listeners of its configuration. This is where transports
 * meet the core; neither knows the other beyond the Link interface.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Security } from './auth/security.js';
import type { BrokerConfig, ConfigInput } from './config/schema.js';
import { resolveConfig } from './config/validate.js';
import { BrokerCore } from './core/broker.js';
import type { Hooks } from './core/hooks.js';
import type { Link } from './core/link.js';
import { DashboardHttp } from './http/dashboard.js';
import { createLogger } from './log.js';
import { SqliteStore, type Store } from './store/index.js';
import { addFlushBarrier } from './transport/flush.js';
import type { Listener, ListenerAddress } from './transport/listener.js';
import { TcpListener, TlsListener } from './transport/tcp.js';
import { WsListener } from './transport/websocket.js';

export interface BrokerOptions {
  hooks?: Hooks;
  logger?: Logger;
  /** A store instance to use instead of the one the configuration names (tests, embedding). */
  store?: Store;
  /** Where the configuration came from (a file name), named in errors about the files it refers to. */
  configSource?: string;
}

export interface Broker {
  readonly config: BrokerConfig;
  readonly core: BrokerCore;
  readonly log: Logger;
  /** Opens every listener; resolves with their bound addresses (port 0 becomes the real port). */
  listen(): Promise<ListenerAddress[]>;
  /** Stops accepting, closes every client connection cleanly, bounded by shutdownTimeout. */
  close(): Promise<void>;
  /** Re-reads the certificate files of every tls and wss listener; open connections stay. */
  reloadCertificates(): void;
  /**
   * SIGHUP: the certificates, the password file and the ACL read again (each file that cannot be
   * used is logged and its previous version stays in force); connected clients get the new ACL.
   */
  reload(): Promise<void>;
}

export function createBroker(input: ConfigInput | BrokerConfig = {}, options: BrokerOptions = {}): Broker {
  const config = resolveConfig(input as ConfigInput);
  const log = options.logger ?? createLogger(config.logLevel);
  const core = new BrokerCore(config, log, options.hooks);
  const listeners: Listener[] = config.listeners.map((listener) => {
    const maxPacketSize = listener.maxPacketSize ?? config.maxPacketSize;
    const accept = (link: Link) => core.accept(link, { maxPacketSize });
    if (listener.type === 'tcp') return new TcpListener(listener, accept);
    if (listener.type === 'tls') return new TlsListener(listener, accept, config.connectTimeout);
    const ws = new WsListener(listener, maxPacketSize, accept, config.connectTimeout);
    ws.onRequest = (request, response, context) => dashboard?.handle(request, response, context) ?? false;
    return ws;
  });
  let dashboard: DashboardHttp | undefined;
  let closed: Promise<void> | undefined;
  let removeBarrier: (() => void) | undefined;
  let security: Security | undefined;
  return {
    config,
    core,
    log,
    async listen() {
      // Credentials and ACL first: a file that cannot be used stops start-up before anything opens.
      if (security === undefined) {
        security = await Security.open(
          config,
          log,
          options.hooks ?? {},
          () => core.refreshPermissions(),
          options.configSource,
        );
        core.hooks = security.hooks();
        dashboard = new DashboardHttp(core, security, config.dashboard);
      }
      // Everything the store holds is back before the first client can connect.
      const store =
        options.store ??
        (config.store === 'sqlite'
          ? new SqliteStore({ file: join(config.dataDir, 'midge.db'), fsync: config.fsync, log })
          : undefined);
      if (store !== undefined && core.store === undefined) {
        const recovered = await core.open(store);
        if (recovered !== undefined) log.warn(recovered);
        // In sync mode nothing of a turn reaches a client before the turn's changes are committed.
        const journal = core.journal;
        if (journal !== undefined && config.durability === 'sync') {
          removeBarrier = addFlushBarrier(() => (journal.pending ? journal.flush() : undefined));
        }
      }
      const addresses: ListenerAddress[] = [];
      try {
        for (const listener of listeners) addresses.push(await listener.listen());
      } catch (error) {
        await Promise.all(listeners.map((listener) => listener.close()));
        throw error;
      }
      return addresses;
    },
    async reload() {
      try {
        this.reloadCertificates();
      } catch (error) {
        // Keep serving with the certificates in use; say what is wrong with the new ones.
        log.error({ err: error }, 'certificate reload failed; the previous certificates stay in use');
      }
      await security?.reload();
    },
    reloadCertificates() {
      for (const listener of listeners) {
        if (listener.reload === undefined) continue;
        listener.reload();
        log.info({ listener: listener.name }, 'certificates reloaded');
      }
    },
    close() {
      if (closed === undefined) {
        closed = (async () => {
          const stopped = Promise.all(listeners.map((listener) => listener.close()));
          await core.close();
          security?.close();
          removeBarrier?.();
          await stopped;
        })();
      }
      return closed;
    },
  };
}
