/**
 * The database liveness probe behind `/health` and `/health/ready`, kept apart from connect.ts
 * so the app does not load the native driver.
 */
import { sql } from "kysely";
import type { Db } from "./schema.ts";

/**
 * Resolves when the database answers a trivial query and rejects with the driver's error
 * otherwise, for a caller that logs why (the readiness probe).
 */
export async function assertDatabaseAnswers(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}

/**
 * True when the database answers a trivial query. Kept apart from connect.ts so the app
 * (health route) does not import the native driver on Deno Deploy and Workers.
 */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await assertDatabaseAnswers(db);
    return true;
  } catch {
    return false;
  }
}
