// The benchmark scenarios: who publishes where, who subscribes to what. QoS 0, over TCP.

export type ScenarioName = 'fan-in' | 'fan-out';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['fan-in', 'fan-out'];

export interface Scenario {
  name: ScenarioName;
  /** One line for the table notes and the README. */
  description: string;
  publishTopics: string[];
  subscribeFilters: string[];
}

/** `clients` is the "many" side of each scenario (50 by default). */
export function buildScenario(name: ScenarioName, clients: number): Scenario {
  const many = Array.from({ length: clients }, (_, i) => i);
  if (name === 'fan-in') {
    return {
      name,
      description: `${clients} publishers, each on its own topic bench/<i> → 1 subscriber on bench/#`,
      publishTopics: many.map((i) => `bench/${i}`),
      subscribeFilters: ['bench/#'],
    };
  }
  return {
    name,
    description: `1 publisher on bench/x → ${clients} subscribers of bench/x (deliveries counted across all)`,
    publishTopics: ['bench/x'],
    subscribeFilters: many.map(() => 'bench/x'),
  };
}
