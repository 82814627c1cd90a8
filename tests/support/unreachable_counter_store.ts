import type { CounterStore } from "../../src/platform/counter_store.ts";

/**
 * A counter store whose backend is down: every operation rejects the way a lost
 * connection does. A failure-injection harness for fail-closed tests, not a stand-in for
 * a working store.
 */
export function unreachableCounterStore(): CounterStore {
  const down = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
  return {
    kind: "redis",
    hit: down,
    peek: down,
    reset: down,
    block: down,
    blockedUntil: down,
    cleanup: down,
    close: () => Promise.resolve(),
  };
}
