/**
 * The injected clock: the real one and a manual one for tests.
 * @module
 */

/** The source of time for everything that expires or counts; injected so tests control it. */
export interface Clock {
  /** Milliseconds since the epoch, UTC. */
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests of windows and expiry. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
