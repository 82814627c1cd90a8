// Serves the bundled Worker (./dist) in Miniflare, i.e. workerd as Cloudflare runs it,
// with an in-memory local D1 bound as DB, on a loopback port. Prints one JSON line
// {"url": "http://127.0.0.1:PORT"} when ready and serves until SIGINT/SIGTERM.
//
// node miniflare_server.mjs [--dist <dir>] [--migrations <dir>] [--vars <json>] [--port N]
//
// --migrations applies every NNNN_*.sql file of the directory to the empty D1 first,
// in name order, as `wrangler d1 migrations apply --local` would. --vars are the
// Worker's vars and secrets (JSON object of strings).
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";

// Loaded with require so Deno's type check of scripts/ does not try to resolve this
// npm package, which lives in this directory's node_modules, not in deno.json.
const require = createRequire(import.meta.url);
const { Miniflare } = require("miniflare");

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    dist: { type: "string", default: join(here, "dist") },
    migrations: { type: "string" },
    vars: { type: "string", default: "{}" },
    port: { type: "string", default: "0" },
  },
  strict: true,
});

const dist = resolve(values.dist);
const wasm = (await readdir(dist)).filter((f) => f.endsWith(".wasm"));
const mf = new Miniflare({
  modulesRoot: dist,
  modules: [
    { type: "ESModule", path: join(dist, "worker.js") },
    ...wasm.map((f) => ({ type: "CompiledWasm", path: join(dist, f) })),
  ],
  compatibilityDate: "2024-09-23",
  d1Databases: { DB: "citadel-local" },
  bindings: JSON.parse(values.vars),
  host: "127.0.0.1",
  port: Number(values.port),
});

/**
 * Splits a migration file into statements: each ends with `;` at the end of a line,
 * which is how export_migrations.ts writes them (trigger bodies end in `END;`).
 */
function statements(sqlText) {
  const withoutComments = sqlText.split("\n").filter((l) => !l.startsWith("--")).join("\n");
  return withoutComments.split(/;\s*\n/).map((s) => s.trim()).filter((s) => s !== "");
}

if (values.migrations) {
  const db = await mf.getD1Database("DB");
  const dir = resolve(values.migrations);
  for (const file of (await readdir(dir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()) {
    const sqlText = await readFile(join(dir, file), "utf8");
    await db.batch(statements(sqlText).map((s) => db.prepare(s)));
  }
}

const url = await mf.ready;
console.log(JSON.stringify({ url: url.origin }));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
