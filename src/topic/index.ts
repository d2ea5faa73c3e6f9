/** The topic layer: validation of topic names and filters, the subscription trie, the retained tree. */

export { TopicTree } from './topic-tree.js';
export { SubscriptionTrie } from './trie.js';
export type { TopicLimits, TopicProblem } from './validate.js';
export { parseShared, validateTopicFilter, validateTopicName } from './validate.js';
