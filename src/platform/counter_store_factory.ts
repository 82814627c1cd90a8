/**
 * Building the counter store RATE_LIMIT_STORE chooses: memory, database or Redis.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "./clock.ts";
import type { CounterStore } from "./counter_store.ts";
import { databaseCounterStore } from "./counter_store_database.ts";
import { memoryCounterStore } from "./counter_store_memory.ts";
import { redisCounterStore } from "./counter_store_redis.ts";

/** Where counters live: this process, the database, or a Redis server. */
export type CounterStoreKind = "memory" | "database" | "redis";

/** The settings {@linkcode createCounterStore} reads (RATE_LIMIT_STORE, REDIS_URL). */
export interface CounterStoreSettings {
  rateLimit: { store: CounterStoreKind; redisUrl?: string };
}

/** What {@linkcode createCounterStore} builds on. */
export interface CounterStoreDeps {
  db: Db;
  clock: Clock;
}

/**
 * The counter store chosen by RATE_LIMIT_STORE: `memory` (this process), `database`
 * (every process on DATABASE_URL) or `redis` (every host on REDIS_URL; connects lazily,
 * so an unreachable server shows up as CounterStoreUnavailable on first use).
 */
export function createCounterStore(
  config: CounterStoreSettings,
  deps: CounterStoreDeps,
): CounterStore {
  const { store, redisUrl } = config.rateLimit;
  switch (store) {
    case "memory":
      return memoryCounterStore(deps.clock);
    case "database":
      return databaseCounterStore(deps.db, deps.clock);
    case "redis":
      // parseConfig requires REDIS_URL with RATE_LIMIT_STORE=redis: only the type narrows.
      return redisCounterStore({ url: redisUrl!, clock: deps.clock });
  }
}
