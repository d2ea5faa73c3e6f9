/**
 * Who may open a connection, decided before a byte of MQTT is read: the connections in total and per
 * address, the rate of new connections per address, and addresses blocked after repeated failed logins.
 * A flood from one address then costs the broker an accept and a close per socket, and cannot push out
 * the clients of other addresses.
 *
 * Memory is bounded: an address is tracked while it has connections, a rate bucket that is not full,
 * or recent login failures; idle entries go in a sweep, and if more than MAX_TRACKED addresses are
 * tracked at once (a spoofing-free flood is one address per source, so this takes a large botnet)
 * the oldest idle entries are dropped first — the worst case is forgetting a failure count, never
 * refusing a client wrongly.
 */

export type AdmissionRefusal = 'max connections' | 'per address' | 'connect rate';

export interface AdmissionLimits {
  /** Open connections in total; 0 = unlimited. */
  maxConnections: number;
  /** Open connections from one address; 0 = unlimited. */
  maxConnectionsPerAddress: number;
  /** New connections one address may open per second (also the burst); 0 = unlimited. */
  maxConnectRatePerAddress: number;
  /** Failed logins from one address within authFailureWindow before it is blocked; 0 = never blocked. */
  maxAuthFailures: number;
  /** Milliseconds over which failed logins are counted, and for which an address stays blocked. */
  authFailureWindow: number;
}

interface AddressState {
  connections: number;
  /** Connect-rate tokens, refilled at maxConnectRatePerAddress per second up to that many. */
  tokens: number;
  refilledAt: number;
  failures: number;
  /** Start of the failure window; the block lasts until failuresSince + authFailureWindow. */
  failuresSince: number;
}

const MAX_TRACKED = 100_000;

export class AdmissionControl {
  private readonly addresses = new Map<string, AddressState>();
  private total = 0;
  /** Refusals by reason, and blocked logins, since start (for $SYS). */
  readonly refused: Record<AdmissionRefusal | 'auth blocked', number> = {
    'max connections': 0,
    'per address': 0,
    'connect rate': 0,
    'auth blocked': 0,
  };
  authFailures = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly limits: AdmissionLimits) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), 10_000);
    this.sweeper.unref();
  }

  get connections(): number {
    return this.total;
  }

  /** A new connection from `address`: undefined admits it (and counts it), otherwise why not. */
  admit(address: string, now = Date.now()): AdmissionRefusal | undefined {
    const limits = this.limits;
    if (limits.maxConnections > 0 && this.total >= limits.maxConnections) {
      this.refused['max connections']++;
      return 'max connections';
    }
    const state = this.state(address, now);
    if (limits.maxConnectionsPerAddress > 0 && state.connections >= limits.maxConnectionsPerAddress) {
      this.refused['per address']++;
      return 'per address';
    }
    const rate = limits.maxConnectRatePerAddress;
    if (rate > 0) {
      state.tokens = Math.min(rate, state.tokens + ((now - state.refilledAt) * rate) / 1000);
      state.refilledAt = now;
      if (state.tokens < 1) {
        this.refused['connect rate']++;
        return 'connect rate';
      }
      state.tokens--;
    }
    state.connections++;
    this.total++;
    return undefined;
  }

  /** An admitted connection closed. */
  release(address: string): void {
    const state = this.addresses.get(address);
    if (state !== undefined && state.connections > 0) state.connections--;
    if (this.total > 0) this.total--;
  }

  /** Whether logins from `address` are refused for now (too many failures); counts the refusal. */
  blocked(address: string, now = Date.now()): boolean {
    const limit = this.limits.maxAuthFailures;
    if (limit === 0) return false;
    const state = this.addresses.get(address);
    if (state === undefined || state.failures < limit) return false;
    if (now - state.failuresSince >= this.limits.authFailureWindow) {
      state.failures = 0;
      return false;
    }
    this.refused['auth blocked']++;
    return true;
  }

  /** A login from `address` failed; true when this failure blocks the address. */
  authFailed(address: string, now = Date.now()): boolean {
    this.authFailures++;
    const limit = this.limits.maxAuthFailures;
    if (limit === 0) return false;
    const state = this.state(address, now);
    if (state.failures === 0 || now - state.failuresSince >= this.limits.authFailureWindow) {
      state.failures = 0;
      state.failuresSince = now;
    }
    return ++state.failures === limit;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private state(address: string, now: number): AddressState {
    let state = this.addresses.get(address);
    if (state === undefined) {
      if (this.addresses.size >= MAX_TRACKED) this.sweep(now, true);
      state = {
        connections: 0,
        tokens: this.limits.maxConnectRatePerAddress,
        refilledAt: now,
        failures: 0,
        failuresSince: now,
      };
      this.addresses.set(address, state);
    }
    return state;
  }

  /** Forgets addresses with nothing to remember; `force` also drops failure counts, oldest first. */
  private sweep(now: number, force = false): void {
    const { authFailureWindow, maxConnectRatePerAddress: rate } = this.limits;
    for (const [address, state] of this.addresses) {
      if (state.connections > 0) continue;
      const refilled = rate === 0 || state.tokens + ((now - state.refilledAt) * rate) / 1000 >= rate;
      const failing = state.failures > 0 && now - state.failuresSince < authFailureWindow;
      if (refilled && (!failing || force)) this.addresses.delete(address);
      if (force && this.addresses.size < MAX_TRACKED / 2) return;
    }
  }
}
