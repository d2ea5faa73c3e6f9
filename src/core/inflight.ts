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

export class Inflight {
  private readonly entries = new Map<number, Outgoing>();
  private nextId = 1;

  get size(): number {
    return this.entries.size;
  }

  /** Takes a free packet identifier and records the delivery under it. */
  add(delivery: Delivery): Outgoing {
    let id = this.nextId;
    while (this.entries.has(id)) id = id === 65535 ? 1 : id + 1;
    this.nextId = id === 65535 ? 1 : id + 1;
    const entry: Outgoing = { packetId: id, delivery, state: 'publish' };
    this.entries.set(id, entry);
    return entry;
  }

  /** Puts back an entry restored from the store, with its packet id and state. */
  restore(packetId: number, delivery: Delivery, state: Outgoing['state']): void {
    this.entries.set(packetId, { packetId, delivery, state });
    if (packetId >= this.nextId) this.nextId = packetId === 65535 ? 1 : packetId + 1;
  }

  get(packetId: number): Outgoing | undefined {
    return this.entries.get(packetId);
  }

  delete(packetId: number): boolean {
    return this.entries.delete(packetId);
  }

  values(): IterableIterator<Outgoing> {
    return this.entries.values();
  }

  clear(): void {
    this.entries.clear();
  }
}
