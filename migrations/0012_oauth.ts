/**
 * Migration 0012: social sign-in. A provider identity (provider + subject, unique) belongs to
 * one user and goes with the user; its provider tokens are kept only when the operator asks,
 * then as one encrypted field. A flow in progress is stored by the keyed hash of its `state`,
 * bound to the browser that started it (the keyed hash of a cookie) and lives ten minutes; a
 * one-time code handed back to the app (a login, or the proof behind a link) is stored by its
 * keyed hash. A second step started by another first factor remembers it, so the session's
 * `amr` says what was used. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/** The three tables and the first factor of a pending second step. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("oauth_identities")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("email", "text")
    .addColumn("email_verified", "integer", (c) => c.notNull())
    .addColumn("tokens", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("last_used_at", "integer")
    .addUniqueConstraint("oauth_identities_provider_subject", ["provider", "subject"])
    .execute();
  await db.schema.createIndex("oauth_identities_user").on("oauth_identities")
    .column("user_id").execute();
  await db.schema.createTable("oauth_flows")
    .addColumn("state_hash", "text", (c) => c.primaryKey())
    .addColumn("browser_hash", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("code_verifier", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("redirect_to", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("oauth_flows_expiry").on("oauth_flows")
    .column("expires_at").execute();
  await db.schema.createTable("oauth_codes")
    .addColumn("code_hash", "text", (c) => c.primaryKey())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("email", "text")
    .addColumn("email_verified", "integer", (c) => c.notNull())
    .addColumn("name", "text")
    .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
    .addColumn("tokens", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("oauth_codes_expiry").on("oauth_codes")
    .column("expires_at").execute();
  await db.schema.alterTable("mfa_challenges").addColumn("first_factor", "text").execute();
}
