/**
 * A whole `migrate uuid` run in one transaction: preflight, id mapping, rebuilds,
 * verification, commit or roll back.
 */
import type { Client } from "@libsql/client";
import { ensureIdMapTable, mapTableIds } from "./id_map.ts";
import type { MigrationPlan } from "./plan.ts";
import { dropTriggersAndViews, rebuildTable, recreateObjects } from "./rebuild.ts";
import { preflight, verifyMigration } from "./verify.ts";

/** Where a run is; `done` and `total` count rows (ids mapped plus rows copied). */
export interface ProgressEvent {
  phase: "backup" | "map" | "copy" | "verify";
  table?: string;
  done: number;
  total: number;
}

/** Hooks of {@linkcode migrateToUuid}. */
export interface RunOptions {
  /**
   * Called once the write lock is held and the preflight passed, before anything changes:
   * a backup taken here holds exactly the rows that get converted. Throwing aborts the run.
   */
  afterLock?: () => Promise<void>;
  onProgress?: (event: ProgressEvent) => void;
}

/** The run was refused or rolled back; the database is as it was. */
export class MigrationError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(problems.length ? `${message}:\n  - ${problems.join("\n  - ")}` : message);
    this.name = "MigrationError";
  }
}

/** What a committed run did. */
export interface RunResult {
  converted: { table: string; rows: number }[];
  rebuilt: string[];
  rows: number;
}

async function pragma(client: Client, name: string): Promise<number> {
  return Number(Object.values((await client.execute(`PRAGMA ${name}`)).rows[0] ?? {})[0] ?? 0);
}

/**
 * Converts the planned tables to UUID v4 keys in one transaction: foreign key enforcement
 * is off for the rebuild (SQLite's 12-step procedure) and replaced by the checks of
 * {@linkcode verifyMigration} before COMMIT. Any failure rolls back, leaving the database
 * as it was, and throws {@linkcode MigrationError}.
 */
export async function migrateToUuid(
  client: Client,
  plan: MigrationPlan,
  options: RunOptions = {},
): Promise<RunResult> {
  const report = options.onProgress ?? (() => {});
  const total = plan.totalRows;
  let done = 0;
  const foreignKeys = await pragma(client, "foreign_keys");
  const legacyAlter = await pragma(client, "legacy_alter_table");
  const cacheSize = await pragma(client, "cache_size");
  // foreign_keys cannot change inside a transaction; legacy_alter_table keeps RENAME from
  // rewriting (and validating) views and triggers that are recreated afterwards anyway.
  await client.execute("PRAGMA foreign_keys = OFF");
  await client.execute("PRAGMA legacy_alter_table = ON");
  await client.execute("PRAGMA cache_size = -131072");
  await client.execute("BEGIN IMMEDIATE");
  try {
    const { problems, baseline } = await preflight(client, plan);
    if (problems.length > 0) {
      throw new MigrationError("Refusing to migrate; nothing was changed", problems);
    }
    report({ phase: "backup", done, total });
    await options.afterLock?.();
    await ensureIdMapTable(client);
    const converted: RunResult["converted"] = [];
    for (const table of plan.convert) {
      report({ phase: "map", table: table.name, done, total });
      const rows = await mapTableIds(client, table, (n) => {
        done += n;
        report({ phase: "map", table: table.name, done, total });
      });
      converted.push({ table: table.name, rows });
    }
    await dropTriggersAndViews(client, plan.schema.objects);
    for (const p of plan.rebuild) {
      report({ phase: "copy", table: p.table.name, done, total });
      await rebuildTable(client, p, (n) => {
        done += n;
        report({ phase: "copy", table: p.table.name, done, total });
      });
    }
    await recreateObjects(
      client,
      plan.schema.objects,
      new Set(plan.rebuild.map((p) => p.table.name)),
    );
    report({ phase: "verify", done, total });
    const failures = await verifyMigration(client, plan, baseline);
    if (failures.length > 0) {
      throw new MigrationError("Verification failed; rolled back", failures);
    }
    await client.execute("COMMIT");
    return { converted, rebuilt: plan.rebuild.map((p) => p.table.name), rows: done };
  } catch (error) {
    await client.execute("ROLLBACK").catch(() => {});
    if (error instanceof MigrationError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`Migration failed and was rolled back: ${message}`);
  } finally {
    await client.execute(`PRAGMA cache_size = ${cacheSize}`);
    await client.execute(`PRAGMA legacy_alter_table = ${legacyAlter}`);
    await client.execute(`PRAGMA foreign_keys = ${foreignKeys}`);
  }
}
