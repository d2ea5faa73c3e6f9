/**
 * A configuration file midge follows while it runs (the password file, the ACL): loaded at start,
 * loaded again when it changes, and — when a new version cannot be used — the last good one kept.
 */
import { type BigIntStats, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface WatchOptions<T> {
  /** Called with the new contents after each successful reload. */
  onChange?: (contents: T) => void;
  /** Called when a reload fails; the previous contents stay in use. */
  onError?: (err: Error) => void;
  /** How often the file's status is polled, in ms (default 1000). */
  interval?: number;
  /** Quiet time after a change before reloading, in ms (default 100), so a half-written file is not read. */
  debounce?: number;
}

/** What identifies one version of the file: which file the name points to, its size and times. */
function statKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

function errorKey(err: unknown): string {
  return `error:${(err as NodeJS.ErrnoException).code ?? String(err)}`;
}

function statKeyNow(path: string): string {
  try {
    return statKey(statSync(path, { bigint: true }));
  } catch (err) {
    return errorKey(err);
  }
}

/**
 * Keeps `current` in step with a file (the password file, the ACL): `load` reads and parses it,
 * throwing an Error that names the file and the reason when it cannot be used. It polls the path's status rather than using
 * fs.watch: polling follows the name, so editors that write a new file and rename it over the old
 * one are seen, and it behaves the same on every platform. It polls itself rather than through
 * fs.watchFile, whose first status is taken asynchronously: a change made just after start-up could
 * become that baseline and never be seen. Nothing it owns keeps the process alive.
 */
export class WatchedFile<T> {
  #current: T;
  #closed = false;
  /** The status the loaded file had (or will have had: it is taken before reading). */
  #seen: string;
  #polling = false;
  readonly #poller: NodeJS.Timeout;
  #debounce: NodeJS.Timeout | undefined;
  #loading = false;
  #again = false;

  /**
   * Watches `path`, whose users `initial` are. A change made between reading `initial` and this
   * call is not seen; `open()` has no such gap.
   */
  constructor(
    readonly path: string,
    private readonly load: (path: string) => Promise<T>,
    initial: T,
    private readonly options: WatchOptions<T> = {},
  ) {
    this.#current = initial;
    this.#seen = statKeyNow(path);
    this.#poller = setInterval(() => void this.#poll(), options.interval ?? 1000);
    this.#poller.unref();
  }

  /** Loads the file (throwing what `load` throws if it cannot be used), then watches it. */
  static async open<T>(
    path: string,
    load: (path: string) => Promise<T>,
    options: WatchOptions<T> = {},
  ): Promise<WatchedFile<T>> {
    // Status first, then content: a write in between shows as a change and is loaded again.
    const seen = statKeyNow(path);
    const contents = await load(path);
    const watcher = new WatchedFile(path, load, contents, options);
    watcher.#seen = seen;
    return watcher;
  }

  /** The contents of the last version of the file that loaded successfully. */
  get current(): T {
    return this.#current;
  }

  /** Loads the file now (SIGHUP); resolves when done, the outcome reported as for a change. */
  reload(): Promise<void> {
    return this.#reload();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poller);
    clearTimeout(this.#debounce);
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    let key: string;
    try {
      key = statKey(await stat(this.path, { bigint: true }));
    } catch (err) {
      key = errorKey(err);
    } finally {
      this.#polling = false;
    }
    if (key === this.#seen || this.#closed) return;
    this.#seen = key;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.#reload(), this.options.debounce ?? 100);
    this.#debounce.unref();
  }

  async #reload(): Promise<void> {
    // One load at a time; a change seen meanwhile loads once more afterwards, so the last write wins.
    if (this.#loading) {
      this.#again = true;
      return;
    }
    this.#loading = true;
    try {
      do {
        this.#again = false;
        let contents: T;
        try {
          contents = await this.load(this.path);
        } catch (err) {
          if (this.#closed) return;
          this.options.onError?.(err instanceof Error ? err : new Error(`${this.path}: ${String(err)}`));
          continue;
        }
        if (this.#closed) return;
        this.#current = contents;
        this.options.onChange?.(contents);
      } while (this.#again && !this.#closed);
    } finally {
      this.#loading = false;
    }
  }
}
