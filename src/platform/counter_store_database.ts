/**
 * The counter store kept in the database (RATE_LIMIT_STORE=database), shared by every process
 * on it.
 */
import { sql } from "kysely";
import type { Db } from "../db/schema.ts";
import type { Clock } from "./clock.ts";
import { type CounterHit, type CounterStore, CounterStoreUnavailable } from "./counter_store.ts";

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new CounterStoreUnavailable(error);
  }
}

/**
 * Counters in the `counters` and `blocks` tables, shared by every process on the
 * database. Each operation is one SQL statement, so SQLite's write lock makes it atomic
 * across processes: a hit is an upsert that starts a new window in SQL when the old one
 * has ended and returns the new count.
 */
export function databaseCounterStore(db: Db, clock: Clock): CounterStore {
  return {
    kind: "database",
    hit(key, windowMs, by = 1) {
      return guarded(async () => {
        const now = clock.now();
        const row = await db.insertInto("counters")
          .values({ key, count: Math.max(0, by), reset_at: now + windowMs })
          .onConflict((conflict) =>
            conflict.column("key").doUpdateSet({
              count: sql`CASE WHEN counters.reset_at <= ${now} THEN excluded.count
                ELSE max(0, counters.count + ${by}) END`,
              reset_at: sql`CASE WHEN counters.reset_at <= ${now} THEN excluded.reset_at
                ELSE counters.reset_at END`,
            })
          )
          .returning(["count", "reset_at"])
          .executeTakeFirstOrThrow();
        return { count: Number(row.count), resetAt: Number(row.reset_at) };
      });
    },
    peek(key) {
      return guarded(async (): Promise<CounterHit> => {
        const row = await db.selectFrom("counters").select(["count", "reset_at"])
          .where("key", "=", key).where("reset_at", ">", clock.now()).executeTakeFirst();
        return row
          ? { count: Number(row.count), resetAt: Number(row.reset_at) }
          : { count: 0, resetAt: 0 };
      });
    },
    reset(key) {
      return guarded(async () => {
        await db.deleteFrom("counters").where("key", "=", key).execute();
      });
    },
    block(key, untilMs) {
      return guarded(async () => {
        await db.insertInto("blocks").values({ key, until: untilMs })
          .onConflict((conflict) =>
            conflict.column("key").doUpdateSet({ until: sql`max(blocks.until, excluded.until)` })
          )
          .execute();
      });
    },
    blockedUntil(key) {
      return guarded(async () => {
        const row = await db.selectFrom("blocks").select("until")
          .where("key", "=", key).where("until", ">", clock.now()).executeTakeFirst();
        return row ? Number(row.until) : undefined;
      });
    },
    cleanup() {
      return guarded(async () => {
        const now = clock.now();
        const counters = await db.deleteFrom("counters").where("reset_at", "<=", now)
          .executeTakeFirst();
        const blocks = await db.deleteFrom("blocks").where("until", "<=", now).executeTakeFirst();
        return Number(counters.numDeletedRows) + Number(blocks.numDeletedRows);
      });
    },
    // The database belongs to the runtime, which closes it.
    close: () => Promise.resolve(),
  };
}
