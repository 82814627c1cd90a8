/**
 * Running the migrations of migrations/mod.ts: which are applied, whether an applied one
 * changed (checksums), and applying the pending ones in order.
 */
import { sql } from "kysely";
import { type Migration, migrations as registry } from "../../migrations/mod.ts";
import type { Db } from "./schema.ts";

/** The state of one migration. */
export interface MigrationStatus {
  name: string;
  applied: boolean;
  appliedAt?: number;
  checksumOk: boolean;
}

/** A recorded migration whose code no longer matches what was applied. */
export class MigrationChecksumError extends Error {
  constructor(readonly names: string[]) {
    super(
      `Applied migration changed since it ran: ${names.join(", ")}; ` +
        "restore the original migration file and add a new migration instead",
    );
    this.name = "MigrationChecksumError";
  }
}

type Registry = ReadonlyArray<readonly [string, Migration]>;

async function checksumOf(migration: Migration): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(migration.up.toString()),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function ensureTable(db: Db): Promise<void> {
  await db.schema.createTable("citadel_migrations").ifNotExists()
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("checksum", "text", (c) => c.notNull())
    .addColumn("applied_at", "integer", (c) => c.notNull())
    .execute();
}

/** Lists every known migration with whether it ran and whether its code is unchanged. */
export async function migrationStatus(db: Db, migrations: Registry = registry) {
  await ensureTable(db);
  const applied = new Map(
    (await db.selectFrom("citadel_migrations").selectAll().execute()).map((r) => [r.name, r]),
  );
  const statuses: MigrationStatus[] = [];
  for (const [name, migration] of migrations) {
    const row = applied.get(name);
    statuses.push({
      name,
      applied: row !== undefined,
      appliedAt: row?.applied_at,
      checksumOk: row === undefined || row.checksum === await checksumOf(migration),
    });
  }
  return statuses;
}

/**
 * Applies pending migrations in order, each in its own transaction, after checking that
 * no applied migration changed. Returns the names it applied.
 */
export async function migrateUp(
  db: Db,
  options: { now?: () => number; migrations?: Registry } = {},
): Promise<string[]> {
  const migrations = options.migrations ?? registry;
  const now = options.now ?? Date.now;
  const statuses = await migrationStatus(db, migrations);
  const changed = statuses.filter((s) => !s.checksumOk).map((s) => s.name);
  if (changed.length > 0) throw new MigrationChecksumError(changed);
  const done: string[] = [];
  for (const [name, migration] of migrations) {
    if (statuses.find((s) => s.name === name)?.applied) continue;
    const checksum = await checksumOf(migration);
    await db.transaction().execute(async (trx) => {
      // A concurrent process may have applied it between our status read and now.
      const already = await trx.selectFrom("citadel_migrations").select("name")
        .where("name", "=", name).executeTakeFirst();
      if (already) return;
      await migration.up(trx);
      await trx.insertInto("citadel_migrations")
        .values({ name, checksum, applied_at: now() }).execute();
      done.push(name);
    });
  }
  return done;
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  return (await migrationStatus(db)).filter((s) => !s.applied).map((s) => s.name);
}

/** Used by tests and `check`: the list of user tables in the database. */
export async function tableNames(db: Db): Promise<string[]> {
  const rows = await sql<{ name: string }>`
    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
  `.execute(db);
  return rows.rows.map((r) => r.name);
}
