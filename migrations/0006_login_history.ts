/**
 * Migration 0006: the `login_history` table, the places each email has logged in from, which
 * the login guard lets through. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/**
 * Where each email has logged in successfully from (client IP key: the address, or
 * the /64 for IPv6). The login guard lets these places through when an email's global
 * failure budget is spent, so an attack on one account cannot lock its owner out.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("login_history")
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("ip_key", "text", (c) => c.notNull())
    .addColumn("last_success_at", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("login_history_pk", ["email", "ip_key"])
    .execute();
  await db.schema.createIndex("login_history_time_idx").on("login_history")
    .column("last_success_at").execute();
}
