/**
 * Migration 0013: what binds a social sign-in's one-time code to whoever started it. A code
 * remembers the browser its flow ran in (the keyed hash of the flow cookie), so an exchange
 * presenting another browser's flow cookie is refused; and, when the app sent a PKCE challenge
 * of its own at the start, that challenge, so only the app holding the verifier can exchange
 * it (an SPA or a mobile app whose redirect another app could intercept). A flow also keeps
 * the `max_age` it asked the provider for (0 for a step-up: the provider must sign the user in
 * again). Codes issued before it are not bound. Frozen once released.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";

/** `oauth_codes.browser_hash`, `oauth_flows.app_challenge` and `max_age`, `oauth_codes.app_challenge`. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("oauth_codes").addColumn("browser_hash", "text").execute();
  await db.schema.alterTable("oauth_codes").addColumn("app_challenge", "text").execute();
  await db.schema.alterTable("oauth_flows").addColumn("app_challenge", "text").execute();
  await db.schema.alterTable("oauth_flows").addColumn("max_age", "integer").execute();
}
