/**
 * Whether a backup may replace the database: integrity, a citadel schema this version knows,
 * unchanged migrations and every schema object as its migrations create it.
 */
import type { Client } from "@libsql/client";
import { Kysely } from "kysely";
import { migrations as registry } from "../../migrations/mod.ts";
import { libsqlDialect } from "../db/libsql_dialect.ts";
import { migrationStatus } from "../db/migrator.ts";
import type { Database } from "../db/schema.ts";
import { describeDifference, schemaDifferences } from "./schema_drift.ts";
import { integrityProblems } from "./uuid_migration/snapshot.ts";

/** Whether a backup may replace the database, and what to tell the operator. */
export interface RestoreVerdict {
  problems: string[];
  /** Migrations this version has that the backup lacks; applied at the next start. */
  pending: string[];
}

/**
 * Checks a backup before it replaces the database: integrity_check ok, a citadel schema
 * (citadel_migrations present), no migration unknown to this version (a newer schema), no
 * migration whose recorded checksum differs from the one compiled in, and every table,
 * index, trigger and view exactly as its migrations create it (no trigger dropped or added).
 */
export async function checkRestorable(
  backup: Client,
  migrations: typeof registry = registry,
): Promise<RestoreVerdict> {
  const problems = await integrityProblems(backup);
  if (problems.length > 0) {
    return { problems: problems.map((p) => `integrity_check: ${p}`), pending: [] };
  }
  const hasTable = await backup.execute(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'citadel_migrations'",
  );
  if (hasTable.rows.length === 0) {
    return {
      problems: ["it is not a citadel database (no citadel_migrations table)"],
      pending: [],
    };
  }
  const recorded = (await backup.execute("SELECT name FROM citadel_migrations")).rows
    .map((r) => String(r.name));
  const known = new Set(migrations.map(([name]) => name));
  const unknown = recorded.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    problems.push(
      `it comes from a newer schema (migrations unknown to this version: ${unknown.join(", ")}); ` +
        "upgrade citadel first",
    );
  }
  // The table exists, so migrationStatus's CREATE TABLE IF NOT EXISTS writes nothing.
  const db = new Kysely<Database>({ dialect: libsqlDialect(backup, { local: true }) });
  const statuses = await migrationStatus(db, migrations);
  for (const s of statuses.filter((s) => !s.checksumOk)) {
    problems.push(`migration ${s.name} in the backup differs from this version's`);
  }
  for (const d of await schemaDifferences(db, migrations)) {
    problems.push(`schema: ${describeDifference(d)}`);
  }
  return { problems, pending: statuses.filter((s) => !s.applied).map((s) => s.name) };
}
