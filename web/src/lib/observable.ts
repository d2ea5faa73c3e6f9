import { useEffect, useState } from 'preact/hooks';

/** A minimal change notifier: stores bump `version` and tell their listeners. */
export class Observable {
  version = 0;
  private readonly listeners = new Set<() => void>();

  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }
}

/**
 * Re-renders the calling component when `store` changes, at most once per `throttleMs` (a store fed by
 * a busy MQTT stream changes far more often than a screen is worth redrawing). Returns the version.
 */
export function useObservable(store: Observable | null | undefined, throttleMs = 0): number {
  const [, setVersion] = useState(store?.version ?? 0);
  useEffect(() => {
    if (!store) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const update = () => {
      if (throttleMs <= 0) {
        setVersion(store.version);
        return;
      }
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        setVersion(store.version);
      }, throttleMs);
    };
    const unsubscribe = store.listen(update);
    setVersion(store.version);
    return () => {
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [store, throttleMs]);
  return store?.version ?? 0;
}

/** Re-renders every `ms` milliseconds (relative times, "since" columns). */
export function useTick(ms: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return tick;
}
