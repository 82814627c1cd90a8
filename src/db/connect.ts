/**
 * Opening the binary's database: a libSQL file (WAL, foreign keys, busy timeout, optional
 * encryption), `:memory:` or a remote URL, through the native client.
 */
import { type Client, createClient } from "@libsql/client/node";
import { Kysely } from "kysely";
import { dirname, fromFileUrl } from "./paths.ts";
import { libsqlDialect } from "./libsql_dialect.ts";
import type { Database, Db } from "./schema.ts";

/** What {@linkcode connect} needs to know; a subset of Config. */
export interface ConnectOptions {
  databaseUrl: string;
  databaseAuthToken?: string;
  databaseEncryptionKey?: string;
  /**
   * Called with each statement's duration in milliseconds, failed ones included (Kysely's
   * `log`): what the query-duration histogram observes. Unset, Kysely times nothing.
   */
  onQuery?: (ms: number) => void;
}

/** An open database: the Kysely instance and the path of its file, when it has one. */
export interface Connection {
  db: Db;
  client: Client;
  filePath?: string;
}

/** The file path behind a `file:` URL, or undefined for memory and remote databases. */
export function databaseFilePath(url: string): string | undefined {
  if (url === ":memory:" || !url.startsWith("file:")) return undefined;
  const rest = url.slice("file:".length).split("?")[0];
  if (rest === ":memory:" || rest === "") return undefined;
  return rest.startsWith("//") ? fromFileUrl(url) : rest;
}

function isLocal(url: string): boolean {
  return url === ":memory:" || url.startsWith("file:");
}

async function prepareFile(path: string): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // Create the file ourselves so it is never world-readable, not even for a moment.
    (await Deno.open(path, { create: true, write: true, mode: 0o600 })).close();
  }
}

/**
 * Opens the configured database: libSQL file (WAL, foreign keys, busy timeout, optional
 * encryption at rest), `:memory:`, or a remote libsql:// / https:// URL.
 */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const url = options.databaseUrl;
  const filePath = databaseFilePath(url);
  if (filePath) await prepareFile(filePath);
  const client = createClient({
    url: url === ":memory:" ? "file::memory:" : url,
    authToken: options.databaseAuthToken,
    encryptionKey: filePath ? options.databaseEncryptionKey : undefined,
  });
  const local = isLocal(url);
  if (local) {
    if (filePath) await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA foreign_keys = ON");
    await client.execute("PRAGMA busy_timeout = 5000");
    await client.execute("PRAGMA synchronous = NORMAL");
  }
  const { onQuery } = options;
  const db = new Kysely<Database>({
    dialect: libsqlDialect(client, { local }),
    log: onQuery && ((event) => onQuery(event.queryDurationMillis)),
  });
  return { db, client, filePath };
}
