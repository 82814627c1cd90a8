/**
 * Migration 0010: console sessions. A web-console sign-in is a row of `sessions` (so
 * everything that revokes sessions ends it) plus this row: the keyed hash of the
 * `__Host-` cookie's token, the console's own absolute expiry and idle timeout, and the
 * last request it made. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/** The console session's cookie token is stored only as a keyed hash. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("console_sessions")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn(
      "session_id",
      "text",
      (c) => c.notNull().unique().references("sessions.id").onDelete("cascade"),
    )
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("last_seen_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("idle_ms", "integer", (c) => c.notNull())
    .execute();
}
