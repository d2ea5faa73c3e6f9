/**
 * Connection fuzzer: one BrokerCore, one to three clients on in-memory links (test/helpers/memory-link.ts),
 * each playing a random session. Mostly valid MQTT 3.1 / 3.1.1 / 5.0 — CONNECT with random flags,
 * properties and wills, SUBSCRIBE / UNSUBSCRIBE / PUBLISH over a small topic alphabet (so filters and
 * topics meet: `+`, `#`, `$share/...`, `$`-topics), acknowledgements echoing the broker's packet ids or
 * not, PINGREQ, AUTH, DISCONNECT with reason codes and session expiry, second CONNECTs, take-overs,
 * reconnects, clients that vanish or stop reading — plus byte mutations of those packets, raw garbage
 * and random splits of the byte stream.
 *
 * Checked after every step:
 * - nothing is thrown out of the core, and nothing is logged at error level (a handler that throws is
 *   logged as 'internal error while handling a packet');
 * - every Link.write is one whole packet (WebSocket framing relies on it), what the broker writes
 *   decodes at the client's level, and it keeps the rules a client can see: CONNACK
 *   (or AUTH) first, nothing after a refusing CONNACK or a DISCONNECT, DISCONNECT only to MQTT 5, no
 *   CONNACK session present after clean start, one SUBACK / UNSUBACK code per filter and no grant above
 *   the request, acknowledgements only for what the client sent, outgoing packet ids not reused while
 *   in flight and no more in flight than the client's window, topic aliases within the client's maximum
 *   and defined before use, no PUBLISH above the client's Maximum Packet Size (these protocol checks
 *   are skipped on a link once its client sent mutated bytes);
 * - the core is coherent: no connection whose link is closed, a connected connection owns its session
 *   and the session points back, a detached session either never expires or has an expiry timer,
 *   shared groups and session subscriptions agree, queues stay in their limits, and what waits in a
 *   link's write buffer stays bounded.
 * At the end of each case a fresh well-behaved pair of clients must still be served (CONNECT, SUBSCRIBE,
 * PUBLISH QoS 1 → PUBACK and delivery), `core.close()` must settle, and every link must be closed.
 *
 * Every case is derived from (seed, index) alone; a failure replays with CONN_FUZZ_SEED and
 * CONN_FUZZ_CASE and is shrunk to the fewest steps that still fail the same way. Real timers run
 * (connect timeout, keep alive, drain and hold timeouts): cases are kept short, so timing rarely changes
 * what happens, but a case that waits on a timer may replay slightly differently.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AckPacket,
  type AuthPacket,
  CodecError,
  type ConnectPacket,
  type DisconnectPacket,
  encode,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type SubscribePacket,
  type UnsubscribePacket,
} from '../src/codec/index.js';
import type { ConfigInput } from '../src/config/schema.js';
import type { Connection } from '../src/core/connection.js';
import type { EnhancedAuthResult, Hooks } from '../src/core/hooks.js';
import { NEVER_EXPIRES } from '../src/core/session.js';
import { type MemoryBroker, type MemoryLink, memoryBroker } from '../test/helpers/memory-link.js';
import { mutate } from './mutate.js';
import { Gen, rng } from './random.js';

export interface ConnFuzzOptions {
  seed: number;
  /** Stop after this long, in milliseconds... */
  timeMs: number;
  /** ...or after this many cases, whichever comes first... */
  maxCases: number;
  /** ...but not before this many (default 0): on a loaded machine the run takes longer instead. */
  minCases?: number;
  /** Run this one case only (replay). */
  onlyCase?: number;
  /** Time allowed to shrink a failing case (default 15 s; 0: report it unshrunk). */
  shrinkMs?: number;
}

export interface ConnFuzzReport {
  cases: number;
  steps: number;
  /** Packets the broker wrote, by type: a fuzzer that never sees a PUBLISH is not exploring. */
  received: Record<string, number>;
  /** MQTT 5 DISCONNECT reason codes the broker sent (hex). */
  disconnects: Record<string, number>;
  /** CONNACKs that accepted, and those that refused. */
  accepted: number;
  refused: number;
  /** The core's own counters over the fuzz clients (before the probe): messages in, out, dropped. */
  messagesReceived: number;
  messagesSent: number;
  messagesDropped: number;
}

export class ConnFuzzFailure extends Error {
  override readonly name = 'ConnFuzzFailure';
}

/** A failure inside one run: `kind` is stable across runs (the shrinker compares it), `detail` is not. */
class CaseFailure extends Error {
  /** What happened up to the failure: steps, bytes sent, packets received. */
  trace: string[] = [];
  constructor(
    readonly kind: string,
    readonly detail: string,
  ) {
    super(`${kind}: ${detail}`);
  }
}

// ---- the alphabet ----

const CLIENT_IDS = ['a', 'b', 'c', 'a', 'b', 'c', '', 'a-client-id-longer-than-23-bytes'];
const TOPICS = ['a', 'a/b', 'a/b/c', 'b', 'b/c', '$SYS/x', '$x/a', 'a//b', '/a', 'é/ü'];
const BAD_TOPICS = ['', 'a/+', '#', 'a/#', 'a\u0000b'];
const FILTERS = [
  'a',
  'a/b',
  'a/+',
  '+/b',
  '+',
  '+/+',
  '#',
  'a/#',
  '$SYS/#',
  '$x/#',
  '/+',
  '$share/g/a/#',
  '$share/g/#',
  '$share/h/+/b',
  '$share/g/$x/a',
];
const BAD_FILTERS = ['a/#/b', 'a+', '$share/g', '$share//a', '$share/g+/a', '', 'a/b#'];
/** User names steer the authenticate hook (see HOOKS). */
const USERNAMES = ['u', 'u', 'u', 'u', 'u', 'deny', 'async', 'slow', 'code4', 'reason'];
const AUTH_METHOD = 'FUZZ';

/**
 * Hooks that answer by their input, so a case replays: the user name picks the authenticate result
 * (sync, async, after a timer, refusals); the first byte of the authentication data picks the
 * enhanced-authentication step result. None throws: a failing hook is logged at error level by design.
 */
const HOOKS: Hooks = {
  authenticate(request) {
    switch (request.username) {
      case 'deny':
        return false;
      case 'async':
        return Promise.resolve(true);
      case 'slow':
        return sleep(3).then(() => true);
      case 'code4':
        return { returnCode: 4 };
      case 'reason':
        return { reasonCode: 0x9f };
      default:
        return true;
    }
  },
  enhancedAuthentication: {
    methods: [AUTH_METHOD],
    step(request): EnhancedAuthResult | Promise<EnhancedAuthResult> {
      const byte = request.data?.[0] ?? 0;
      switch (byte % 6) {
        case 0:
          return { status: 'success', data: Buffer.from('ok') };
        case 1:
          return { status: 'continue', data: Buffer.from([request.step]) };
        case 2:
          return { status: 'failure' };
        case 3:
          return Promise.resolve({ status: 'success' });
        case 4:
          return Promise.resolve({ status: 'continue', data: Buffer.from([request.step]) });
        default:
          return { status: 'failure', reasonCode: 0x8c };
      }
    },
  },
};

// ---- cases ----

/** A packet to send; `echo` takes the packet id (and the right type) from what the client owes. */
interface Spec {
  packet: Packet;
  echo?: { index: number; rightType: boolean };
}

type Step =
  | { kind: 'open'; actor: number; highWater: number; certificateUsername: string | undefined }
  | {
      kind: 'send';
      actor: number;
      specs: Spec[];
      mutate?: number;
      split?: number;
      /** When the broker has closed the actor's link: reconnect first (else talk into the closed link). */
      revive: boolean;
    }
  | { kind: 'raw'; actor: number; bytes: Buffer }
  | { kind: 'stall' | 'drain' | 'vanish'; actor: number }
  | { kind: 'wait'; ms: number };

export interface Case {
  seed: number;
  index: number;
  config: ConfigInput;
  /** The listener's maxPacketSize, given to accept(). */
  maxPacketSize: number;
  /** Seeds Math.random while the case runs (the 'random' shared-subscription strategy uses it). */
  randomSeed: number;
  probeVersion: ProtocolVersion;
  /** Per actor, the CONNECTs it comes back with when the broker closed its link (taken in turn). */
  reconnects: ConnectPacket[][];
  steps: Step[];
}

function makeConfig(g: Gen): { config: ConfigInput; maxPacketSize: number } {
  const maxPacketSize = g.pick([128, 1024, 65536]);
  const config: ConfigInput = {
    logLevel: 'silent',
    maxPacketSize,
    connectTimeout: g.pick([100, 1000]),
    maxInflight: g.pick([1, 2, 16]),
    maxQueuedMessages: g.pick([0, 2, 100]),
    maxQueuedBytes: g.pick([0, 100, 65536]),
    queueQos0: g.chance(0.3),
    drainTimeout: g.pick([100, 1000]),
    publisherHoldTimeout: g.pick([0, 20, 1000]),
    receiveMaximum: g.pick([1, 2, 65535, 65535]),
    topicAliasMaximum: g.pick([0, 2, 10, 10]),
    maxSessionExpiryInterval: g.pick([0, 10, 0xffffffff]),
    maxKeepAlive: g.pick([10, 65535]),
    // Tight limits now and then: most cases should get far enough to route messages.
    maxSubscriptionsPerClient: g.pick([1, 3, 10_000, 10_000]),
    maxClientIdLength: g.chance(0.3) ? 23 : 256,
    maxTopicLevels: g.chance(0.15) ? 2 : 128,
    maxTopicLength: g.chance(0.15) ? 4 : 65535,
    sharedSubscriptions: g.chance(0.8),
    sharedSubscriptionStrategy: g.pick(['round-robin', 'random', 'sticky'] as const),
    // 60 s: the retained $SYS topics are published once, at start; the interval never fires in a case.
    sysInterval: g.pick([0, 0, 0, 60]),
    shutdownTimeout: g.pick([0, 100]),
    // Every link comes from one address: per-address limits would refuse the probe at the end.
    maxConnectRatePerAddress: 0,
    maxAuthFailures: 0,
  };
  return { config, maxPacketSize };
}

function payload(g: Gen): Buffer {
  switch (g.int(10)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
    case 2:
      return Buffer.from('hello');
    case 3:
      return Buffer.from([0xc3, 0x28]); // not UTF-8
    case 4:
      return Buffer.alloc(g.pick([100, 200, 2000]), 0x61);
    default:
      return g.bytes(g.int(24));
  }
}

function userProperties(g: Gen): Properties['userProperties'] {
  return g.chance(0.5)
    ? [
        ['k', 'v'],
        ['k', 'w'],
      ]
    : [['é', '']];
}

function connectPacket(g: Gen, version: ProtocolVersion): ConnectPacket {
  const v5 = version === 5;
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: g.chance(0.5),
    keepAlive: g.pick([0, 0, 1, 60, 65535]),
    clientId: g.pick(CLIENT_IDS),
  };
  if (g.chance(0.3)) {
    packet.will = {
      topic: g.chance(0.9) ? g.pick(TOPICS) : g.pick(BAD_TOPICS),
      payload: payload(g),
      qos: g.qos(),
      retain: g.chance(0.3),
    };
    if (v5 && g.chance(0.6)) {
      const p: Properties = {};
      if (g.chance(0.5)) p.willDelayInterval = g.pick([0, 1, 60]);
      if (g.chance(0.3)) p.messageExpiryInterval = g.pick([0, 60]);
      if (g.chance(0.3)) p.payloadFormatIndicator = g.pick([0, 1]);
      if (g.chance(0.2)) p.contentType = 'text/plain';
      if (g.chance(0.2)) p.responseTopic = g.pick(TOPICS);
      if (g.chance(0.2)) p.correlationData = Buffer.from([1, 2]);
      if (g.chance(0.2)) p.userProperties = userProperties(g);
      packet.will.properties = p;
    }
  }
  if (g.chance(0.3)) packet.username = g.pick(USERNAMES);
  if ((packet.username !== undefined || v5) && g.chance(0.3)) packet.password = Buffer.from('pw');
  if (v5 && g.chance(0.8)) {
    const p: Properties = {};
    if (g.chance(0.6)) p.sessionExpiryInterval = g.pick([0, 1, 60, 0xffffffff]);
    if (g.chance(0.4)) p.receiveMaximum = g.pick([1, 2, 100]);
    if (g.chance(0.3)) p.maximumPacketSize = g.pick([20, 64, 200, 100_000]);
    if (g.chance(0.5)) p.topicAliasMaximum = g.pick([0, 1, 3, 20]);
    if (g.chance(0.2)) p.requestResponseInformation = g.pick([0, 1]);
    if (g.chance(0.2)) p.requestProblemInformation = g.pick([0, 1]);
    if (g.chance(0.2)) p.userProperties = userProperties(g);
    if (g.chance(0.2)) {
      p.authenticationMethod = g.chance(0.8) ? AUTH_METHOD : 'NOPE';
      if (g.chance(0.8)) p.authenticationData = Buffer.from([g.int(6)]);
    }
    packet.properties = p;
  }
  return packet;
}

function publishPacket(g: Gen, version: ProtocolVersion): PublishPacket {
  const qos = g.qos();
  const packet: PublishPacket = {
    type: 'publish',
    topic: g.chance(0.97) ? g.pick(TOPICS) : g.pick(BAD_TOPICS),
    payload: payload(g),
    qos,
    retain: g.chance(0.25),
    dup: g.chance(0.1),
  };
  if (qos > 0) packet.packetId = g.chance(0.6) ? 1 + g.int(4) : 1 + g.int(65535);
  if (version === 5 && g.chance(0.6)) {
    const p: Properties = {};
    if (g.chance(0.35)) {
      p.topicAlias = g.pick([1, 1, 2, 2, 3, 11, 300]);
      if (g.chance(0.5)) packet.topic = '';
    }
    if (g.chance(0.3)) p.messageExpiryInterval = g.pick([0, 60, 0xffffffff]);
    if (g.chance(0.3)) p.payloadFormatIndicator = g.pick([0, 1]);
    if (g.chance(0.2)) p.contentType = 'text/plain';
    if (g.chance(0.2)) p.responseTopic = g.pick(TOPICS);
    if (g.chance(0.2)) p.correlationData = Buffer.from([1, 2, 3]);
    if (g.chance(0.2)) p.userProperties = userProperties(g);
    // A client may not send these (MQTT 5.0 §3.3.4): the codec or the core must cope.
    if (g.chance(0.03)) p.subscriptionIdentifiers = [g.pick([1, 5])];
    packet.properties = p;
  }
  return packet;
}

function subscribePacket(g: Gen, version: ProtocolVersion): SubscribePacket {
  const count = 1 + g.int(3);
  const packet: SubscribePacket = {
    type: 'subscribe',
    packetId: g.chance(0.7) ? 1 + g.int(4) : 1 + g.int(65535),
    subscriptions: Array.from({ length: count }, () => {
      const topic = g.chance(0.9) ? g.pick(FILTERS) : g.pick(BAD_FILTERS);
      if (version !== 5) return { topic, qos: g.qos() };
      return {
        topic,
        qos: g.qos(),
        noLocal: g.chance(0.2),
        retainAsPublished: g.chance(0.4),
        retainHandling: g.int(3) as 0 | 1 | 2,
      };
    }),
  };
  if (version === 5 && g.chance(0.5)) {
    const p: Properties = {};
    if (g.chance(0.7)) p.subscriptionIdentifiers = [g.pick([1, 2, 268_435_455])];
    if (g.chance(0.3)) p.userProperties = userProperties(g);
    packet.properties = p;
  }
  return packet;
}

function unsubscribePacket(g: Gen, version: ProtocolVersion): UnsubscribePacket {
  const packet: UnsubscribePacket = {
    type: 'unsubscribe',
    packetId: 1 + g.int(g.chance(0.7) ? 4 : 65535),
    topics: Array.from({ length: 1 + g.int(2) }, () =>
      g.chance(0.9) ? g.pick(FILTERS) : g.pick(BAD_FILTERS),
    ),
  };
  if (version === 5 && g.chance(0.2)) packet.properties = { userProperties: userProperties(g) };
  return packet;
}

/** Reason codes the fuzzer's clients put on acknowledgements (all valid for their type). */
const ACK_CODES = {
  puback: [0, 0x10, 0x80, 0x87, 0x97],
  pubrec: [0, 0x10, 0x80, 0x87, 0x97],
  pubrel: [0, 0x92],
  pubcomp: [0, 0x92],
} as const;

function ackSpec(g: Gen, version: ProtocolVersion): Spec {
  const type = g.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const);
  const packet: AckPacket<typeof type> = { type, packetId: g.chance(0.6) ? 1 + g.int(4) : 1 + g.int(65535) };
  if (version === 5 && g.chance(0.4)) {
    packet.reasonCode = g.pick(ACK_CODES[type]);
    if (g.chance(0.3)) packet.properties = { reasonString: 'why' };
  }
  return g.chance(0.75) ? { packet, echo: { index: g.int(1000), rightType: g.chance(0.9) } } : { packet };
}

function authPacket(g: Gen): AuthPacket {
  const packet: AuthPacket = { type: 'auth', reasonCode: g.pick([0x18, 0x18, 0x19, 0x00]) };
  const method = g.pick([AUTH_METHOD, AUTH_METHOD, 'NOPE', undefined]);
  if (method !== undefined) {
    packet.properties = { authenticationMethod: method };
    if (g.chance(0.8)) packet.properties.authenticationData = Buffer.from([g.int(6)]);
  }
  return packet;
}

function disconnectPacket(g: Gen, version: ProtocolVersion): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' };
  if (version === 5) {
    if (g.chance(0.6)) packet.reasonCode = g.pick([0, 0, 0x04, 0x80, 0x83, 0x8e]);
    if (g.chance(0.4)) {
      packet.properties = { sessionExpiryInterval: g.pick([0, 60, 0xffffffff]) };
      if (g.chance(0.3)) packet.properties.reasonString = 'bye';
    }
  }
  return packet;
}

/** What the generator believes of an actor (the broker may think otherwise: that is the point). */
interface GenActor {
  open: boolean;
  connected: boolean;
  subscribed: boolean;
  version: ProtocolVersion;
}

function nextPacket(g: Gen, a: GenActor): Spec {
  const v = a.version;
  // Subscribe early, so that most publishes find someone.
  const kind =
    !a.subscribed && g.chance(0.5)
      ? 'subscribe'
      : g.weighted({
          publish: 30,
          subscribe: 12,
          unsubscribe: 4,
          ack: 16,
          ping: 3,
          auth: v === 5 ? 2 : 0,
          connect: 1,
        });
  switch (kind) {
    case 'publish':
      return { packet: publishPacket(g, v) };
    case 'subscribe':
      a.subscribed = true;
      return { packet: subscribePacket(g, v) };
    case 'unsubscribe':
      return { packet: unsubscribePacket(g, v) };
    case 'ack':
      return ackSpec(g, v);
    case 'ping':
      return { packet: { type: 'pingreq' } };
    case 'auth':
      return { packet: authPacket(g) };
    default:
      return { packet: connectPacket(g, g.pick([3, 4, 5] as const)) };
  }
}

export function makeCase(seed: number, index: number): Case {
  const g = new Gen(Math.imul(seed ^ 0x3c6ef372, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  const { config, maxPacketSize } = makeConfig(g);
  const actors: GenActor[] = Array.from({ length: 1 + g.int(3) }, () => ({
    open: false,
    connected: false,
    subscribed: false,
    version: 4,
  }));
  const steps: Step[] = [];
  const count = 5 + g.int(46);
  const longWaits = g.chance(0.06);
  while (steps.length < count) {
    const actor = g.int(actors.length);
    const a = actors[actor]!;
    if (!a.open) {
      steps.push({
        kind: 'open',
        actor,
        highWater: g.pick([0, 64, 100_000]),
        // As a TLS listener with certificate user names would: it replaces the one in CONNECT.
        certificateUsername: g.chance(0.1) ? g.pick(USERNAMES) : undefined,
      });
      a.open = true;
      a.connected = false;
      continue;
    }
    if (!a.connected) {
      a.connected = true;
      a.subscribed = false;
      if (g.chance(0.04)) continue; // never sends CONNECT: the connect timeout must end it
      a.version = g.pick([3, 4, 4, 5, 5] as const);
      const connect: Spec = { packet: connectPacket(g, a.version) };
      steps.push(sendStep(g, actor, g.chance(0.15) ? [connect, nextPacket(g, a)] : [connect]));
      continue;
    }
    const kind = g.weighted({
      packet: 55,
      batch: 8,
      disconnect: 2,
      stall: 3,
      drain: 4,
      vanish: 1,
      reconnect: 2,
      wait: 3,
      raw: 1,
    });
    switch (kind) {
      case 'packet':
        steps.push(sendStep(g, actor, [nextPacket(g, a)]));
        break;
      case 'batch':
        steps.push(
          sendStep(
            g,
            actor,
            Array.from({ length: 2 + g.int(4) }, () => nextPacket(g, a)),
          ),
        );
        break;
      case 'disconnect':
        steps.push(sendStep(g, actor, [{ packet: disconnectPacket(g, a.version) }]));
        a.open = g.chance(0.2); // mostly the client goes; sometimes it goes on talking into a closed link
        break;
      case 'stall':
      case 'drain':
        steps.push({ kind, actor });
        break;
      case 'vanish':
        steps.push({ kind: 'vanish', actor });
        a.open = false;
        break;
      case 'reconnect':
        // A new link for this actor; the old one stays open and silent (a half-dead TCP connection).
        a.open = false;
        break;
      case 'wait':
        steps.push({ kind: 'wait', ms: longWaits && g.chance(0.3) ? 120 : g.pick([0, 1, 2]) });
        break;
      default:
        steps.push({ kind: 'raw', actor, bytes: g.bytes(1 + g.int(12)) });
    }
  }
  return {
    seed,
    index,
    config,
    maxPacketSize,
    randomSeed: g.int(2 ** 31),
    probeVersion: g.pick([3, 4, 5] as const),
    reconnects: actors.map(() =>
      Array.from({ length: 3 }, () => connectPacket(g, g.pick([3, 4, 5] as const))),
    ),
    steps,
  };
}

function sendStep(g: Gen, actor: number, specs: Spec[]): Step {
  const step: Step = { kind: 'send', actor, specs, revive: g.chance(0.9) };
  if (g.chance(0.06)) step.mutate = g.int(2 ** 31);
  if (g.chance(0.3)) step.split = g.int(2 ** 31);
  return step;
}

function splitPoints(length: number, seed: number): number[] {
  const g = new Gen(seed);
  const pieces = g.chance(0.2) ? length : 1 + g.int(4);
  const cuts = Array.from({ length: pieces }, () => g.int(length + 1));
  return [...new Set(cuts)].sort((a, b) => a - b);
}

// ---- running a case ----

/** What a client tracks of its own link, to check the broker's side of the conversation. */
interface LinkModel {
  link: MemoryLink;
  connection: Connection;
  name: string;
  /** False once the client sent mutated or raw bytes: the protocol checks stop for this link. */
  exact: boolean;
  connect: ConnectPacket | undefined;
  /** Packets received so far, and whether the broker has ended the conversation. */
  received: number;
  ended: string | undefined;
  connacked: boolean;
  /** Responses the client owes the broker: PUBACK / PUBREC for its PUBLISHes, PUBCOMP for its PUBRELs. */
  owed: { type: 'puback' | 'pubrec' | 'pubcomp'; id: number }[];
  /** Packet ids of QoS 1/2 PUBLISHes from the broker not yet completed by the client. */
  inflight: Set<number>;
  /** Ids the client acknowledged before it saw them (see Run.completes). */
  ackedAhead: Set<number>;
  aliases: Map<number, string>;
  /** What the client sent, for the broker's acknowledgements to match. */
  sentQos1: Set<number>;
  sentQos2: Set<number>;
  sentPubrel: Set<number>;
  /** Per packet id, the SUBSCRIBEs (their requested QoS) and UNSUBSCRIBEs (their filter count) unanswered. */
  subscribes: Map<number, number[][]>;
  unsubscribes: Map<number, number[]>;
  pings: number;
}

interface ActorState {
  model: LinkModel | undefined;
  version: ProtocolVersion;
  revivals: number;
}

const TURNS_PER_STEP = 3;
/** How long the end-of-case probe waits for each answer: generous, a loaded machine is not a hang. */
const PROBE_WAIT_MS = 5000;

/** Fails the case: `rule` is the broken rule (stable, for the shrinker), `detail` what was seen. */
type Bad = (rule: string, detail?: string) => never;

function queueFor<T>(map: Map<number, T[]>, id: number): T[] {
  let queue = map.get(id);
  if (queue === undefined) {
    queue = [];
    map.set(id, queue);
  }
  return queue;
}

/** True when `promise` settles within `ms`; the timer does not outlive it. */
async function settles(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function hex(bytes: Buffer): string {
  const s = bytes.toString('hex');
  return s.length > 400 ? `${s.slice(0, 400)}… (${bytes.length} bytes)` : s;
}

/** A short readable form of a packet for traces. */
export function summarize(packet: Packet): string {
  const text = JSON.stringify(packet, (key, value: unknown) => {
    if (key === 'type') return undefined;
    if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
      const data = (value as { data: number[] }).data;
      return data.length > 16 ? `<${data.length} bytes>` : `<${Buffer.from(data).toString('hex')}>`;
    }
    return value;
  });
  return `${packet.type.toUpperCase()} ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}

class Run {
  readonly broker: MemoryBroker;
  readonly actors: ActorState[] = [];
  readonly models: LinkModel[] = [];
  readonly trace: string[] = [];
  private readonly bufferBound: number;
  private linkCount = 0;

  constructor(
    readonly c: Case,
    readonly report: ConnFuzzReport | undefined,
  ) {
    this.broker = memoryBroker(c.config, HOOKS);
    this.broker.maxPacketSize = c.maxPacketSize;
    const config = this.broker.core.config;
    // Whatever waits for one client: QoS 0 up to maxQueuedBytes, QoS 1/2 up to the inflight window,
    // plus a few packets written before the connection holds itself back.
    this.bufferBound = config.maxQueuedBytes + (config.maxInflight + 16) * (c.maxPacketSize + 512) + 4096;
  }

  fail(kind: string, detail: string): never {
    throw new CaseFailure(kind, detail);
  }

  /** Calls into the core; anything thrown out of it is a failure. */
  guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof CaseFailure) throw err;
      this.fail(`${what} threw`, err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
  }

  actor(i: number): ActorState {
    this.actors[i] ??= { model: undefined, version: 4, revivals: 0 };
    return this.actors[i];
  }

  open(i: number, highWater: number, certificateUsername: string | undefined): void {
    const core = this.broker.core;
    const before = new Set(core.connections);
    let link: MemoryLink | undefined;
    this.guard('accept', () => {
      link = this.broker.connect({ highWater, certificateUsername });
    });
    const connection = [...core.connections].find((c) => !before.has(c) && c.link === link);
    if (link === undefined || connection === undefined) this.fail('accept', 'no connection for a new link');
    const name = `link${this.linkCount++}`;
    const model: LinkModel = {
      link,
      connection,
      name,
      exact: true,
      connect: undefined,
      received: 0,
      ended: undefined,
      connacked: false,
      owed: [],
      inflight: new Set(),
      ackedAhead: new Set(),
      aliases: new Map(),
      sentQos1: new Set(),
      sentQos2: new Set(),
      sentPubrel: new Set(),
      subscribes: new Map(),
      unsubscribes: new Map(),
      pings: 0,
    };
    this.models.push(model);
    const actor = this.actor(i);
    actor.model = model;
    const certificate = certificateUsername === undefined ? '' : `, certificate user ${certificateUsername}`;
    this.trace.push(`actor ${i} opens ${name} (highWater ${highWater}${certificate})`);
  }

  /** Resolves echoes against what the client owes, and updates the client's side of the model. */
  resolve(model: LinkModel, spec: Spec): Packet {
    let packet = spec.packet;
    if (spec.echo !== undefined && model.owed.length > 0 && 'packetId' in packet) {
      const k = spec.echo.index % model.owed.length;
      const owed = model.owed[k]!;
      model.owed.splice(k, 1);
      packet = { ...packet, packetId: owed.id } as Packet;
      if (spec.echo.rightType && packet.type !== owed.type) {
        const ack = { ...packet, type: owed.type } as AckPacket<typeof owed.type>;
        // Keep the reason code only where the new type allows it.
        if (
          ack.reasonCode !== undefined &&
          !(ACK_CODES[owed.type] as readonly number[]).includes(ack.reasonCode)
        )
          ack.reasonCode = 0;
        packet = ack;
      }
    }
    switch (packet.type) {
      case 'connect':
        // A later CONNECT on the link is a protocol error; the first one is what the broker answers.
        model.connect ??= packet;
        break;
      case 'publish':
        if (packet.qos === 1) model.sentQos1.add(packet.packetId!);
        if (packet.qos === 2) model.sentQos2.add(packet.packetId!);
        break;
      case 'pubrel':
        model.sentPubrel.add(packet.packetId);
        break;
      case 'puback':
      case 'pubcomp':
        // The broker completes whatever delivery has this id, whatever its QoS.
        this.completes(model, packet.packetId);
        break;
      case 'pubrec':
        if ((packet.reasonCode ?? 0) >= 0x80) this.completes(model, packet.packetId);
        break;
      case 'subscribe':
        queueFor(model.subscribes, packet.packetId).push(packet.subscriptions.map((s) => s.qos));
        break;
      case 'unsubscribe':
        queueFor(model.unsubscribes, packet.packetId).push(packet.topics.length);
        break;
      case 'pingreq':
        model.pings++;
        break;
    }
    return packet;
  }

  /**
   * The client's acknowledgement may complete `id` on the broker: the model forgets it. An id not
   * (yet) seen may belong to a PUBLISH the broker is writing right now, which the acknowledgement
   * then completes before the client sees it: that PUBLISH is not counted in flight either. (An
   * under-estimate of what is in flight can only make the checks weaker, never wrong.)
   */
  completes(model: LinkModel, id: number): void {
    if (!model.inflight.delete(id)) model.ackedAhead.add(id);
  }

  async send(i: number, step: Extract<Step, { kind: 'send' }>): Promise<void> {
    const actor = this.actor(i);
    if (actor.model === undefined) return;
    if (step.revive && actor.model.link.closing) {
      const connects = this.c.reconnects[i]!;
      const connect = connects[actor.revivals++ % connects.length]!;
      this.trace.push(`actor ${i} comes back (its link was closed)`);
      this.open(i, actor.model.link.highWater, actor.model.link.info.certificateUsername);
      await this.send(i, { kind: 'send', actor: i, specs: [{ packet: connect }], revive: false });
    }
    const model = actor.model;
    const parts: Buffer[] = [];
    const names: string[] = [];
    for (const spec of step.specs) {
      const packet = this.resolve(model, spec);
      if (packet.type === 'connect') actor.version = packet.protocolVersion;
      let bytes: Buffer;
      try {
        bytes =
          packet.type === 'auth' && actor.version !== 5
            ? Buffer.from([0xf0, 0x00])
            : encode(packet, packet.type === 'connect' ? packet.protocolVersion : actor.version);
      } catch (err) {
        this.fail('the fuzzer could not encode its packet', `${summarize(packet)}: ${String(err)}`);
      }
      parts.push(bytes);
      names.push(summarize(packet));
    }
    let bytes: Buffer = Buffer.concat(parts);
    if (step.mutate !== undefined) {
      bytes = mutate(bytes, step.mutate);
      model.exact = false;
    }
    const cuts = step.split === undefined ? [] : splitPoints(bytes.length, step.split);
    this.trace.push(
      `actor ${i} ${model.name} sends ${names.join(' + ')}${step.mutate !== undefined ? ' MUTATED' : ''}` +
        `\n      bytes ${hex(bytes)}${cuts.length > 0 ? `  split at ${cuts.join(',')}` : ''}`,
    );
    await this.deliver(model, bytes, cuts);
  }

  async deliver(model: LinkModel, bytes: Buffer, cuts: number[]): Promise<void> {
    let from = 0;
    for (const to of [...cuts, bytes.length]) {
      if (to <= from) continue;
      // A fresh buffer per piece: the core may keep views into it (zero-copy), as it does with socket reads.
      const piece = Buffer.from(bytes.subarray(from, to));
      from = to;
      this.guard('onData', () => model.link.deliver(piece));
      if (cuts.length > 0) await turns(1);
    }
  }

  async step(step: Step): Promise<void> {
    switch (step.kind) {
      case 'open':
        this.open(step.actor, step.highWater, step.certificateUsername);
        break;
      case 'send':
        await this.send(step.actor, step);
        break;
      case 'raw': {
        const model = this.actor(step.actor).model;
        if (model === undefined) break;
        model.exact = false;
        this.trace.push(`actor ${step.actor} ${model.name} sends raw ${hex(step.bytes)}`);
        await this.deliver(model, Buffer.from(step.bytes), []);
        break;
      }
      case 'stall':
      case 'drain':
      case 'vanish': {
        const model = this.actor(step.actor).model;
        if (model === undefined) break;
        this.trace.push(`actor ${step.actor} ${model.name} ${step.kind}s`);
        const link = model.link;
        this.guard(step.kind, () => {
          if (step.kind === 'stall') link.stall();
          else if (step.kind === 'drain') link.drain();
          else link.peerClose();
        });
        break;
      }
      case 'wait':
        this.trace.push(`wait ${step.ms} ms`);
        if (step.ms > 0) await sleep(step.ms);
        break;
    }
    await turns(TURNS_PER_STEP);
    this.check();
  }

  // ---- checks ----

  check(): void {
    const problems = this.broker.log.problems;
    if (problems.length > 0) {
      const record = problems[0]!;
      const err = record.err as { stack?: string; message?: string } | undefined;
      this.fail(`logged "${record.msg}"`, `${JSON.stringify(record)}\n${err?.stack ?? ''}`);
    }
    for (const model of this.models) this.readOutput(model);
    this.checkCore();
  }

  readOutput(model: LinkModel): void {
    const link = model.link;
    if (link.framingErrors.length > 0)
      this.fail(
        'Link.write given something other than one whole packet',
        `${model.name}: ${link.framingErrors[0]}`,
      );
    link.clientVersion = model.connection.version;
    let packets: Packet[];
    try {
      packets = link.read();
    } catch (err) {
      if (err instanceof CodecError) {
        this.fail(
          'the broker wrote bytes its own decoder refuses',
          `${model.name} (v${model.connection.version}): ${err.message}\n      output ${hex(link.written)}`,
        );
      }
      throw err;
    }
    for (const packet of packets) {
      if (this.report !== undefined) {
        this.report.received[packet.type] = (this.report.received[packet.type] ?? 0) + 1;
        if (packet.type === 'disconnect') {
          const code = `0x${(packet.reasonCode ?? 0).toString(16)}`;
          this.report.disconnects[code] = (this.report.disconnects[code] ?? 0) + 1;
        }
        if (packet.type === 'connack') {
          if (packet.reasonCode === 0) this.report.accepted++;
          else this.report.refused++;
        }
      }
      this.trace.push(`    ${model.name} ← ${summarize(packet)}`);
      this.checkPacket(model, packet);
    }
    if (link.closed && link.partialBytes > 0) {
      this.fail('the link closed in the middle of a packet', `${model.name}: ${link.partialBytes} bytes`);
    }
  }

  /** The rules of the conversation a client can check from its side. */
  checkPacket(m: LinkModel, packet: Packet): void {
    const bad: Bad = (rule, detail = '') =>
      this.fail(rule, `${m.name} got ${summarize(packet)}${detail ? `: ${detail}` : ''}`);
    const first = m.received++ === 0;
    if (m.ended !== undefined) bad('a packet after the broker ended the conversation', m.ended);
    const v5 = m.connection.version === 5;
    switch (packet.type) {
      case 'connack':
        if (m.connacked) bad('a second CONNACK');
        if (packet.reasonCode !== 0) m.ended = `refusing CONNACK ${packet.reasonCode}`;
        else m.connacked = true;
        if (m.exact && m.connect?.clean === true && packet.sessionPresent)
          bad('session present after clean start [MQTT-3.2.2-2]');
        return;
      case 'auth':
        if (!v5) bad('AUTH to a client below MQTT 5');
        return;
      case 'disconnect':
        if (!v5) bad('DISCONNECT to a client below MQTT 5');
        m.ended = `DISCONNECT ${packet.reasonCode ?? 0}`;
        return;
      case 'connect':
      case 'subscribe':
      case 'unsubscribe':
      case 'pingreq':
        bad('a packet only a client sends');
    }
    if (first) bad('the first packet is not CONNACK [MQTT-3.2.0-1]');
    if (!m.connacked) bad('a packet before the CONNACK that accepted');
    if (!m.exact) {
      this.note(m, packet);
      return;
    }
    switch (packet.type) {
      case 'publish': {
        this.checkPublish(m, packet, bad);
        break;
      }
      case 'puback':
        if (!m.sentQos1.has(packet.packetId)) bad('PUBACK for no QoS 1 PUBLISH of the client');
        break;
      case 'pubrec':
        if (!m.sentQos2.has(packet.packetId)) bad('PUBREC for no QoS 2 PUBLISH of the client');
        break;
      case 'pubcomp':
        if (!m.sentPubrel.has(packet.packetId)) bad('PUBCOMP for no PUBREL of the client');
        break;
      case 'suback': {
        const requested = m.subscribes.get(packet.packetId)?.shift();
        if (requested === undefined) bad('SUBACK for no SUBSCRIBE');
        if (packet.reasonCodes.length !== requested.length) bad('SUBACK codes ≠ filters [MQTT-3.9.3-1]');
        packet.reasonCodes.forEach((code, k) => {
          if (code < 0x80 && code > requested[k]!) bad('granted QoS above the request [MQTT-3.8.4-6]');
        });
        break;
      }
      case 'unsuback': {
        const count = m.unsubscribes.get(packet.packetId)?.shift();
        if (count === undefined) bad('UNSUBACK for no UNSUBSCRIBE');
        if (v5 && packet.reasonCodes?.length !== count) bad('UNSUBACK codes ≠ filters [MQTT-3.11.3-1]');
        break;
      }
      case 'pingresp':
        if (m.pings-- <= 0) bad('PINGRESP without PINGREQ');
        break;
    }
    this.note(m, packet);
  }

  checkPublish(m: LinkModel, packet: PublishPacket, bad: Bad): void {
    const connection = m.connection;
    const size = encode(packet, connection.version).length;
    if (size > connection.maxOutgoingPacket)
      bad('PUBLISH above the client Maximum Packet Size [MQTT-3.1.2-25]', `${size} bytes`);
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      const max = Math.min(
        m.connect?.properties?.topicAliasMaximum ?? 0,
        this.broker.core.config.topicAliasMaximum,
      );
      if (alias > max) bad('topic alias above the client Topic Alias Maximum [MQTT-3.3.2-10]', `max ${max}`);
      if (packet.topic === '') {
        if (!m.aliases.has(alias)) bad('topic alias used before it was defined');
      } else {
        m.aliases.set(alias, packet.topic);
      }
    }
    if (packet.qos === 0) return;
    const id = packet.packetId!;
    if (m.ackedAhead.delete(id)) return;
    if (!packet.dup) {
      if (m.inflight.has(id)) bad('a packet id reused while in flight [MQTT-2.3.1-2]');
      const limit = Math.min(
        this.broker.core.config.maxInflight,
        connection.version === 5 ? (m.connect?.properties?.receiveMaximum ?? 65535) : 65535,
      );
      if (m.inflight.size >= limit)
        bad('more QoS 1/2 PUBLISHes in flight than the window [MQTT-3.3.4-9]', `limit ${limit}`);
    }
    m.inflight.add(id);
  }

  /** Bookkeeping for packets that need an answer from the client. */
  note(m: LinkModel, packet: Packet): void {
    if (packet.type === 'publish' && packet.qos > 0) {
      m.owed.push({ type: packet.qos === 1 ? 'puback' : 'pubrec', id: packet.packetId! });
    } else if (packet.type === 'pubrel') {
      if (packet.reasonCode === undefined || packet.reasonCode < 0x80)
        m.owed.push({ type: 'pubcomp', id: packet.packetId });
    }
  }

  /** The core's own bookkeeping agrees with itself. */
  checkCore(): void {
    const core = this.broker.core;
    const config = core.config;
    for (const connection of core.connections) {
      if (connection.link.closed)
        this.fail('a connection whose link closed is still counted', connection.clientId);
      if (connection.state === 'connected') {
        const session = connection.session;
        if (session === null) this.fail('a connected connection without a session', connection.clientId);
        if (core.sessions.get(connection.clientId) !== session)
          this.fail(
            'a connected connection whose session is not the one of its client id',
            connection.clientId,
          );
        if (session.output !== connection)
          this.fail('a connected connection whose session writes elsewhere', connection.clientId);
      }
      if (connection.link.bufferedBytes > this.bufferBound) {
        this.fail(
          'a link write buffer grows without bound',
          `${connection.clientId}: ${connection.link.bufferedBytes} bytes > ${this.bufferBound}`,
        );
      }
    }
    for (const [clientId, session] of core.sessions) {
      if (session.clientId !== clientId) this.fail('a session filed under another client id', clientId);
      const output = session.output as Connection | null;
      if (output !== null && (!core.connections.has(output) || output.state !== 'connected'))
        this.fail('a session attached to a connection that is gone', `${clientId} (${output.state})`);
      if (output === null && session.expiryInterval !== NEVER_EXPIRES && session.expiryTimer === undefined)
        this.fail('a detached session that never ends', `${clientId}: expiry ${session.expiryInterval}`);
      if (session.queue.length > config.maxQueuedMessages || session.queue.bytes > config.maxQueuedBytes)
        this.fail(
          'a session queue over its limits',
          `${clientId}: ${session.queue.length} / ${session.queue.bytes} B`,
        );
      for (const [filter, entry] of session.subscriptions) {
        if (entry.shared !== undefined && core.sharedGroups.get(filter) !== entry.shared)
          this.fail('a shared subscription whose group is not registered', `${clientId} ${filter}`);
      }
    }
    for (const [key, group] of core.sharedGroups) {
      if (group.members.length === 0) this.fail('an empty shared group is kept', key);
      for (const member of group.members) {
        if (core.sessions.get(member.clientId) !== member)
          this.fail('a shared group member whose session has ended', `${key} ${member.clientId}`);
        if (member.subscriptions.get(key)?.shared !== group)
          this.fail('a shared group member without the subscription', `${key} ${member.clientId}`);
      }
    }
  }

  // ---- the end of a case ----

  /** A fresh well-behaved client pair must still be served. */
  async probe(): Promise<void> {
    const v = this.c.probeVersion;
    // One short level: valid under every generated topic limit, and outside the fuzz alphabet.
    const topic = 'pr';
    const body = Buffer.from(`probe ${this.c.seed}/${this.c.index}`);
    const connect = (clientId: string): ConnectPacket => ({
      type: 'connect',
      protocolName: v === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: v,
      clean: true,
      keepAlive: 0,
      clientId,
    });
    const sub = this.probeLink('probe-sub', v);
    this.guard('probe onData', () => sub.deliver(encode(connect('probe-sub'), v)));
    await this.expect(sub, 'CONNACK to a fresh client', (p) => p.type === 'connack' && p.reasonCode === 0);
    const subscribe: SubscribePacket = { type: 'subscribe', packetId: 1, subscriptions: [{ topic, qos: 1 }] };
    this.guard('probe onData', () => sub.deliver(encode(subscribe, v)));
    await this.expect(sub, 'SUBACK granting QoS 1', (p) => p.type === 'suback' && p.reasonCodes[0] === 1);
    const pub = this.probeLink('probe-pub', v);
    this.guard('probe onData', () => pub.deliver(encode(connect('probe-pub'), v)));
    await this.expect(pub, 'CONNACK to a fresh client', (p) => p.type === 'connack' && p.reasonCode === 0);
    const publish: PublishPacket = {
      type: 'publish',
      topic,
      payload: body,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 7,
    };
    this.guard('probe onData', () => pub.deliver(encode(publish, v)));
    await this.expect(pub, 'PUBACK for a QoS 1 PUBLISH', (p) => p.type === 'puback' && p.packetId === 7);
    const delivered = await this.expect(
      sub,
      'the PUBLISH delivered to its subscriber',
      (p) => p.type === 'publish' && p.topic === topic && p.payload.equals(body),
    );
    if (delivered.type === 'publish' && delivered.qos !== 1)
      this.fail('probe', `delivered at QoS ${delivered.qos}`);
    this.guard('probe onData', () => {
      sub.deliver(encode({ type: 'puback', packetId: (delivered as PublishPacket).packetId! }, v));
      sub.deliver(encode({ type: 'disconnect' }, v));
      pub.deliver(encode({ type: 'disconnect' }, v));
    });
    await turns(TURNS_PER_STEP);
  }

  probeLink(name: string, v: ProtocolVersion): MemoryLink {
    let link: MemoryLink | undefined;
    this.guard('accept', () => {
      link = this.broker.connect({ highWater: 100_000, clientVersion: v });
    });
    this.trace.push(`probe ${name} (v${v}) connects`);
    return link!;
  }

  /** Waits (bounded) until `link` receives a packet `match` accepts; other packets are skipped. */
  async expect(link: MemoryLink, what: string, match: (p: Packet) => boolean): Promise<Packet> {
    const seen: string[] = [];
    const deadline = Date.now() + PROBE_WAIT_MS;
    for (let round = 0; ; round++) {
      this.check();
      let packets: Packet[];
      try {
        packets = link.read();
      } catch (err) {
        this.fail('the broker wrote bytes its own decoder refuses', `probe: ${String(err)}`);
      }
      for (const p of packets) {
        if (match(p)) return p;
        seen.push(summarize(p));
      }
      if (link.closed) this.fail(`probe: no ${what}`, `the link closed; got ${seen.join(', ') || 'nothing'}`);
      if (Date.now() > deadline)
        this.fail(`probe: no ${what}`, `after ${PROBE_WAIT_MS} ms; got ${seen.join(', ') || 'nothing'}`);
      if (round < 20) await turns(1);
      else await sleep(5);
    }
  }

  /** Everything drained, the probe served, then close() settles and leaves nothing open. */
  async finish(): Promise<void> {
    this.trace.push('end of case: every client drains');
    for (const m of this.models) this.guard('drain', () => m.link.drain());
    await turns(TURNS_PER_STEP);
    this.check();
    const report = this.report;
    if (report !== undefined) {
      const stats = this.broker.core.stats;
      report.messagesReceived += stats.messagesReceived;
      report.messagesSent += stats.messagesSent;
      report.messagesDropped += stats.messagesDropped;
    }
    await this.probe();
    this.trace.push('core.close()');
    if (!(await settles(this.broker.core.close(), 3000)))
      this.fail('core.close() did not settle', `${this.broker.core.connections.size} connections left`);
    await turns(TURNS_PER_STEP);
    this.check();
    if (this.broker.core.connections.size > 0)
      this.fail('connections left after close()', String(this.broker.core.connections.size));
    for (const m of this.models) if (!m.link.closed) this.fail('a link left open after close()', m.name);
  }
}

/** Runs `steps` (default: all of the case's); returns the trace, or throws CaseFailure. */
async function execute(c: Case, steps: readonly Step[], report?: ConnFuzzReport): Promise<string[]> {
  const random = Math.random;
  Math.random = rng(c.randomSeed);
  const run = new Run(c, report);
  try {
    run.trace.push(`config ${JSON.stringify(c.config)} listener maxPacketSize ${c.maxPacketSize}`);
    for (const step of steps) await run.step(step);
    await run.finish();
    return run.trace;
  } catch (err) {
    if (err instanceof CaseFailure) err.trace = run.trace;
    throw err;
  } finally {
    Math.random = random;
    // Whatever happened, leave nothing running (close() is bounded: a hang was reported above).
    for (const m of run.models) m.link.destroy();
    await settles(run.broker.core.close(), 3000);
  }
}

/** Removes steps while the case still fails the same way, for at most `ms`. */
async function shrink(c: Case, kind: string, ms: number): Promise<{ steps: Step[]; failure: CaseFailure }> {
  const deadline = Date.now() + ms;
  let steps = [...c.steps];
  let failure: CaseFailure | undefined;
  const stillFails = async (candidate: Step[]): Promise<CaseFailure | undefined> => {
    try {
      await execute(c, candidate);
    } catch (err) {
      if (err instanceof CaseFailure && err.kind === kind) return err;
    }
    return undefined;
  };
  for (let size = Math.max(1, steps.length >> 1); size >= 1 && Date.now() < deadline; size >>= 1) {
    for (let at = 0; at < steps.length && Date.now() < deadline; ) {
      const candidate = [...steps.slice(0, at), ...steps.slice(at + size)];
      const f = await stillFails(candidate);
      if (f !== undefined) {
        steps = candidate;
        failure = f;
      } else {
        at += size;
      }
    }
  }
  failure ??= await stillFails(steps);
  return { steps, failure: failure ?? new CaseFailure(kind, '(did not fail again while shrinking)') };
}

export async function runCase(seed: number, index: number, report?: ConnFuzzReport, shrinkMs = 15_000) {
  const c = makeCase(seed, index);
  try {
    await execute(c, c.steps, report);
  } catch (err) {
    if (!(err instanceof CaseFailure)) throw err;
    let failure = err;
    let note = `${c.steps.length} steps`;
    if (shrinkMs > 0) {
      const shrunk = await shrink(c, err.kind, shrinkMs);
      failure = shrunk.failure;
      note = `${c.steps.length} steps, shrunk to ${shrunk.steps.length}`;
    }
    throw new ConnFuzzFailure(
      `${failure.kind}\n  replay: CONN_FUZZ_SEED=${seed} CONN_FUZZ_CASE=${index} (${note})\n  ${failure.detail}` +
        `\n  trace:\n    ${failure.trace.join('\n    ')}`,
    );
  }
  return c.steps.length;
}

export async function fuzzConnections(options: ConnFuzzOptions): Promise<ConnFuzzReport> {
  const report: ConnFuzzReport = {
    cases: 0,
    steps: 0,
    received: {},
    disconnects: {},
    accepted: 0,
    refused: 0,
    messagesReceived: 0,
    messagesSent: 0,
    messagesDropped: 0,
  };
  const first = options.onlyCase ?? 0;
  const last = options.onlyCase ?? options.maxCases - 1;
  const deadline = Date.now() + options.timeMs;
  for (let i = first; i <= last; i++) {
    if (options.onlyCase === undefined && Date.now() > deadline && report.cases >= (options.minCases ?? 0))
      break;
    report.steps += await runCase(options.seed, i, report, options.shrinkMs);
    report.cases++;
  }
  return report;
}
