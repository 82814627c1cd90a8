/**
 * The safety checks of `migrate uuid`: the preflight before anything changes and the
 * verification before COMMIT.
 */
import type { Client } from "@libsql/client";
import { idMapProblems } from "./id_map.ts";
import { countRows, findTable, LEGACY_ID_MAP, type SchemaObject } from "./introspect.ts";
import type { MigrationPlan } from "./plan.ts";
import { rebuildName } from "./rebuild.ts";
import { integrityProblems } from "./snapshot.ts";
import { quoteIdent, quoteString } from "./sql_tokens.ts";

/** Facts taken before the rebuild that the result must match. */
export interface Baseline {
  rowCounts: Map<string, number>;
  /** Non-null values per "table.column" reference. */
  references: Map<string, number>;
  objects: SchemaObject[];
}

const HEX = "[0-9a-f]";
/** GLOB pattern of a lower-case UUID v4: version nibble 4, variant 8, 9, a or b. */
export const UUID_V4_GLOB = `${HEX.repeat(8)}-${HEX.repeat(4)}-4${HEX.repeat(3)}-[89ab]${
  HEX.repeat(3)
}-${HEX.repeat(12)}`;

async function scalar(client: Client, sql: string): Promise<number> {
  const result = await client.execute(sql);
  return Number(Object.values(result.rows[0] ?? { n: 0 })[0] ?? 0);
}

async function foreignKeyViolations(client: Client): Promise<string[]> {
  const rows = (await client.execute("PRAGMA main.foreign_key_check")).rows;
  return rows.slice(0, 10).map((r) =>
    `${r.table} row ${r.rowid ?? "?"} violates its foreign key to ${r.parent}`
  ).concat(rows.length > 10 ? [`... ${rows.length - 10} more foreign key violations`] : []);
}

function recordedIds(client: Client, table: string): Promise<number> {
  return scalar(
    client,
    `SELECT count(*) FROM main.${LEGACY_ID_MAP} WHERE table_name = ${quoteString(table)}`,
  );
}

function rootKey(plan: MigrationPlan, root: string): string {
  return findTable(plan.schema, root)!.primaryKey[0];
}

function unresolvedSql(plan: MigrationPlan, table: string, column: string, root: string) {
  const c = quoteIdent(column);
  return `SELECT count(*) AS n FROM main.${quoteIdent(table)} AS o WHERE o.${c} IS NOT NULL ` +
    `AND NOT EXISTS (SELECT 1 FROM main.${quoteIdent(root)} AS p WHERE p.${
      quoteIdent(rootKey(plan, root))
    } = o.${c})`;
}

/**
 * Checks, inside the migration's transaction and before anything changes, that the data
 * can be converted without loss: integer non-null keys, every reference resolvable, no
 * foreign key violations already present, no leftovers of an interrupted run.
 */
export async function preflight(client: Client, plan: MigrationPlan): Promise<
  { problems: string[]; baseline: Baseline }
> {
  const problems: string[] = [];
  const rowCounts = new Map<string, number>();
  for (const t of plan.schema.tables) {
    const now = await countRows(client, t.name);
    rowCounts.set(t.name, now);
    if (now !== t.rowCount) {
      problems.push(`${t.name} changed since planning (${t.rowCount} -> ${now} rows)`);
    }
  }
  const missing = await idMapProblems(client);
  if (missing.length > 0) {
    problems.push(`an existing ${LEGACY_ID_MAP} table lacks columns ${missing.join(", ")}`);
  }
  const mapExists = await scalar(
    client,
    `SELECT count(*) FROM main.sqlite_master WHERE name = '${LEGACY_ID_MAP}'`,
  ) > 0;
  for (const t of plan.convert) {
    const pk = quoteIdent(t.primaryKey[0]);
    const bad = await scalar(
      client,
      `SELECT count(*) FROM main.${quoteIdent(t.name)} WHERE typeof(${pk}) <> 'integer'`,
    );
    if (bad > 0) problems.push(`${t.name}: ${bad} rows have a key that is not an integer`);
    if (mapExists && missing.length === 0 && await recordedIds(client, t.name) > 0) {
      problems.push(`${LEGACY_ID_MAP} already holds ids of ${t.name}`);
    }
  }
  const references = new Map<string, number>();
  for (const p of plan.rebuild) {
    if (findTable(plan.schema, rebuildName(p.table.name))) {
      problems.push(`table ${rebuildName(p.table.name)} exists; drop it (a leftover?) first`);
    }
    for (const r of p.references) {
      const c = quoteIdent(r.column);
      references.set(
        `${p.table.name}.${r.column}`,
        await scalar(client, `SELECT count(${c}) FROM main.${quoteIdent(p.table.name)}`),
      );
      const orphans = await scalar(client, unresolvedSql(plan, p.table.name, r.column, r.root));
      if (orphans > 0) {
        problems.push(`${p.table.name}.${r.column}: ${orphans} values match no row of ${r.root}`);
      }
    }
  }
  problems.push(...await foreignKeyViolations(client));
  return { problems, baseline: { rowCounts, references, objects: plan.schema.objects } };
}

/**
 * The checks before COMMIT: row counts per table, `PRAGMA foreign_key_check` empty,
 * `PRAGMA integrity_check` ok, every converted id a v4 UUID with its legacy id recorded,
 * every reference resolved, every index, trigger and view present. Returns the problems.
 */
export async function verifyMigration(
  client: Client,
  plan: MigrationPlan,
  baseline: Baseline,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [table, before] of baseline.rowCounts) {
    const after = await countRows(client, table);
    if (after !== before) problems.push(`${table}: ${before} rows before, ${after} after`);
  }
  problems.push(...await foreignKeyViolations(client));
  const integrity = await integrityProblems(client);
  if (integrity.length > 0) problems.push(`integrity_check: ${integrity.join("; ")}`);
  for (const t of plan.convert) {
    const pk = quoteIdent(t.primaryKey[0]);
    const invalid = await scalar(
      client,
      `SELECT count(*) FROM main.${quoteIdent(t.name)} ` +
        `WHERE typeof(${pk}) <> 'text' OR ${pk} NOT GLOB '${UUID_V4_GLOB}'`,
    );
    if (invalid > 0) problems.push(`${t.name}: ${invalid} keys are not UUID v4`);
    const recorded = await recordedIds(client, t.name);
    if (recorded !== baseline.rowCounts.get(t.name)) {
      problems.push(`${LEGACY_ID_MAP}: ${recorded} ids recorded for ${t.name}`);
    }
  }
  for (const p of plan.rebuild) {
    for (const r of p.references) {
      const c = quoteIdent(r.column);
      const present = await scalar(
        client,
        `SELECT count(${c}) FROM main.${quoteIdent(p.table.name)}`,
      );
      const before = baseline.references.get(`${p.table.name}.${r.column}`);
      if (present !== before) {
        problems.push(`${p.table.name}.${r.column}: ${before} references before, ${present} after`);
      }
      const unresolved = await scalar(client, unresolvedSql(plan, p.table.name, r.column, r.root));
      if (unresolved > 0) problems.push(`${p.table.name}.${r.column}: ${unresolved} unresolved`);
    }
  }
  const now = new Set(
    (await client.execute("SELECT type || ' ' || name AS o FROM main.sqlite_master")).rows
      .map((r) => String(r.o)),
  );
  for (const o of baseline.objects) {
    if (!now.has(`${o.type} ${o.name}`)) problems.push(`${o.type} ${o.name} is missing`);
  }
  return problems;
}
