/**
 * Filter-against-topic cases shared by the subscription trie and the topic tree tests: both must
 * decide each one the same way.
 */

export type MatchCase = [filter: string, topic: string, matches: boolean];

export const MATCH_CASES: MatchCase[] = [
  // MQTT 3.1.1 §4.7.1.2 (multi-level wildcard), the spec's own example.
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/tennis/player1/#', 'sport/tennis', false],
  ['sport/tennis/player1/#', 'sport/tennis/player2', false],
  ['sport/#', 'sport', true], // `#` matches the parent level [MQTT-4.7.1-2]
  ['#', 'sport', true],
  ['#', 'sport/tennis/player1', true],
  ['#', '/', true],
  // §4.7.1.3 (single-level wildcard).
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true], // `+` matches an empty level
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+', 'finance', true],
  ['+/tennis/#', 'sport/tennis/player1', true],
  ['+/tennis/#', 'sport/tennis', true],
  ['+/tennis/#', 'sport/golf', false],
  ['sport/+/player1', 'sport/tennis/player1', true],
  ['sport/+/player1', 'sport/tennis/player2', false],
  // §4.7.2 ($-topics) [MQTT-4.7.2-1].
  ['#', '$SYS/monitor/Clients', false],
  ['#', '$SYS', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['+', '$SYS', false],
  ['+/#', '$SYS/x', false],
  ['$SYS/#', '$SYS/monitor/Clients', true],
  ['$SYS/#', '$SYS', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['$SYS/+/Clients', '$SYS/monitor/Clients', true],
  ['$SYS', '$SYS', true],
  // `$` only matters in the first level.
  ['a/#', 'a/$x', true],
  ['a/+', 'a/$x', true],
  ['+/$x', 'a/$x', true],
  ['#', 'a$', true],
  ['+', 'a$', true],
  // Case-sensitive (§4.7.3), and no normalization when matching [MQTT-4.7.3-4].
  ['Sport', 'sport', false],
  ['sport/#', 'SPORT/tennis', false],
  ['ACCOUNTS', 'ACCOUNTS', true],
  // Empty levels are real levels.
  ['a//b', 'a//b', true],
  ['a/b', 'a//b', false],
  ['a/+/b', 'a//b', true],
  ['/a', '/a', true],
  ['/a', 'a', false],
  ['a', '/a', false],
  ['+/a', '/a', true],
  ['/#', '/a/b', true],
  ['/#', '/', true],
  ['/#', 'a', false],
  ['/', '/', true],
  ['+/+', '/', true],
  ['+', '/', false],
  ['a/', 'a/', true],
  ['a/', 'a', false],
  ['a/#', 'a/', true],
  ['+/#', '/', true],
  ['+/#', 'a', true],
  ['+/+/#', 'a', false],
  // Exact.
  ['a/b/c', 'a/b/c', true],
  ['a/b/c', 'a/b', false],
  ['a/b', 'a/b/c', false],
  ['a/+/c', 'a/b/d', false],
];
