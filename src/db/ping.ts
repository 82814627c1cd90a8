/**
 * The database liveness probe behind `/health`, kept apart from connect.ts so the app does not
 * load the native driver.
 */
import { sql } from "kysely";
import type { Db } from "./schema.ts";

/**
 * True when the database answers a trivial query. Kept apart from connect.ts so the app
 * (health route) does not import the native driver on Deno Deploy and Workers.
 */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
