import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseShared,
  type TopicLimits,
  validateTopicFilter,
  validateTopicName,
} from '../../../src/topic/index.js';

const limits: TopicLimits = { maxLevels: 128, maxLength: 65535 };
const small: TopicLimits = { maxLevels: 3, maxLength: 10 };

type Case = [input: string, expected: string | null, limits?: TopicLimits];

describe('validateTopicName', () => {
  const cases: Case[] = [
    ['a', null],
    ['sport/tennis/player1', null],
    ['/', null], // two empty levels
    ['/finance', null],
    ['a//b', null],
    ['a/', null],
    ['$SYS/broker/load', null],
    ['Accounts payable', null], // spaces are allowed
    ['ünïcødé/😀', null],
    ['', 'empty'], // [MQTT-4.7.3-1]
    ['+', 'wildcard in topic name'], // [MQTT-3.3.2-2]
    ['#', 'wildcard in topic name'],
    ['sport/+/x', 'wildcard in topic name'],
    ['sport/tennis/#', 'wildcard in topic name'],
    ['a+b', 'wildcard in topic name'],
    ['a#', 'wildcard in topic name'],
    ['a\u0000b', 'null character'], // [MQTT-4.7.3-2]
    ['a/b/c', null, small],
    ['a/b/c/d', 'too many levels', small],
    ['///', 'too many levels', small],
    ['0123456789', null, small],
    ['01234567890', 'too long', small],
    ['ééééé', null, small], // 10 bytes
    ['éééééa', 'too long', small], // 6 code units, 11 bytes
    ['€€€€', 'too long', small], // 3 bytes each
    ['😀😀', null, small], // a surrogate pair is 4 bytes
    ['😀😀😀', 'too long', small],
  ];
  for (const [topic, expected, lim] of cases) {
    it(`${JSON.stringify(topic)} → ${expected ?? 'valid'}`, () => {
      assert.equal(validateTopicName(topic, lim ?? limits), expected);
    });
  }

  it('counts UTF-8 bytes like Buffer.byteLength', () => {
    for (const topic of ['a', 'é', '€', '😀', 'a/é/€/😀', 'ß'.repeat(100)]) {
      const bytes = Buffer.byteLength(topic);
      assert.equal(validateTopicName(topic, { maxLevels: 10, maxLength: bytes }), null);
      assert.equal(validateTopicName(topic, { maxLevels: 10, maxLength: bytes - 1 }), 'too long');
    }
  });
});

describe('validateTopicFilter', () => {
  const cases: Case[] = [
    // The spec's own examples (MQTT 3.1.1 §4.7.1.2, §4.7.1.3).
    ['sport/tennis/player1/#', null],
    ['sport/#', null],
    ['#', null],
    ['sport/tennis#', "'#' not the whole last level"], // [MQTT-4.7.1-2]
    ['sport/tennis/#/ranking', "'#' not the whole last level"],
    ['+', null],
    ['+/tennis/#', null],
    ['sport/+/player1', null],
    ['sport+', "'+' not a whole level"], // [MQTT-4.7.1-3]
    ['/+', null],
    ['+/+', null],
    ['+/', null],
    ['+//+', null],
    ['$SYS/#', null],
    ['$SYS/monitor/+', null],
    // More.
    ['a', null],
    ['/', null],
    ['a//b', null],
    ['+#', "'+' not a whole level"],
    ['a/+b', "'+' not a whole level"],
    ['a/b+', "'+' not a whole level"],
    ['a/++', "'+' not a whole level"],
    ['#/', "'#' not the whole last level"],
    ['##', "'#' not the whole last level"],
    ['a/b#', "'#' not the whole last level"],
    ['a/#/#', "'#' not the whole last level"],
    ['', 'empty'], // [MQTT-4.7.3-1]
    ['a/\u0000', 'null character'], // [MQTT-4.7.3-2]
    ['a/b/c', null, small],
    ['a/b/c/d', 'too many levels', small],
    ['a/b/#', null, small],
    ['a/b/c/#', 'too many levels', small],
    ['0123456789', null, small],
    ['0123456789/', 'too long', small],
    ['€€€/#', 'too long', small], // 11 bytes
    // Shared subscriptions (MQTT 5.0 §4.8.2).
    ['$share/g/a/b', null],
    ['$share/group/#', null],
    ['$share/g/+/x/#', null],
    ['$share/g//', null], // the shared filter is '/'
    ['$share/é/a', null],
    ['$share/g/a+', "'+' not a whole level"],
    ['$share/g/#/a', "'#' not the whole last level"],
    ['$share//a', 'empty share name'], // [MQTT-4.8.2-1]
    ['$share/', 'empty share name'],
    ['$share/g+/a', 'wildcard in share name'], // [MQTT-4.8.2-2]
    ['$share/+/a', 'wildcard in share name'],
    ['$share/#/a', 'wildcard in share name'],
    ['$share/g', 'no filter after share name'], // [MQTT-4.8.2-2]
    ['$share/g/', 'no filter after share name'],
    ['$share/g\u0000/a', 'null character'],
    ['$share/g/a\u0000', 'null character'],
    // Levels are those of the shared filter; the length is the whole string's.
    ['$share/g/a/b/c', null, { maxLevels: 3, maxLength: 100 }],
    ['$share/g/a/b/c/d', 'too many levels', { maxLevels: 3, maxLength: 100 }],
    ['$share/g/a', null, { maxLevels: 1, maxLength: 10 }],
    ['$share/g/ab', 'too long', { maxLevels: 1, maxLength: 10 }],
    ['$share/éé/a', 'too long', { maxLevels: 1, maxLength: 11 }], // 11 code units, 13 bytes
    // Not shared: `$share` is then an ordinary (valid) first level.
    ['$share', null],
    ['$SHARE/g/a', null],
    ['$sharex/g/a', null],
    ['x/$share/+/a', null],
  ];
  for (const [filter, expected, lim] of cases) {
    it(`${JSON.stringify(filter)} → ${expected ?? 'valid'}`, () => {
      assert.equal(validateTopicFilter(filter, lim ?? limits), expected);
    });
  }

  it('accepts every valid topic name as a filter', () => {
    for (const topic of ['a', '/', 'a//b', '$SYS/x', 'ünï/😀']) {
      assert.equal(validateTopicName(topic, limits), null);
      assert.equal(validateTopicFilter(topic, limits), null);
    }
  });
});

describe('parseShared', () => {
  const cases: [string, { group: string; filter: string } | null][] = [
    ['$share/g/a/b', { group: 'g', filter: 'a/b' }],
    ['$share/group/#', { group: 'group', filter: '#' }],
    ['$share/g//', { group: 'g', filter: '/' }],
    ['$share/g', { group: 'g', filter: '' }],
    ['$share//a', { group: '', filter: 'a' }],
    ['a/b', null],
    ['$share', null],
    ['$SHARE/g/a', null],
    ['$SYS/#', null],
    ['', null],
  ];
  for (const [filter, expected] of cases) {
    it(`${JSON.stringify(filter)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseShared(filter), expected);
    });
  }
});
