/**
 * Speed benchmark of `citadel migrate uuid` (issue target: 1,000,000 rows in under 60 s).
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run \
 *     scripts/bench_migrate_uuid.ts [--rows 1000000] [--encrypted] [--dir /tmp/x] [--keep]
 *
 * Builds a legacy database (users, posts referencing users with ON DELETE CASCADE, comments
 * referencing both; 1 : 2 : 2 rows), then runs the real CLI (`deno run src/main.ts migrate
 * uuid --yes`, backup and verification included) and reports the wall time.
 */
import { createClient } from "@libsql/client/node";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "1000000" },
    encrypted: { type: "boolean", default: false },
    dir: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const total = Number(values.rows);
const users = Math.floor(total / 5);
const posts = users * 2;
const comments = total - users - posts;
const key = values.encrypted ? "bench-encryption-key-0123456789abcdef" : undefined;
const dir = values.dir ?? await Deno.makeTempDir({ prefix: "citadel-bench-uuid-" });
const path = `${dir}/legacy.db`;
for (const f of [path, `${path}-journal`]) await Deno.remove(f).catch(() => {});

const SEQ = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)";
let t0 = performance.now();
const client = createClient({ url: `file:${path}`, encryptionKey: key });
await client.executeMultiple(`
  CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,
    name TEXT, created_at INTEGER NOT NULL);
  CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL
    REFERENCES users(id) ON DELETE CASCADE, title TEXT NOT NULL, body TEXT, created_at INTEGER);
  CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id)
    ON DELETE CASCADE, user_id INTEGER REFERENCES users(id), body TEXT NOT NULL);
  CREATE INDEX posts_user ON posts (user_id, created_at);
  CREATE INDEX comments_post ON comments (post_id);
  CREATE INDEX comments_user ON comments (user_id);
`);
await client.execute("BEGIN");
await client.execute({
  sql: `${SEQ} INSERT INTO users SELECT n, 'user' || n || '@example.com', 'User ' || n,
    1700000000000 + n FROM seq`,
  args: [users],
});
await client.execute({
  sql: `${SEQ} INSERT INTO posts SELECT n, 1 + (n * 7919) % ?, 'Post ' || n,
    'Body of post ' || n, 1700000000000 + n FROM seq`,
  args: [posts, users],
});
await client.execute({
  sql: `${SEQ} INSERT INTO comments SELECT n, 1 + (n * 104729) % ?,
    CASE WHEN n % 10 = 0 THEN NULL ELSE 1 + (n * 31) % ? END, 'Comment ' || n FROM seq`,
  args: [comments, posts, users],
});
await client.execute("COMMIT");
client.close();
const size = (await Deno.stat(path)).size;
console.log(
  `built ${users} users + ${posts} posts + ${comments} comments = ${total} rows ` +
    `(${(size / 1048576).toFixed(0)} MiB${key ? ", encrypted" : ""}) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    }s`,
);

const main = new URL("../src/main.ts", import.meta.url).pathname;
t0 = performance.now();
const out = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    main,
    "migrate",
    "uuid",
    "--database",
    path,
    "--yes",
  ],
  env: key ? { DATABASE_ENCRYPTION_KEY: key } : {},
  cwd: dir,
  stdout: "piped",
  stderr: "piped",
}).output();
const seconds = (performance.now() - t0) / 1000;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
console.log(decode(out.stdout).trim());
if (!out.success) console.error(decode(out.stderr));
console.log(
  `migrate uuid: ${total} rows in ${seconds.toFixed(1)}s wall time ` +
    `(${Math.round(total / seconds)} rows/s, backup and verification included); ` +
    `target < 60s: ${out.success && seconds < 60 ? "met" : "NOT met"}`,
);
if (!values.keep) await Deno.remove(dir, { recursive: true });
Deno.exit(out.success ? 0 : 1);
