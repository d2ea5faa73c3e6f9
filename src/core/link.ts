/**
 * The one boundary between transports and the broker core: a Link is a byte stream to one client.
 *
 * TCP, TLS, WebSocket and WSS each adapt their socket to this interface, so nothing above it knows
 * the transport except through `info` (logs, metrics). The core never imports net, tls, http or ws.
 *
 * Contract a transport keeps:
 * - `write` never writes synchronously to the socket: bytes are gathered and flushed once per
 *   event-loop turn, so a fan-out of N messages costs one system call per socket, not N.
 * - `bufferedBytes` counts everything accepted by `write` and not yet handed to the kernel.
 * - `onDrain` is called when `bufferedBytes` falls back below the transport's high-water mark
 *   after `congested` was true.
 * - `onClose` is called exactly once, whatever the cause, after which the link is inert.
 */

export type TransportKind = 'tcp' | 'tls' | 'ws' | 'wss';

export interface LinkInfo {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Name of the listener that accepted the link, e.g. "tcp 127.0.0.1:1883". */
  readonly listener: string;
  /**
   * The MQTT username the transport vouches for (a TLS client certificate's CN or subject, when the
   * listener is configured so); it replaces the one in CONNECT.
   */
  readonly certificateUsername?: string | undefined;
  /**
   * A credential that came with the connection rather than in CONNECT: the token of a WebSocket
   * upgrade (Authorization: Bearer, or the listener's cookie or query parameter).
   */
  readonly token?: string | undefined;
}

export interface LinkHandler {
  onData(chunk: Buffer): void;
  onDrain(): void;
  onClose(error: Error | undefined): void;
}

export interface Link {
  readonly info: LinkInfo;
  /** Starts the flow of events; data read before this is held. */
  attach(handler: LinkHandler): void;
  /**
   * Queues one whole MQTT packet for the next flush, in one or two parts (a PUBLISH's head and its
   * shared payload). The buffers must not be modified afterwards. Transports that frame packets
   * (WebSocket) rely on each call being exactly one packet.
   */
  write(packet: Buffer, rest?: Buffer): void;
  /** Bytes accepted and not yet taken by the kernel. */
  readonly bufferedBytes: number;
  /** True while the peer is not keeping up (above the high-water mark). */
  readonly congested: boolean;
  /** Stops / restarts reading from the peer. */
  pause(): void;
  resume(): void;
  /**
   * Flushes what is queued, then closes gracefully. `reasonCode` is the MQTT 5 reason code of the
   * close (0 normal), for transports that carry a close reason of their own (WebSocket close codes).
   */
  end(reasonCode?: number): void;
  /** Closes at once, dropping anything queued. */
  destroy(): void;
  readonly closed: boolean;
}
