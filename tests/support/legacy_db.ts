import { type Client, createClient } from "@libsql/client/node";

/**
 * A legacy schema built with raw SQL: users referenced by posts (ON DELETE CASCADE),
 * employees (self reference, nullable) and audit_events (undeclared user_id); post_tags
 * with a composite key referencing posts; tags without an integer key; a view, a trigger,
 * a composite unique index and AUTOINCREMENT.
 */
export const LEGACY_SCHEMA = `
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT DEFAULT 'anon',
  score REAL NOT NULL DEFAULT 0 CHECK (score >= 0),
  created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE TABLE posts (
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  body TEXT
);
CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
  manager_id INTEGER,
  title TEXT,
  FOREIGN KEY (manager_id) REFERENCES employees(id)
);
CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY,
  user_id INTEGER,
  action TEXT NOT NULL
);
CREATE TABLE tags (name TEXT PRIMARY KEY, color TEXT) WITHOUT ROWID;
CREATE TABLE post_tags (
  post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  tag TEXT NOT NULL REFERENCES tags(name),
  PRIMARY KEY (post_id, tag)
);
CREATE UNIQUE INDEX posts_author_title ON posts (author_id, title);
CREATE INDEX audit_events_user ON audit_events (user_id);
CREATE VIEW user_post_counts AS
  SELECT u.id AS user_id, u.email AS email, count(p.id) AS posts
  FROM users u LEFT JOIN posts p ON p.author_id = u.id GROUP BY u.id;
CREATE TRIGGER users_email_audit AFTER UPDATE OF email ON users BEGIN
  INSERT INTO audit_events (user_id, action) VALUES (NEW.id, 'email changed');
END;
`;

/** Fills the legacy schema: `users` users, three posts each, employees, events and tags. */
export function legacyData(users: number): string {
  const sql: string[] = ["INSERT INTO tags VALUES ('red', '#f00'), ('blue', '#00f');"];
  for (let u = 1; u <= users; u++) {
    // Gaps in the ids: legacy ids are not 1..n after deletions.
    const id = u * 3;
    sql.push(
      `INSERT INTO users (id, email, name, score) VALUES (${id}, 'u${u}@example.com', 'User ${u}', ${u});`,
    );
    for (let p = 0; p < 3; p++) {
      const post = id * 10 + p;
      sql.push(`INSERT INTO posts VALUES (${post}, ${id}, 'title ${p}', 'body of ${post}');`);
      if (p === 0) sql.push(`INSERT INTO post_tags VALUES (${post}, '${u % 2 ? "red" : "blue"}');`);
    }
    const manager = u > 1 ? (u - 1) * 7 : "NULL";
    const user = u % 4 === 0 ? "NULL" : id;
    sql.push(`INSERT INTO employees VALUES (${u * 7}, ${user}, ${manager}, 'role ${u}');`);
    sql.push(`INSERT INTO audit_events (user_id, action) VALUES (${id}, 'login');`);
  }
  sql.push("INSERT INTO audit_events (user_id, action) VALUES (NULL, 'system start');");
  // Cascades to posts and post_tags, sets employees.user_id NULL; the undeclared
  // audit_events.user_id is cleaned up by hand, as a legacy app would.
  sql.push("DELETE FROM users WHERE id = 3; DELETE FROM audit_events WHERE user_id = 3;");
  return sql.join("\n");
}

/** Creates a legacy database file, optionally encrypted, runs `extraSql` last and closes it. */
export async function createLegacyDb(
  path: string,
  options: { users?: number; key?: string; extraSql?: string } = {},
): Promise<void> {
  const client = createClient({ url: `file:${path}`, encryptionKey: options.key });
  try {
    await client.execute("PRAGMA foreign_keys = ON");
    await client.executeMultiple(LEGACY_SCHEMA);
    await client.executeMultiple(`BEGIN; ${legacyData(options.users ?? 20)} COMMIT;`);
    if (options.extraSql) await client.executeMultiple(options.extraSql);
  } finally {
    client.close();
  }
}

/** Opens a database file for assertions. */
export function open(path: string, key?: string): Client {
  return createClient({ url: `file:${path}`, encryptionKey: key });
}

/** Every schema object and every row, in a stable order: equal dumps mean equal data. */
export async function dump(client: Client): Promise<string> {
  const master = await client.execute(
    "SELECT type, name, sql FROM sqlite_master ORDER BY type, name",
  );
  const out: string[] = master.rows.map((r) => `${r.type} ${r.name}: ${r.sql}`);
  for (const r of master.rows.filter((r) => r.type === "table")) {
    const name = String(r.name).replaceAll('"', '""');
    const rows = await client.execute(`SELECT * FROM "${name}"`);
    out.push(`-- ${r.name}`, ...rows.rows.map((row) => JSON.stringify(Object.values(row))).sort());
  }
  return out.join("\n");
}

/** SHA-256 of a file's bytes. */
export async function fileHash(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Rows of a query as arrays, sorted, for comparing relationships. */
export async function pairs(client: Client, sql: string): Promise<string[]> {
  const result = await client.execute(sql);
  return result.rows.map((r) => JSON.stringify(Object.values(r))).sort();
}
