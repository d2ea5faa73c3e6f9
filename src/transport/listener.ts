/** What the broker needs of a listener, whatever its transport. */
export interface ListenerAddress {
  type: string;
  host: string;
  port: number;
  /** The WebSocket path, for ws and wss listeners. */
  path?: string;
}

export interface Listener {
  readonly name: string;
  listen(): Promise<ListenerAddress>;
  /** Stops accepting; open links stay until the broker closes them. */
  close(): Promise<void>;
  /** Re-reads certificate files (tls, wss) without dropping connections. */
  reload?(): void;
}

export function formatHost(host: string): string {
  if (host === '') return '*';
  return host.includes(':') ? `[${host}]` : host;
}
