/**
 * The registry of migrations: every step imported statically, in the order it applies, so the
 * compiled binary carries them. A new migration is one new file and one line here.
 */
// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";
import * as users from "./0001_users.ts";
import * as sessions from "./0002_sessions.ts";
import * as counters from "./0003_counters.ts";
import * as apiKeys from "./0004_api_keys.ts";
import * as audit from "./0005_audit.ts";
import * as loginHistory from "./0006_login_history.ts";
import * as signingKeys from "./0007_signing_keys.ts";
import * as mfa from "./0008_mfa.ts";
import * as email from "./0009_email.ts";
import * as consoleSessions from "./0010_console_sessions.ts";
import * as passkeys from "./0011_passkeys.ts";
import * as oauth from "./0012_oauth.ts";
import * as oauthBinding from "./0013_oauth_binding.ts";

/** One frozen schema step; never edit one that has been released. */
export interface Migration {
  up(db: Kysely<any>): Promise<void>;
}

/**
 * Every migration in the order it applies. Imported statically so the compiled binary
 * carries them and nothing is read from the source tree at run time.
 */
export const migrations: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ["0001_users", users],
  ["0002_sessions", sessions],
  ["0003_counters", counters],
  ["0004_api_keys", apiKeys],
  ["0005_audit", audit],
  ["0006_login_history", loginHistory],
  ["0007_signing_keys", signingKeys],
  ["0008_mfa", mfa],
  ["0009_email", email],
  ["0010_console_sessions", consoleSessions],
  ["0011_passkeys", passkeys],
  ["0012_oauth", oauth],
  ["0013_oauth_binding", oauthBinding],
];
