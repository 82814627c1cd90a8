/**
 * Migration 0002: the `sessions` and `refresh_tokens` tables, one session per login with every
 * refresh token it was given. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/**
 * Sessions (one per login) and their refresh tokens. A rotated token keeps its row,
 * so reuse of an old token can be detected and revoke the whole session.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    // No foreign key: a deleted user's revoked sessions stay as tombstones until cleanup,
    // so every process still sees the revocation.
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("last_used_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("revoked_at", "integer")
    .addColumn("revoke_reason", "text")
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .execute();
  await db.schema.createIndex("sessions_user_idx").on("sessions").column("user_id").execute();
  await db.schema.createIndex("sessions_revoked_idx").on("sessions").column("revoked_at").execute();
  await db.schema.createTable("refresh_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn(
      "session_id",
      "text",
      (c) => c.notNull().references("sessions.id").onDelete("cascade"),
    )
    .addColumn("issued_at", "integer", (c) => c.notNull())
    .addColumn("rotated_at", "integer")
    .execute();
  await db.schema.createIndex("refresh_tokens_session_idx").on("refresh_tokens").column(
    "session_id",
  ).execute();
}
