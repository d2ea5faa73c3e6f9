/**
 * The live topic tree: every topic seen on the dashboard's `#` subscription, with message counts and
 * rates (per topic and per subtree), its retained value, its last messages and, for numeric payloads,
 * a short series for a sparkline. Memory is bounded: at most MAX_TOPICS topics, HISTORY_PER_TOPIC
 * messages per topic and MAX_STORED_BYTES of payload in all (oldest messages go first).
 */
import type { Message } from './message';
import { Observable } from './observable';
import { asNumber } from './payload';

export const MAX_TOPICS = 5000;
export const HISTORY_PER_TOPIC = 20;
export const MAX_STORED_BYTES = 16 * 1024 * 1024;
const NUMBERS_PER_TOPIC = 60;
/** Rates are exponentially weighted averages with this time constant (seconds). */
const RATE_TAU = 10;
/** Retained messages arriving this soon after the SUBACK are the snapshot, not traffic: not counted in rates. */
const SNAPSHOT_MS = 2000;

export interface TopicNode {
  /** This level's name ('' for an empty level). */
  name: string;
  /** The full topic of this level. */
  topic: string;
  depth: number;
  parent: TopicNode | null;
  children: Map<string, TopicNode>;
  /** A message arrived on exactly this topic. */
  isTopic: boolean;
  /** Messages on this topic / on it and every topic below it. */
  count: number;
  subtreeCount: number;
  /** Topics at or below this level. */
  topics: number;
  /** Messages per second (averaged), on this topic / in the subtree. */
  rate: number;
  subtreeRate: number;
  last: Message | null;
  /** The retained message (null: none, or it was cleared). */
  retained: Message | null;
  /** Oldest first. */
  history: Message[];
  /** Recent numeric payloads, oldest first ([time s, value]). */
  numbers: { t: number[]; v: number[] } | null;
  /** For rates: the counts at the previous tick. */
  rateBase: number;
  subtreeRateBase: number;
  /** Rate ticks since the node appeared: the first ones average evenly (no slow warm-up). */
  ticks: number;
}

interface Stored {
  node: TopicNode;
  message: Message;
  gone: boolean;
}

function newNode(name: string, topic: string, parent: TopicNode | null): TopicNode {
  return {
    name,
    topic,
    depth: parent === null ? -1 : parent.depth + 1,
    parent,
    children: new Map(),
    isTopic: false,
    count: 0,
    subtreeCount: 0,
    topics: 0,
    rate: 0,
    subtreeRate: 0,
    last: null,
    retained: null,
    history: [],
    numbers: null,
    rateBase: 0,
    subtreeRateBase: 0,
    ticks: 0,
  };
}

export class TopicStore extends Observable {
  readonly root: TopicNode = newNode('', '', null);
  readonly byTopic = new Map<string, TopicNode>();
  /** Every node (levels and topics), for the rate tick. */
  private nodes: TopicNode[] = [];
  /** Messages on topics not tracked because MAX_TOPICS was reached. */
  untracked = 0;
  totalMessages = 0;
  storedBytes = 0;
  private fifo: Stored[] = [];
  private fifoHead = 0;
  private readonly storedOf = new WeakMap<Message, Stored>();
  private subackAt = 0;
  private lastTick = Date.now();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor() {
    super();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  get topicCount(): number {
    return this.byTopic.size;
  }

  /** The `#` subscription was (re)granted now: retained messages that follow are the snapshot. */
  subscribed(): void {
    this.subackAt = Date.now();
  }

  clear(): void {
    this.root.children.clear();
    this.root.topics = 0;
    this.root.count = this.root.subtreeCount = 0;
    this.root.rate = this.root.subtreeRate = 0;
    this.root.rateBase = this.root.subtreeRateBase = 0;
    this.root.ticks = 0;
    this.byTopic.clear();
    this.nodes = [];
    this.fifo = [];
    this.fifoHead = 0;
    this.storedBytes = 0;
    this.untracked = 0;
    this.totalMessages = 0;
    this.changed();
  }

  receive(message: Message): void {
    this.totalMessages++;
    let node = this.byTopic.get(message.topic);
    if (node === undefined) {
      if (this.byTopic.size >= MAX_TOPICS) {
        this.untracked++;
        this.changed();
        return;
      }
      node = this.create(message.topic);
    }
    const snapshot = message.retain && message.at - this.subackAt < SNAPSHOT_MS;
    // Counts: the snapshot is shown but is not traffic.
    if (!snapshot) {
      node.count++;
      for (let n: TopicNode | null = node; n !== null; n = n.parent) n.subtreeCount++;
    } else {
      // Keep the rate base in step so the snapshot does not show as a burst.
      node.count++;
      node.rateBase++;
      for (let n: TopicNode | null = node; n !== null; n = n.parent) {
        n.subtreeCount++;
        n.subtreeRateBase++;
      }
    }
    node.last = message;
    if (message.retain) node.retained = message.size === 0 ? null : message;

    const value = asNumber(message.payload);
    if (value !== null) {
      node.numbers ??= { t: [], v: [] };
      node.numbers.t.push(message.at / 1000);
      node.numbers.v.push(value);
      if (node.numbers.v.length > NUMBERS_PER_TOPIC) {
        node.numbers.t.shift();
        node.numbers.v.shift();
      }
    }
    this.store(node, message);
    this.changed();
  }

  /** Matching topics (case-insensitive substring, or MQTT filter when it has + or #), at most `limit`. */
  search(query: string, limit = 200): TopicNode[] {
    const q = query.trim();
    if (q === '') return [];
    const out: TopicNode[] = [];
    const matches = /[+#]/.test(q)
      ? filterMatcher(q)
      : (t: string) => t.toLowerCase().includes(q.toLowerCase());
    for (const [topic, node] of this.byTopic) {
      if (matches(topic)) {
        out.push(node);
        if (out.length >= limit) break;
      }
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  private create(topic: string): TopicNode {
    const levels = topic.split('/');
    let parent = this.root;
    for (let i = 0; i < levels.length; i++) {
      const name = levels[i] ?? '';
      let child = parent.children.get(name);
      if (child === undefined) {
        child = newNode(name, levels.slice(0, i + 1).join('/'), parent);
        parent.children.set(name, child);
        this.nodes.push(child);
      }
      parent = child;
    }
    parent.isTopic = true;
    for (let n: TopicNode | null = parent; n !== null; n = n.parent) n.topics++;
    this.byTopic.set(topic, parent);
    return parent;
  }

  private store(node: TopicNode, message: Message): void {
    const entry: Stored = { node, message, gone: false };
    this.storedOf.set(message, entry);
    node.history.push(message);
    this.fifo.push(entry);
    this.storedBytes += message.payload.length;
    if (node.history.length > HISTORY_PER_TOPIC) {
      const old = node.history.shift();
      if (old !== undefined) this.forget(old);
    }
    while (this.storedBytes > MAX_STORED_BYTES && this.fifoHead < this.fifo.length) {
      const oldest = this.fifo[this.fifoHead++];
      if (oldest === undefined || oldest.gone) continue;
      // The globally oldest stored message is also the oldest of its topic.
      const first = oldest.node.history[0];
      if (first === oldest.message) oldest.node.history.shift();
      else oldest.node.history = oldest.node.history.filter((m) => m !== oldest.message);
      this.forget(oldest.message);
    }
    if (this.fifoHead > 4096 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead).filter((e) => !e.gone);
      this.fifoHead = 0;
    }
  }

  private forget(message: Message): void {
    const entry = this.storedOf.get(message);
    if (entry === undefined || entry.gone) return;
    entry.gone = true;
    this.storedBytes -= message.payload.length;
    // The retained and last messages stay referenced by the node; their bytes are small compared
    // to the history (one each per topic) and are what the tree shows.
  }

  private tick(): void {
    const now = Date.now();
    const dt = (now - this.lastTick) / 1000;
    this.lastTick = now;
    if (dt <= 0) return;
    const alpha = 1 - Math.exp(-dt / RATE_TAU);
    let moving = false;
    for (const n of [this.root, ...this.nodes]) {
      const r = (n.count - n.rateBase) / dt;
      const sr = (n.subtreeCount - n.subtreeRateBase) / dt;
      n.rateBase = n.count;
      n.subtreeRateBase = n.subtreeCount;
      n.ticks++;
      const a = Math.max(alpha, 1 / n.ticks);
      n.rate += a * (r - n.rate);
      n.subtreeRate += a * (sr - n.subtreeRate);
      if (n.rate < 0.001) n.rate = 0;
      if (n.subtreeRate < 0.001) n.subtreeRate = 0;
      if (n.subtreeRate > 0) moving = true;
    }
    if (moving) this.changed();
  }
}

/** Does `topic` match the MQTT filter `filter` ($-topics are never in a wildcard's reach at the root). */
export function filterMatcher(filter: string): (topic: string) => boolean {
  const f = filter.split('/');
  return (topic: string) => {
    const t = topic.split('/');
    for (let i = 0; i < f.length; i++) {
      const level = f[i];
      if (level === '#') return true;
      if (i >= t.length) return false;
      if (level === '+') continue;
      if (level !== t[i]) return false;
    }
    return f.length === t.length;
  };
}
