/**
 * Migration 0003: the `counters` and `blocks` tables behind RATE_LIMIT_STORE=database. Frozen
 * once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/**
 * Shared rate-limit, login-guard and path-guard counters for RATE_LIMIT_STORE=database:
 * fixed-window counters and blocks, both keyed by text and timed in epoch milliseconds.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("counters")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("count", "integer", (c) => c.notNull())
    .addColumn("reset_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("counters_reset_idx").on("counters").column("reset_at").execute();
  await db.schema.createTable("blocks")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("until", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("blocks_until_idx").on("blocks").column("until").execute();
}
