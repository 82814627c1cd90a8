/**
 * What a counter store is: the shared fixed-window counters and blocks behind rate limits, the
 * login guard and the path guards, and its unavailable error.
 * @module
 */

/** A fixed-window counter's state after a hit. */
export interface CounterHit {
  count: number;
  /** Epoch ms when the window ends and the count starts again from zero. */
  resetAt: number;
}

/**
 * Shared counters for rate limits, the login guard and the path guards. One store is
 * chosen by RATE_LIMIT_STORE: memory (one process), database (every process on the
 * database) or redis (every host). Every operation is atomic in its store.
 */
export interface CounterStore {
  readonly kind: "memory" | "database" | "redis";
  /**
   * Adds `by` (default 1; negative to refund) to the counter of `key` and returns the new
   * state. A window of `windowMs` starts at the first hit after the previous one ended.
   */
  hit(key: string, windowMs: number, by?: number): Promise<CounterHit>;
  /** The live state of a counter; `{count: 0, resetAt: 0}` when none. */
  peek(key: string): Promise<CounterHit>;
  /** Forgets a counter. */
  reset(key: string): Promise<void>;
  /** Marks `key` blocked until the given time (keeps the later of two blocks). */
  block(key: string, untilMs: number): Promise<void>;
  /** When the block of `key` ends, or undefined when it is not blocked. */
  blockedUntil(key: string): Promise<number | undefined>;
  /** Removes expired counters and blocks; returns how many. */
  cleanup(): Promise<number>;
  close(): Promise<void>;
}

/** Thrown when the store cannot be reached; guards turn it into a fail-closed 503. */
export class CounterStoreUnavailable extends Error {
  constructor(cause: unknown) {
    super("The counter store is unreachable", { cause });
    this.name = "CounterStoreUnavailable";
  }
}
