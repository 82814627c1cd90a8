/**
 * The `legacy_id_map` table of `migrate uuid`: a fresh UUID v4 for each legacy id, and the SQL
 * that looks one up.
 */
import type { Client } from "@libsql/client";
import { LEGACY_ID_MAP, type TableInfo } from "./introspect.ts";
import { quoteIdent, quoteString } from "./sql_tokens.ts";

const CHUNK = 20_000;
const MAP = quoteIdent(LEGACY_ID_MAP);

/** Creates `legacy_id_map(table_name, legacy_id, uuid)` keyed by (table_name, legacy_id). */
export async function ensureIdMapTable(client: Client): Promise<void> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${MAP} (table_name TEXT NOT NULL, legacy_id INTEGER NOT NULL, ` +
      "uuid TEXT NOT NULL, PRIMARY KEY (table_name, legacy_id)) WITHOUT ROWID",
  );
}

/** Columns an existing `legacy_id_map` lacks, or [] when it is usable (or absent). */
export async function idMapProblems(client: Client): Promise<string[]> {
  const cols = (await client.execute(`PRAGMA main.table_info(${MAP})`)).rows.map((r) =>
    String(r.name)
  );
  if (cols.length === 0) return [];
  return ["table_name", "legacy_id", "uuid"].filter((c) => !cols.includes(c));
}

/**
 * Gives every row of a converted table a fresh UUID v4 (crypto.randomUUID) and records the
 * pair in `legacy_id_map`. Keys travel as decimal text so 64-bit ids survive JavaScript.
 */
export async function mapTableIds(
  client: Client,
  table: TableInfo,
  onRows: (n: number) => void,
): Promise<number> {
  const pk = quoteIdent(table.primaryKey[0]);
  const from = `main.${quoteIdent(table.name)}`;
  let last: string | undefined;
  let total = 0;
  for (;;) {
    const where = last === undefined ? "" : `WHERE ${pk} > CAST(? AS INTEGER)`;
    const ids = await client.execute({
      sql: `SELECT CAST(${pk} AS TEXT) AS k FROM ${from} ${where} ORDER BY ${pk} LIMIT ${CHUNK}`,
      args: last === undefined ? [] : [last],
    });
    if (ids.rows.length === 0) break;
    const pairs = ids.rows.map((r) => [r.k as string, crypto.randomUUID()]);
    await client.execute({
      sql: `INSERT INTO ${MAP} (table_name, legacy_id, uuid)
        SELECT ?, CAST(json_extract(value, '$[0]') AS INTEGER), json_extract(value, '$[1]')
        FROM json_each(?)`,
      args: [table.name, JSON.stringify(pairs)],
    });
    total += pairs.length;
    onRows(pairs.length);
    last = pairs[pairs.length - 1][0];
    if (ids.rows.length < CHUNK) break;
  }
  return total;
}

/** SQL expression that turns a legacy id column into the UUID recorded for it. */
export function uuidLookup(root: string, column: string): string {
  return `(SELECT m.uuid FROM ${MAP} AS m WHERE m.table_name = ${quoteString(root)} ` +
    `AND m.legacy_id = o.${quoteIdent(column)})`;
}
