/**
 * Local database files for the commands that copy or rewrite them: naming and opening one,
 * free-space checks, and backup file names.
 */
import { type Client, createClient } from "@libsql/client/node";
import { statfs } from "node:fs/promises";
import { databaseFilePath } from "../db/connect.ts";
import { dirname } from "../db/paths.ts";
import {
  countDifferences,
  integrityProblems,
  tableCounts,
  vacuumInto,
} from "./uuid_migration/snapshot.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";

/** A local database file named by a `file:` URL or a plain path. */
export interface DatabaseFile {
  url: string;
  path: string;
}

/** Accepts `file:` URLs and plain paths; anything else (remote, memory) is a usage error. */
export function databaseFile(input: string, option = "--database"): DatabaseFile {
  if (/^[a-z][a-z0-9+.-]*:/i.test(input) && !input.startsWith("file:")) {
    throw new ExitError(EXIT_USAGE, `${option} must be a local file database, not ${input}`);
  }
  const path = input.startsWith("file:") ? databaseFilePath(input) : input;
  if (!path) throw new ExitError(EXIT_USAGE, `${option} must name a database file`);
  return { url: `file:${path}`, path };
}

/** Opens an existing database file (never creates one), with the encryption key if any. */
export async function openExisting(file: DatabaseFile, key?: string): Promise<Client> {
  try {
    await Deno.stat(file.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ExitError(1, `Database file ${file.path} does not exist`);
    }
    throw error;
  }
  const client = createClient({ url: file.url, encryptionKey: key || undefined });
  try {
    await client.execute("SELECT count(*) FROM main.sqlite_master");
  } catch (error) {
    client.close();
    const detail = error instanceof Error ? error.message : String(error);
    throw new ExitError(
      1,
      `Cannot open ${file.path} (${detail}): not a database, or DATABASE_ENCRYPTION_KEY is wrong or missing`,
    );
  }
  return client;
}

/**
 * Free bytes for unprivileged writers on the file system holding `dir`. Deno has no statfs,
 * so this asks node:fs statfs (which Deno implements) and falls back to POSIX `df -Pk`;
 * undefined when neither is available (the caller then warns and relies on SQLite failing
 * safely: VACUUM INTO and the migration's transaction are atomic on a full disk).
 */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch { /* fall back to df */ }
  try {
    const out = await new Deno.Command("df", {
      args: ["-Pk", dir],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    const fields = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)?.split(/\s+/);
    const kib = Number(fields?.[3]);
    return out.success && Number.isFinite(kib) ? kib * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Size of a database with its WAL, the most a copy of it can need. */
export async function databaseBytes(path: string): Promise<number> {
  let total = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      total += (await Deno.stat(p)).size;
    } catch { /* no WAL */ }
  }
  return total;
}

/** Throws unless `dir` has room for `needed` bytes plus a margin of 10% and 16 MiB. */
export async function requireSpace(dir: string, needed: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  const wanted = Math.ceil(needed * 1.1) + 16 * 1024 * 1024;
  if (free === undefined) {
    console.error(`warning: cannot tell the free space in ${dir}; continuing`);
    return;
  }
  if (free < wanted) {
    throw new ExitError(
      1,
      `Not enough disk space for ${what} in ${dir}: ${mib(free)} free, ${mib(wanted)} needed`,
    );
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** UTC timestamp for file names: 20250101T120000Z. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** The default backup path: `<dir>/<name>-backup-<timestamp>.db`. */
export function backupPath(dbPath: string, dir = dirname(dbPath), date = new Date()): string {
  const base = dbPath.slice(dbPath.lastIndexOf("/") + 1).replace(/\.(db|sqlite3?)$/i, "");
  return `${dir}/${base}-backup-${fileTimestamp(date)}.db`;
}

const SQLITE_HEADER = "SQLite format 3\0";

async function startsWithSqliteHeader(path: string): Promise<boolean> {
  const file = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(16);
    const n = await file.read(head);
    return n === 16 && new TextDecoder().decode(head) === SQLITE_HEADER;
  } finally {
    file.close();
  }
}

/** Options of {@linkcode writeBackup}. */
export interface BackupOptions {
  /** Counts the copy must have; taken under the same lock when the source is frozen. */
  expectedCounts?: Map<string, number>;
}

/**
 * `VACUUM INTO` a new file created with mode 600, then proves the copy: it opens (with the
 * key, and is really encrypted when there is one), passes integrity_check and has the
 * expected row counts. A failed copy is deleted and the error thrown.
 */
export async function writeBackup(
  source: Client,
  out: string,
  key: string | undefined,
  options: BackupOptions = {},
): Promise<Map<string, number>> {
  await Deno.mkdir(dirname(out), { recursive: true, mode: 0o700 });
  // An empty file is a valid VACUUM INTO target; creating it first sets the mode atomically.
  const file = await Deno.open(out, { createNew: true, write: true, mode: 0o600 }).catch((e) => {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new ExitError(1, `Backup file ${out} already exists`);
    }
    throw e;
  });
  file.close();
  try {
    await vacuumInto(source, out);
    await Deno.chmod(out, 0o600);
    if (key && await startsWithSqliteHeader(out)) {
      throw new Error("the backup of an encrypted database is not encrypted");
    }
    const copy = createClient({ url: `file:${out}`, encryptionKey: key || undefined });
    try {
      const problems = await integrityProblems(copy);
      const counts = await tableCounts(copy);
      if (options.expectedCounts) {
        problems.push(...countDifferences(options.expectedCounts, counts));
      }
      if (problems.length > 0) throw new Error(problems.join("; "));
      return counts;
    } finally {
      copy.close();
    }
  } catch (error) {
    await Deno.remove(out).catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    throw new ExitError(1, `Backup failed verification, nothing was changed: ${message}`);
  }
}
