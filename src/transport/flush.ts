/**
 * One flush per event-loop turn for every link that was written to in that turn.
 *
 * Why: a PUBLISH fanned out to many subscribers, or many PUBLISHes decoded from one chunk, would
 * otherwise cost one socket write (one system call) per packet. Links mark themselves dirty on their
 * first write of a turn; a single setImmediate flushes them all after the I/O callbacks of the turn.
 *
 * Barriers: before the bytes of a turn leave, every registered barrier may return a promise to wait
 * for. A durable broker uses this to commit the turn's state changes first, so that no PUBLISH or
 * PUBREL reaches a client before the store knows of it (otherwise a crash in between would resend a
 * released QoS 2 message, or reuse a packet id the client still holds).
 */

export interface Flushable {
  flush(): void;
}

type Barrier = () => Promise<void> | undefined;

const dirty: Flushable[] = [];
const barriers = new Set<Barrier>();
let scheduled = false;

function flushBatch(batch: Flushable[]): void {
  for (const link of batch) link.flush();
}

function run(): void {
  scheduled = false;
  const batch = dirty.splice(0);
  const waits: Promise<void>[] = [];
  for (const barrier of barriers) {
    const wait = barrier();
    if (wait !== undefined) waits.push(wait);
  }
  if (waits.length === 0) flushBatch(batch);
  else
    Promise.all(waits).then(
      () => flushBatch(batch),
      () => flushBatch(batch),
    );
}

export function scheduleFlush(link: Flushable): void {
  dirty.push(link);
  if (!scheduled) {
    scheduled = true;
    setImmediate(run);
  }
}

/** Registers a barrier; returns the function that removes it. */
export function addFlushBarrier(barrier: Barrier): () => void {
  barriers.add(barrier);
  return () => barriers.delete(barrier);
}
