/**
 * Writes one D1 migration file per citadel migration, in the format of
 * `wrangler d1 migrations apply` (scripts/deploy/cloudflare/migrations/NNNN_name.sql).
 *
 * `deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys
 *  scripts/deploy/cloudflare/export_migrations.ts [--out <dir>]`
 *
 * Each migration is applied, one at a time and through the real migrator, to a fresh
 * in-memory libSQL database while every statement is captured; the file holds the
 * statements that changed the database (reads and transaction control are dropped, bound
 * values inlined as SQL literals), ending with the `citadel_migrations` row the Worker
 * checks on start-up. A migration whose statements depend on rows read in TypeScript would
 * not be reproduced faithfully; citadel's migrations are schema-only SQL.
 */
import { createClient } from "@libsql/client/node";
import { type CompiledQuery, Kysely } from "kysely";
import { parseArgs } from "node:util";
import { migrations } from "../../../migrations/mod.ts";
import { libsqlDialect } from "../../../src/db/libsql_dialect.ts";
import { migrateUp } from "../../../src/db/migrator.ts";
import type { Database } from "../../../src/db/schema.ts";

/** Stands for the time of application; replaced by SQL that reads the clock in D1. */
const APPLIED_AT = -7_777_777;
const NOW_SQL = "CAST(strftime('%s', 'now') AS INTEGER) * 1000";
const DROPPED = /^\s*(select|begin|commit|rollback|pragma)\b/i;

function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (value === APPLIED_AT) return NOW_SQL;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  if (value instanceof Uint8Array) {
    return `X'${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}'`;
  }
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** Replaces each `?` outside quoted text and identifiers with its value as a literal. */
export function inlineParameters(query: Pick<CompiledQuery, "sql" | "parameters">): string {
  let out = "";
  let quote: string | undefined;
  let next = 0;
  for (const char of query.sql) {
    if (quote) {
      if (char === quote) quote = undefined;
      out += char;
    } else if (char === "'" || char === '"' || char === "`") {
      quote = char;
      out += char;
    } else if (char === "?") {
      if (next >= query.parameters.length) throw new Error(`Too few parameters: ${query.sql}`);
      out += literal(query.parameters[next++]);
    } else {
      out += char;
    }
  }
  if (next !== query.parameters.length) throw new Error(`Too many parameters: ${query.sql}`);
  return out;
}

/** The SQL text of each migration's file, in order, keyed by migration name. */
export async function exportMigrations(): Promise<Map<string, string>> {
  const client = createClient({ url: "file::memory:" });
  let captured: CompiledQuery[] = [];
  const db = new Kysely<Database>({
    dialect: libsqlDialect(client, { local: true }),
    log: (event) => void (event.level === "query" && captured.push(event.query)),
  });
  const files = new Map<string, string>();
  try {
    for (let i = 0; i < migrations.length; i++) {
      const [name] = migrations[i];
      captured = [];
      const applied = await migrateUp(db, {
        migrations: migrations.slice(0, i + 1),
        now: () => APPLIED_AT,
      });
      if (applied.join() !== name) throw new Error(`Expected to apply ${name}, applied ${applied}`);
      const statements = captured.filter((q) => !DROPPED.test(q.sql)).map(inlineParameters);
      files.set(
        name,
        `-- Generated from migrations/${name}.ts by ` +
          "scripts/deploy/cloudflare/export_migrations.ts; do not edit.\n\n" +
          statements.map((s) => `${s.trim()};\n`).join("\n"),
      );
    }
  } finally {
    await db.destroy();
  }
  return files;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: new URL("./migrations", import.meta.url).pathname },
    },
    strict: true,
  });
  const out = values.out!;
  await Deno.mkdir(out, { recursive: true });
  for (const [name, sqlText] of await exportMigrations()) {
    await Deno.writeTextFile(`${out}/${name}.sql`, sqlText);
    console.log(`${out}/${name}.sql`);
  }
}
