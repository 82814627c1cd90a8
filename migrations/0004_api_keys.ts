/**
 * Migration 0004: the `api_keys` table and `api_key_secrets`, the keyed hashes of each key's
 * current and rotated-out secrets. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import { type Kysely, sql } from "kysely";

/**
 * API keys and their secrets. A key has one current secret and, during a rotation
 * overlap, retired ones that still work until `retired_at`. Only keyed hashes are stored.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("scopes", "text", (c) => c.notNull().check(sql`json_valid(scopes)`))
    .addColumn("rate_limit_per_minute", "integer")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("last_used_at", "integer")
    .addColumn("last_used_ip", "text")
    .addColumn("revoked_at", "integer")
    .execute();
  await db.schema.createIndex("api_keys_user_idx").on("api_keys").column("user_id").execute();
  await db.schema.createTable("api_key_secrets")
    .addColumn("key_hash", "text", (c) => c.primaryKey())
    .addColumn(
      "api_key_id",
      "text",
      (c) => c.notNull().references("api_keys.id").onDelete("cascade"),
    )
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("retired_at", "integer")
    .execute();
  await db.schema.createIndex("api_key_secrets_key_idx").on("api_key_secrets").column(
    "api_key_id",
  ).execute();
}
