import assert from "node:assert/strict";
import { tempDir } from "../support/helpers.ts";
import { createLegacyDb, dump, fileHash, open, pairs } from "../support/legacy_db.ts";
import {
  MAP,
  migrate,
  objects,
  relationships,
  rowCounts,
  UUID_V4,
} from "../support/migration_checks.ts";

Deno.test("migrate uuid converts every integer key and keeps rows, relationships and schema", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  await createLegacyDb(path, { users: 30 });
  const before = open(path);
  const [countsBefore, relBefore, objectsBefore, dumpBefore] = [
    await rowCounts(before),
    await relationships(before, false),
    await objects(before),
    await dump(before),
  ];
  before.close();

  const run = await migrate(dir.path, [...MAP, "--yes", "--backup-dir", `${dir.path}/backups`]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /converted users: 29 rows/);

  const after = open(path);
  try {
    assert.deepEqual(await rowCounts(after), countsBefore);
    assert.deepEqual(await relationships(after, true), relBefore);
    assert.deepEqual(await objects(after), objectsBefore);
    assert.equal(objectsBefore.length, 4);
    for (const t of ["users", "posts", "employees", "audit_events"]) {
      for (const row of (await after.execute(`SELECT id FROM ${t}`)).rows) {
        assert.match(String(row.id), UUID_V4, t);
      }
    }
    const types = await pairs(after, "SELECT name, type FROM pragma_table_info('posts')");
    assert.deepEqual(types, [
      '["author_id","TEXT"]',
      '["body","TEXT"]',
      '["id","TEXT"]',
      '["title","TEXT"]',
    ]);
    assert.equal((await after.execute("PRAGMA foreign_key_check")).rows.length, 0);
    assert.equal((await after.execute("PRAGMA integrity_check")).rows[0].integrity_check, "ok");

    // The trigger, the cascade, NOCASE uniqueness and defaults still work on the new keys.
    await after.execute("PRAGMA foreign_keys = ON");
    const { id } =
      (await after.execute("SELECT id FROM users WHERE email = 'u2@example.com'")).rows[0];
    await after.execute({
      sql: "UPDATE users SET email = 'new@example.com' WHERE id = ?",
      args: [id],
    });
    const events = await after.execute({
      sql: "SELECT count(*) AS n FROM audit_events WHERE user_id = ? AND action = 'email changed'",
      args: [id],
    });
    assert.equal(events.rows[0].n, 1);
    // Rows inserted without an id (here by the legacy trigger) get a v4 key by DEFAULT.
    const added = await after.execute("SELECT id FROM audit_events WHERE action = 'email changed'");
    assert.match(String(added.rows[0].id), UUID_V4);
    await after.execute({ sql: "DELETE FROM users WHERE id = ?", args: [id] });
    const orphans = await after.execute({
      sql: "SELECT count(*) AS n FROM posts WHERE author_id = ?",
      args: [id],
    });
    assert.equal(orphans.rows[0].n, 0);
    await assert.rejects(
      after.execute(
        `INSERT INTO users (id, email) VALUES ('${crypto.randomUUID()}', 'U5@EXAMPLE.COM')`,
      ),
      /UNIQUE constraint failed/,
    );
    await after.execute("INSERT INTO users (email) VALUES ('fresh@example.com')");
    const fresh = await after.execute(
      "SELECT id, name FROM users WHERE email = 'fresh@example.com'",
    );
    assert.equal(fresh.rows[0].name, "anon");
    assert.match(String(fresh.rows[0].id), UUID_V4);
  } finally {
    after.close();
  }

  const backups = [...Deno.readDirSync(`${dir.path}/backups`)].map((e) => e.name);
  assert.equal(backups.length, 1);
  assert.match(backups[0], /^legacy-backup-\d{8}T\d{6}Z\.db$/);
  const backupPath = `${dir.path}/backups/${backups[0]}`;
  assert.equal((await Deno.stat(backupPath)).mode! & 0o777, 0o600);
  const backup = open(backupPath);
  assert.equal(await dump(backup), dumpBefore);
  backup.close();
});

Deno.test("migrate uuid a second time finds nothing to convert and changes nothing", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  await createLegacyDb(path, { users: 5 });
  assert.equal((await migrate(dir.path, [...MAP, "--yes"])).code, 0);
  const hash = await fileHash(path);
  const again = await migrate(dir.path, [...MAP, "--yes"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Nothing to convert/);
  assert.equal(await fileHash(path), hash);
});

Deno.test("migrate uuid rolls back a failure mid-way and leaves the database unchanged", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  // Created last, so rebuilt last: every other table has been rebuilt when this CHECK fails.
  await createLegacyDb(path, {
    users: 10,
    extraSql: `CREATE TABLE notes (id INTEGER PRIMARY KEY,
      user_id INTEGER REFERENCES users(id) CHECK (typeof(user_id) = 'integer'), body TEXT);
      INSERT INTO notes (user_id, body) VALUES (6, 'kept as an integer forever');`,
  });
  const hash = await fileHash(path);
  const client = open(path);
  const dumpBefore = await dump(client);
  client.close();

  const run = await migrate(dir.path, [...MAP, "--yes"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /rolled back.*CHECK constraint failed/s);
  assert.match(run.stderr, /copy users/, "the failure came after other tables were rebuilt");
  assert.equal(await fileHash(path), hash);
  const reopened = open(path);
  assert.equal(await dump(reopened), dumpBefore);
  reopened.close();
});
