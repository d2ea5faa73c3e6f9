import type { ConfigInput } from '../../src/config/schema.js';
import { type Broker, type BrokerOptions, createBroker, type ListenerAddress } from '../../src/index.js';

export interface TestBroker {
  broker: Broker;
  port: number;
  /** mqtt://127.0.0.1:PORT */
  url: string;
  /** Every listener's bound address, in the order of `listeners`. */
  addresses: ListenerAddress[];
  close(): Promise<void>;
}

/** Starts a broker on a free loopback port with logging off; `overrides` change any config key, `options` give hooks. */
export async function startBroker(
  overrides: ConfigInput = {},
  options: BrokerOptions = {},
): Promise<TestBroker> {
  const broker = createBroker(
    {
      logLevel: 'silent',
      sysInterval: 0,
      store: 'memory',
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      ...overrides,
    },
    options,
  );
  const addresses = await broker.listen();
  const port = addresses[0]?.port;
  if (port === undefined) throw new Error('broker opened no listener');
  return { broker, port, url: `mqtt://127.0.0.1:${port}`, addresses, close: () => broker.close() };
}
