import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicTree } from '../../../src/topic/index.js';
import { MATCH_CASES } from './match-cases.js';

/** Every (topic, value) `filter` matches, sorted by topic. */
function matches<V>(tree: TopicTree<V>, filter: string): [string, V][] {
  const out: [string, V][] = [];
  tree.match(filter, (topic, value) => out.push([topic, value]));
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('TopicTree matching', () => {
  for (const [filter, topic, expected] of MATCH_CASES) {
    it(`${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      const tree = new TopicTree<number>();
      tree.set(topic, 1);
      assert.deepEqual(matches(tree, filter), expected ? [[topic, 1]] : []);
    });
  }

  it('decides every case right with all topics in one tree', () => {
    const tree = new TopicTree<string>();
    for (const [, topic] of MATCH_CASES) tree.set(topic, topic);
    const filters = new Set(MATCH_CASES.map(([filter]) => filter));
    for (const filter of filters) {
      const got = new Set(matches(tree, filter).map(([topic]) => topic));
      for (const [f, topic, expected] of MATCH_CASES) {
        if (f === filter) assert.equal(got.has(topic), expected, `${filter} vs ${topic}`);
      }
    }
  });

  it('enumerates a subtree under #, the parent included', () => {
    const tree = new TopicTree<number>();
    const topics = ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport//x', 'sports', 'news/sport'];
    for (const [i, topic] of topics.entries()) tree.set(topic, i);
    assert.deepEqual(
      matches(tree, 'sport/#').map(([topic]) => topic),
      ['sport', 'sport//x', 'sport/tennis', 'sport/tennis/player1'],
    );
    // `sport//x` makes an empty level under `sport`, but it holds no value of its own.
    assert.deepEqual(
      matches(tree, 'sport/+').map(([topic]) => topic),
      ['sport/tennis'],
    );
    assert.equal(matches(tree, '#').length, topics.length);
  });

  it('keeps $-topics out of a leading wildcard only', () => {
    const tree = new TopicTree<number>();
    for (const topic of ['$SYS/a', '$SYS', '$', 'a/$SYS', 'a', '$x/y/z']) tree.set(topic, 0);
    assert.deepEqual(
      matches(tree, '#').map(([topic]) => topic),
      ['a', 'a/$SYS'],
    );
    assert.deepEqual(
      matches(tree, '+/#').map(([topic]) => topic),
      ['a', 'a/$SYS'],
    );
    assert.deepEqual(
      matches(tree, '+').map(([topic]) => topic),
      ['a'],
    );
    assert.deepEqual(
      matches(tree, '$SYS/#').map(([topic]) => topic),
      ['$SYS', '$SYS/a'],
    );
    assert.deepEqual(
      matches(tree, '$x/+/z').map(([topic]) => topic),
      ['$x/y/z'],
    );
  });

  it('matches # over a very deep topic without recursion', () => {
    const tree = new TopicTree<number>();
    const levels = Array.from({ length: 100_000 }, (_, i) => `l${i % 3}`);
    const deep = levels.join('/');
    const half = levels.slice(0, 50_000).join('/');
    tree.set(deep, 1);
    tree.set(half, 2);
    assert.deepEqual(matches(tree, '#'), [
      [half, 2],
      [deep, 1],
    ]);
    assert.deepEqual(matches(tree, `${half}/#`), [
      [half, 2],
      [deep, 1],
    ]);
    assert.equal(tree.delete(deep), true);
    assert.equal(tree.nodeCount, 50_000);
  });

  it('matches # over a million topics', () => {
    const tree = new TopicTree<number>();
    // 100 × 100 × 100 three-level topics.
    let n = 0;
    for (let a = 0; a < 100; a++) {
      for (let b = 0; b < 100; b++) {
        for (let c = 0; c < 100; c++) tree.set(`t${a}/${b}/${c}`, n++);
      }
    }
    assert.equal(tree.size, 1_000_000);
    let count = 0;
    let sum = 0;
    tree.match('#', (_topic, value) => {
      count++;
      sum += value;
    });
    assert.equal(count, 1_000_000);
    assert.equal(sum, (999_999 * 1_000_000) / 2);
    count = 0;
    tree.match('+/+/7', () => count++);
    assert.equal(count, 10_000);
  });
});

describe('TopicTree set / get / delete', () => {
  it('holds one value per exact topic', () => {
    const tree = new TopicTree<string>();
    assert.equal(tree.size, 0);
    tree.set('a/b', 'x');
    tree.set('a/b', 'y');
    tree.set('a', 'z');
    tree.set('a//b', 'w');
    assert.equal(tree.size, 3);
    assert.equal(tree.get('a/b'), 'y');
    assert.equal(tree.get('a'), 'z');
    assert.equal(tree.get('a/'), undefined);
    assert.equal(tree.get('A'), undefined);
    assert.equal(tree.has('a//b'), true);
    assert.equal(tree.has('a/'), false);
    assert.deepEqual([...tree.entries()].sort(), [
      ['a', 'z'],
      ['a//b', 'w'],
      ['a/b', 'y'],
    ]);
  });

  it('stores undefined as a value', () => {
    const tree = new TopicTree<undefined>();
    tree.set('a', undefined);
    assert.equal(tree.has('a'), true);
    assert.deepEqual(matches(tree, '#'), [['a', undefined]]);
  });

  it('deletes and prunes empty nodes so memory returns', () => {
    const tree = new TopicTree<number>();
    const topics = ['a/b/c', 'a/b/d', 'a', 'a//x', '/', '$SYS/load'];
    for (const topic of topics) tree.set(topic, 1);
    const full = tree.nodeCount;
    assert.equal(tree.delete('a/b'), false); // a path node, not a topic
    assert.equal(tree.delete('nope'), false);
    assert.equal(tree.delete('a/b/c'), true);
    assert.equal(tree.delete('a/b/c'), false);
    assert.equal(tree.nodeCount, full - 1);
    assert.equal(tree.delete('a'), true); // still has children: no node freed
    assert.equal(tree.nodeCount, full - 1);
    assert.deepEqual(
      matches(tree, 'a/#').map(([topic]) => topic),
      ['a//x', 'a/b/d'],
    );
    for (const topic of topics) tree.delete(topic);
    assert.equal(tree.size, 0);
    assert.equal(tree.nodeCount, 0);
    assert.deepEqual(matches(tree, '#'), []);
    assert.deepEqual([...tree.entries()], []);
    tree.set('a/b', 2);
    assert.deepEqual(matches(tree, 'a/+'), [['a/b', 2]]);
  });
});
