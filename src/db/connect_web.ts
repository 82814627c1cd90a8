/**
 * Opening a remote libSQL / Turso database through the web client, for Deno Deploy and
 * Cloudflare Workers (no native addon, no file system).
 */
import { type Client, createClient } from "@libsql/client/web";
import { Kysely } from "kysely";
import { libsqlDialect } from "./libsql_dialect.ts";
import type { Database, Db } from "./schema.ts";

/** Where the remote database is; a subset of Config. */
export interface WebConnectOptions {
  databaseUrl: string;
  databaseAuthToken?: string;
  /** Called with each statement's duration in milliseconds (see connect.ts). */
  onQuery?: (ms: number) => void;
}

/** An open remote database. */
export interface WebConnection {
  db: Db;
  client: Client;
}

const REMOTE = /^(libsql|https?|wss?):\/\/[^/]/;

/**
 * Opens a remote libSQL / Turso database (`libsql://`, `https://`, `wss://`) through the
 * web build of the client: pure JavaScript over fetch, no native addon and no
 * filesystem, as Deno Deploy and Cloudflare Workers need. The binary uses
 * `connect()` from connect.ts instead, which also opens local files.
 */
export function connectWeb(options: WebConnectOptions): WebConnection {
  const url = options.databaseUrl;
  if (!REMOTE.test(url)) {
    throw new TypeError(
      "DATABASE_URL must be a remote libsql://, https:// or wss:// URL on this platform " +
        "(local files and :memory: need the single binary)",
    );
  }
  const client = createClient({ url, authToken: options.databaseAuthToken });
  const { onQuery } = options;
  const db = new Kysely<Database>({
    dialect: libsqlDialect(client, { local: false }),
    log: onQuery && ((event) => onQuery(event.queryDurationMillis)),
  });
  return { db, client };
}
