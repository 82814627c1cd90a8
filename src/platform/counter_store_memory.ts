/**
 * The counter store kept in this process (RATE_LIMIT_STORE=memory).
 */
import type { Clock } from "./clock.ts";
import type { CounterHit, CounterStore } from "./counter_store.ts";

/** Counters in this process only; correct for a single process, cheap, lost on restart. */
export function memoryCounterStore(clock: Clock): CounterStore {
  const counters = new Map<string, CounterHit>();
  const blocks = new Map<string, number>();
  const live = (key: string, now: number) => {
    const entry = counters.get(key);
    if (entry && entry.resetAt > now) return entry;
    if (entry) counters.delete(key);
    return undefined;
  };
  return {
    kind: "memory",
    hit(key, windowMs, by = 1) {
      const now = clock.now();
      const entry = live(key, now) ?? { count: 0, resetAt: now + windowMs };
      entry.count = Math.max(0, entry.count + by);
      counters.set(key, entry);
      return Promise.resolve({ ...entry });
    },
    peek(key) {
      const entry = live(key, clock.now());
      return Promise.resolve(entry ? { ...entry } : { count: 0, resetAt: 0 });
    },
    reset(key) {
      counters.delete(key);
      return Promise.resolve();
    },
    block(key, untilMs) {
      blocks.set(key, Math.max(untilMs, blocks.get(key) ?? 0));
      return Promise.resolve();
    },
    blockedUntil(key) {
      const until = blocks.get(key);
      if (until === undefined) return Promise.resolve(undefined);
      if (until > clock.now()) return Promise.resolve(until);
      blocks.delete(key);
      return Promise.resolve(undefined);
    },
    cleanup() {
      const now = clock.now();
      let removed = 0;
      for (const [key, entry] of counters) {
        if (entry.resetAt <= now) removed += Number(counters.delete(key));
      }
      for (const [key, until] of blocks) if (until <= now) removed += Number(blocks.delete(key));
      return Promise.resolve(removed);
    },
    close: () => Promise.resolve(),
  };
}
