/**
 * Database snapshots and comparisons for `migrate uuid` and backups: VACUUM INTO copies, row
 * counts and integrity problems.
 */
import type { Client } from "@libsql/client";
import { quoteIdent } from "./sql_tokens.ts";

/**
 * Writes a consistent copy of the main database to `path` with `VACUUM INTO`. On an
 * encrypted libSQL database the copy is encrypted with the same key. The file must not
 * exist or be empty.
 */
export async function vacuumInto(client: Client, path: string): Promise<void> {
  await client.execute({ sql: "VACUUM main INTO ?", args: [path] });
}

/** Row count of every ordinary table of the main schema, by name. */
export async function tableCounts(client: Client): Promise<Map<string, number>> {
  const tables = (await client.execute("PRAGMA main.table_list")).rows
    .filter((r) =>
      r.schema === "main" && r.type === "table" && !String(r.name).startsWith("sqlite_")
    )
    .map((r) => String(r.name));
  const counts = new Map<string, number>();
  for (const name of tables) {
    const r = await client.execute(`SELECT count(*) AS n FROM main.${quoteIdent(name)}`);
    counts.set(name, Number(r.rows[0].n));
  }
  return counts;
}

/** Differences between two sets of row counts, as sentences; [] when equal. */
export function countDifferences(
  expected: Map<string, number>,
  actual: Map<string, number>,
): string[] {
  const problems: string[] = [];
  for (const [table, n] of expected) {
    const m = actual.get(table);
    if (m === undefined) problems.push(`table ${table} is missing`);
    else if (m !== n) problems.push(`table ${table} has ${m} rows instead of ${n}`);
  }
  for (const table of actual.keys()) {
    if (!expected.has(table)) problems.push(`unexpected table ${table}`);
  }
  return problems;
}

/** `PRAGMA integrity_check` problems; [] when the database is ok. */
export async function integrityProblems(client: Client): Promise<string[]> {
  const rows = (await client.execute("PRAGMA main.integrity_check(20)")).rows
    .map((r) => String(Object.values(r)[0]));
  return rows.length === 1 && rows[0] === "ok" ? [] : rows;
}
