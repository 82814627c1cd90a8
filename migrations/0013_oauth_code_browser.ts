/**
 * Migration 0013: a one-time code remembers the browser its flow was started in (the keyed hash
 * of the flow cookie), so an exchange that presents another browser's flow cookie is refused:
 * a code an attacker obtained for their own account cannot be slipped into a victim's browser
 * (login CSRF). Codes issued before it have none and are not bound. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/** `oauth_codes.browser_hash`. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("oauth_codes").addColumn("browser_hash", "text").execute();
}
