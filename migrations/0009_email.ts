/**
 * Migration 0009: email: `users.email_verified_at`, the outbox every message goes through
 * (written in the transaction of the change that causes it, sent by the background sender),
 * and the single-use email tokens (verification, password reset, email change, unlock),
 * stored only as keyed hashes. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/**
 * The outbox keeps a message until it was sent (`sent_at`) or gave up (`failed_at`); a
 * sender leases a row (`lease_until`) before sending, so two senders never send one message
 * and a crashed sender's lease runs out. A token row names its purpose and, for an email
 * change, the new address.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("users").addColumn("email_verified_at", "integer").execute();

  await db.schema.createTable("email_outbox")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("recipient", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("text_body", "text", (c) => c.notNull())
    .addColumn("html_body", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "integer", (c) => c.notNull())
    .addColumn("lease_until", "integer")
    .addColumn("sent_at", "integer")
    .addColumn("failed_at", "integer")
    .addColumn("last_error", "text")
    .addColumn("message_id", "text")
    .execute();
  await db.schema.createIndex("email_outbox_due_idx").on("email_outbox")
    .columns(["sent_at", "failed_at", "next_attempt_at"]).execute();

  await db.schema.createTable("email_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("new_email", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("used_at", "integer")
    .execute();
  await db.schema.createIndex("email_tokens_user_purpose_idx").on("email_tokens")
    .columns(["user_id", "purpose"]).execute();
}
