/**
 * The ACL: the file format (every error names file:line), which sections a client gets, the decisions,
 * and the filter relations under them, checked against a brute-force oracle that enumerates every
 * topic of a few levels over a small alphabet (with an empty level and a `$` level, where the edges are).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Acl, AclError, type ClientAcl, parseAcl } from '../../../src/auth/acl.js';
import { covers, intersects, matches } from '../../../src/topic/filter-relations.js';
import { validateTopicFilter, validateTopicName } from '../../../src/topic/validate.js';
import { MATCH_CASES } from '../topic/match-cases.js';

const limits = { maxLevels: 16, maxLength: 65535 };

/** MQTT 3.1.1 §4.7, level by level, as plainly as the spec reads. */
function referenceMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const ALPHABET = ['a', 'b', '$x', ''];
const MAX_FILTER_LEVELS = 3; // before an optional `#`
/** Every valid topic of 1 to MAX_FILTER_LEVELS + 2 levels over ALPHABET: deep enough to tell filters apart. */
const TOPICS: string[] = (() => {
  const out: string[] = [];
  let layer: string[][] = [[]];
  for (let depth = 1; depth <= MAX_FILTER_LEVELS + 2; depth++) {
    layer = layer.flatMap((levels) => ALPHABET.map((level) => [...levels, level]));
    for (const levels of layer) {
      const topic = levels.join('/');
      if (validateTopicName(topic, limits) === null) out.push(topic);
    }
  }
  return out;
})();

function oracleCovers(general: string, specific: string): boolean {
  return TOPICS.every((t) => !referenceMatch(specific, t) || referenceMatch(general, t));
}

function oracleIntersects(a: string, b: string): boolean {
  return TOPICS.some((t) => referenceMatch(a, t) && referenceMatch(b, t));
}

const filterArb = fc
  .tuple(
    fc.array(fc.constantFrom(...ALPHABET, '+'), { minLength: 0, maxLength: MAX_FILTER_LEVELS }),
    fc.boolean(),
  )
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((filter) => validateTopicFilter(filter, limits) === null);

function acl(text: string): Acl {
  return parseAcl(text, 'acl.conf');
}

function parseError(text: string): AclError {
  try {
    acl(text);
  } catch (error) {
    assert.ok(error instanceof AclError, String(error));
    return error;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

describe('filter relations', () => {
  it('matches decides the shared table of cases', () => {
    for (const [filter, topic, expected] of MATCH_CASES) {
      assert.equal(matches(filter, topic), expected, `${filter} vs ${topic}`);
    }
  });

  it('covers: chosen cases', () => {
    const cases: [string, string, boolean][] = [
      ['#', 'a/b', true],
      ['#', '#', true],
      ['a/#', 'a', true],
      ['a/#', 'a/#', true],
      ['a', 'a/#', false],
      ['a/+', 'a/#', false],
      ['+/+', 'a/b', true],
      ['a/b', '+/b', false],
      ['+', '+', true],
      ['+/#', '#', true], // `#` with no level is not a topic
      ['+/+/#', '#', false], // `#` matches `a`
      ['/+/#', '/#', true], // what `/#` adds is `` (no level after the empty one): not a topic
      ['+/+/#', '/#', true],
      ['/+', '/#', false],
      ['#', '$x/a', false],
      ['+/a', '$x/a', false],
      ['$x/#', '$x/a', true],
      ['$x/#', '$x', true],
      ['#', '+/a', true],
      ['+/#', '+', true],
      ['+', '/', false],
      ['+/+', '/', true],
    ];
    for (const [general, specific, expected] of cases) {
      assert.equal(covers(general, specific), expected, `${general} covers ${specific}`);
      assert.equal(oracleCovers(general, specific), expected, `oracle: ${general} covers ${specific}`);
    }
  });

  it('intersects: chosen cases', () => {
    const cases: [string, string, boolean][] = [
      ['#', 'a', true],
      ['#', '$x/a', false],
      ['$x/#', '#', false],
      ['+', '$x', false],
      ['$x/+', '$x/#', true],
      ['a/+', '+/b', true],
      ['a/b', 'a/', false],
      ['a', 'a/#', true],
      ['a/b', 'a/#', true],
      ['a/b/a', 'a/+', false],
      ['+', '/#', false], // only through the empty name
      ['+/#', '/', true],
      ['/#', '#', true],
      ['#', '#', true],
      ['+', '#', true],
    ];
    for (const [a, b, expected] of cases) {
      assert.equal(intersects(a, b), expected, `${a} ∩ ${b}`);
      assert.equal(intersects(b, a), expected, `${b} ∩ ${a}`);
      assert.equal(oracleIntersects(a, b), expected, `oracle: ${a} ∩ ${b}`);
    }
  });

  it('matches agrees with the reference on random filters and topics', () => {
    fc.assert(
      fc.property(filterArb, fc.constantFrom(...TOPICS), (filter, topic) => {
        assert.equal(matches(filter, topic), referenceMatch(filter, topic));
      }),
      { numRuns: 2000 },
    );
  });

  it('covers agrees with the brute-force oracle', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (general, specific) => {
        assert.equal(covers(general, specific), oracleCovers(general, specific));
      }),
      { numRuns: 1000 },
    );
  });

  it('intersects agrees with the brute-force oracle', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (a, b) => {
        assert.equal(intersects(a, b), oracleIntersects(a, b));
      }),
      { numRuns: 1000 },
    );
  });

  it('covers and intersects agree with the oracle on every pair of short filters', () => {
    // Exhaustive over filters of up to two levels and a `#`: the edges are all short.
    const filters = new Set<string>();
    const levels = [...ALPHABET, '+'];
    for (const a of ['', ...levels.map((l) => `${l}/`)]) {
      for (const b of [...levels, '#']) filters.add(a === '' ? b : `${a}${b}`);
    }
    const valid = [...filters].filter((f) => validateTopicFilter(f, limits) === null);
    for (const a of valid) {
      for (const b of valid) {
        assert.equal(covers(a, b), oracleCovers(a, b), `${a} covers ${b}`);
        assert.equal(intersects(a, b), oracleIntersects(a, b), `${a} ∩ ${b}`);
      }
    }
  });
});

describe('parseAcl: the format', () => {
  it('reads each keyword into its section', () => {
    const text = [
      'topic read before/section',
      'anonymous',
      'topic read anon',
      'user alice',
      'topic write alice',
      'client dash-1',
      'topic read dash',
      'all',
      'topic readwrite everyone/#',
      'pattern deny everyone/%c',
    ].join('\n');
    const a = acl(text);
    assert.equal(a.ruleCount, 6);
    const anon = a.forClient(undefined, 'x');
    assert.ok(anon.canRead('before/section'));
    assert.ok(anon.canRead('anon'));
    assert.ok(!anon.canPublish('anon'));
    assert.ok(!anon.canPublish('alice'));
    assert.ok(anon.canPublish('everyone'));
    const alice = a.forClient('alice', 'x');
    assert.ok(alice.canPublish('alice'));
    assert.ok(!alice.canRead('alice'));
    assert.ok(!alice.canRead('anon'));
    assert.ok(!alice.canRead('before/section'));
    assert.ok(alice.canRead('everyone'));
    const dash = a.forClient('bob', 'dash-1');
    assert.ok(dash.canRead('dash'));
    assert.ok(!a.forClient('bob', 'dash-2').canRead('dash'));
    assert.ok(!dash.canRead('everyone/dash-1'));
    assert.ok(dash.canRead('everyone/dash-2'));
  });

  it('skips blank lines and comments, full-line and trailing', () => {
    const a = acl(
      [
        '# a comment',
        '   # an indented comment',
        '',
        '\t',
        'user alice # trailing',
        'topic read a/# # the filter is a/#',
        'topic read # # the filter is #',
        'topic write #',
        'client c1\t# tab before the comment',
        'all # comment after a section',
        'anonymous # and another',
      ].join('\n'),
    );
    assert.equal(a.ruleCount, 3);
    const alice = a.forClient('alice', 'c');
    assert.ok(alice.canRead('a'));
    assert.ok(alice.canRead('z/y'));
    assert.ok(alice.canPublish('z/y'));
    assert.equal(alice.canSubscribe('#'), 'allow');
  });

  it('takes readwrite when the access is left out', () => {
    const a = acl('user u\ntopic a/b\ntopic #\n');
    const u = a.forClient('u', 'c');
    assert.ok(u.canRead('a/b'));
    assert.ok(u.canPublish('a/b'));
    assert.ok(u.canPublish('x'));
  });

  it('names may hold spaces; filters may, with the access written', () => {
    const a = acl('user  Alice Smith  \ntopic read my topic/#\nclient  id with spaces \ntopic write x\n');
    assert.ok(a.forClient('Alice Smith', 'c').canRead('my topic/z'));
    assert.ok(!a.forClient('Alice', 'c').canRead('my topic/z'));
    assert.ok(a.forClient(undefined, 'id with spaces').canPublish('x'));
  });

  it('merges a section named twice; accepts CRLF, CR and a byte order mark', () => {
    const a = acl('\ufeffuser u\r\ntopic read a\r\nuser v\rtopic read b\nuser u\ntopic read c\n');
    const u = a.forClient('u', 'c');
    assert.ok(u.canRead('a'));
    assert.ok(!u.canRead('b'));
    assert.ok(u.canRead('c'));
    assert.ok(a.forClient('v', 'c').canRead('b'));
  });

  it('an empty file, or comments only, denies everything', () => {
    for (const text of ['', '\n\n', '# nothing\n  # here\n']) {
      const a = acl(text);
      assert.equal(a.ruleCount, 0);
      for (const client of [a.forClient(undefined, 'c'), a.forClient('u', 'c')]) {
        assert.ok(!client.canPublish('a'));
        assert.ok(!client.canRead('a'));
        assert.equal(client.canSubscribe('#'), 'deny');
        assert.equal(client.canSubscribe('$SYS/#'), 'deny');
      }
    }
  });

  it('every error names file:line and why', () => {
    const cases: [string, number, RegExp][] = [
      ['frobnicate x', 1, /unknown keyword 'frobnicate'/],
      ['# ok\n\nTopic read a', 3, /unknown keyword 'Topic'/],
      ['user', 1, /'user' needs a username/],
      ['user # only a comment', 1, /'user' needs a username/],
      ['client', 1, /'client' needs a client id/],
      ['anonymous x', 1, /unexpected 'x' after 'anonymous'/],
      ['all\nall again', 2, /unexpected 'again' after 'all'/],
      ['topic', 1, /'topic' needs a topic filter/],
      ['pattern', 1, /'pattern' needs a topic filter/],
      ['topic read', 1, /'topic read' needs a topic filter/],
      ['topic deny   # comment', 1, /'# comment' is not a valid topic filter/],
      ['client #c1', 1, /'client' needs a client id/],
      ['topic raed secret/#', 1, /unknown access 'raed'/],
      ['topic read a/#/b', 1, /'a\/#\/b' is not a valid topic filter: '#' not the whole last level/],
      ['user u\ntopic write a+', 2, /'a\+' is not a valid topic filter: '\+' not a whole level/],
      ['pattern read a/%u#', 1, /not a valid topic filter/],
      ['topic read a/\0', 1, /null character/],
      ['topic read # comment', 1, /'# comment' is not a valid topic filter/],
      ['topic read $share/g/a', 1, /cannot name a shared subscription/],
    ];
    for (const [text, line, reason] of cases) {
      const error = parseError(text);
      assert.equal(error.file, 'acl.conf');
      assert.equal(error.line, line, text);
      assert.ok(error.message.startsWith(`acl.conf:${line}: `), error.message);
      assert.match(error.reason, reason);
      assert.equal(error.message, `acl.conf:${line}: ${error.reason}`);
      assert.equal(error.name, 'AclError');
    }
  });
});

describe('ACL semantics', () => {
  it('anonymous, user, client and all sections go to the right clients', () => {
    const a = acl(
      [
        'anonymous',
        'topic read anon',
        'user u',
        'topic read user',
        'client c',
        'topic read client',
        'all',
        'topic read all',
      ].join('\n'),
    );
    const readable = (client: ClientAcl): string[] =>
      ['anon', 'user', 'client', 'all'].filter((t) => client.canRead(t));
    assert.deepEqual(readable(a.forClient(undefined, 'x')), ['anon', 'all']);
    assert.deepEqual(readable(a.forClient(undefined, 'c')), ['anon', 'client', 'all']);
    assert.deepEqual(readable(a.forClient('u', 'x')), ['user', 'all']);
    assert.deepEqual(readable(a.forClient('u', 'c')), ['user', 'client', 'all']);
    assert.deepEqual(readable(a.forClient('v', 'x')), ['all']);
    // An empty username is a username: not anonymous.
    assert.deepEqual(readable(a.forClient('', 'x')), ['all']);
    // A client id is not a username, nor the other way round.
    assert.deepEqual(readable(a.forClient('c', 'u')), ['all']);
  });

  it('read, write and readwrite grant what they say', () => {
    const a = acl('all\ntopic read r\ntopic write w\ntopic readwrite rw\n');
    const c = a.forClient('u', 'c');
    assert.deepEqual(
      ['r', 'w', 'rw', 'x'].map((t) => [c.canRead(t), c.canPublish(t)]),
      [
        [true, false],
        [false, true],
        [true, true],
        [false, false],
      ],
    );
  });

  it('substitutes %u and %c in patterns, not in topic rules', () => {
    const a = acl(
      [
        'all',
        'pattern readwrite devices/%c/#',
        'pattern read users/%u/inbox',
        'pattern write %u-%c/x',
        'topic read literal/%u',
      ].join('\n'),
    );
    const alice = a.forClient('alice', 'dev1');
    assert.ok(alice.canPublish('devices/dev1/temp'));
    assert.ok(alice.canRead('devices/dev1'));
    assert.ok(!alice.canPublish('devices/dev2/temp'));
    assert.ok(alice.canRead('users/alice/inbox'));
    assert.ok(!alice.canRead('users/bob/inbox'));
    assert.ok(alice.canPublish('alice-dev1/x'));
    assert.ok(alice.canRead('literal/%u'));
    assert.ok(!alice.canRead('literal/alice'));
    // A client without username gets no %u pattern, but still its %c ones.
    const anon = a.forClient(undefined, 'dev1');
    assert.ok(anon.canPublish('devices/dev1/temp'));
    assert.ok(!anon.canRead('users//inbox'));
    assert.ok(!anon.canRead('users/undefined/inbox'));
    assert.ok(!anon.canPublish('-dev1/x'));
    // One pass: a username that looks like a token stays literal.
    const tricky = a.forClient('%c', 'dev1');
    assert.ok(tricky.canRead('users/%c/inbox'));
    assert.ok(!tricky.canRead('users/dev1/inbox'));
  });

  it('a pattern does not apply when a value would inject a level, a wildcard or a `$`', () => {
    const a = acl('all\npattern readwrite devices/%c/#\npattern read users/%u/inbox\npattern read %c/#\n');
    for (const clientId of ['+', '#', 'a/b', 'a+', 'x#', '', '/']) {
      const c = a.forClient('alice', clientId);
      assert.ok(!c.canPublish('devices/a/x'), clientId);
      assert.equal(c.canSubscribe('devices/#'), 'deny', clientId);
      assert.equal(c.canSubscribe('#'), 'filter', clientId); // users/alice/inbox only
      assert.ok(c.canRead('users/alice/inbox'));
    }
    assert.ok(!a.forClient('alice', 'a/b').canPublish('devices/a/b/x'));
    assert.ok(!a.forClient('alice', '').canPublish('devices//x'));
    for (const username of ['#', '+', 'a/b', '']) {
      const c = a.forClient(username, 'dev');
      assert.ok(!c.canRead('users/x/inbox'), username);
      assert.ok(!c.canRead('users//inbox'), username);
      assert.ok(c.canPublish('devices/dev/x'), username);
    }
    // A `$` first: the client id `$SYS` must not turn `%c/#` into `$SYS/#`.
    const sys = a.forClient('alice', '$SYS');
    assert.ok(!sys.canRead('$SYS/broker/uptime'));
    assert.equal(sys.canSubscribe('$SYS/#'), 'deny');
    // Inside the filter a `$` is an ordinary character.
    assert.ok(sys.canPublish('devices/$SYS/x'));
  });

  it('a pattern that starts with `$` may take values', () => {
    const a = acl('all\npattern read $SYS/clients/%c\n');
    assert.ok(a.forClient(undefined, 'c1').canRead('$SYS/clients/c1'));
    assert.ok(!a.forClient(undefined, 'c1').canRead('$SYS/clients/c2'));
  });

  it('deny wins over allow wherever it matches, whatever the order', () => {
    for (const text of [
      'user u\ntopic readwrite s/#\ntopic deny s/secret',
      'user u\ntopic deny s/secret\ntopic readwrite s/#',
      'all\ntopic deny s/secret\nuser u\ntopic readwrite s/#',
      'client c\ntopic deny s/+\nuser u\ntopic readwrite s/secret',
    ]) {
      const c = acl(text).forClient('u', 'c');
      assert.ok(!c.canRead('s/secret'), text);
      assert.ok(!c.canPublish('s/secret'), text);
      assert.equal(c.canSubscribe('s/secret'), 'deny', text);
    }
    const c = acl('user u\ntopic readwrite s/#\ntopic deny s/secret').forClient('u', 'c');
    assert.ok(c.canRead('s/public'));
    assert.ok(c.canPublish('s'));
    assert.ok(c.canRead('s/secret/deeper'));
  });

  it('denies by default', () => {
    const c = acl('user u\ntopic read a\n').forClient('u', 'c');
    assert.ok(!c.canPublish('a'));
    assert.ok(!c.canRead('b'));
    assert.ok(!c.canPublish('b'));
    assert.equal(c.canSubscribe('b/#'), 'deny');
  });

  it('reaches $-topics only through a rule that names them', () => {
    const everything = acl('all\ntopic readwrite #\ntopic readwrite +/+\n').forClient('u', 'c');
    assert.ok(!everything.canRead('$SYS/broker/uptime'));
    assert.ok(!everything.canPublish('$SYS/x'));
    assert.ok(!everything.canRead('$x/y'));
    assert.equal(everything.canSubscribe('$SYS/#'), 'deny');
    assert.equal(everything.canSubscribe('#'), 'allow');
    const sys = acl('all\ntopic read $SYS/#\n').forClient('u', 'c');
    assert.ok(sys.canRead('$SYS/broker/uptime'));
    assert.ok(sys.canRead('$SYS'));
    assert.ok(!sys.canPublish('$SYS/x'));
    assert.equal(sys.canSubscribe('$SYS/#'), 'allow');
    assert.equal(sys.canSubscribe('$SYS/broker/+'), 'allow');
    assert.equal(sys.canSubscribe('#'), 'deny');
  });

  it('canSubscribe: allow, deny or filter', () => {
    const c = acl(
      [
        'user u',
        'topic read #',
        'topic deny secret/#',
        'topic read sensors/+/temp',
        'topic write out/#',
      ].join('\n'),
    ).forClient('u', 'c');
    assert.equal(c.canSubscribe('#'), 'filter'); // secret/… inside
    assert.equal(c.canSubscribe('secret/#'), 'deny');
    assert.equal(c.canSubscribe('secret/a'), 'deny');
    assert.equal(c.canSubscribe('public/#'), 'allow');
    assert.equal(c.canSubscribe('+/a'), 'filter'); // secret/a
    assert.equal(c.canSubscribe('+/a/b'), 'filter');
    const s = acl('user u\ntopic read sensors/+/temp\n').forClient('u', 'c');
    assert.equal(s.canSubscribe('sensors/#'), 'filter');
    assert.equal(s.canSubscribe('sensors/+/temp'), 'allow');
    assert.equal(s.canSubscribe('sensors/kitchen/temp'), 'allow');
    assert.equal(s.canSubscribe('sensors/kitchen/humidity'), 'deny');
    assert.equal(s.canSubscribe('other/#'), 'deny');
    assert.ok(s.canRead('sensors/kitchen/temp'));
    assert.ok(!s.canRead('sensors/kitchen/humidity'));
    // Write access does not let one subscribe.
    assert.equal(acl('all\ntopic write a/#').forClient('u', 'c').canSubscribe('a/#'), 'deny');
    // A deny rule that covers the filter refuses it even where a read rule covers it too.
    assert.equal(
      acl('all\ntopic read a/#\ntopic deny a/+/#').forClient('u', 'c').canSubscribe('a/b/#'),
      'deny',
    );
  });

  it('canSubscribe judges a shared subscription on its filter', () => {
    const c = acl('user u\ntopic read sensors/#\ntopic deny sensors/secret').forClient('u', 'c');
    assert.equal(c.canSubscribe('$share/g/sensors/+/temp'), 'allow');
    assert.equal(c.canSubscribe('$share/g/sensors/#'), 'filter');
    assert.equal(c.canSubscribe('$share/g/sensors/secret'), 'deny');
    assert.equal(c.canSubscribe('$share/g/other'), 'deny');
    assert.equal(c.canSubscribe('$share/sensors/x'), 'deny'); // filter `x`, group `sensors`
    assert.equal(c.canSubscribe('$share/g'), 'deny');
    // `#` does cover the filter of `$share/g/#`.
    assert.equal(acl('all\ntopic read #').forClient('u', 'c').canSubscribe('$share/g/#'), 'allow');
  });

  it('authorizes a will topic through canPublish', () => {
    const a = acl('all\npattern write clients/%c/status\n');
    assert.ok(a.forClient('u', 'c1').canPublish('clients/c1/status'));
    assert.ok(!a.forClient('u', 'c1').canPublish('clients/c2/status'));
  });

  it('answers the same with the topic cache, past its size', () => {
    const lines = ['all'];
    for (let i = 0; i < 20; i++) lines.push(`topic readwrite r${i}/+`);
    lines.push('topic deny r3/secret');
    const c = acl(lines.join('\n')).forClient('u', 'c');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 30; i++) {
        for (let j = 0; j < 30; j++) {
          const topic = `r${i}/${j}`;
          assert.equal(c.canPublish(topic), i < 20, topic);
          assert.equal(c.canRead(topic), i < 20, topic);
        }
      }
      assert.ok(!c.canPublish('r3/secret'));
      assert.ok(!c.canRead('r3/secret'));
      assert.ok(c.canRead('r4/secret'));
    }
  });
});

describe('ACL properties', () => {
  const accessArb = fc.constantFrom('read', 'write', 'readwrite', 'deny');
  const rulesArb = fc.array(fc.tuple(accessArb, filterArb), { maxLength: 12 });

  /** What the rules say about one topic, read plainly. */
  function reference(rules: [string, string][], topic: string, want: 'read' | 'write'): boolean {
    const hit = (access: string) => rules.some(([a, f]) => a === access && referenceMatch(f, topic));
    return !hit('deny') && (hit(want) || hit('readwrite'));
  }

  function build(rules: [string, string][]): ClientAcl {
    return acl(['all', ...rules.map(([access, filter]) => `topic ${access} ${filter}`)].join('\n')).forClient(
      'u',
      'c',
    );
  }

  it('canRead and canPublish follow the rules', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.array(fc.constantFrom(...TOPICS), { minLength: 1, maxLength: 20 }),
        (rules, topics) => {
          const c = build(rules);
          for (const topic of [...topics, ...topics]) {
            assert.equal(c.canRead(topic), reference(rules, topic, 'read'), topic);
            assert.equal(c.canPublish(topic), reference(rules, topic, 'write'), topic);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('canSubscribe is sound: allow means every matched topic is readable, deny that none is', () => {
    fc.assert(
      fc.property(rulesArb, filterArb, fc.boolean(), (rules, filter, shared) => {
        const c = build(rules);
        const decision = c.canSubscribe(shared ? `$share/g/${filter}` : filter);
        if (decision === 'filter') return;
        const expected = decision === 'allow';
        for (const topic of TOPICS) {
          if (referenceMatch(filter, topic))
            assert.equal(c.canRead(topic), expected, `${decision}: ${topic}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('canSubscribe allows a filter inside one read rule and away from deny rules', () => {
    fc.assert(
      fc.property(filterArb, filterArb, filterArb, (rule, filter, denied) => {
        const c = build([
          ['read', rule],
          ['deny', denied],
        ]);
        const decision = c.canSubscribe(filter);
        if (covers(rule, filter) && !intersects(denied, filter)) assert.equal(decision, 'allow');
        if (!intersects(rule, filter) || covers(denied, filter)) assert.equal(decision, 'deny');
      }),
      { numRuns: 500 },
    );
  });
});
