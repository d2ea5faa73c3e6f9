/**
 * Relations between topic filters, for authorization: does a filter match a topic, does one filter
 * cover another (every topic the second matches, the first matches too), do two filters intersect
 * (some topic is matched by both). The ACL uses them to decide a SUBSCRIBE once, so that deliveries on
 * a subscription wholly inside (or wholly outside) what a client may read need no check per message.
 *
 * The relations are about real topic names, and three rules make that differ from a naive walk over
 * the levels:
 *   - `+` matches exactly one level, which may be empty; `#` matches zero or more trailing levels, so
 *     `a/#` matches `a` [MQTT-4.7.1-2];
 *   - a filter whose first level is `+` or `#` matches no topic whose name starts with `$`
 *     [MQTT-4.7.2-1]: only a literal `$…` first level reaches `$SYS`;
 *   - a topic name is at least one character long [MQTT-4.7.3-1]: the empty name, which level by
 *     level would be the one empty level `['']`, is not a topic, and neither is "no level at all"
 *     (what `#` matches with zero levels). So `+` and `#` do not match `''`, `/#` matches only what
 *     `/+/#` does, and `+/#` covers `#`, though a walk that counted those as topics would say otherwise.
 * The property tests check `covers` and `intersects` against a brute-force oracle over a small
 * alphabet, including the empty level and a `$` level, to hold these edges.
 *
 * Filters must be valid, non-shared topic filters (validate.ts; strip `$share/{group}/` first): these
 * functions do not check. The `…Levels` variants take a filter already split on `/`, so a caller that
 * asks many times splits once; `matchLevels` walks the topic name in place and allocates nothing.
 */

const DOLLAR = 0x24;

function isWildcard(level: string): boolean {
  return level === '+' || level === '#';
}

/** True when `topic` (a topic name) is matched by the filter split into `levels`. Allocates nothing. */
export function matchLevels(levels: readonly string[], topic: string): boolean {
  const count = levels.length;
  const length = topic.length;
  // [MQTT-4.7.2-1] No wildcard first level matches a topic name beginning with `$`.
  if (topic.charCodeAt(0) === DOLLAR && count > 0 && isWildcard(levels[0]!)) return false;
  // `start` is where the topic's next level begins; past the end when every level is consumed.
  let start = 0;
  for (let i = 0; i < count; i++) {
    const level = levels[i]!;
    // [MQTT-4.7.1-2] `#` matches the parent level and any number of child levels.
    if (level === '#') return true;
    if (start > length) return false;
    let end = topic.indexOf('/', start);
    if (end === -1) end = length;
    if (level !== '+' && (end - start !== level.length || !topic.startsWith(level, start))) return false;
    start = end + 1;
  }
  return start > length;
}

/** True when the topic filter `filter` matches the topic name `topic`. */
export function matches(filter: string, topic: string): boolean {
  return matchLevels(filter.split('/'), topic);
}

/**
 * `#` alone matches every topic not starting with `$`, exactly what `+/#` matches once the non-topics
 * (no level, the empty name) are set aside. Rewriting it lets the first level be decided by the rules
 * for `+` and literals only.
 */
const PLUS_HASH: readonly string[] = ['+', '#'];

function normalize(levels: readonly string[]): readonly string[] {
  return levels.length === 1 && levels[0] === '#' ? PLUS_HASH : levels;
}

/** True when every topic matched by `specific` is also matched by `general`. */
export function covers(general: string, specific: string): boolean {
  return coversLevels(general.split('/'), specific.split('/'));
}

/** `covers` on filters already split into levels. */
export function coversLevels(general: readonly string[], specific: readonly string[]): boolean {
  const g = normalize(general);
  const s = normalize(specific);
  const g0 = g[0];
  const s0 = s[0];
  if (g0 === undefined || s0 === undefined) return false;
  // After normalize, `#` is never a first level.
  if (s0 === '+') {
    // `s` reaches many first levels (all but `$…`): only `+` in `g` takes them all. Choosing a
    // non-empty one, what follows may be any suffix `s` allows.
    return g0 === '+' && coversRest(g, 1, s, 1, false);
  }
  // `s0` is a literal: `g0` must be the same literal, or `+` unless the literal starts with `$`.
  if (g0 !== s0 && !(g0 === '+' && s0.charCodeAt(0) !== DOLLAR)) return false;
  // An empty first level followed by no level is the empty name: not a topic, nothing to cover.
  return coversRest(g, 1, s, 1, s0 === '');
}

/**
 * Whether every level sequence (suffix) matched by `s` from `j` is matched by `g` from `i`, no `$`
 * rule applying past the first level. With `skipEmpty`, the empty suffix does not count.
 */
function coversRest(
  g: readonly string[],
  i: number,
  s: readonly string[],
  j: number,
  skipEmpty: boolean,
): boolean {
  for (;;) {
    const gl = g[i];
    const sl = s[j];
    if (gl === '#') return true;
    // `s` is done: it matches only the empty suffix, which `g` matches only if it is done too.
    if (sl === undefined) return skipEmpty || gl === undefined;
    if (sl === '#') {
      // `s` matches every suffix; `g` (not `#`) misses the empty one, and takes every other one only
      // as `+/#`.
      return skipEmpty && gl === '+' && g[i + 1] === '#' && g.length === i + 2;
    }
    // `s` needs one more level, `g` none.
    if (gl === undefined) return false;
    // `+` in `s` takes every value: only `+` in `g` follows. A literal in `s`: `+` or the same literal.
    if (gl !== '+' && gl !== sl) return false;
    i++;
    j++;
    skipEmpty = false;
  }
}

/** True when some topic is matched by both filters. */
export function intersects(a: string, b: string): boolean {
  return intersectsLevels(a.split('/'), b.split('/'));
}

/** `intersects` on filters already split into levels. */
export function intersectsLevels(a: readonly string[], b: readonly string[]): boolean {
  const x = normalize(a);
  const y = normalize(b);
  const x0 = x[0];
  const y0 = y[0];
  if (x0 === undefined || y0 === undefined) return false;
  let first: string | undefined;
  if (x0 === '+') {
    if (y0 !== '+') first = y0;
  } else if (y0 === '+' || y0 === x0) {
    first = x0;
  } else {
    return false;
  }
  // Two `+`: any first level will do, so a non-empty one. A literal against `+`: `+` skips `$…`.
  if (first === undefined) return intersectsRest(x, 1, y, 1, false);
  if (first.charCodeAt(0) === DOLLAR && (x0 === '+' || y0 === '+')) return false;
  // An empty first level needs at least one more level to be a topic name.
  return intersectsRest(x, 1, y, 1, first === '');
}

/**
 * Whether some suffix is matched by `a` from `i` and by `b` from `j` (no `$` rule past the first
 * level). With `needLevel`, the suffix must have at least one level.
 */
function intersectsRest(
  a: readonly string[],
  i: number,
  b: readonly string[],
  j: number,
  needLevel: boolean,
): boolean {
  for (;;) {
    const al = a[i];
    const bl = b[j];
    // `#` matches every suffix; the other side matches some suffix, a non-empty one unless it is done.
    if (al === '#') return !(needLevel && bl === undefined);
    if (bl === '#') return !(needLevel && al === undefined);
    if (al === undefined || bl === undefined) return al === bl && !needLevel;
    if (al !== '+' && bl !== '+' && al !== bl) return false;
    i++;
    j++;
    needLevel = false;
  }
}
