/**
 * Migration 0007: the `signing_keys` table, the asymmetric keys that sign access tokens
 * (JWT_ALGORITHM=EdDSA or ES256) and their life cycle, and `hs256_secrets`, when each HS256
 * secret first signed. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import { type Kysely, sql } from "kysely";

/**
 * One row per signing key: its public JWK, its private key (a field-encryption envelope,
 * never plaintext) and its state. At most one key is `current` and one is `next`, which
 * the database enforces, so two processes creating or promoting at once cannot both win.
 * With HS256 the secrets live in the configuration; `hs256_secrets` only records (by key
 * id, never the secret) when each first signed, so `check` can tell when
 * JWT_SECRET_KEY_PREVIOUS has outlived every token it signed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("algorithm", "text", (c) => c.notNull().check(sql`algorithm IN ('EdDSA', 'ES256')`))
    .addColumn(
      "state",
      "text",
      (c) => c.notNull().check(sql`state IN ('next', 'current', 'previous', 'retired')`),
    )
    .addColumn("public_jwk", "text", (c) => c.notNull())
    .addColumn("private_key", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("activated_at", "integer")
    .addColumn("deactivated_at", "integer")
    .addColumn("expires_at", "integer")
    .addColumn("retired_at", "integer")
    .execute();
  await db.schema.createIndex("signing_keys_one_per_state").unique().on("signing_keys")
    .column("state").where(sql.ref("state"), "in", ["next", "current"]).execute();
  await db.schema.createTable("hs256_secrets")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("first_signed_at", "integer", (c) => c.notNull())
    .execute();
}
