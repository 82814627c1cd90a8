// deno-lint-ignore-file no-explicit-any
import type { Kysely } from "kysely";
import * as users from "./0001_users.ts";
import * as sessions from "./0002_sessions.ts";

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
];
