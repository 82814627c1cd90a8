/**
 * The `citadel backup` and `citadel restore` commands: a verified online copy of the database,
 * and putting one back while no server uses it.
 */
import { createClient } from "@libsql/client/node";
import { parseArgs } from "node:util";
import { dirname } from "../db/paths.ts";
import { integrityProblems } from "../tools/uuid_migration/snapshot.ts";
import { checkRestorable } from "../tools/backup_checks.ts";
import { confirm } from "./confirm.ts";
import { lockOutServers } from "../server/database_lock.ts";
import {
  backupPath,
  databaseBytes,
  type DatabaseFile,
  databaseFile,
  fileTimestamp,
  openExisting,
  requireSpace,
  writeBackup,
} from "../tools/database_file.ts";
import { loadConfig } from "./load_config.ts";
import { badArgument, usageError } from "./usage_error.ts";
import { pathExists } from "../platform/path_exists.ts";

/** Usage of `citadel backup`, printed by `--help` and after a usage error. */
export const BACKUP_USAGE = `usage: citadel backup [--out FILE]

Writes a verified copy of the database (VACUUM INTO, mode 600, encrypted when the
database is), by default beside it as <name>-backup-<UTC>.db.`;

/** Usage of `citadel restore`, printed by `--help` and after a usage error. */
export const RESTORE_USAGE = `usage: citadel restore FILE [--yes]

Verifies the backup FILE, then replaces the database with it (the replaced files are kept).
Asks on a terminal; elsewhere needs --yes. Refuses while a server uses the database.`;

async function configuredFile(): Promise<{ file: DatabaseFile; key?: string }> {
  const config = await loadConfig();
  return {
    file: databaseFile(config.databaseUrl, "DATABASE_URL"),
    key: config.databaseEncryptionKey,
  };
}

/** `citadel backup [--out file]`: an online, consistent, verified copy (mode 600). */
export async function backup(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { out: { type: "string" } } });
  const { file, key } = await configuredFile();
  const client = await openExisting(file, key);
  try {
    const out = values.out ?? backupPath(file.path);
    await Deno.mkdir(dirname(out), { recursive: true, mode: 0o700 });
    await requireSpace(dirname(out), await databaseBytes(file.path), "the backup");
    const counts = await writeBackup(client, out, key);
    const rows = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `backup written and verified: ${out} (${counts.size} tables, ${rows} rows, ` +
        `${key ? "encrypted" : "not encrypted"})`,
    );
    return 0;
  } finally {
    client.close();
  }
}

/** Folds the WAL into the database file so the file alone holds every committed row. */
async function checkpoint(file: DatabaseFile, key?: string): Promise<void> {
  if (!await pathExists(`${file.path}-wal`)) return;
  const client = createClient({ url: file.url, encryptionKey: key || undefined });
  try {
    await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch {
    /* the WAL moves aside with the file below */
  } finally {
    client.close();
  }
}

/** Moves the database and its journal files aside; returns the undo step. */
async function moveAside(path: string, aside: string): Promise<() => Promise<void>> {
  const moved: [string, string][] = [];
  for (const suffix of ["", "-wal", "-journal"]) {
    if (!await pathExists(path + suffix)) continue;
    await Deno.rename(path + suffix, aside + suffix);
    moved.push([path + suffix, aside + suffix]);
  }
  await Deno.remove(`${path}-shm`).catch(() => {});
  return async () => {
    for (const [from, to] of moved.reverse()) await Deno.rename(to, from);
  };
}

/**
 * `citadel restore <file> [--yes]`: refuses while a server uses the database, verifies the
 * backup (integrity, schema version, schema objects), then replaces the database with it,
 * keeping the replaced files as `<db>.replaced-<timestamp>`.
 */
export async function restore(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { yes: { type: "boolean", short: "y", default: false } },
  });
  if (positionals.length > 1) throw badArgument("restore", positionals[1], RESTORE_USAGE);
  if (positionals.length === 0) {
    throw usageError("restore", "a backup FILE is required", RESTORE_USAGE);
  }
  const { file: target, key } = await configuredFile();
  // Held until the restore ends: a server starting meanwhile refuses instead of opening
  // a file that is about to be moved aside.
  using _lock = await lockOutServers(target.path, "citadel restore");
  const source = databaseFile(positionals[0], "backup file");
  const backupClient = await openExisting(source, key);
  try {
    const verdict = await checkRestorable(backupClient);
    if (verdict.problems.length > 0) {
      console.error(`citadel restore: refusing ${source.path}:`);
      for (const p of verdict.problems) console.error(`  - ${p}`);
      return 1;
    }
    if (verdict.pending.length > 0) {
      console.log(`note: ${verdict.pending.length} newer migrations apply at the next start`);
    }
  } finally {
    backupClient.close();
  }
  const question = `Replace ${target.path} with ${source.path}? Stop citadel first.`;
  if (!confirm(question, { yes: values.yes })) {
    console.error("Aborted; nothing was changed");
    return 1;
  }
  await Deno.mkdir(dirname(target.path), { recursive: true, mode: 0o700 });
  await requireSpace(dirname(target.path), await databaseBytes(source.path), "the restore");
  const stamp = fileTimestamp();
  const staged = `${target.path}.restore-${stamp}.tmp`;
  await Deno.copyFile(source.path, staged);
  await Deno.chmod(staged, 0o600);
  let undo: (() => Promise<void>) | undefined;
  let placed = false;
  const aside = `${target.path}.replaced-${stamp}`;
  try {
    if (await pathExists(target.path)) {
      await checkpoint(target, key);
      undo = await moveAside(target.path, aside);
    }
    await Deno.rename(staged, target.path);
    placed = true;
    const restored = await openExisting(target, key);
    try {
      const problems = await integrityProblems(restored);
      if (problems.length > 0) throw new Error(`restored database: ${problems.join("; ")}`);
    } finally {
      restored.close();
    }
  } catch (error) {
    await Deno.remove(staged).catch(() => {});
    if (placed) await Deno.remove(target.path).catch(() => {});
    await undo?.();
    throw error;
  }
  console.log(`restored ${target.path} from ${source.path}`);
  if (undo) console.log(`the replaced database is kept at ${aside}`);
  return 0;
}
