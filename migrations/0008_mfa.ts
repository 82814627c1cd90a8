/**
 * Migration 0008: the second factor: TOTP enrolments (seed as a field-encryption envelope),
 * recovery codes (keyed hashes), login challenges (hashed `mfa_token`s), the attempts the
 * per-account limit counts, the account's MFA
 * state on `users`, and how each session was authenticated (`amr`, `auth_time`). Frozen
 * once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/**
 * `users.mfa_enabled_at` and `users.recovery_codes_left` live on the user row so the hot
 * `GET /me` read (the cached user) shows them without another query; `sessions.amr` and
 * `sessions.auth_time` let a refreshed access token keep how and when the user proved who
 * they are (step-up reads `auth_time`). Seeds, codes and challenges go with their user.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("users").addColumn("mfa_enabled_at", "integer").execute();
  await db.schema.alterTable("users")
    .addColumn("recovery_codes_left", "integer", (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable("sessions").addColumn("amr", "text").execute();
  await db.schema.alterTable("sessions").addColumn("auth_time", "integer").execute();

  await db.schema.createTable("mfa_totp")
    .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("confirmed_at", "integer")
    .execute();
  // The last time step accepted for each purpose (login, reauthenticate, disable, ...): within
  // a purpose a code is accepted once and never an older one; a code typed to sign in may
  // still confirm the next operation the user does in the same 30 s.
  await db.schema.createTable("mfa_totp_steps")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("last_step", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("mfa_totp_steps_pk", ["user_id", "purpose"])
    .execute();

  await db.schema.createTable("mfa_recovery_codes")
    .addColumn("code_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("used_at", "integer")
    .execute();
  await db.schema.createIndex("mfa_recovery_codes_user_idx").on("mfa_recovery_codes")
    .column("user_id").execute();

  await db.schema.createTable("mfa_challenges")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    // Reserved before each verification, so concurrent guesses cannot exceed the limit.
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("used_at", "integer")
    .execute();
  await db.schema.createIndex("mfa_challenges_expires_idx").on("mfa_challenges")
    .column("expires_at").execute();

  // One row per verification in flight or failed, for the per-account limit over a sliding
  // window: a row is written before the code is checked and removed when it was right.
  await db.schema.createTable("mfa_attempts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("at", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("mfa_attempts_user_at_idx").on("mfa_attempts")
    .columns(["user_id", "at"]).execute();
}
