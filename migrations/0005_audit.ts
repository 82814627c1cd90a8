/**
 * Migration 0005: the audit log tables (hash chain, prune checkpoints, prune authorisations,
 * login networks) and the triggers that keep the chain append-only. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import { type Kysely, sql } from "kysely";

const GENESIS = "0".repeat(64);

/**
 * The tamper-evident audit log: an append-only hash chain (`seq` orders it), signed
 * checkpoints left by retention pruning, the per-transaction prune authorisation the
 * DELETE trigger looks for, and the networks each account has logged in from.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("audit_events")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("occurred_at", "integer", (c) => c.notNull())
    .addColumn(
      "actor_type",
      "text",
      (c) => c.notNull().check(sql`actor_type IN ('user', 'api_key', 'system', 'anonymous')`),
    )
    .addColumn("actor_id", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target_type", "text")
    .addColumn("target_id", "text")
    .addColumn(
      "outcome",
      "text",
      (c) => c.notNull().check(sql`outcome IN ('success', 'failure', 'denied')`),
    )
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("request_id", "text")
    .addColumn("details", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("prev_hash", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull().unique())
    .execute();
  // Two rows with one predecessor would be a fork of the chain.
  await db.schema.createIndex("audit_events_prev_hash_idx").unique().on("audit_events")
    .column("prev_hash").execute();
  for (const column of ["occurred_at", "actor_id", "action", "outcome"]) {
    await db.schema.createIndex(`audit_events_${column}_idx`).on("audit_events").column(column)
      .execute();
  }

  await db.schema.createTable("audit_checkpoints")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("pruned_before", "integer", (c) => c.notNull())
    .addColumn("first_seq", "integer", (c) => c.notNull())
    .addColumn("last_seq", "integer", (c) => c.notNull().unique())
    .addColumn("last_hash", "text", (c) => c.notNull())
    .addColumn("removed_count", "integer", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .execute();
  await db.schema.createTable("audit_prune_authorizations")
    .addColumn("up_to_seq", "integer", (c) => c.notNull())
    .execute();

  // Links each new row to the current head, so no writer can fork or skip the chain.
  await sql`
    CREATE TRIGGER audit_events_append_only_insert BEFORE INSERT ON audit_events
    WHEN NEW.seq IS NOT COALESCE(
        (SELECT MAX(seq) FROM audit_events),
        (SELECT MAX(last_seq) FROM audit_checkpoints), 0) + 1
      OR NEW.prev_hash IS NOT COALESCE(
        (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
        (SELECT last_hash FROM audit_checkpoints ORDER BY last_seq DESC LIMIT 1),
        ${sql.lit(GENESIS)})
    BEGIN SELECT RAISE(ABORT, 'audit_events: new row does not extend the chain head'); END
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
  `.execute(db);
  // Deletion is allowed only for rows covered by an authorisation row, which
  // `citadel audit prune` inserts and removes inside its own transaction.
  await sql`
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_authorizations WHERE OLD.seq <= up_to_seq)
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only; use citadel audit prune'); END
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END
  `.execute(db);

  await db.schema.createTable("login_networks")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("network", "text", (c) => c.notNull())
    .addColumn("first_seen_at", "integer", (c) => c.notNull())
    .addColumn("last_seen_at", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("login_networks_pk", ["user_id", "network"])
    .execute();
}
