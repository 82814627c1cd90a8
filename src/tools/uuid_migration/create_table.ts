/**
 * Rewriting a legacy `CREATE TABLE` statement for `migrate uuid`: new name, converted key
 * columns as TEXT, everything else as written.
 */
import {
  identValue,
  keyword,
  quoteIdent,
  significant,
  type Token,
  tokenize,
} from "./sql_tokens.ts";

/** How {@linkcode rewriteCreateTable} changes a table definition. */
export interface CreateTableChanges {
  /** Name of the new table. */
  newName: string;
  /** Columns (compared case-insensitively) whose declared type becomes TEXT. */
  textColumns: ReadonlySet<string>;
  /** Columns that get NOT NULL when they lack it (converted primary keys). */
  notNullColumns?: ReadonlySet<string>;
  /** Columns that get this DEFAULT expression when they have none. */
  defaults?: ReadonlyMap<string, string>;
  /** Removes AUTOINCREMENT, which SQLite allows only on INTEGER PRIMARY KEY. */
  dropAutoincrement?: boolean;
}

const TABLE_CONSTRAINTS = new Set(["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]);
const COLUMN_CONSTRAINTS = new Set([
  "CONSTRAINT",
  "PRIMARY",
  "NOT",
  "NULL",
  "UNIQUE",
  "CHECK",
  "DEFAULT",
  "COLLATE",
  "REFERENCES",
  "GENERATED",
  "AS",
]);

function findBody(tokens: Token[]): { open: number; close: number } {
  const open = tokens.findIndex((t) => t.kind === "punct" && t.text === "(");
  if (open < 0) throw new Error("Table definition has no column list");
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].kind !== "punct") continue;
    if (tokens[i].text === "(") depth++;
    if (tokens[i].text === ")" && --depth === 0) return { open, close: i };
  }
  throw new Error("Table definition has unbalanced parentheses");
}

function splitItems(tokens: Token[]): Token[][] {
  const items: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === "punct" && token.text === "(") depth++;
    if (token.kind === "punct" && token.text === ")") depth--;
    if (depth === 0 && token.kind === "punct" && token.text === ",") {
      items.push([]);
      continue;
    }
    items[items.length - 1].push(token);
  }
  return items;
}

/** Index range [start, end) of the type name that follows the column name at `nameAt`. */
function typeRange(item: Token[], nameAt: number): { start: number; end: number } {
  let start = -1;
  let end = nameAt + 1;
  let depth = 0;
  for (let i = nameAt + 1; i < item.length; i++) {
    const t = item[i];
    if (!significant(t)) continue;
    if (depth === 0 && COLUMN_CONSTRAINTS.has(keyword(t))) break;
    if (t.kind === "punct" && t.text === "(") depth++;
    if (t.kind === "punct" && t.text === ")") depth--;
    if (start < 0) start = i;
    end = i + 1;
  }
  return start < 0 ? { start: nameAt + 1, end: nameAt + 1 } : { start, end };
}

function hasNotNull(item: Token[]): boolean {
  const words = item.filter(significant).map(keyword);
  return words.some((w, i) => w === "NOT" && words[i + 1] === "NULL");
}

function rewriteColumn(item: Token[], changes: CreateTableChanges, seen: Set<string>): Token[] {
  const nameAt = item.findIndex(significant);
  if (nameAt < 0 || TABLE_CONSTRAINTS.has(keyword(item[nameAt]))) return item;
  const name = identValue(item[nameAt]).toLowerCase();
  let out = item;
  if (changes.textColumns.has(name)) {
    seen.add(name);
    const { start, end } = typeRange(item, nameAt);
    const text: Token = { kind: "word", text: start === end ? " TEXT" : "TEXT" };
    out = [...item.slice(0, start), text, ...item.slice(end)];
  }
  const extra: string[] = [];
  if (changes.notNullColumns?.has(name) && !hasNotNull(out)) extra.push("NOT NULL");
  const fallback = changes.defaults?.get(name);
  if (fallback && !out.some((t) => keyword(t) === "DEFAULT")) extra.push(`DEFAULT (${fallback})`);
  if (extra.length > 0) {
    let last = out.length - 1;
    while (last >= 0 && !significant(out[last])) last--;
    const added: Token = { kind: "word", text: ` ${extra.join(" ")}` };
    out = [...out.slice(0, last + 1), added, ...out.slice(last + 1)];
  }
  return out;
}

/**
 * Rewrites a `CREATE TABLE` statement from sqlite_master: renames the table and turns the
 * named columns into TEXT while keeping every default, constraint, collation, reference
 * and table option exactly as written.
 */
export function rewriteCreateTable(sql: string, changes: CreateTableChanges): string {
  const tokens = tokenize(sql);
  const { open, close } = findBody(tokens);
  const seen = new Set<string>();
  const items = splitItems(tokens.slice(open + 1, close)).map((item) =>
    rewriteColumn(item, changes, seen)
  );
  const missing = [...changes.textColumns].filter((c) => !seen.has(c));
  if (missing.length > 0) {
    throw new Error(`Columns not found in the table definition: ${missing.join(", ")}`);
  }
  let body = items.map((item) => item.map((t) => t.text).join("")).join(",");
  if (changes.dropAutoincrement) {
    const tokens = tokenize(body);
    body = tokens.filter((t, i) =>
      keyword(t) !== "AUTOINCREMENT" &&
      !(t.kind === "space" && keyword(tokens[i + 1]) === "AUTOINCREMENT")
    ).map((t) => t.text).join("");
  }
  const tail = tokens.slice(close + 1).map((t) => t.text).join("");
  return `CREATE TABLE ${quoteIdent(changes.newName)} (${body})${tail}`;
}

/** True when the column list of a CREATE TABLE statement uses AUTOINCREMENT. */
export function usesAutoincrement(sql: string): boolean {
  return tokenize(sql).some((t) => keyword(t) === "AUTOINCREMENT");
}
