/**
 * Rebuilding tables for `migrate uuid` (SQLite's table-change procedure) and recreating their
 * indexes, triggers and views.
 */
import type { Client } from "@libsql/client";
import { rewriteCreateTable } from "./create_table.ts";
import { uuidLookup } from "./id_map.ts";
import type { SchemaObject } from "./introspect.ts";
import type { TablePlan } from "./plan.ts";
import { quoteIdent, quoteString } from "./sql_tokens.ts";

const CHUNK = 50_000;

/**
 * SQL that yields a lower-case UUID v4, the DEFAULT of converted keys: rows inserted later
 * without an id (legacy code, triggers) still get a valid v4 key instead of failing.
 */
export const SQL_UUID_V4 = "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || " +
  "'-4' || substr(lower(hex(randomblob(2))), 2) || '-' || " +
  "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || " +
  "'-' || lower(hex(randomblob(6)))";

/** Name of the table a rebuild copies into before it takes the original's name. */
export function rebuildName(table: string): string {
  return `citadel_uuid_new_${table}`;
}

function selectList(plan: TablePlan): { columns: string[]; values: string[] } {
  const lookups = new Map(plan.references.map((r) => [r.column, r.root]));
  if (plan.convertKey) lookups.set(plan.convertKey, plan.table.name);
  const columns: string[] = [];
  const values: string[] = [];
  if (plan.table.rowidName) {
    // Keeping the hidden rowid keeps row order and anything that relied on it.
    columns.push(plan.table.rowidName);
    values.push(`o.${plan.table.rowidName}`);
  }
  for (const c of plan.table.columns) {
    if (c.hidden >= 2) continue;
    columns.push(quoteIdent(c.name));
    const root = lookups.get(c.name);
    values.push(root === undefined ? `o.${quoteIdent(c.name)}` : uuidLookup(root, c.name));
  }
  return { columns, values };
}

/**
 * Steps 4-7 of SQLite's table-change procedure for one table: create the new definition
 * under a temporary name, copy every row (rewriting keys and references through
 * legacy_id_map), drop the original and rename. Indexes, triggers and views are the
 * caller's: see {@linkcode recreateObjects}.
 */
export async function rebuildTable(
  client: Client,
  plan: TablePlan,
  onRows: (n: number) => void,
): Promise<void> {
  const { table } = plan;
  const temp = rebuildName(table.name);
  const textColumns = new Set(plan.references.map((r) => r.column.toLowerCase()));
  if (plan.convertKey) textColumns.add(plan.convertKey.toLowerCase());
  await client.execute(rewriteCreateTable(table.sql, {
    newName: temp,
    textColumns,
    notNullColumns: new Set(plan.convertKey ? [plan.convertKey.toLowerCase()] : []),
    defaults: new Map(plan.convertKey ? [[plan.convertKey.toLowerCase(), SQL_UUID_V4]] : []),
    dropAutoincrement: plan.convertKey !== undefined,
  }));
  const { columns, values } = selectList(plan);
  const insert = `INSERT INTO main.${quoteIdent(temp)} (${columns.join(", ")}) SELECT ${
    values.join(", ")
  } FROM main.${quoteIdent(table.name)} AS o`;
  const rowid = table.rowidName;
  if (!rowid) {
    const result = await client.execute(insert);
    onRows(result.rowsAffected);
  } else {
    let first = true;
    for (;;) {
      const where = first
        ? ""
        : ` WHERE o.${rowid} > (SELECT max(${rowid}) FROM main.${quoteIdent(temp)})`;
      const result = await client.execute(`${insert}${where} ORDER BY o.${rowid} LIMIT ${CHUNK}`);
      first = false;
      onRows(result.rowsAffected);
      if (result.rowsAffected < CHUNK) break;
    }
  }
  const sequence = await client.execute({
    sql: "SELECT seq FROM main.sqlite_sequence WHERE name = ?",
    args: [table.name],
  }).catch(() => undefined);
  await client.execute(`DROP TABLE main.${quoteIdent(table.name)}`);
  await client.execute(
    `ALTER TABLE main.${quoteIdent(temp)} RENAME TO ${quoteIdent(table.name)}`,
  );
  const seq = sequence?.rows[0]?.seq;
  if (table.autoincrement && !plan.convertKey && seq !== undefined && seq !== null) {
    // AUTOINCREMENT promises never to reuse an id, even of deleted rows: keep its counter.
    await client.execute({
      sql: "UPDATE main.sqlite_sequence SET seq = max(seq, ?) WHERE name = ?",
      args: [seq, table.name],
    });
    await client.execute({
      sql: "INSERT INTO main.sqlite_sequence (name, seq) SELECT ?, ? " +
        "WHERE NOT EXISTS (SELECT 1 FROM main.sqlite_sequence WHERE name = ?)",
      args: [table.name, seq, table.name],
    });
  }
}

/** Drops every trigger and view so table rebuilds cannot trip over them. */
export async function dropTriggersAndViews(client: Client, objects: SchemaObject[]) {
  for (const o of objects) {
    if (o.type === "trigger") await client.execute(`DROP TRIGGER main.${quoteIdent(o.name)}`);
  }
  for (const o of [...objects].reverse()) {
    if (o.type === "view") await client.execute(`DROP VIEW main.${quoteIdent(o.name)}`);
  }
}

/**
 * Recreates the indexes of rebuilt tables and every trigger and view, from their original
 * SQL: indexes first, then views (retrying in dependency order), then triggers.
 */
export async function recreateObjects(
  client: Client,
  objects: SchemaObject[],
  rebuilt: ReadonlySet<string>,
): Promise<void> {
  for (const o of objects) {
    if (o.type === "index" && o.sql && rebuilt.has(o.table)) await client.execute(o.sql);
  }
  let pending = objects.filter((o) => o.type === "view" && o.sql);
  while (pending.length > 0) {
    const failed: SchemaObject[] = [];
    let lastError: unknown;
    for (const view of pending) {
      try {
        await client.execute(view.sql!);
      } catch (error) {
        failed.push(view);
        lastError = error;
      }
    }
    if (failed.length === pending.length) {
      throw new Error(
        `Cannot recreate view ${quoteString(failed[0].name)}: ${
          lastError instanceof Error ? lastError.message : String(lastError)
        }`,
      );
    }
    pending = failed;
  }
  for (const o of objects) {
    if (o.type === "trigger" && o.sql) await client.execute(o.sql);
  }
}
