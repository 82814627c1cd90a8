import assert from "node:assert/strict";
import { rewriteCreateTable } from "../../../src/tools/uuid_migration/create_table.ts";
import { tokenize } from "../../../src/tools/uuid_migration/sql_tokens.ts";

const text = (cols: string[]) => new Set(cols);

Deno.test("tokenize() gives back the exact input, quotes and comments included", () => {
  const sql = `CREATE TABLE "a""b" ([x y] INT, 'it''s' -- c, (
  /* d) */ \`e\` TEXT)`;
  assert.equal(tokenize(sql).map((t) => t.text).join(""), sql);
});

Deno.test("rewriteCreateTable() turns the named columns into TEXT and keeps every constraint", () => {
  const sql = `CREATE TABLE posts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  author_id BIGINT UNSIGNED NOT NULL DEFAULT 0 REFERENCES users(id) ON DELETE CASCADE,
  price DECIMAL(10, 2) CHECK (price >= 0),
  "note, with comma" VARCHAR(20) COLLATE NOCASE DEFAULT 'a,(b)',
  UNIQUE (author_id, price)
)`;
  const out = rewriteCreateTable(sql, {
    newName: "new_posts",
    textColumns: text(["id", "author_id"]),
    notNullColumns: text(["id"]),
    dropAutoincrement: true,
  });
  assert.equal(
    out,
    `CREATE TABLE "new_posts" (
  id TEXT PRIMARY KEY NOT NULL,
  author_id TEXT NOT NULL DEFAULT 0 REFERENCES users(id) ON DELETE CASCADE,
  price DECIMAL(10, 2) CHECK (price >= 0),
  "note, with comma" VARCHAR(20) COLLATE NOCASE DEFAULT 'a,(b)',
  UNIQUE (author_id, price)
)`,
  );
});

Deno.test("rewriteCreateTable() adds a type to untyped columns and keeps table options", () => {
  const sql = "CREATE TABLE IF NOT EXISTS main.[t] (a, [B] NOT NULL, c INT) WITHOUT ROWID, STRICT";
  const out = rewriteCreateTable(sql, { newName: "x", textColumns: text(["a", "b"]) });
  assert.equal(out, 'CREATE TABLE "x" (a TEXT, [B] TEXT NOT NULL, c INT) WITHOUT ROWID, STRICT');
});

Deno.test("rewriteCreateTable() refuses a column the definition does not have", () => {
  assert.throws(
    () => rewriteCreateTable("CREATE TABLE t (a INT)", { newName: "x", textColumns: text(["b"]) }),
    /Columns not found in the table definition: b/,
  );
});

Deno.test("rewriteCreateTable() leaves table constraints that look like columns alone", () => {
  const sql = "CREATE TABLE t (a INT, CONSTRAINT pk PRIMARY KEY (a), FOREIGN KEY (a) REFERENCES u)";
  const out = rewriteCreateTable(sql, { newName: "x", textColumns: text(["a"]) });
  assert.equal(
    out,
    'CREATE TABLE "x" (a TEXT, CONSTRAINT pk PRIMARY KEY (a), FOREIGN KEY (a) REFERENCES u)',
  );
});
