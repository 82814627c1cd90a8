/**
 * Reading the users of a legacy database for `migrate import-users`: which columns, in
 * which order (lowest legacy id first, so duplicates are decided the same way every run),
 * and which legacy id, also after `migrate uuid` replaced the ids with UUIDs.
 */
import type { Client } from "@libsql/client";
import { idMapProblems } from "./id_map.ts";
import { LEGACY_ID_MAP } from "./introspect.ts";
import { quoteIdent, quoteString } from "./sql_tokens.ts";

/** Where the legacy users are: a table and the columns to read. */
export interface ImportSource {
  table: string;
  emailColumn: string;
  passwordColumn: string;
  idColumn?: string;
  nameColumn?: string;
}

/** One legacy row as read. */
export interface LegacyUser {
  legacyId: string | null;
  email: unknown;
  passwordHash: unknown;
  name: unknown;
}

/** The legacy users as read, and where their legacy ids came from. */
export interface LegacyUsers {
  /** Sorted by legacy id, lowest first (the order in which duplicates are decided). */
  rows: LegacyUser[];
  /**
   * `legacy_id_map` when `migrate uuid` converted the id column: the rows hold UUIDs, and
   * the integer ids they replaced are read from the source's map instead.
   */
  idsFrom: "column" | "legacy_id_map" | "none";
}

/** True when `migrate uuid` gave the table's key column UUIDs and recorded the old ids. */
async function keyWasConverted(source: Client, spec: ImportSource, key: string[]) {
  if (key.length !== 1 || key[0].toLowerCase() !== spec.idColumn?.toLowerCase()) return false;
  const map = await source.execute(
    `SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = '${LEGACY_ID_MAP}'`,
  );
  if (map.rows.length === 0 || (await idMapProblems(source)).length > 0) return false;
  const recorded = await source.execute({
    sql: `SELECT 1 FROM main.${LEGACY_ID_MAP} WHERE table_name = ? COLLATE NOCASE LIMIT 1`,
    args: [spec.table],
  });
  return recorded.rows.length > 0;
}

/**
 * Reads the legacy users, lowest legacy id first; ids travel as text so 64-bit ids survive
 * JavaScript. After `migrate uuid` the legacy id is the original integer from the source's
 * `legacy_id_map`, not the UUID that replaced it.
 */
export async function readLegacyUsers(source: Client, spec: ImportSource): Promise<LegacyUsers> {
  const info = (await source.execute(`PRAGMA main.table_info(${quoteString(spec.table)})`)).rows;
  const columns = info.map((r) => String(r.name));
  if (columns.length === 0) throw new Error(`Table "${spec.table}" does not exist in the source`);
  const wanted = [spec.emailColumn, spec.passwordColumn, spec.idColumn, spec.nameColumn];
  const missing = wanted.filter((c): c is string => c !== undefined && !columns.includes(c));
  if (missing.length > 0) {
    throw new Error(
      `Columns not in ${spec.table}: ${missing.join(", ")} (it has ${columns.join(", ")})`,
    );
  }
  const key = info.filter((r) => Number(r.pk) > 0).map((r) => String(r.name));
  const converted = await keyWasConverted(source, spec, key);
  const col = (c: string | undefined) => c === undefined ? "NULL" : `t.${quoteIdent(c)}`;
  const id = converted ? "m.legacy_id" : col(spec.idColumn);
  const join = converted
    ? ` LEFT JOIN main.${LEGACY_ID_MAP} AS m ON m.table_name = ? COLLATE NOCASE ` +
      `AND m.uuid = ${col(spec.idColumn)}`
    : "";
  // Rows added after the conversion have no legacy id: they come last.
  const order = spec.idColumn === undefined ? "" : ` ORDER BY ${id} IS NULL, ${id}`;
  const result = await source.execute({
    sql: `SELECT CAST(${id} AS TEXT) AS legacy_id, ${col(spec.emailColumn)} AS email, ` +
      `${col(spec.passwordColumn)} AS password_hash, ${col(spec.nameColumn)} AS name ` +
      `FROM main.${quoteIdent(spec.table)} AS t${join}${order}`,
    args: converted ? [spec.table] : [],
  });
  const rows = result.rows.map((r) => ({
    legacyId: r.legacy_id === null ? null : String(r.legacy_id),
    email: r.email,
    passwordHash: r.password_hash,
    name: r.name,
  }));
  const idsFrom = converted ? "legacy_id_map" : spec.idColumn ? "column" : "none";
  return { rows, idsFrom };
}
