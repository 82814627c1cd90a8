/**
 * Schema drift: every table, index, trigger and view of a citadel database compared with
 * what the migrations create. A schema changed by hand (an append-only trigger dropped,
 * a trigger that promotes a user added) is how a tampered backup or database would hide.
 * `citadel restore` refuses such a backup and `citadel check` reports such a database,
 * both with {@linkcode schemaDifferences}: one rule, two callers.
 */
import { sql } from "kysely";
import { migrations as registry } from "../../migrations/mod.ts";
import { connect } from "../db/connect.ts";
import { migrateUp } from "../db/migrator.ts";
import type { Db } from "../db/schema.ts";
import { ensureIdMapTable } from "./uuid_migration/id_map.ts";
import { tokenize } from "./uuid_migration/sql_tokens.ts";

/** One schema object that is not as the migrations create it. */
export interface SchemaDifference {
  /** `missing`: the migrations create it, the database lacks it; `extra`: the reverse. */
  kind: "missing" | "extra" | "changed";
  type: string;
  name: string;
}

type Registry = typeof registry;

/** type + name -> normalised SQL (null for SQLite's own indexes of UNIQUE/PRIMARY KEY). */
type SchemaMap = Map<string, string | null>;

/**
 * SQL as SQLite keeps it is the text of the CREATE statement; whitespace, comments and
 * the case of bare words do not change its meaning, quoted names and strings may.
 */
function normalise(text: string | null): string | null {
  if (text === null) return null;
  return tokenize(text).filter((t) => t.kind !== "space")
    .map((t) => t.kind === "word" ? t.text.toLowerCase() : t.text).join(" ");
}

async function readSchema(db: Db): Promise<SchemaMap> {
  // sqlite_stat* hold the query planner's statistics (ANALYZE, PRAGMA optimize): data
  // SQLite writes itself, not schema.
  const rows = await sql<{ type: string; name: string; sql: string | null }>`
    SELECT type, name, sql FROM main.sqlite_master WHERE name NOT LIKE 'sqlite!_stat%' ESCAPE '!'
  `.execute(db);
  return new Map(rows.rows.map((r) => [`${r.type} ${r.name}`, normalise(r.sql)]));
}

/** What the migrations create, plus objects citadel's own commands may add later. */
interface ExpectedSchema {
  required: SchemaMap;
  /** Present or not, but as created when present: legacy_id_map of `import-users`. */
  optional: SchemaMap;
}

const expectedCache = new Map<string, Promise<ExpectedSchema>>();

async function buildExpected(applied: Registry): Promise<ExpectedSchema> {
  const { db, client } = await connect({ databaseUrl: ":memory:" });
  try {
    await migrateUp(db, { migrations: applied, now: () => 0 });
    const required = await readSchema(db);
    await ensureIdMapTable(client);
    const optional = new Map(
      [...await readSchema(db)].filter(([key]) => !required.has(key)),
    );
    return { required, optional };
  } finally {
    await db.destroy();
  }
}

/** The schema of the given migrations, built once per set on a fresh in-memory database. */
function expectedSchema(applied: Registry): Promise<ExpectedSchema> {
  const key = applied.map(([name]) => name).join(",");
  let expected = expectedCache.get(key);
  if (!expected) {
    expected = buildExpected(applied);
    expectedCache.set(key, expected);
  }
  return expected;
}

async function appliedMigrations(db: Db, migrations: Registry): Promise<Registry> {
  const rows = await sql<{ name: string }>`SELECT name FROM citadel_migrations`.execute(db);
  const names = new Set(rows.rows.map((r) => r.name));
  return migrations.filter(([name]) => names.has(name));
}

/**
 * Compares every schema object of `db` (a citadel database: it has citadel_migrations)
 * with what the migrations it recorded as applied create on an empty database, by type,
 * name and normalised SQL. Pending migrations are not differences (`migrate up` applies
 * them); objects of migrations unknown to this version are `extra`.
 */
export async function schemaDifferences(
  db: Db,
  migrations: Registry = registry,
): Promise<SchemaDifference[]> {
  const expected = await expectedSchema(await appliedMigrations(db, migrations));
  const actual = await readSchema(db);
  const differences: SchemaDifference[] = [];
  const split = (key: string) => {
    const at = key.indexOf(" ");
    return { type: key.slice(0, at), name: key.slice(at + 1) };
  };
  for (const [key, text] of expected.required) {
    if (!actual.has(key)) differences.push({ kind: "missing", ...split(key) });
    else if (actual.get(key) !== text) differences.push({ kind: "changed", ...split(key) });
  }
  for (const [key, text] of actual) {
    if (expected.required.has(key)) continue;
    const optional = expected.optional.has(key);
    if (optional && expected.optional.get(key) === text) continue;
    differences.push({ kind: optional ? "changed" : "extra", ...split(key) });
  }
  return differences.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

/** One difference as a sentence: `trigger audit_events_no_delete is missing`. */
export function describeDifference(d: SchemaDifference): string {
  const what = `${d.type} ${d.name}`;
  if (d.kind === "missing") return `${what} is missing`;
  if (d.kind === "extra") return `${what} is not created by any migration`;
  return `${what} differs from the one the migrations create`;
}
