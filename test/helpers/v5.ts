/**
 * Small helpers for the MQTT 5 integration tests that use MQTT.js (`protocolVersion: 5`): reading v5
 * properties off a received packet, a message collector for several clients at once (shared
 * subscriptions, where the test cannot know in advance which member gets what), and `elapse` for the few
 * places where wall-clock time itself is under test (expiry intervals, will delay).
 */

import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { WAIT_MS } from './mqtt.js';

/** Spread into MQTT.js options: an MQTT 5 client. */
export const V5: IClientOptions = { protocolVersion: 5 };

/** The Subscription Identifiers of a received PUBLISH, sorted (their order is not significant [MQTT-3.3.4-4]). */
export function subscriptionIds(packet: IPublishPacket): number[] {
  const ids = packet.properties?.subscriptionIdentifier;
  if (ids === undefined) return [];
  return (Array.isArray(ids) ? [...ids] : [ids]).sort((a, b) => a - b);
}

/**
 * The User Properties of a received PUBLISH as a plain object (mqtt-packet builds it without a prototype,
 * which deepStrictEqual tells apart from a literal). Repeated names hold an array, in order.
 */
export function userProps(packet: IPublishPacket): Record<string, string | string[]> | undefined {
  const props = packet.properties?.userProperties;
  return props === undefined ? undefined : { ...props };
}

/**
 * Waits `ms` because the test is about time passing (an expiry, a will delay) and there is no event to
 * wait for instead. Keep these to 1-3 s.
 */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Collected {
  /** Index of the client in the array given to `collect`. */
  who: number;
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

export interface Collector {
  /** Every message any of the clients received since `collect`, in arrival order. */
  readonly all: Collected[];
  /** The payloads the client at `who` received, in order. */
  payloadsOf(who: number): string[];
  /** Resolves once at least `count` messages have arrived in total; rejects after `timeoutMs`. */
  waitForTotal(count: number, timeoutMs?: number): Promise<void>;
  /** Stops listening. */
  stop(): void;
}

/**
 * Records the messages of several MQTT.js clients together. It listens to 'message' beside the inbox of
 * test/helpers/mqtt.ts, so both see every message.
 */
export function collect(clients: readonly MqttClient[]): Collector {
  const all: Collected[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  const listeners = clients.map((client, who) => {
    const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => {
      all.push({ who, topic, payload: payload.toString(), packet });
      if (waiter && all.length >= waiter.count) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    };
    client.on('message', onMessage);
    return () => client.removeListener('message', onMessage);
  });
  return {
    all,
    payloadsOf: (who) => all.filter((m) => m.who === who).map((m) => m.payload),
    waitForTotal(count, timeoutMs = WAIT_MS) {
      if (all.length >= count) return Promise.resolve();
      if (waiter) return Promise.reject(new Error('collector: only one waitForTotal() may wait at a time'));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`collector: ${all.length} of ${count} messages within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    stop: () => {
      for (const off of listeners) off();
    },
  };
}
