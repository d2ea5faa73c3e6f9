/**
 * The ACL file: which topics each client may publish to and subscribe to. Pure: parsing and decisions
 * only; the broker asks `forClient` once per connection and the returned ClientAcl on every PUBLISH,
 * SUBSCRIBE, will and (for some subscriptions) delivery.
 *
 * Format (UTF-8, one statement per line), close to Mosquitto's acl_file so that it reads familiar:
 *
 *   # comment                      a line whose first non-blank character is `#`
 *   topic read $SYS/#              rules before any section belong to the `anonymous` section
 *   anonymous                      section: clients that gave no username
 *   topic read public/#
 *   user alice                     section: clients with username `alice`
 *   topic readwrite sensors/alice/#
 *   topic deny sensors/alice/secret
 *   client dashboard-1             section: clients with client id `dashboard-1`
 *   topic read #
 *   all                            section: every client, with or without a username
 *   pattern readwrite devices/%c/#
 *   pattern read users/%u/inbox
 *
 * - Sections: `user NAME`, `client ID`, `anonymous`, `all`. NAME and ID are the rest of the line,
 *   trimmed (they may contain spaces), and must not be empty. A section named twice gathers the rules
 *   of both places.
 * - Rules: `topic [ACCESS] FILTER` and `pattern [ACCESS] FILTER`; ACCESS is `read`, `write`,
 *   `readwrite` or `deny`, and `readwrite` when left out (as in Mosquitto). FILTER is an MQTT topic
 *   filter (wildcards allowed, `$share/…` not), checked when the file is read; it is the rest of the
 *   line, so it may contain spaces, but then ACCESS must be written (a line `topic raed x/#` with a typo
 *   is an error, not a readwrite rule on the topic `raed x/#`). With ACCESS left out, a filter that is
 *   itself `read`, `write`, `readwrite` or `deny` cannot be written: write `topic readwrite read`.
 * - Trailing comments: a `#` preceded by a blank starts a comment, except as the first character of a
 *   filter (so `topic read #` is the filter `#`, and `topic read # x` an invalid filter). A valid filter
 *   never has a `#` after a blank anyway; a username or client id that starts with `#` or contains ` #`
 *   cannot be written.
 * - `pattern` filters substitute `%u` with the client's username and `%c` with its client id; `topic`
 *   filters are taken literally. A pattern rule does not apply to a client when a value it needs is
 *   missing (`%u` for a client without username) or empty, or contains `+`, `#` or `/` (a user named
 *   `#` must not get `users/#/inbox`), or when the substitution would make the filter start with `$`
 *   where the pattern did not (a client id `$SYS` must not turn `%c/#` into `$SYS/#`).
 * - Keywords are case-sensitive; any other keyword, a missing or unusable name or filter, or text after
 *   `anonymous` / `all` is an error: AclError, whose message is `file:line: reason`.
 *
 * Unlike Mosquitto, every rule belongs to the section it appears in, `pattern` rules included (in
 * Mosquitto, patterns apply to everyone wherever they are): put patterns for everyone under `all`.
 *
 * Semantics:
 * - A client gets the rules of `all`; of `anonymous` (with the rules before any section) if it has no
 *   username; of `user <its username>` if it has one (an empty username is a username, which no section
 *   names); of `client <its client id>`.
 * - Default deny: with an ACL configured, what no rule allows is refused. An empty file (or one with
 *   only comments) refuses everything to everyone.
 * - `deny` refuses reading and writing wherever its filter matches, whatever the order of the lines and
 *   whatever allows it elsewhere.
 * - Filters match topics as MQTT subscriptions do: `+` one level, `#` the rest (zero levels or more),
 *   and a wildcard first level does not match a topic starting with `$` [MQTT-4.7.2-1], so `#` does
 *   not give `$SYS/…`; only a rule whose filter starts with that `$` level does.
 * - A SUBSCRIBE is allowed when one read rule covers the whole filter and no deny rule touches it;
 *   refused when no read rule touches it or one deny rule covers it; otherwise granted with a check per
 *   delivery (`'filter'`). A shared subscription `$share/{group}/{filter}` is judged on its filter.
 */
import { coversLevels, intersectsLevels, matchLevels } from '../topic/filter-relations.js';
import { parseShared, type TopicLimits, validateTopicFilter } from '../topic/validate.js';

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

/** What a SUBSCRIBE gets: granted, refused, or granted with `canRead` checked on each delivery. */
export type SubscribeDecision = 'allow' | 'deny' | 'filter';

export interface AclRule {
  readonly access: AclAccess;
  /** The filter as written; for a pattern, with `%u` and `%c` still in it. */
  readonly filter: string;
  /** True for `pattern` (substitutes `%u` and `%c`), false for `topic`. */
  readonly pattern: boolean;
}

/** The rules of a file, by section. */
export interface AclSections {
  readonly all: readonly AclRule[];
  readonly anonymous: readonly AclRule[];
  readonly users: ReadonlyMap<string, readonly AclRule[]>;
  readonly clients: ReadonlyMap<string, readonly AclRule[]>;
}

export class AclError extends Error {
  constructor(
    readonly file: string,
    /** 1-based line number. */
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'AclError';
  }
}

/**
 * The MQTT limits, not the broker's: a rule longer or deeper than the broker accepts is harmless (it
 * matches nothing the broker lets through), so the file does not depend on the configuration.
 */
const LIMITS: TopicLimits = { maxLevels: 65535, maxLength: 65535 };

const DOLLAR = 0x24;

/** Above this many rules to scan, a client's answers for recent topics are remembered. */
const CACHE_FROM_RULES = 8;
/** Most topics remembered per question; the cache is emptied when full, which bounds its memory. */
const CACHE_SIZE = 256;

const ACCESS: ReadonlySet<string> = new Set<AclAccess>(['read', 'write', 'readwrite', 'deny']);

function isAccess(word: string): word is AclAccess {
  return ACCESS.has(word);
}

type Levels = readonly string[];

/** One client's rules, compiled: filters split into levels, by what they grant. */
export class ClientAcl {
  readonly #read: Levels[];
  readonly #write: Levels[];
  readonly #deny: Levels[];
  readonly #publishCache: Map<string, boolean> | undefined;
  readonly #readCache: Map<string, boolean> | undefined;

  constructor(read: Levels[], write: Levels[], deny: Levels[]) {
    this.#read = read;
    this.#write = write;
    this.#deny = deny;
    if (write.length + deny.length >= CACHE_FROM_RULES) this.#publishCache = new Map();
    if (read.length + deny.length >= CACHE_FROM_RULES) this.#readCache = new Map();
  }

  /** May the client publish to `topic` (a valid topic name)? Also the check for its will's topic. */
  canPublish(topic: string): boolean {
    return decide(this.#write, this.#deny, this.#publishCache, topic);
  }

  /** May the client receive a message on `topic` (a valid topic name)? */
  canRead(topic: string): boolean {
    return decide(this.#read, this.#deny, this.#readCache, topic);
  }

  /**
   * What a subscription to `filter` (a valid topic filter, maybe `$share/{group}/…`) gets. Sound, not
   * complete: 'allow' means `canRead` holds for every topic the filter matches, 'deny' that it holds
   * for none; 'filter' is the safe answer when this cannot tell cheaply (read rules that cover the
   * filter only together, a deny rule inside it).
   */
  canSubscribe(filter: string): SubscribeDecision {
    const shared = parseShared(filter);
    const inner = shared === null ? filter : shared.filter;
    if (inner === '') return 'deny';
    const levels = inner.split('/');
    let touched = false;
    let covered = false;
    for (const rule of this.#read) {
      if (coversLevels(rule, levels)) {
        covered = true;
        touched = true;
        break;
      }
      if (!touched && intersectsLevels(rule, levels)) touched = true;
    }
    if (!touched) return 'deny';
    let denied = false;
    for (const rule of this.#deny) {
      if (coversLevels(rule, levels)) return 'deny';
      if (!denied && intersectsLevels(rule, levels)) denied = true;
    }
    return covered && !denied ? 'allow' : 'filter';
  }
}

function anyMatch(rules: readonly Levels[], topic: string): boolean {
  for (const rule of rules) if (matchLevels(rule, topic)) return true;
  return false;
}

function decide(
  allow: readonly Levels[],
  deny: readonly Levels[],
  cache: Map<string, boolean> | undefined,
  topic: string,
): boolean {
  if (cache !== undefined) {
    const known = cache.get(topic);
    if (known !== undefined) return known;
  }
  // Allow rules first: a topic no rule allows, the common refusal, needs no look at the deny rules.
  const answer = anyMatch(allow, topic) && !anyMatch(deny, topic);
  if (cache !== undefined) {
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(topic, answer);
  }
  return answer;
}

/** A value `%u` or `%c` may stand for: something that cannot add a level or a wildcard. */
function isSafeValue(value: string | undefined): value is string {
  return (
    value !== undefined &&
    value !== '' &&
    !value.includes('/') &&
    !value.includes('+') &&
    !value.includes('#')
  );
}

/** The pattern's filter for this client, or undefined when the rule does not apply to it. */
function substitute(pattern: string, username: string | undefined, clientId: string): string | undefined {
  let refused = false;
  const filter = pattern.replace(/%[uc]/g, (token) => {
    const value = token === '%u' ? username : clientId;
    if (!isSafeValue(value)) {
      refused = true;
      return '';
    }
    return value;
  });
  if (refused) return undefined;
  // A value may not reach `$SYS` and its kind by putting a `$` first.
  if (filter.charCodeAt(0) === DOLLAR && pattern.charCodeAt(0) !== DOLLAR) return undefined;
  if (parseShared(filter) !== null || validateTopicFilter(filter, LIMITS) !== null) return undefined;
  return filter;
}

export class Acl {
  readonly #sections: AclSections;
  /** Topic filters split once here; patterns are split per client, after substitution. */
  readonly #split = new Map<string, Levels>();

  constructor(sections: AclSections) {
    this.#sections = sections;
  }

  /** Number of rules in all sections: for the start-up log. */
  get ruleCount(): number {
    const { all, anonymous, users, clients } = this.#sections;
    let count = all.length + anonymous.length;
    for (const rules of users.values()) count += rules.length;
    for (const rules of clients.values()) count += rules.length;
    return count;
  }

  /** The rules that apply to this client, compiled. Call once per connection. */
  forClient(username: string | undefined, clientId: string): ClientAcl {
    const read: Levels[] = [];
    const write: Levels[] = [];
    const deny: Levels[] = [];
    const add = (rules: readonly AclRule[] | undefined): void => {
      if (rules === undefined) return;
      for (const rule of rules) {
        let levels: Levels;
        if (rule.pattern) {
          const filter = substitute(rule.filter, username, clientId);
          if (filter === undefined) continue;
          levels = filter.split('/');
        } else {
          levels = this.#levels(rule.filter);
        }
        if (rule.access === 'deny') {
          deny.push(levels);
        } else {
          if (rule.access !== 'write') read.push(levels);
          if (rule.access !== 'read') write.push(levels);
        }
      }
    };
    const { all, anonymous, users, clients } = this.#sections;
    add(all);
    if (username === undefined) add(anonymous);
    else add(users.get(username));
    add(clients.get(clientId));
    return new ClientAcl(read, write, deny);
  }

  #levels(filter: string): Levels {
    let levels = this.#split.get(filter);
    if (levels === undefined) {
      levels = filter.split('/');
      this.#split.set(filter, levels);
    }
    return levels;
  }
}

/**
 * `text` (which starts with a non-blank, or is empty) up to a trailing comment: a `#` after a blank,
 * or at the start unless `hashFirst` (a filter may be `#`, a name may not start with one). Trimmed.
 */
function beforeComment(text: string, hashFirst: boolean): string {
  if (!hashFirst && text.charCodeAt(0) === 0x23) return '';
  for (let i = 1; i < text.length; i++) {
    if (text.charCodeAt(i) === 0x23 && /\s/.test(text.charAt(i - 1))) return text.slice(0, i).trim();
  }
  return text.trim();
}

/** Splits off the first word of `text` (which starts with a non-blank); the rest is trimmed at the start. */
function firstWord(text: string): [word: string, rest: string] {
  const match = /^(\S+)\s*(.*)$/s.exec(text);
  return match === null ? ['', ''] : [match[1]!, match[2]!];
}

/** Reads an ACL file. `file` names it in error messages. Throws AclError on the first bad line. */
export function parseAcl(text: string, file: string): Acl {
  const all: AclRule[] = [];
  const anonymous: AclRule[] = [];
  const users = new Map<string, AclRule[]>();
  const clients = new Map<string, AclRule[]>();
  let section = anonymous;

  const sectionIn = (map: Map<string, AclRule[]>, name: string): AclRule[] => {
    let rules = map.get(name);
    if (rules === undefined) {
      rules = [];
      map.set(name, rules);
    }
    return rules;
  };

  const lines = text.split(/\r\n|\n|\r/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!;
    if (index === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fail = (reason: string): never => {
      throw new AclError(file, index + 1, reason);
    };
    const [keyword, rest] = firstWord(trimmed);
    switch (keyword) {
      case 'user':
      case 'client': {
        const name = beforeComment(rest, false);
        if (name === '') fail(`'${keyword}' needs a ${keyword === 'user' ? 'username' : 'client id'}`);
        section = sectionIn(keyword === 'user' ? users : clients, name);
        break;
      }
      case 'anonymous':
      case 'all': {
        const extra = beforeComment(rest, false);
        if (extra !== '') fail(`unexpected '${extra}' after '${keyword}'`);
        section = keyword === 'all' ? all : anonymous;
        break;
      }
      case 'topic':
      case 'pattern': {
        let [word, after] = firstWord(rest);
        let access: AclAccess = 'readwrite';
        let filter: string;
        if (isAccess(word)) {
          access = word;
          filter = beforeComment(after, true);
          if (filter === '') fail(`'${keyword} ${word}' needs a topic filter`);
        } else {
          filter = beforeComment(rest, true);
          if (filter === '') fail(`'${keyword}' needs a topic filter`);
          [word, after] = firstWord(filter);
          if (after !== '') fail(`unknown access '${word}' (read, write, readwrite or deny)`);
        }
        if (parseShared(filter) !== null) fail(`'${filter}': a rule cannot name a shared subscription`);
        const problem = validateTopicFilter(filter, LIMITS);
        if (problem !== null) fail(`'${filter}' is not a valid topic filter: ${problem}`);
        section.push({ access, filter, pattern: keyword === 'pattern' });
        break;
      }
      default:
        fail(`unknown keyword '${keyword}' (user, client, anonymous, all, topic or pattern)`);
    }
  }
  return new Acl({ all, anonymous, users, clients });
}
