/**
 * Undeclared references: integer columns that hold another table's ids although no foreign
 * key says so. Left alone, such a column would keep ids that no longer exist after the
 * conversion, so the plan points each one out with the `--map` that fixes it and why it
 * was suspected: by its name (`user_id` next to a `users` table) or by its values (every
 * value of `owner_id` or `created_by` is an id of one table).
 */
import type { Client } from "@libsql/client";
import {
  columnKey as key,
  findTable,
  hasIntegerAffinity,
  isIntegerKeyed,
  type SchemaInfo,
  type TableInfo,
} from "./introspect.ts";
import { quoteIdent } from "./sql_tokens.ts";

/** What the values of one column showed: how many distinct ones, and whose ids they all are. */
export interface ValueMatch {
  distinct: number;
  /** Integer-keyed tables whose keys include every value of the column. */
  tables: string[];
}

/** By column key (`table.column`, lower case): columns whose values were compared. */
export type ValueMatches = ReadonlyMap<string, ValueMatch>;

// Names references usually have: owner_id, ownerId, created_by, createdBy.
const REFERENCE_NAME = /(_id|[a-z0-9]Id|_by|[a-z0-9]By)$/;

async function scalar(client: Client, sql: string): Promise<number> {
  return Number(Object.values((await client.execute(sql)).rows[0] ?? {})[0] ?? 0);
}

/**
 * Compares the values of every integer column named like a reference that no foreign key
 * declares with the keys of every integer-keyed table: reads only, one query per pair.
 */
export async function matchReferenceValues(
  client: Client,
  schema: SchemaInfo,
): Promise<ValueMatches> {
  const parents = schema.tables.filter((t) => isIntegerKeyed(t) && t.rowCount > 0);
  const matches = new Map<string, ValueMatch>();
  for (const table of schema.tables) {
    if (table.rowCount === 0) continue;
    const declared = new Set(
      table.foreignKeys.flatMap((fk) => fk.from.map((c) => c.toLowerCase())),
    );
    for (const c of table.columns) {
      if (c.pk > 0 || declared.has(c.name.toLowerCase()) || !hasIntegerAffinity(c.type)) continue;
      if (!REFERENCE_NAME.test(c.name)) continue;
      const from = `main.${quoteIdent(table.name)}`;
      const column = quoteIdent(c.name);
      const distinct = await scalar(
        client,
        `SELECT count(DISTINCT ${column}) FROM ${from} WHERE ${column} IS NOT NULL`,
      );
      if (distinct === 0) continue;
      const tables: string[] = [];
      for (const parent of parents) {
        const pk = quoteIdent(parent.primaryKey[0]);
        const stray = await scalar(
          client,
          `SELECT EXISTS (SELECT 1 FROM ${from} AS c WHERE c.${column} IS NOT NULL AND NOT ` +
            `EXISTS (SELECT 1 FROM main.${
              quoteIdent(parent.name)
            } AS p WHERE p.${pk} = c.${column}))`,
        );
        if (stray === 0) tables.push(parent.name);
      }
      matches.set(key(table.name, c.name), { distinct, tables });
    }
  }
  return matches;
}

function allValues(match: ValueMatch, table: string): string {
  return match.distinct === 1
    ? `its one value is an id of ${table}`
    : `all ${match.distinct} distinct values are ids of ${table}`;
}

/** The table a column's name points at: `user_id`/`userid` -> `user` or `users`. */
function namedTarget(schema: SchemaInfo, column: string): TableInfo | undefined {
  const stem = /^(.+?)_?id$/i.exec(column)?.[1];
  return stem ? findTable(schema, stem) ?? findTable(schema, `${stem}s`) : undefined;
}

/** The converted table a column probably refers to and why, or a hint when it is ambiguous. */
function suspect(
  schema: SchemaInfo,
  table: string,
  column: string,
  converted: (name: string) => boolean,
  match: ValueMatch | undefined,
): string | undefined {
  const named = namedTarget(schema, column);
  const byName = named && converted(named.name) ? named.name : undefined;
  const byValue = match?.tables.filter(converted) ?? [];
  const ref = `${table}.${column}`;
  let target: string;
  let reason: string;
  if (byName) {
    target = byName;
    reason = `its name matches table ${target}` +
      (!match
        ? ""
        : byValue.includes(target)
        ? ` and ${allValues(match, target)}`
        : `, though some of its values are not ids of ${target}`);
  } else if (match && byValue.length === 1) {
    target = byValue[0];
    reason = allValues(match, target);
  } else if (match && byValue.length > 1) {
    return `${ref} may be an undeclared reference (${
      allValues(match, byValue.join(" and of "))
    }); ` +
      `if it is one, pass --map ${ref}=<the table it refers to>`;
  } else {
    return undefined;
  }
  return `${ref} looks like an undeclared reference to ${target} (${reason}); if it is one, ` +
    `pass --map ${ref}=${target}`;
}

/**
 * Integer columns that no foreign key declares and no --map names (`edges`: the plan's
 * references, of which only the referring column is read), but whose name matches a
 * converted table or whose values (see {@linkcode matchReferenceValues}) are all ids of
 * one: each gets a --map suggestion that says why it was made.
 */
export function possibleReferences(
  schema: SchemaInfo,
  edges: readonly { table: string; column: string }[],
  mapped: Map<string, string>,
  values: ValueMatches = new Map(),
): string[] {
  const known = new Set(edges.map((e) => key(e.table, e.column)));
  const converted = (name: string) => {
    const table = findTable(schema, name);
    return table !== undefined && mapped.has(key(table.name, table.primaryKey[0] ?? ""));
  };
  const hints: string[] = [];
  for (const table of schema.tables) {
    for (const c of table.columns) {
      const k = key(table.name, c.name);
      if (c.pk > 0 || known.has(k) || mapped.has(k) || !hasIntegerAffinity(c.type)) continue;
      const hint = suspect(schema, table.name, c.name, converted, values.get(k));
      if (hint) hints.push(hint);
    }
  }
  return hints;
}
