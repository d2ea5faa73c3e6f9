import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SubscriptionTrie } from '../../../src/topic/index.js';
import { MATCH_CASES } from './match-cases.js';

/** Every (filter, key, value) visited for `topic`, in a stable order. */
function matches<K, V>(trie: SubscriptionTrie<K, V>, topic: string): [string, K, V][] {
  const out: [string, K, V][] = [];
  trie.match(topic, (key, value, filter) => out.push([filter, key, value]));
  const order = (entry: [string, K, V]) => `${entry[0]}\u0000${String(entry[1])}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

describe('SubscriptionTrie matching', () => {
  for (const [filter, topic, expected] of MATCH_CASES) {
    it(`${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      const trie = new SubscriptionTrie<string, number>();
      trie.add(filter, 'c1', 1);
      assert.deepEqual(matches(trie, topic), expected ? [[filter, 'c1', 1]] : []);
    });
  }

  it('decides every case right with all filters in one trie', () => {
    const trie = new SubscriptionTrie<string, string>();
    for (const [filter] of MATCH_CASES) trie.add(filter, 'c', filter);
    const topics = new Set(MATCH_CASES.map(([, topic]) => topic));
    for (const topic of topics) {
      const got = new Set(matches(trie, topic).map(([filter]) => filter));
      for (const [filter, t, expected] of MATCH_CASES) {
        if (t === topic) assert.equal(got.has(filter), expected, `${filter} vs ${topic}`);
      }
    }
  });

  it('visits a key once per overlapping filter, with that filter', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('a/b', 'c1', 1);
    trie.add('a/+', 'c1', 2);
    trie.add('a/#', 'c1', 3);
    trie.add('#', 'c1', 4);
    trie.add('+/b', 'c2', 5);
    trie.add('a/c', 'c1', 6);
    assert.deepEqual(matches(trie, 'a/b'), [
      ['#', 'c1', 4],
      ['+/b', 'c2', 5],
      ['a/#', 'c1', 3],
      ['a/+', 'c1', 2],
      ['a/b', 'c1', 1],
    ]);
  });

  it('visits every key of a filter', () => {
    const trie = new SubscriptionTrie<string, number>();
    for (let i = 0; i < 5; i++) trie.add('x/+', `c${i}`, i);
    assert.deepEqual(
      matches(trie, 'x/y').map(([, key]) => key),
      ['c0', 'c1', 'c2', 'c3', 'c4'],
    );
  });

  it('does not treat $share specially', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('$share/g/a', 'c1', 1);
    assert.deepEqual(matches(trie, 'a'), []);
    assert.deepEqual(matches(trie, '$share/g/a'), [['$share/g/a', 'c1', 1]]);
  });

  it('allows match from inside visit', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('a/#', 'c1', 1);
    trie.add('a/b', 'c2', 2);
    const inner: string[] = [];
    let outer = 0;
    trie.match('a/b', () => {
      outer++;
      trie.match('a', (key) => inner.push(key));
    });
    assert.equal(outer, 2);
    assert.deepEqual(inner, ['c1', 'c1']);
    assert.equal(matches(trie, 'a/b').length, 2);
  });

  it('leaves the trie usable after visit throws', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('a', 'c1', 1);
    assert.throws(() =>
      trie.match('a', () => {
        throw new Error('boom');
      }),
    );
    assert.deepEqual(matches(trie, 'a'), [['a', 'c1', 1]]);
  });

  it('matches very deep topics without recursion', () => {
    const trie = new SubscriptionTrie<string, number>();
    const deep = Array.from({ length: 50_000 }, (_, i) => `l${i % 7}`).join('/');
    trie.add(deep, 'exact', 1);
    trie.add(`${deep}/#`, 'hash', 2);
    trie.add(deep.replace(/^l0/, '+'), 'plus', 3);
    assert.deepEqual(
      matches(trie, deep)
        .map(([, key]) => key)
        .sort(),
      ['exact', 'hash', 'plus'],
    );
  });
});

describe('SubscriptionTrie add / get / remove', () => {
  it('adds, replaces and counts (filter, key) entries', () => {
    const trie = new SubscriptionTrie<string, number>();
    assert.equal(trie.size, 0);
    assert.equal(trie.add('a/+', 'c1', 1), true);
    assert.equal(trie.add('a/+', 'c2', 2), true);
    assert.equal(trie.add('a/#', 'c1', 3), true);
    assert.equal(trie.size, 3);
    assert.equal(trie.add('a/+', 'c1', 10), false); // replaced
    assert.equal(trie.size, 3);
    assert.equal(trie.get('a/+', 'c1'), 10);
    assert.equal(trie.get('a/+', 'c2'), 2);
    assert.equal(trie.get('a/#', 'c1'), 3);
    assert.equal(trie.get('a/#', 'c2'), undefined);
    assert.equal(trie.get('a', 'c1'), undefined);
    assert.equal(trie.get('a/+/x', 'c1'), undefined);
    assert.deepEqual(matches(trie, 'a/b'), [
      ['a/#', 'c1', 3],
      ['a/+', 'c1', 10],
      ['a/+', 'c2', 2],
    ]);
  });

  it('removes entries and reports whether there was one', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('a/+', 'c1', 1);
    trie.add('a/+', 'c2', 2);
    assert.equal(trie.remove('a/+', 'c3'), false);
    assert.equal(trie.remove('a/#', 'c1'), false);
    assert.equal(trie.remove('b', 'c1'), false);
    assert.equal(trie.remove('a', 'c1'), false); // a node on the path, with no entries
    assert.equal(trie.remove('a/+', 'c1'), true);
    assert.equal(trie.remove('a/+', 'c1'), false);
    assert.equal(trie.size, 1);
    assert.deepEqual(matches(trie, 'a/b'), [['a/+', 'c2', 2]]);
  });

  it('prunes empty nodes so memory returns', () => {
    const trie = new SubscriptionTrie<string, number>();
    const filters = ['a/b/c', 'a/b/+', 'a/b/#', 'a/+/c', '+/b', '#', 'a', '/', 'a//b', '$SYS/#'];
    for (const filter of filters) trie.add(filter, 'c1', 1);
    trie.add('a/b/c', 'c2', 2);
    const full = trie.nodeCount;
    assert.ok(full > 0);

    // Removing one key of two keeps the node.
    trie.remove('a/b/c', 'c2');
    assert.equal(trie.nodeCount, full);
    // Removing a leaf with siblings frees only the leaf.
    trie.remove('a/b/c', 'c1');
    assert.equal(trie.nodeCount, full - 1);
    // Removing an inner filter that still has children frees nothing.
    trie.remove('a', 'c1');
    assert.equal(trie.nodeCount, full - 1);

    for (const filter of filters) trie.remove(filter, 'c1');
    assert.equal(trie.size, 0);
    assert.equal(trie.nodeCount, 0);
    assert.deepEqual(matches(trie, 'a/b/c'), []);

    // And the trie works again afterwards.
    trie.add('a/b/c', 'c1', 1);
    assert.equal(trie.nodeCount, 3);
    assert.deepEqual(matches(trie, 'a/b/c'), [['a/b/c', 'c1', 1]]);
  });

  it('prunes a wildcard-only chain', () => {
    const trie = new SubscriptionTrie<string, number>();
    trie.add('+/+/#', 'c1', 1);
    assert.equal(trie.nodeCount, 3);
    trie.remove('+/+/#', 'c1');
    assert.equal(trie.nodeCount, 0);
  });

  it('keys by identity', () => {
    const a = { id: 'a' };
    const b = { id: 'a' };
    const trie = new SubscriptionTrie<object, number>();
    assert.equal(trie.add('t', a, 1), true);
    assert.equal(trie.add('t', b, 2), true);
    assert.equal(trie.size, 2);
    assert.equal(trie.get('t', a), 1);
  });
});
