/**
 * Shared subscriptions, `$share/{group}/{filter}` (MQTT 5.0 §4.8.2, also served to 3.1.1 clients):
 * each message matching the filter goes to one member of the group.
 *
 * Choosing the member: connected members first (a message for an offline member would wait in its
 * queue while others could take it); among them round-robin (default), random, or sticky (the same
 * member while it stays connected). Only when no member is connected does an offline persistent
 * member queue it. When a member's connection goes, its unacknowledged and queued QoS 1/2 messages
 * of the group are given to another member (see BrokerCore.redistribute).
 */
import type { SharedStrategy } from '../config/schema.js';
import type { Session, SessionSubscription } from './session.js';

export class SharedGroup {
  /** Members in the order they joined. */
  readonly members: Session[] = [];
  readonly subscriptions = new Map<Session, SessionSubscription>();
  private next = 0;
  private sticky: Session | undefined;

  constructor(
    /** The whole filter as subscribed, `$share/{name}/{filter}`: the group's identity. */
    readonly key: string,
    readonly name: string,
    /** The filter after the share name, matched against topics. */
    readonly filter: string,
  ) {}

  add(session: Session, subscription: SessionSubscription): void {
    if (!this.subscriptions.has(session)) this.members.push(session);
    this.subscriptions.set(session, subscription);
  }

  /** Removes a member; true when the group is left empty. */
  remove(session: Session): boolean {
    if (this.subscriptions.delete(session)) {
      const index = this.members.indexOf(session);
      this.members.splice(index, 1);
      if (this.next > index) this.next--;
      if (this.sticky === session) this.sticky = undefined;
    }
    return this.members.length === 0;
  }

  /** The member to receive the next message, never `exclude`; undefined when there is none. */
  pick(strategy: SharedStrategy, exclude?: Session): Session | undefined {
    const members = this.members;
    const count = members.length;
    if (count === 0) return undefined;
    if (strategy === 'sticky') {
      const sticky = this.sticky;
      if (sticky !== undefined && sticky !== exclude && sticky.output !== null) return sticky;
    }
    let chosen: Session | undefined;
    if (strategy === 'random') {
      let online = 0;
      for (const member of members) if (member.output !== null && member !== exclude) online++;
      if (online > 0) {
        let n = Math.floor(Math.random() * online);
        for (const member of members) {
          if (member.output === null || member === exclude) continue;
          if (n-- === 0) {
            chosen = member;
            break;
          }
        }
      }
    } else {
      for (let i = 0; i < count; i++) {
        const index = (this.next + i) % count;
        const member = members[index]!;
        if (member.output !== null && member !== exclude) {
          chosen = member;
          this.next = (index + 1) % count;
          break;
        }
      }
    }
    if (chosen === undefined) {
      // Nobody connected: an offline persistent member queues it.
      for (let i = 0; i < count; i++) {
        const index = (this.next + i) % count;
        const member = members[index]!;
        if (member !== exclude) {
          chosen = member;
          this.next = (index + 1) % count;
          break;
        }
      }
    }
    if (strategy === 'sticky' && chosen?.output !== null) this.sticky = chosen;
    return chosen;
  }
}
