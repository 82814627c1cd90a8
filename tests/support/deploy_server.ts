/**
 * Serves src/entry/deno_deploy.ts on a loopback port for the Deploy tests, with one
 * substitution: no libSQL server can run here, so the database is an in-process
 * SQLite compiled to WebAssembly (@libsql/client-wasm), which loads under --deny-ffi
 * like the rest of the entry. Everything else is the entry's own wiring. Prints
 * `{"port":N}` once listening.
 */
import { createClient } from "@libsql/client-wasm";
import { Kysely } from "kysely";
import { libsqlDialect } from "../../src/db/libsql_dialect.ts";
import type { Database } from "../../src/db/schema.ts";
import { createDeployHandler } from "../../src/entry/deno_deploy.ts";

const handler = createDeployHandler({
  database: async () => {
    const client = createClient({ url: "file::memory:" });
    await client.execute("PRAGMA foreign_keys = ON");
    return new Kysely<Database>({ dialect: libsqlDialect(client, { local: true }) });
  },
});

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, (request, info) => handler.fetch(request, info));
