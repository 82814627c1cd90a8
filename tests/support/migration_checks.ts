import type { Client } from "@libsql/client/node";
import { runCli } from "./helpers.ts";
import { pairs } from "./legacy_db.ts";

/** A lower-case UUID v4. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The --map the legacy schema needs for its undeclared audit_events.user_id. */
export const MAP = ["--map", "audit_events.user_id=users"];

function relationshipQueries(after: boolean): string[] {
  const legacy = (table: string, expr: string) =>
    after
      ? `(SELECT legacy_id FROM legacy_id_map WHERE table_name = '${table}' AND uuid = ${expr})`
      : expr;
  return [
    `SELECT ${legacy("posts", "id")}, ${legacy("users", "author_id")}, title FROM posts`,
    `SELECT ${legacy("employees", "id")}, ${legacy("users", "user_id")}, ${
      legacy("employees", "manager_id")
    } FROM employees`,
    `SELECT ${legacy("audit_events", "id")}, ${
      legacy("users", "user_id")
    }, action FROM audit_events`,
    `SELECT ${legacy("posts", "post_id")}, tag FROM post_tags`,
    `SELECT ${legacy("users", "user_id")}, email, posts FROM user_post_counts`,
    "SELECT name, color FROM tags",
  ];
}

/** Relationships as legacy ids: read directly before, through legacy_id_map after. */
export async function relationships(client: Client, after: boolean): Promise<string[][]> {
  const out: string[][] = [];
  for (const sql of relationshipQueries(after)) out.push(await pairs(client, sql));
  return out;
}

/** Row counts of every legacy table. */
export async function rowCounts(client: Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of ["users", "posts", "employees", "audit_events", "tags", "post_tags"]) {
    counts[t] = Number((await client.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  }
  return counts;
}

/** Declared schema objects; SQLite's own autoindexes follow the constraints, checked by use. */
export async function objects(client: Client): Promise<string[]> {
  const r = await client.execute(
    "SELECT type || ' ' || name || ': ' || coalesce(sql, '') AS o FROM sqlite_master " +
      "WHERE type IN ('index', 'trigger', 'view') AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY 1",
  );
  return r.rows.map((row) => String(row.o));
}

/** Runs `citadel migrate uuid --database <dir>/legacy.db ...args`. */
export function migrate(dir: string, args: string[], env: Record<string, string> = {}) {
  return runCli(["migrate", "uuid", "--database", `${dir}/legacy.db`, ...args], { env, cwd: dir });
}
