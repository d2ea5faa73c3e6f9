/**
 * One value per exact topic name, found by topic filter: the retained-message store's index.
 *
 * A note on the shape. Topics are paths of levels in a tree whose nodes have their literal children
 * in a map; beside it a flat map from topic to node makes set/get/delete on a known topic O(1) (a
 * sensor that republishes its retained value touches one map entry) and gives `entries()` for free.
 * `match` walks the filter over the tree with an explicit stack of child iterators, never recursion:
 * a topic may be as deep as the configured level limit and a `#` may cover millions of topics, and
 * the stack holds one iterator per level of depth, not one entry per topic.
 *
 * Matching is the subscription trie's, seen from the other side: `+` takes any one child (an empty
 * level too), `#` takes the node it hangs from and its whole subtree (`sport/#` matches `sport`
 * [MQTT-4.7.1-2]), and a filter whose first level is `+` or `#` skips first levels starting with `$`
 * [MQTT-4.7.2-1].
 *
 * Invariants:
 *   - A node holds a value exactly when `topic` is set on it, and then `byTopic` maps that topic to it.
 *   - Every node but the root holds a value or has a child; `delete` prunes upward until that holds.
 *   - `size` is the number of topics holding a value.
 *
 * Filters are taken as given: validate them first (validate.ts). `visit` should not change the tree;
 * if it does, topics set or deleted during a match may or may not be visited, but the walk stays safe.
 */

class TreeNode<V> {
  children: Map<string, TreeNode<V>> | undefined = undefined;
  /** The full topic when this node holds a value; undefined otherwise. */
  topic: string | undefined = undefined;
  value: V | undefined = undefined;

  constructor(
    readonly parent: TreeNode<V> | undefined,
    readonly level: string,
  ) {}
}

/** Marks a stack frame whose children are inside a `#`: every descendant matches. */
const SUBTREE = -1;

export class TopicTree<V> {
  readonly #root = new TreeNode<V>(undefined, '');
  readonly #byTopic = new Map<string, TreeNode<V>>();
  #nodeCount = 0;

  /** Number of topics holding a value. */
  get size(): number {
    return this.#byTopic.size;
  }

  /** Number of tree nodes besides the root: for metrics, and to show that `delete` gives memory back. */
  get nodeCount(): number {
    return this.#nodeCount;
  }

  set(topic: string, value: V): void {
    const known = this.#byTopic.get(topic);
    if (known !== undefined) {
      known.value = value;
      return;
    }
    let node = this.#root;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      const level = end === -1 ? topic.slice(start) : topic.slice(start, end);
      let child = node.children?.get(level);
      if (child === undefined) {
        child = new TreeNode<V>(node, level);
        node.children ??= new Map();
        node.children.set(level, child);
        this.#nodeCount++;
      }
      node = child;
      if (end === -1) break;
      start = end + 1;
    }
    node.topic = topic;
    node.value = value;
    this.#byTopic.set(topic, node);
  }

  get(topic: string): V | undefined {
    return this.#byTopic.get(topic)?.value;
  }

  has(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  /** Removes `topic`'s value. False if it had none. */
  delete(topic: string): boolean {
    const node = this.#byTopic.get(topic);
    if (node === undefined) return false;
    this.#byTopic.delete(topic);
    node.topic = undefined;
    node.value = undefined;
    this.#nodeCount -= prune(node);
    return true;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [topic, node] of this.#byTopic) yield [topic, node.value as V];
  }

  /** Calls `visit` once for every stored topic that `filter` matches. */
  match(filter: string, visit: (topic: string, value: V) => void): void {
    const levels = filter.split('/');
    const n = levels.length;
    const root = this.#root;
    // [MQTT-4.7.2-1] The Server MUST NOT match Topic Filters starting with a wildcard character (# or +)
    // with Topic Names beginning with a $ character.
    const skipDollar = levels[0] === '+' || levels[0] === '#';
    // frames[i] iterates children to be matched from filter level depths[i] (or SUBTREE).
    const frames: Iterator<TreeNode<V>>[] = [];
    const depths: number[] = [];

    let node: TreeNode<V> | undefined = root;
    let depth = 0;
    for (;;) {
      if (node !== undefined) {
        if (depth === SUBTREE) {
          if (node.topic !== undefined) visit(node.topic, node.value as V);
          if (node.children !== undefined) {
            frames.push(node.children.values());
            depths.push(SUBTREE);
          }
        } else if (depth === n) {
          if (node.topic !== undefined) visit(node.topic, node.value as V);
        } else {
          const level = levels[depth]!;
          if (level === '#') {
            // [MQTT-4.7.1-2] `#` matches the parent level too (the root stands for no level, holds none).
            if (node.topic !== undefined) visit(node.topic, node.value as V);
            if (node.children !== undefined) {
              frames.push(node.children.values());
              depths.push(SUBTREE);
            }
          } else if (level === '+') {
            if (node.children !== undefined) {
              frames.push(node.children.values());
              depths.push(depth + 1);
            }
          } else {
            // A literal level has one candidate: follow it without touching the stack.
            node = node.children?.get(level);
            depth++;
            continue;
          }
        }
      }

      node = undefined;
      while (frames.length > 0) {
        const top = frames.length - 1;
        const step = frames[top]!.next();
        if (step.done === true) {
          frames.pop();
          depths.pop();
          continue;
        }
        const child = step.value;
        if (skipDollar && child.parent === root && child.level.charCodeAt(0) === 0x24) continue;
        node = child;
        depth = depths[top]!;
        break;
      }
      if (node === undefined) return;
    }
  }
}

/** Detaches `node` and its ancestors for as long as they hold nothing; returns how many it detached. */
function prune<V>(node: TreeNode<V>): number {
  let detached = 0;
  let current = node;
  while (current.parent !== undefined && current.topic === undefined && current.children === undefined) {
    const parent: TreeNode<V> = current.parent;
    parent.children!.delete(current.level);
    if (parent.children!.size === 0) parent.children = undefined;
    current = parent;
    detached++;
  }
  return detached;
}
