/**
 * One flush per event-loop turn for every link that was written to in that turn.
 *
 * Why: a PUBLISH fanned out to many subscribers, or many PUBLISHes decoded from one chunk, would
 * otherwise cost one socket write (one system call) per packet. Links mark themselves dirty on their
 * first write of a turn; a single setImmediate flushes them all after the I/O callbacks of the turn.
 */

export interface Flushable {
  flush(): void;
}

const dirty: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  // A flush may cause further writes (drain callbacks); they land in a later turn.
  const count = dirty.length;
  for (let i = 0; i < count; i++) dirty[i]!.flush();
  dirty.splice(0, count);
}

export function scheduleFlush(link: Flushable): void {
  dirty.push(link);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
