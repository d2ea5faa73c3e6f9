/**
 * The trie and the tree against a matcher written as plainly as the spec reads, on random topics and
 * filters over a small alphabet, so that collisions, empty levels and `$` first levels are common.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  SubscriptionTrie,
  TopicTree,
  validateTopicFilter,
  validateTopicName,
} from '../../../src/topic/index.js';
import { MATCH_CASES } from './match-cases.js';

const limits = { maxLevels: 16, maxLength: 65535 };

/** MQTT 3.1.1 §4.7, level by level. */
function referenceMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // the rest, even none (`a/#` matches `a`)
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const level = fc.constantFrom('a', 'b', 'A', '', '$', '$a', 'é');
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'))
  .filter((topic) => validateTopicName(topic, limits) === null);
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((filter) => validateTopicFilter(filter, limits) === null);

const opArb = fc.record({ add: fc.boolean(), filter: filterArb, key: fc.integer({ min: 0, max: 3 }) });

describe('topic matching agrees with the reference', () => {
  it('the reference itself decides the table of cases right', () => {
    for (const [filter, topic, expected] of MATCH_CASES) {
      assert.equal(referenceMatch(filter, topic), expected, `${filter} vs ${topic}`);
    }
  });

  it('SubscriptionTrie.match after random adds and removes', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.array(topicArb, { minLength: 1, maxLength: 10 }),
        (ops, topics) => {
          const trie = new SubscriptionTrie<number, string>();
          // The model: (filter, key) → value.
          const model = new Map<string, { filter: string; key: number; value: string }>();
          ops.forEach(({ add, filter, key }, i) => {
            const id = JSON.stringify([filter, key]);
            if (add) {
              const value = `v${i}`;
              assert.equal(trie.add(filter, key, value), !model.has(id));
              model.set(id, { filter, key, value });
            } else {
              assert.equal(trie.remove(filter, key), model.delete(id));
            }
            assert.equal(trie.size, model.size);
          });
          for (const { filter, key, value } of model.values()) assert.equal(trie.get(filter, key), value);

          for (const topic of topics) {
            const got: string[] = [];
            trie.match(topic, (key, value, filter) => got.push(JSON.stringify([filter, key, value])));
            const want = [...model.values()]
              .filter(({ filter }) => referenceMatch(filter, topic))
              .map(({ filter, key, value }) => JSON.stringify([filter, key, value]));
            // Sorted lists, not sets: each entry is visited exactly once.
            assert.deepEqual(got.sort(), want.sort(), topic);
          }

          for (const { filter, key } of model.values()) trie.remove(filter, key);
          assert.equal(trie.size, 0);
          assert.equal(trie.nodeCount, 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('TopicTree.match after random sets and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ set: fc.boolean(), topic: topicArb }), { maxLength: 40 }),
        fc.array(filterArb, { minLength: 1, maxLength: 10 }),
        (ops, filters) => {
          const tree = new TopicTree<number>();
          const model = new Map<string, number>();
          ops.forEach(({ set, topic }, i) => {
            if (set) {
              tree.set(topic, i);
              model.set(topic, i);
            } else {
              assert.equal(tree.delete(topic), model.delete(topic));
            }
            assert.equal(tree.size, model.size);
          });
          assert.deepEqual([...tree.entries()].sort(), [...model.entries()].sort());

          for (const filter of filters) {
            const got: string[] = [];
            tree.match(filter, (topic, value) => got.push(JSON.stringify([topic, value])));
            const want = [...model]
              .filter(([topic]) => referenceMatch(filter, topic))
              .map((entry) => JSON.stringify(entry));
            assert.deepEqual(got.sort(), want.sort(), filter);
          }

          for (const topic of model.keys()) tree.delete(topic);
          assert.equal(tree.size, 0);
          assert.equal(tree.nodeCount, 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the trie and the tree agree on every (filter, topic) pair', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        const trie = new SubscriptionTrie<number, number>();
        trie.add(filter, 0, 0);
        let inTrie = false;
        trie.match(topic, () => {
          inTrie = true;
        });
        const tree = new TopicTree<number>();
        tree.set(topic, 0);
        let inTree = false;
        tree.match(filter, () => {
          inTree = true;
        });
        const expected = referenceMatch(filter, topic);
        assert.equal(inTrie, expected, `trie: ${filter} vs ${topic}`);
        assert.equal(inTree, expected, `tree: ${filter} vs ${topic}`);
      }),
      { numRuns: 2000 },
    );
  });
});
