/**
 * The subscription index: topic filters → (key → value), matched against topic names.
 *
 * A note on matching. A filter is a path of levels from the root: a literal level is a child in the
 * node's `children` map, `+` is the node's `plus` child and `#` its `hash` child, so a topic level is
 * looked up once per node and the wildcards cost a field read, not a map lookup. `match` walks the trie
 * with an explicit stack of (node, offset of the next topic level) pairs, kept on the instance, and
 * slices a level out of the topic only where a literal child is looked up: nothing is allocated per
 * visited node and no topic depth can overflow the call stack. From a node that has consumed i of the
 * topic's n levels:
 *   - its `hash` child matches (the rest may be zero levels: `sport/#` matches `sport` [MQTT-4.7.1-2]);
 *   - if i = n, the node's own entries match;
 *   - otherwise its `plus` child (any level, even an empty one) and the literal child named level i
 *     continue with i + 1.
 * Entries are visited from per-node arrays rebuilt after a change, so iterating allocates nothing.
 * At the root, `plus` and `hash` are skipped for a topic that starts with `$` [MQTT-4.7.2-1].
 *
 * Invariants:
 *   - A node is reachable by exactly one filter, so the string given to `add` is stored on the node
 *     (split and joined on `/`, a filter and its path are the same thing) and each (filter, key) entry
 *     lives in one node: `match` visits it at most once per topic.
 *   - Every node but the root holds an entry or has a child; `remove` prunes upward until that holds,
 *     so memory follows the live subscriptions.
 *   - `size` is the number of (filter, key) entries.
 *
 * Filters are taken as given: validate them first (validate.ts). `$share/…` is not special here.
 * `visit` should not change the trie; if it does, entries added or removed during a match may or may
 * not be visited, but the walk stays safe.
 */

class TrieNode<K, V> {
  children: Map<string, TrieNode<K, V>> | undefined = undefined;
  plus: TrieNode<K, V> | undefined = undefined;
  hash: TrieNode<K, V> | undefined = undefined;
  /** Entries whose filter ends at this node; undefined when there are none. */
  entries: Map<K, V> | undefined = undefined;
  /** The filter this node stands for; set when the first entry is added. */
  filter = '';
  /** `entries` as parallel arrays for the match loop; rebuilt lazily after a change. */
  keys: K[] | undefined = undefined;
  values: V[] | undefined = undefined;

  constructor(
    readonly parent: TrieNode<K, V> | undefined,
    readonly level: string,
  ) {}

  isEmpty(): boolean {
    return (
      this.entries === undefined &&
      this.children === undefined &&
      this.plus === undefined &&
      this.hash === undefined
    );
  }
}

export class SubscriptionTrie<K, V> {
  readonly #root = new TrieNode<K, V>(undefined, '');
  #size = 0;
  #nodeCount = 0;
  // The match stack, reused across calls; a match started from inside a `visit` gets its own.
  #nodes: (TrieNode<K, V> | undefined)[] = [];
  #starts: number[] = [];
  #matching = false;

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.#size;
  }

  /** Number of trie nodes besides the root: for metrics, and to show that `remove` gives memory back. */
  get nodeCount(): number {
    return this.#nodeCount;
  }

  /** Stores `value` for `key` under `filter`. True if the entry is new, false if it replaced one. */
  add(filter: string, key: K, value: V): boolean {
    let node = this.#root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = childOf(node, level) ?? this.#addChild(node, level);
      if (end === -1) break;
      start = end + 1;
    }
    if (node.entries === undefined) {
      node.entries = new Map();
      node.filter = filter;
    }
    const isNew = !node.entries.has(key);
    node.entries.set(key, value);
    node.keys = undefined;
    node.values = undefined;
    if (isNew) this.#size++;
    return isNew;
  }

  /** Removes `key`'s entry under `filter`. False if there was none. */
  remove(filter: string, key: K): boolean {
    const node = this.#find(filter);
    if (node?.entries === undefined || !node.entries.delete(key)) return false;
    node.keys = undefined;
    node.values = undefined;
    this.#size--;
    if (node.entries.size === 0) {
      node.entries = undefined;
      this.#nodeCount -= prune(node);
    }
    return true;
  }

  get(filter: string, key: K): V | undefined {
    return this.#find(filter)?.entries?.get(key);
  }

  /**
   * Calls `visit` once for every (filter, key) entry whose filter matches `topic`. A key subscribed
   * through several matching filters is visited once per filter: deduplicating is the caller's choice.
   */
  match(topic: string, visit: (key: K, value: V, filter: string) => void): void {
    const reentered = this.#matching;
    const nodes: (TrieNode<K, V> | undefined)[] = reentered ? [] : this.#nodes;
    const starts: number[] = reentered ? [] : this.#starts;
    this.#matching = true;
    try {
      // Stack entries are (node, start): `start` is where the node's next topic level begins; past the
      // end of the topic means every level is consumed. Levels are sliced only where a literal child
      // is looked up, so wildcard-only paths allocate nothing.
      const length = topic.length;
      const root = this.#root;
      let top = 0;
      // [MQTT-4.7.2-1] The Server MUST NOT match Topic Filters starting with a wildcard character (# or
      // +) with Topic Names beginning with a $ character.
      const dollar = topic.charCodeAt(0) === 0x24;
      let node: TrieNode<K, V> = root;
      let start = 0;
      for (;;) {
        // [MQTT-4.7.1-2] `#` matches the parent level and any number of child levels.
        const hash = node.hash;
        if (hash !== undefined && hash.entries !== undefined && !(dollar && node === root)) emit(hash, visit);
        if (start > length) {
          if (node.entries !== undefined) emit(node, visit);
        } else {
          let end = topic.indexOf('/', start);
          if (end === -1) end = length;
          const plus = node.plus;
          if (plus !== undefined && !(dollar && node === root)) {
            nodes[top] = plus;
            starts[top++] = end + 1;
          }
          const children = node.children;
          if (children !== undefined) {
            const child = children.get(start === 0 && end === length ? topic : topic.slice(start, end));
            if (child !== undefined) {
              nodes[top] = child;
              starts[top++] = end + 1;
            }
          }
        }
        if (top === 0) break;
        node = nodes[--top]!;
        nodes[top] = undefined; // the reused stack must not keep pruned nodes alive
        start = starts[top]!;
      }
    } finally {
      if (!reentered) this.#matching = false;
    }
  }

  #addChild(node: TrieNode<K, V>, level: string): TrieNode<K, V> {
    const child = new TrieNode<K, V>(node, level);
    if (level === '+') node.plus = child;
    else if (level === '#') node.hash = child;
    else {
      node.children ??= new Map();
      node.children.set(level, child);
    }
    this.#nodeCount++;
    return child;
  }

  #find(filter: string): TrieNode<K, V> | undefined {
    let node: TrieNode<K, V> | undefined = this.#root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = childOf(node, level);
      if (node === undefined || end === -1) return node;
      start = end + 1;
    }
  }
}

function emit<K, V>(node: TrieNode<K, V>, visit: (key: K, value: V, filter: string) => void): void {
  let keys = node.keys;
  let values = node.values;
  if (keys === undefined || values === undefined) {
    keys = [...node.entries!.keys()];
    values = [...node.entries!.values()];
    node.keys = keys;
    node.values = values;
  }
  const filter = node.filter;
  for (let i = 0; i < keys.length; i++) visit(keys[i]!, values[i]!, filter);
}

function childOf<K, V>(node: TrieNode<K, V>, level: string): TrieNode<K, V> | undefined {
  if (level === '+') return node.plus;
  if (level === '#') return node.hash;
  return node.children?.get(level);
}

/** Detaches `node` and its ancestors for as long as they hold nothing; returns how many it detached. */
function prune<K, V>(node: TrieNode<K, V>): number {
  let detached = 0;
  let current = node;
  while (current.parent !== undefined && current.isEmpty()) {
    const parent: TrieNode<K, V> = current.parent;
    if (parent.plus === current) parent.plus = undefined;
    else if (parent.hash === current) parent.hash = undefined;
    else if (parent.children !== undefined) {
      parent.children.delete(current.level);
      if (parent.children.size === 0) parent.children = undefined;
    }
    current = parent;
    detached++;
  }
  return detached;
}
