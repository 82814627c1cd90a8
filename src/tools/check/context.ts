/**
 * Gathering what `citadel check` looks at, once: environment, lenient configuration, file
 * modes, the process, the data-directory secrets, the database and the live service.
 */
import { isAbsolute, join } from "node:path";
import { type Config, ConfigError } from "../../config.ts";
import { connect, databaseFilePath } from "../../db/connect.ts";
import { tableNames } from "../../db/migrator.ts";
import { dirname } from "../../db/paths.ts";
import { parseConfigLeniently } from "./lenient_config.ts";
import { LiveProbeError, probeLive } from "./live_probe.ts";
import type { CheckContext, DatabaseFacts, DataDirSecrets, FileFacts } from "./types.ts";
import { mergeEnv, readEnvFile } from "../../platform/env_file.ts";
import {
  dataDirectory,
  pepperSource,
  readSecretFile,
  SECRET_FILES,
  secretFilePath,
} from "../../platform/secret_files.ts";

/**
 * The data-directory secrets as `serve` would resolve them, read without creating any:
 * the directory is resolved against `cwd`, where the service runs.
 */
async function dataDirSecrets(
  config: Config,
  production: boolean,
  at: (path: string) => string,
): Promise<DataDirSecrets> {
  const dir = at(dataDirectory(config));
  // pepperSource looks beside the database: point it at the resolved directory.
  const pepper = await pepperSource({
    hashPepper: config.hashPepper,
    databaseUrl: `file:${join(dir, "citadel.db")}`,
  });
  const encryptionKey = config.encryption.key ??
    (production ? undefined : await readSecretFile(join(dir, SECRET_FILES.ENCRYPTION_KEY)));
  return { pepper, pepperFile: secretFilePath(config, "HASH_PEPPER"), encryptionKey };
}

/** The check cannot run at all (unreadable configuration, unreachable URL). */
export class CheckCannotRun extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckCannotRun";
  }
}

/** Where and what to check; everything but `env` and `cwd` defaults to this process. */
export interface GatherOptions {
  /** The real environment (`.env` in `cwd` is read underneath it). */
  env: Record<string, string>;
  cwd: string;
  url?: string;
  now?: number;
  /** The user id the service runs as; default this process's. */
  uid?: number | null;
  /** The executable that runs the service; default this process's. */
  executable?: string;
  fetch?: typeof fetch;
}

/** A gathered context and how to release what it opened. */
export interface GatheredContext {
  context: CheckContext;
  close(): Promise<void>;
}

async function facts(path: string, shown = path): Promise<FileFacts> {
  try {
    const info = await Deno.stat(path);
    return {
      path: shown,
      exists: true,
      isDirectory: info.isDirectory,
      mode: info.mode ?? undefined,
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { path: shown, exists: false };
    throw error;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function logFacts(dir: string, shown: string) {
  const logDir = await facts(dir, shown);
  const logFiles: FileFacts[] = [];
  if (logDir.exists && logDir.isDirectory) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) logFiles.push(await facts(join(dir, entry.name), join(shown, entry.name)));
    }
  }
  return { logDir, logFiles: logFiles.sort((a, b) => a.path.localeCompare(b.path)) };
}

async function openDatabase(
  url: string,
  authToken: string | undefined,
  encryptionKey: string | undefined,
): Promise<{ facts?: DatabaseFacts; error?: string; close(): Promise<void> }> {
  let connection;
  try {
    connection = await connect({
      databaseUrl: url,
      databaseAuthToken: authToken,
      databaseEncryptionKey: encryptionKey,
    });
    const tables = new Set(await tableNames(connection.db));
    return { facts: { db: connection.db, tables }, close: () => connection!.db.destroy() };
  } catch (error) {
    await connection?.db.destroy().catch(() => {});
    // Reported as a finding: every check that does not need the database still runs.
    let message = reason(error);
    let password: string | undefined;
    try {
      password = decodeURIComponent(new URL(url).password);
    } catch { /* not a URL with credentials */ }
    for (const secret of [password, authToken, encryptionKey]) {
      if (secret) message = message.replaceAll(secret, "[redacted]");
    }
    return { error: message, close: () => Promise.resolve() };
  }
}

/**
 * Reads everything the checks need: `.env` and the environment, the configuration
 * (leniently), file modes, the process, the database (never created when missing) and,
 * with a URL, the live service. Throws CheckCannotRun when a part cannot be read.
 */
export async function gatherContext(options: GatherOptions): Promise<GatheredContext> {
  const { cwd } = options;
  const at = (path: string) => isAbsolute(path) ? path : join(cwd, path);
  const envFile = await readEnvFile(cwd);
  const env = mergeEnv(envFile, options.env);
  let lenient;
  try {
    lenient = parseConfigLeniently(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CheckCannotRun(`the configuration cannot be read:\n${error.message}`);
  }
  const { config } = lenient;

  const dbFile = databaseFilePath(config.databaseUrl);
  const databaseFiles: FileFacts[] = [];
  let databaseDir: FileFacts | undefined;
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  if (dbFile) {
    const main = await facts(at(dbFile), dbFile);
    databaseFiles.push(main);
    for (const suffix of ["-wal", "-shm"]) {
      const companion = await facts(at(dbFile + suffix), dbFile + suffix);
      if (companion.exists) databaseFiles.push(companion);
    }
    databaseDir = await facts(at(dirname(dbFile)), dirname(dbFile));
    if (main.exists) {
      const query = config.databaseUrl.includes("?")
        ? config.databaseUrl.slice(config.databaseUrl.indexOf("?"))
        : "";
      database = await openDatabase(
        `file:${at(dbFile)}${query}`,
        undefined,
        config.databaseEncryptionKey,
      );
    }
  } else if (config.databaseUrl !== ":memory:") {
    database = await openDatabase(config.databaseUrl, config.databaseAuthToken, undefined);
  }

  try {
    const logs = config.logDir ? await logFacts(at(config.logDir), config.logDir) : undefined;
    const live = options.url ? await probeLive(options.url, { fetch: options.fetch }) : undefined;
    const context: CheckContext = {
      env,
      config,
      configProblems: lenient.problems,
      production: lenient.production,
      now: options.now ?? Date.now(),
      files: {
        envFile: envFile ? await facts(envFile.path) : undefined,
        logDir: logs?.logDir,
        logFiles: logs?.logFiles ?? [],
        databaseFiles,
        databaseDir,
        tlsKey: config.tls.keyFile
          ? await facts(at(config.tls.keyFile), config.tls.keyFile)
          : undefined,
      },
      process: {
        uid: options.uid !== undefined ? options.uid : Deno.uid(),
        executable: await facts(options.executable ?? Deno.execPath()),
      },
      secrets: await dataDirSecrets(config, lenient.production, at),
      database: database?.facts,
      databaseError: database?.error,
      live,
    };
    return { context, close: async () => await database?.close() };
  } catch (error) {
    await database?.close();
    if (error instanceof LiveProbeError) throw new CheckCannotRun(error.message);
    throw error;
  }
}
