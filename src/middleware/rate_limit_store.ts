/**
 * The adapter that lets hono-rate-limiter keep its counters in citadel's counter store.
 */
import type { ClientRateLimitInfo, Store } from "hono-rate-limiter";
import type { AppEnv } from "../app_types.ts";
import {
  type CounterHit,
  type CounterStore,
  CounterStoreUnavailable,
} from "../platform/counter_store.ts";

function toInfo(hit: CounterHit): ClientRateLimitInfo {
  return { totalHits: hit.count, resetTime: new Date(hit.resetAt) };
}

function unavailable(error: unknown): never {
  throw error instanceof CounterStoreUnavailable ? error : new CounterStoreUnavailable(error);
}

/**
 * Adapts a {@linkcode CounterStore} to hono-rate-limiter's `Store`, so its limits are
 * shared by every process (database) or host (redis) like the other guards.
 *
 * `prefix` keeps each policy's counters apart in the shared store. The window comes from
 * the limiter's `windowMs` through `init`. Failures surface as
 * {@linkcode CounterStoreUnavailable}.
 */
export function counterStoreAdapter(counters: CounterStore, prefix: string): Store<AppEnv> {
  let windowMs = 60_000;
  return {
    prefix,
    localKeys: counters.kind === "memory",
    init(options) {
      windowMs = options.windowMs;
    },
    get(key) {
      return counters.peek(prefix + key).then(
        (hit) => hit.count > 0 ? toInfo(hit) : undefined,
        unavailable,
      );
    },
    increment(key) {
      return counters.hit(prefix + key, windowMs).then(toInfo, unavailable);
    },
    decrement(key) {
      return counters.hit(prefix + key, windowMs, -1).then(() => {}, unavailable);
    },
    resetKey(key) {
      return counters.reset(prefix + key).catch(unavailable);
    },
  };
}
