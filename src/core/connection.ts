/**
 * One client's network connection: bytes in → decoder → packet handlers; packets out → encoder → link.
 *
 * Life: 'new' (waiting for CONNECT, bounded by connectTimeout) → 'connecting' (authentication in
 * progress; later packets wait in the decoder) → 'connected' → 'closed'.
 *
 * Flow control, in one place: whenever a link this connection writes to is congested, the reading
 * of the connection that caused the write stops (the publisher being routed, or this connection
 * itself for its own acknowledgements) until that link drains. A link that stays congested for
 * drainTimeout is disconnected, so one stalled client can hold others back only for a bounded time.
 *
 * Errors: every reason to drop a connection goes through `fail`, which logs one line saying who and
 * why, publishes the will where the spec says so, and closes only this connection.
 */
import type { Logger } from 'pino';
import {
  CodecError,
  Decoder,
  DISCONNECT_CODES,
  encode,
  type Packet,
  type ProtocolVersion,
  ReasonCode,
  type Will,
} from '../codec/index.js';
import type { BrokerCore } from './broker.js';
import { CLOSE_REASONS, type CloseCode } from './errors.js';
import { dispatch } from './handlers/index.js';
import type { ClientPermissions, EnhancedAuthResult } from './hooks.js';
import type { Link, LinkHandler } from './link.js';
import { qos0Frame } from './message.js';
import { type OutboundAliases, publishHead } from './outbound.js';
import type { Delivery } from './queue.js';
import type { Session, SessionOutput } from './session.js';

export type ConnectionState = 'new' | 'connecting' | 'connected' | 'closed';

const PINGRESP = Buffer.from([0xd0, 0x00]);

export class Connection implements LinkHandler, SessionOutput {
  readonly link: Link;
  readonly broker: BrokerCore;
  readonly connectedAt = Date.now();
  state: ConnectionState = 'new';
  version: ProtocolVersion = 4;
  clientId = '';
  username: string | undefined;
  session: Session | null = null;
  will: Will | undefined;
  keepAlive = 0;
  /** Most unacknowledged QoS 1/2 PUBLISH to this client: maxInflight, or its Receive Maximum. */
  inflightLimit: number;
  /** Largest packet accepted from the client (its listener's maxPacketSize). */
  readonly maxIncomingPacket: number;
  /** Largest packet the client accepts (MQTT 5 Maximum Packet Size) [MQTT-3.1.2-24]. */
  maxOutgoingPacket = Number.POSITIVE_INFINITY;
  /** Topic aliases this connection's client set (inbound) and midge assigned (outbound). */
  aliasesIn: Map<number, string> | undefined;
  aliasesOut: OutboundAliases | undefined;
  /** MQTT 5 Session Expiry Interval given in CONNECT (for the DISCONNECT rule [MQTT-3.14.2-2]). */
  connectSessionExpiry = 0;
  /** MQTT 5 enhanced authentication in progress or done: its method and step count. */
  auth: { method: string; step: number; reauthenticating: boolean } | undefined;
  /** Where the next enhanced-authentication step's result goes while an exchange is open. */
  onAuthResult: ((result: EnhancedAuthResult) => void) | undefined;
  /** What the client may do (Hooks.permissions); undefined: anything. */
  permissions: ClientPermissions | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Why the connection ended, for the disconnected event: a close code, DISCONNECT, or (unset) the network. */
  private closeReason = 'CONNECTION_LOST';
  /** maxPublishRate: tokens of a one-second bucket, refilled as time passes; negative is debt. */
  private publishTokens: number;
  private publishRefilled = 0;
  private throttleTimer: NodeJS.Timeout | undefined;
  private readonly decoder;
  private lastActivity = Date.now();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  /** Congested longer than its hold timeout: no longer holds other publishers back. */
  private stalled = false;
  /** The running hold timer is the short one (fanoutHoldTimeout). */
  private holdIsFanout = false;
  /** Links whose congestion keeps this connection from being read (created when first needed). */
  private blockers: Set<Connection> | undefined;
  /** Connections not being read until this link drains (created when first needed). */
  private waiters: Set<Connection> | undefined;
  private logger: Logger | undefined;
  /** Reasons the processing loop must not run: authentication pending, blockers. */
  private holds = 0;
  private processing = false;
  /** The link is paused by `hold` and not yet resumed by `process`. */
  private readingPaused = false;

  constructor(broker: BrokerCore, link: Link, maxPacketSize: number) {
    this.broker = broker;
    this.link = link;
    this.decoder = new Decoder({ maxPacketSize });
    this.maxIncomingPacket = maxPacketSize;
    this.inflightLimit = broker.config.maxInflight;
    this.publishTokens = broker.config.maxPublishRate;
    this.connectTimer = setTimeout(() => {
      this.fail('not connected within connectTimeout', 'CONNECT_TIMEOUT');
    }, broker.config.connectTimeout);
    this.connectTimer.unref();
    link.attach(this);
  }

  /**
   * This connection's logger, naming the peer in every line. Made on first use: most connections
   * never log, and an idle connection's memory is a benchmark target.
   */
  get log(): Logger {
    this.logger ??= this.broker.log.child({
      remote: `${this.link.info.remoteAddress}:${this.link.info.remotePort}`,
    });
    return this.logger;
  }

  /** A debug line, without making the logger when debug is off (it is, on a busy broker). */
  debug(fields: object, message: string): void {
    if (this.broker.log.isLevelEnabled('debug')) this.log.debug(fields, message);
  }

  // ---- input ----

  onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastActivity = Date.now();
    this.broker.stats.bytesReceived += chunk.length;
    this.decoder.push(chunk);
    this.process();
  }

  private process(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.holds === 0 && this.state !== 'closed') {
        let packet: Packet | null;
        try {
          packet = this.decoder.next();
        } catch (error) {
          this.onDecodeError(error);
          return;
        }
        if (packet === null) {
          // Everything buffered is handled: only now read more from the peer, so a held-back
          // publisher's backlog is worked off before its socket is read again.
          if (this.readingPaused) {
            this.readingPaused = false;
            this.link.resume();
          }
          return;
        }
        try {
          dispatch(this, packet);
        } catch (error) {
          // A bug in a handler must cost this one connection, never the broker.
          this.log.error({ err: error, packet: packet.type }, 'internal error while handling a packet');
          this.fail('internal error', 'INTERNAL_ERROR');
          return;
        }
      }
    } finally {
      this.processing = false;
    }
  }

  private onDecodeError(error: unknown): void {
    if (!(error instanceof CodecError)) throw error;
    if (this.state === 'new' && error.code === 'UNSUPPORTED_PROTOCOL_VERSION') {
      // [MQTT-3.1.2-2] CONNACK 0x01 (unacceptable protocol version), then close.
      this.link.write(Buffer.from([0x20, 0x02, 0x00, 0x01]));
      this.fail(error.message, error.code);
      return;
    }
    // A CONNECT naming an unknown version after the connection is established is a second CONNECT.
    const unsupported =
      error.code === 'UNSUPPORTED_PROTOCOL_VERSION' || error.code === 'UNSUPPORTED_PROTOCOL_NAME';
    if (unsupported && this.state !== 'new') this.fail(`second CONNECT: ${error.message}`, 'PROTOCOL_ERROR');
    else this.fail(error.message, error.code, error.reasonCode);
  }

  /** Stops running handlers (the decoder keeps what arrives) until `release`. */
  hold(): void {
    if (this.holds++ === 0 && !this.readingPaused) {
      this.readingPaused = true;
      this.link.pause();
    }
  }

  /** Handling resumes; reading resumes once the decoder's backlog is handled (see process). */
  release(): void {
    if (--this.holds === 0 && this.state !== 'closed') {
      this.lastActivity = Date.now();
      setImmediate(() => this.process());
    }
  }

  /**
   * maxPublishRate, for one PUBLISH: false when it is to be refused (`refusable`: an MQTT 5 QoS 1/2
   * PUBLISH, answered 0x97 Quota exceeded) because the client is over its rate. Every other PUBLISH
   * goes through, and a client in debt is not read until it has paid the debt back: throttled,
   * nothing lost.
   */
  meterPublish(refusable: boolean): boolean {
    const rate = this.broker.config.maxPublishRate;
    const now = Date.now();
    // The bucket starts full at the first PUBLISH (publishRefilled 0).
    const elapsed = this.publishRefilled === 0 ? 1000 : now - this.publishRefilled;
    this.publishTokens = Math.min(rate, this.publishTokens + (elapsed * rate) / 1000);
    this.publishRefilled = now;
    if (refusable && this.publishTokens < 1) {
      this.broker.stats.publishRateRefused++;
      return false;
    }
    this.publishTokens--;
    if (this.publishTokens < 0 && this.throttleTimer === undefined) {
      this.broker.stats.publishRateThrottled++;
      this.hold();
      this.throttleTimer = setTimeout(
        () => {
          this.throttleTimer = undefined;
          if (this.state !== 'closed') this.release();
        },
        Math.ceil((-this.publishTokens * 1000) / rate),
      );
      this.throttleTimer.unref();
    }
    return true;
  }

  /**
   * The credentials the client authenticated with stop being valid at `at` (ms since the epoch; a
   * JWT's exp): the connection is closed then, unless a re-authentication sets a new time first.
   */
  credentialsExpire(at: number | undefined): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (at === undefined || this.state === 'closed') return;
    // setTimeout holds at most 2^31 - 1 ms (24.8 days): longer waits re-arm.
    const wait = Math.min(Math.max(at - Date.now(), 0), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      if (Date.now() < at) this.credentialsExpire(at);
      else this.fail('the credentials expired', 'CREDENTIALS_EXPIRED');
    }, wait);
    this.expiryTimer.unref();
  }

  // ---- lifecycle ----

  /** CONNECT accepted: keep alive starts, the session is attached. */
  established(session: Session, keepAlive: number): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.state = 'connected';
    this.session = session;
    this.keepAlive = keepAlive;
    if (keepAlive > 0) this.armKeepAlive(keepAlive * 1500);
  }

  private armKeepAlive(ms: number): void {
    this.keepAliveTimer = setTimeout(() => {
      if (this.state === 'closed') return;
      const limit = this.keepAlive * 1500;
      const idle = Date.now() - this.lastActivity;
      // A connection held back by flow control is not idle by its own doing.
      if (this.holds > 0 || idle < limit) {
        this.armKeepAlive(this.holds > 0 ? limit : limit - idle);
        return;
      }
      // [MQTT-3.1.2-24] no packet within 1.5 × keep alive: disconnect as for a network failure.
      this.fail(`keep alive timeout (${this.keepAlive} s)`, 'KEEP_ALIVE_TIMEOUT');
    }, ms);
    this.keepAliveTimer.unref();
  }

  /**
   * Closes this connection for a reason other than a clean DISCONNECT: one log line, an MQTT 5
   * client is told why (DISCONNECT with the reason code, [MQTT-4.13.2-1]), the will is published
   * (it was not discarded by DISCONNECT), and the link is flushed and closed.
   */
  fail(reason: string, code: CloseCode, reasonCode: number = CLOSE_REASONS[code].reasonCode): void {
    if (this.state === 'closed') return;
    this.closeReason = code;
    this.broker.stats.countClose(code);
    this.log.info({ clientId: this.clientId || undefined, code }, `closing connection: ${reason}`);
    this.close(true, reasonCode);
  }

  /** A DISCONNECT from the client: the will is discarded [MQTT-3.1.2-10], unless it asked for it (0x04). */
  disconnected(keepWill: boolean): void {
    this.closeReason = 'DISCONNECT';
    if (!keepWill) this.will = undefined;
    this.close(true, undefined);
  }

  /** Another connection took this client id over [MQTT-3.1.4-2]. */
  takenOver(): void {
    this.fail('client id taken over by a new connection', 'SESSION_TAKEN_OVER');
  }

  /** Broker shutdown: close without publishing the will. */
  shutdown(): void {
    this.will = undefined;
    this.close(false, CLOSE_REASONS.SERVER_SHUTTING_DOWN.reasonCode);
  }

  private close(publishWill: boolean, reasonCode: number | undefined): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (reasonCode !== undefined && wasConnected && this.version === 5) {
      // Only codes a DISCONNECT may carry (MQTT 5.0 §3.14.2.1); anything else says "unspecified".
      const code = DISCONNECT_CODES[reasonCode] === 1 ? reasonCode : ReasonCode.UnspecifiedError;
      this.link.write(encode({ type: 'disconnect', reasonCode: code }, 5));
    }
    this.link.end(reasonCode ?? 0);
    this.cleanup(publishWill && wasConnected ? this.will : undefined);
  }

  onClose(): void {
    if (this.state !== 'closed') {
      const wasConnected = this.state === 'connected';
      this.state = 'closed';
      this.debug({ clientId: this.clientId || undefined }, 'connection lost');
      this.cleanup(wasConnected ? this.will : undefined);
    }
    this.broker.connectionClosed(this);
  }

  private cleanup(will: Will | undefined): void {
    this.will = undefined;
    clearTimeout(this.connectTimer);
    clearTimeout(this.keepAliveTimer);
    clearTimeout(this.drainTimer);
    clearTimeout(this.holdTimer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.throttleTimer);
    this.releaseWaiters(false);
    if (this.blockers !== undefined) {
      for (const blocker of this.blockers) blocker.waiters?.delete(this);
      this.blockers.clear();
    }
    const session = this.session;
    this.session = null;
    if (session !== null && session.output === this) {
      this.broker.clientEvent('disconnected', this, this.closeReason, will);
      this.broker.connectionEnded(session, will);
    } else if (will !== undefined) this.broker.publishWill(will, this.clientId);
  }

  // ---- output ----

  send(packet: Packet): void {
    this.write(encode(packet, this.version));
  }

  /**
   * Sends an acknowledgement that promises the message is the broker's: at once, or — with a store in
   * `sync` mode — once the changes it caused are committed. If that commit fails the connection is
   * closed unacknowledged, so the client resends on reconnect.
   */
  acknowledge(packet: Packet): void {
    const journal = this.broker.journal;
    if (journal === undefined) {
      this.send(packet);
      return;
    }
    journal.whenDurable(
      () => this.send(packet),
      () => this.fail('the store could not record a message', 'STORE_FAILURE'),
    );
  }

  /** Writes one packet (in one or two parts), counting its bytes and watching for congestion. */
  write(packet: Buffer, rest?: Buffer): void {
    this.broker.stats.bytesSent += packet.length + (rest === undefined ? 0 : rest.length);
    this.link.write(packet, rest);
    if (this.link.congested) this.congested();
  }

  sendPingresp(): void {
    this.write(PINGRESP);
  }

  acceptsQos0(): boolean {
    return this.link.bufferedBytes <= this.broker.config.maxQueuedBytes;
  }

  sendPublish(delivery: Delivery, packetId: number, dup: boolean): boolean {
    const message = delivery.message;
    const stats = this.broker.stats;
    const v5 = this.version === 5;
    if (
      delivery.qos === 0 &&
      !delivery.retain &&
      (!v5 ||
        (message.expiresAt === undefined &&
          delivery.subscriptionIds === undefined &&
          this.aliasesOut === undefined))
    ) {
      // Encode once, write many: the same bytes for every subscriber of this protocol family.
      const frame = qos0Frame(message, v5);
      if (frame.length > this.maxOutgoingPacket) return this.tooLarge();
      stats.messagesSent++;
      this.write(frame);
      return true;
    }
    const head = publishHead(this, delivery, packetId, dup);
    if (head === undefined) return this.tooLarge();
    stats.messagesSent++;
    this.write(head, message.payload);
    return true;
  }

  /** [MQTT-3.1.2-25] a PUBLISH larger than the client's maximum is discarded as if it were sent. */
  private tooLarge(): false {
    this.broker.stats.messagesDropped++;
    return false;
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 'pubrel', packetId });
  }

  // ---- flow control ----

  /**
   * This link is over its high-water mark: hold back whoever is feeding it, until it drains — but not
   * for long. A publisher whose message goes to this client only is held at most publisherHoldTimeout
   * (backpressure: a flood waits instead of being read only to be dropped); one whose message also goes
   * to other subscribers at most fanoutHoldTimeout, since they wait too. After that this client counts
   * as stalled: it holds nobody back, and its messages are queued or dropped by its own limits, so one
   * stalled subscriber cannot stall the rest.
   */
  private congested(): void {
    const broker = this.broker;
    const source = broker.routingFrom ?? this;
    this.waiters ??= new Set();
    const waiters = this.waiters;
    if (source.state !== 'closed' && !waiters.has(source) && (source === this || !this.stalled)) {
      waiters.add(source);
      source.blockers ??= new Set();
      const blockers = source.blockers;
      blockers.add(this);
      if (blockers.size === 1) source.hold();
    }
    const config = broker.config;
    if (!this.stalled) {
      const fanout = source !== this && broker.routeTargets > 1;
      // A fan-out hold shortens a hold already running for a single-target publisher.
      if (this.holdTimer === undefined || (fanout && !this.holdIsFanout)) {
        clearTimeout(this.holdTimer);
        this.holdIsFanout = fanout;
        this.holdTimer = setTimeout(
          () => {
            this.holdTimer = undefined;
            if (!this.link.congested) return;
            this.stalled = true;
            this.releaseWaiters(true);
          },
          fanout
            ? Math.min(config.fanoutHoldTimeout, config.publisherHoldTimeout)
            : config.publisherHoldTimeout,
        );
        this.holdTimer.unref();
      }
    }
    if (this.drainTimer === undefined) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = undefined;
        if (this.link.congested) this.fail('client not reading (drainTimeout)', 'SLOW_CONSUMER');
      }, config.drainTimeout);
      this.drainTimer.unref();
    }
  }

  onDrain(): void {
    clearTimeout(this.drainTimer);
    clearTimeout(this.holdTimer);
    this.drainTimer = undefined;
    this.holdTimer = undefined;
    this.stalled = false;
    this.releaseWaiters(false);
  }

  /** Lets the held-back connections read again (all of them, or all but this one itself). */
  private releaseWaiters(othersOnly: boolean): void {
    const waiters = this.waiters;
    if (waiters === undefined) return;
    for (const waiter of waiters) {
      if (othersOnly && waiter === this) continue;
      waiters.delete(waiter);
      const blockers = waiter.blockers!;
      blockers.delete(this);
      if (blockers.size === 0) waiter.release();
    }
  }
}
