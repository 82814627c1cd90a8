import { sql } from "kysely";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import type { Db } from "../../src/db/schema.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { recordAudit } from "../../src/services/audit.ts";
import type { AuditEventInput } from "../../src/services/audit_events.ts";

/** A migrated libSQL database file in a fresh temporary directory. */
export interface AuditTestDb {
  db: Db;
  path: string;
  dir: string;
  clock: ManualClock;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Opens a real migrated database file; the directory is removed on dispose. */
export async function openAuditTestDb(): Promise<AuditTestDb> {
  const dir = await Deno.makeTempDir({ prefix: "citadel-audit-" });
  const path = `${dir}/audit.db`;
  const { db } = await connect({ databaseUrl: `file:${path}` });
  await migrateUp(db);
  return {
    db,
    path,
    dir,
    clock: new ManualClock(Date.UTC(2026, 0, 1)),
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A failed login as routes record it. */
export function loginFailed(n: number): AuditEventInput {
  return {
    actorType: "anonymous",
    action: "auth.login.failed",
    outcome: "failure",
    ip: `203.0.113.${n % 250}`,
    userAgent: "test-agent/1.0",
    requestId: `req-${String(n).padStart(6, "0")}`,
    details: { reason: "bad_password" },
  };
}

/** Appends `count` events, one minute apart on the test clock. */
export async function appendEvents(t: AuditTestDb, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await recordAudit(t.db, loginFailed(i), { clock: t.clock });
    t.clock.advance(60_000);
  }
}

/** Removes the append-only triggers, as an attacker with file access could. */
export async function dropAuditTriggers(db: Db): Promise<void> {
  for (const name of ["append_only_insert", "no_update", "no_delete"]) {
    await sql`DROP TRIGGER ${sql.raw(`audit_events_${name}`)}`.execute(db);
  }
}
