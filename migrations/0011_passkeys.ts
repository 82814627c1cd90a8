/**
 * Migration 0011: passkeys (WebAuthn credentials) and their ceremony challenges. A passkey's
 * credential id is unique across every user; its public key and signature counter are what
 * an assertion is checked against; a passkey whose counter went backwards (a clone) is suspended
 * for good. A challenge is stored only as a keyed hash, single-use,
 * with what it was issued for (registration, sign-in, a login's second step, step-up) and what
 * it is bound to (the session or `mfa_token` that asked). Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/** Both tables; a user's passkeys go with the user. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("passkeys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("credential_id", "text", (c) => c.notNull().unique())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("counter", "integer", (c) => c.notNull())
    .addColumn("transports", "text", (c) => c.notNull())
    .addColumn("device_type", "text", (c) => c.notNull())
    .addColumn("backed_up", "integer", (c) => c.notNull())
    .addColumn("aaguid", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("last_used_at", "integer")
    .addColumn("suspended_at", "integer")
    .execute();
  await db.schema.createIndex("passkeys_user").on("passkeys").column("user_id").execute();
  await db.schema.createTable("passkey_challenges")
    .addColumn("challenge_hash", "text", (c) => c.primaryKey())
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("user_id", "text")
    .addColumn("bound_to", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("passkey_challenges_expiry").on("passkey_challenges")
    .column("expires_at").execute();
}
