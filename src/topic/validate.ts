/**
 * Topic name and topic filter validation.
 *
 * Design note: validateTopicName runs for every PUBLISH, so both checks are one pass over UTF-16 char
 * codes with no regex, no split and no allocation; they stop at the first fault. The UTF-8 length is
 * summed in the same pass (a surrogate counts 2 bytes, so a pair counts the 4 its code point takes).
 * Well-formed UTF-8 itself [MQTT-1.5.4-1] is the codec's job: by the time a string reaches here it is
 * one.
 *
 * Limits: `maxLength` is checked against the whole string as it came off the wire (for a shared
 * filter, `$share/{group}/` included); `maxLevels` against the levels that are matched (for a shared
 * filter, those of the filter after the group), because that is what bounds the trie's depth.
 */

export interface TopicLimits {
  /** Most levels (one more than the number of `/`). */
  maxLevels: number;
  /** Longest string, in UTF-8 bytes. */
  maxLength: number;
}

/** Why a topic name or filter was refused: short, stable, meant for logs and MQTT 5 reason strings. */
export type TopicProblem =
  | 'empty'
  | 'null character'
  | 'wildcard in topic name'
  | "'+' not a whole level"
  | "'#' not the whole last level"
  | 'empty share name'
  | 'wildcard in share name'
  | 'no filter after share name'
  | 'too many levels'
  | 'too long';

const NUL = 0x00;
const HASH = 0x23;
const DOLLAR = 0x24;
const PLUS = 0x2b;
const SLASH = 0x2f;

const SHARE_PREFIX = '$share/';
const SHARE_PREFIX_LENGTH = SHARE_PREFIX.length;

/** UTF-8 bytes taken by a UTF-16 code unit at or above 0x80 (each half of a surrogate pair takes 2). */
function wideBytes(code: number): number {
  if (code < 0x800) return 2;
  return code >= 0xd800 && code <= 0xdfff ? 2 : 3;
}

/** Checks the topic name of a PUBLISH (or a will). Returns null when it is valid. */
export function validateTopicName(topic: string, limits: TopicLimits): TopicProblem | null {
  const length = topic.length;
  // [MQTT-4.7.3-1] Topic Names and Topic Filters MUST be at least one character long.
  if (length === 0) return 'empty';
  // Every code unit takes at least one byte, so this bounds the work done on a hostile string.
  if (length > limits.maxLength) return 'too long';
  let levels = 1;
  let bytes = 0;
  for (let i = 0; i < length; i++) {
    const code = topic.charCodeAt(i);
    if (code >= 0x80) {
      bytes += wideBytes(code);
      continue;
    }
    bytes++;
    if (code === SLASH) {
      if (++levels > limits.maxLevels) return 'too many levels';
    } else if (code === PLUS || code === HASH) {
      // [MQTT-3.3.2-2] The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters.
      return 'wildcard in topic name';
    } else if (code === NUL) {
      // [MQTT-4.7.3-2] Topic Names and Topic Filters MUST NOT include the null character (U+0000).
      return 'null character';
    }
  }
  return bytes > limits.maxLength ? 'too long' : null;
}

/** Checks a SUBSCRIBE or UNSUBSCRIBE topic filter, plain or `$share/{group}/{filter}`. Null when valid. */
export function validateTopicFilter(filter: string, limits: TopicLimits): TopicProblem | null {
  const length = filter.length;
  // [MQTT-4.7.3-1]
  if (length === 0) return 'empty';
  if (length > limits.maxLength) return 'too long';
  if (!isShared(filter)) return checkFilter(filter, 0, 0, limits);

  // MQTT 5.0 §4.8.2: the ShareName runs from after `$share/` to the next `/`, so it cannot hold one.
  let i = SHARE_PREFIX_LENGTH;
  let bytes = SHARE_PREFIX_LENGTH;
  for (; i < length; i++) {
    const code = filter.charCodeAt(i);
    if (code === SLASH) break;
    // [MQTT-4.8.2-2] The ShareName MUST NOT contain the characters "/", "+" or "#".
    if (code === PLUS || code === HASH) return 'wildcard in share name';
    if (code === NUL) return 'null character';
    bytes += code < 0x80 ? 1 : wideBytes(code);
  }
  // [MQTT-4.8.2-1] ... MUST contain a ShareName that is at least one character long.
  if (i === SHARE_PREFIX_LENGTH) return 'empty share name';
  // [MQTT-4.8.2-2] ... but MUST be followed by a "/" character. This "/" character MUST be followed by a
  // Topic Filter.
  if (i >= length - 1) return 'no filter after share name';
  return checkFilter(filter, i + 1, bytes + 1, limits);
}

/** Checks `filter` from `start` as a plain topic filter; `bytes` is the UTF-8 length of what precedes. */
function checkFilter(filter: string, start: number, bytes: number, limits: TopicLimits): TopicProblem | null {
  const length = filter.length;
  let levels = 1;
  let levelStart = start;
  for (let i = start; i < length; i++) {
    const code = filter.charCodeAt(i);
    if (code >= 0x80) {
      bytes += wideBytes(code);
      continue;
    }
    bytes++;
    if (code === SLASH) {
      if (++levels > limits.maxLevels) return 'too many levels';
      levelStart = i + 1;
    } else if (code === PLUS) {
      // [MQTT-4.7.1-3] The single-level wildcard ... MUST occupy an entire level of the filter.
      if (i !== levelStart || (i + 1 < length && filter.charCodeAt(i + 1) !== SLASH)) {
        return "'+' not a whole level";
      }
    } else if (code === HASH) {
      // [MQTT-4.7.1-2] The multi-level wildcard character MUST be specified either on its own or
      // following a topic level separator. In either case it MUST be the last character specified.
      if (i !== levelStart || i !== length - 1) return "'#' not the whole last level";
    } else if (code === NUL) {
      // [MQTT-4.7.3-2]
      return 'null character';
    }
  }
  return bytes > limits.maxLength ? 'too long' : null;
}

function isShared(filter: string): boolean {
  // Cheap reject first: almost no filter starts with `$`.
  return filter.charCodeAt(0) === DOLLAR && filter.startsWith(SHARE_PREFIX);
}

/**
 * Splits a shared subscription's filter into its group and the filter it shares; null when `filter`
 * does not start with `$share/` (it is then an ordinary filter). Does not validate: run
 * validateTopicFilter first. On a malformed `$share/group` with no second `/`, `filter` is ''.
 */
export function parseShared(filter: string): { group: string; filter: string } | null {
  if (!isShared(filter)) return null;
  const slash = filter.indexOf('/', SHARE_PREFIX_LENGTH);
  if (slash === -1) return { group: filter.slice(SHARE_PREFIX_LENGTH), filter: '' };
  return { group: filter.slice(SHARE_PREFIX_LENGTH, slash), filter: filter.slice(slash + 1) };
}
