/**
 * Reading a legacy SQLite schema for `migrate uuid`: tables, columns, keys, foreign keys, row
 * counts, indexes, triggers and views.
 */
import type { Client } from "@libsql/client";
import { usesAutoincrement } from "./create_table.ts";
import { quoteIdent, quoteString } from "./sql_tokens.ts";

/** Name of the table that resolves legacy integer ids to the UUIDs that replaced them. */
export const LEGACY_ID_MAP = "legacy_id_map";

/** One column as `PRAGMA table_xinfo` reports it. */
export interface ColumnInfo {
  name: string;
  type: string;
  notNull: boolean;
  defaultValue: string | null;
  /** Position in the primary key (1-based), 0 when not part of it. */
  pk: number;
  /** 0 normal, 2 or 3 generated (virtual or stored). */
  hidden: number;
}

/** One declared foreign key (possibly composite) of a table. */
export interface ForeignKey {
  table: string;
  from: string[];
  /** Parent columns; null entries mean "the parent's primary key". */
  to: (string | null)[];
  onUpdate: string;
  onDelete: string;
}

/** An ordinary table of the main schema. */
export interface TableInfo {
  name: string;
  sql: string;
  columns: ColumnInfo[];
  primaryKey: string[];
  withoutRowid: boolean;
  autoincrement: boolean;
  /** A name that reaches the hidden rowid, or undefined when the table has none reachable. */
  rowidName?: string;
  foreignKeys: ForeignKey[];
  rowCount: number;
}

/** An index, trigger or view, in sqlite_master order. */
export interface SchemaObject {
  type: "index" | "trigger" | "view";
  name: string;
  table: string;
  /** Null for indexes SQLite creates itself for UNIQUE and PRIMARY KEY constraints. */
  sql: string | null;
}

/** What the migration needs to know about a database. */
export interface SchemaInfo {
  tables: TableInfo[];
  objects: SchemaObject[];
}

type Row = Record<string, unknown>;

async function rows(client: Client, sql: string): Promise<Row[]> {
  return (await client.execute(sql)).rows as unknown as Row[];
}

function rowidNameOf(columns: ColumnInfo[], withoutRowid: boolean): string | undefined {
  if (withoutRowid) return undefined;
  const taken = new Set(columns.map((c) => c.name.toLowerCase()));
  return ["rowid", "_rowid_", "oid"].find((n) => !taken.has(n));
}

async function foreignKeysOf(client: Client, table: string): Promise<ForeignKey[]> {
  const list = await rows(client, `PRAGMA main.foreign_key_list(${quoteString(table)})`);
  const byId = new Map<number, ForeignKey>();
  for (
    const r of list.sort((a, b) => Number(a.id) - Number(b.id) || Number(a.seq) - Number(b.seq))
  ) {
    const id = Number(r.id);
    let fk = byId.get(id);
    if (!fk) {
      fk = {
        table: String(r.table),
        from: [],
        to: [],
        onUpdate: String(r.on_update),
        onDelete: String(r.on_delete),
      };
      byId.set(id, fk);
    }
    fk.from.push(String(r.from));
    fk.to.push(r.to === null ? null : String(r.to));
  }
  return [...byId.values()];
}

/** Counts the rows of a table. */
export async function countRows(client: Client, table: string): Promise<number> {
  const [r] = await rows(client, `SELECT count(*) AS n FROM main.${quoteIdent(table)}`);
  return Number(r.n);
}

/**
 * Reads the main schema: ordinary tables (not virtual, shadow or internal ones, nor the
 * legacy id map) with columns, keys, foreign keys and row counts, plus every index,
 * trigger and view.
 */
export async function introspect(client: Client): Promise<SchemaInfo> {
  const listed = await rows(client, "PRAGMA main.table_list");
  const master = await rows(
    client,
    "SELECT type, name, tbl_name, sql FROM main.sqlite_master ORDER BY rowid",
  );
  const sqlOf = new Map(master.filter((m) => m.type === "table").map((m) => [m.name, m.sql]));
  const tables: TableInfo[] = [];
  // Creation order, so runs are reproducible (table_list has no defined order).
  const order = master.map((m) => m.name);
  listed.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const t of listed) {
    const name = String(t.name);
    if (t.schema !== "main" || t.type !== "table") continue;
    if (name.startsWith("sqlite_") || name === LEGACY_ID_MAP) continue;
    const columns = (await rows(client, `PRAGMA main.table_xinfo(${quoteString(name)})`)).map((
      c,
    ) => ({
      name: String(c.name),
      type: String(c.type ?? ""),
      notNull: Number(c.notnull) === 1,
      defaultValue: c.dflt_value === null ? null : String(c.dflt_value),
      pk: Number(c.pk),
      hidden: Number(c.hidden),
    }));
    const sql = String(sqlOf.get(name) ?? "");
    const withoutRowid = Number(t.wr) === 1;
    tables.push({
      name,
      sql,
      columns,
      primaryKey: columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
      withoutRowid,
      autoincrement: usesAutoincrement(sql),
      rowidName: rowidNameOf(columns, withoutRowid),
      foreignKeys: await foreignKeysOf(client, name),
      rowCount: await countRows(client, name),
    });
  }
  const objects: SchemaObject[] = master
    .filter((m) => m.type === "index" || m.type === "trigger" || m.type === "view")
    .map((m) => ({
      type: m.type as SchemaObject["type"],
      name: String(m.name),
      table: String(m.tbl_name),
      sql: m.sql === null ? null : String(m.sql),
    }));
  return { tables, objects };
}

/** Finds a table by name the way SQLite does: case-insensitively. */
export function findTable(schema: SchemaInfo, name: string): TableInfo | undefined {
  const lower = name.toLowerCase();
  return schema.tables.find((t) => t.name.toLowerCase() === lower);
}

/** Finds a column of a table case-insensitively. */
export function findColumn(table: TableInfo, name: string): ColumnInfo | undefined {
  const lower = name.toLowerCase();
  return table.columns.find((c) => c.name.toLowerCase() === lower);
}

/** Case-insensitive identity of a column, as SQLite compares names. */
export function columnKey(table: string, column: string): string {
  return `${table.toLowerCase()}.${column.toLowerCase()}`;
}

/** True when a declared type has INTEGER affinity (SQLite rule 1: it contains "INT"). */
export function hasIntegerAffinity(type: string): boolean {
  return type.toUpperCase().includes("INT");
}

/** True for a table keyed by one INTEGER column: the tables `migrate uuid` converts. */
export function isIntegerKeyed(table: TableInfo): boolean {
  if (table.primaryKey.length !== 1) return false;
  return hasIntegerAffinity(findColumn(table, table.primaryKey[0])!.type);
}
