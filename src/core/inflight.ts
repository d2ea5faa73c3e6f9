/**
 * Outgoing QoS 1 and QoS 2 messages that a client has not yet fully acknowledged.
 *
 * States of one entry (MQTT 3.1.1 §4.3.2 / §4.3.3, sender side):
 *   QoS 1:  'publish' --PUBACK--> gone
 *   QoS 2:  'publish' --PUBREC--> 'pubrel' (PUBREL sent) --PUBCOMP--> gone
 * Insertion order is kept (a Map iterates in insertion order) so that a resumed session resends in the
 * order the messages were first sent [MQTT-4.6.0-1].
 * Packet identifiers are unique among the entries in use [MQTT-2.3.1-2] and never 0 [MQTT-2.3.1-1].
 */
import type { Delivery } from './queue.js';

export interface Outgoing {
  readonly packetId: number;
  readonly delivery: Delivery;
  state: 'publish' | 'pubrel';
}

const NONE: ReadonlyMap<number, Outgoing> = new Map();

export class Inflight {
  /** Made on first use: most connections of a dashboard or a sensor fleet never get a QoS 1/2 message. */
  private entries: Map<number, Outgoing> | undefined;
  private nextId = 1;

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** Takes a free packet identifier and records the delivery under it. */
  add(delivery: Delivery): Outgoing {
    this.entries ??= new Map();
    const entries = this.entries;
    let id = this.nextId;
    while (entries.has(id)) id = id === 65535 ? 1 : id + 1;
    this.nextId = id === 65535 ? 1 : id + 1;
    const entry: Outgoing = { packetId: id, delivery, state: 'publish' };
    entries.set(id, entry);
    return entry;
  }

  /** Puts back an entry restored from the store, with its packet id and state. */
  restore(packetId: number, delivery: Delivery, state: Outgoing['state']): void {
    this.entries ??= new Map();
    this.entries.set(packetId, { packetId, delivery, state });
    if (packetId >= this.nextId) this.nextId = packetId === 65535 ? 1 : packetId + 1;
  }

  get(packetId: number): Outgoing | undefined {
    return this.entries?.get(packetId);
  }

  delete(packetId: number): boolean {
    return this.entries?.delete(packetId) ?? false;
  }

  values(): IterableIterator<Outgoing> {
    return (this.entries ?? NONE).values() as IterableIterator<Outgoing>;
  }

  clear(): void {
    this.entries?.clear();
  }
}
