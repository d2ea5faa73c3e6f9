// The benchmark scenarios: who publishes where, who subscribes to what, at which QoS. Over TCP.

export type ScenarioName = 'fan-in' | 'fan-out' | 'qos1-pairs';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['fan-in', 'fan-out', 'qos1-pairs'];

export interface Scenario {
  name: ScenarioName;
  /** One line for the table notes and the README. */
  description: string;
  publishTopics: string[];
  subscribeFilters: string[];
  qos: 0 | 1;
  /**
   * Subscribers keep sessions that outlive their connection, and the brokers run with their
   * persistence on (midge also once per store configuration): see brokers.ts.
   */
  durable: boolean;
}

/** `clients` is the "many" side of each scenario (50 by default); `window` the QoS 1 window. */
export function buildScenario(name: ScenarioName, clients: number, window: number): Scenario {
  const many = Array.from({ length: clients }, (_, i) => i);
  if (name === 'fan-in') {
    return {
      name,
      description: `${clients} publishers, each on its own topic bench/<i> → 1 subscriber on bench/#`,
      publishTopics: many.map((i) => `bench/${i}`),
      subscribeFilters: ['bench/#'],
      qos: 0,
      durable: false,
    };
  }
  if (name === 'fan-out') {
    return {
      name,
      description: `1 publisher on bench/x → ${clients} subscribers of bench/x (deliveries counted across all)`,
      publishTopics: ['bench/x'],
      subscribeFilters: many.map(() => 'bench/x'),
      qos: 0,
      durable: false,
    };
  }
  return {
    name,
    description:
      `${clients} pairs at QoS 1: publisher i → pairs/i → subscriber i (Clean Session 0, fixed client ` +
      `id, PUBACKs every PUBLISH); each publisher keeps ${window} PUBLISHes unacknowledged`,
    publishTopics: many.map((i) => `pairs/${i}`),
    subscribeFilters: many.map((i) => `pairs/${i}`),
    qos: 1,
    durable: true,
  };
}
