/**
 * Migration 0001: the `users` table (UUID keys, unique normalised email, role and status
 * checks) and its role and creation-order indexes. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import { type Kysely, sql } from "kysely";

/** Users with UUID keys, normalised unique email and an argon2id (or legacy) hash. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey().check(sql`length(id) = 36`))
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("username", "text", (c) => c.unique())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("name", "text")
    .addColumn(
      "role",
      "text",
      (c) => c.notNull().defaultTo("user").check(sql`role IN ('user', 'admin', 'super_admin')`),
    )
    .addColumn(
      "status",
      "text",
      (c) => c.notNull().defaultTo("active").check(sql`status IN ('active', 'disabled')`),
    )
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("updated_at", "integer", (c) => c.notNull())
    .addColumn("last_login_at", "integer")
    .execute();
  await db.schema.createIndex("users_role_idx").on("users").column("role").execute();
  await db.schema.createIndex("users_created_idx").on("users").columns(["created_at", "id"])
    .execute();
}
