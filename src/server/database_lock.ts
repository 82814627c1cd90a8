/**
 * The lock that keeps commands which replace or rewrite a database file away from a
 * running server. Without it a restore moves the file a server still has open aside, and
 * the server's later writes go to the replaced file: they are lost.
 *
 * `citadel serve` holds a shared flock on `<db>.lock` for its lifetime (several servers may
 * share a database; `--workers` run inside the one process that holds it). `restore` and
 * `migrate uuid` take it exclusively for their whole run, so they refuse while any server
 * holds it, and a server refuses to start while they run. The operating system releases a
 * flock when its process ends, a crash included, so a stale lock never stays behind; the
 * empty lock file itself does (removing it would race with a process about to lock it).
 */
import { databaseFilePath } from "../db/connect.ts";
import { dirname } from "../db/paths.ts";
import { ExitError } from "../lib/exit_error.ts";

/** A held lock; disposing of it (or the process ending) releases it. */
export interface DatabaseLock {
  [Symbol.dispose](): void;
}

/** The lock file of a database file: `<db>.lock`, beside it. */
export function lockPathOf(dbPath: string): string {
  return `${dbPath}.lock`;
}

/** Opens (creating with mode 600) the lock file and tries the lock without waiting. */
async function tryLock(dbPath: string, exclusive: boolean): Promise<DatabaseLock | undefined> {
  await Deno.mkdir(dirname(dbPath), { recursive: true, mode: 0o700 });
  const file = await Deno.open(lockPathOf(dbPath), { create: true, write: true, mode: 0o600 });
  if (await file.tryLock(exclusive)) return { [Symbol.dispose]: () => file.close() };
  file.close();
  return undefined;
}

/**
 * Taken by `citadel serve` for its lifetime on a file database (nothing for memory or
 * remote ones). Throws ExitError(1) while a restore or `migrate uuid` holds the database.
 */
export async function holdServingLock(databaseUrl: string): Promise<DatabaseLock | undefined> {
  const path = databaseFilePath(databaseUrl);
  if (!path) return undefined;
  const lock = await tryLock(path, false);
  if (lock) return lock;
  throw new ExitError(
    1,
    `citadel serve: ${path} is being restored or migrated by another citadel command ` +
      `(it holds ${lockPathOf(path)}); start the server again when that command has finished`,
  );
}

/**
 * Taken by a command that replaces or rewrites the database file at `dbPath` for its whole
 * run. Throws ExitError(1), saying to stop the server, while any `citadel serve` uses it.
 */
export async function lockOutServers(dbPath: string, command: string): Promise<DatabaseLock> {
  const lock = await tryLock(dbPath, true);
  if (lock) return lock;
  throw new ExitError(
    1,
    `${command}: a citadel server is using ${dbPath} (it holds ${lockPathOf(dbPath)}); ` +
      `stop the server (every \`citadel serve\` on this database), then run ${command} again; ` +
      "nothing was changed",
  );
}
