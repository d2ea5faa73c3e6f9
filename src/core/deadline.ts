/**
 * A timer for intervals of any length: setTimeout alone fires at once beyond 2^31-1 ms (~24.8 days),
 * and session expiry intervals go up to ~136 years. Unref'd: a pending deadline never keeps the
 * process alive.
 */
const MAX_TIMER = 2 ** 31 - 1;

export class Deadline {
  private handle: NodeJS.Timeout | undefined;

  constructor(
    private readonly at: number,
    private readonly fn: () => void,
  ) {
    this.arm();
  }

  static after(ms: number, fn: () => void): Deadline {
    return new Deadline(Date.now() + ms, fn);
  }

  private arm(): void {
    const left = this.at - Date.now();
    this.handle = setTimeout(
      () => (this.at - Date.now() > 0 ? this.arm() : this.fn()),
      Math.min(Math.max(left, 0), MAX_TIMER),
    );
    this.handle.unref();
  }

  cancel(): void {
    clearTimeout(this.handle);
  }
}
