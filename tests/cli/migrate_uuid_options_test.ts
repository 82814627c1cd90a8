import assert from "node:assert/strict";
import { DENO, RUN_PERMISSIONS, tempDir } from "../support/helpers.ts";
import { createLegacyDb, dump, fileHash, open } from "../support/legacy_db.ts";
import { MAP, migrate, relationships } from "../support/migration_checks.ts";

Deno.test("migrate uuid --dry-run prints the plan and writes nothing", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  await createLegacyDb(path, { users: 5 });
  const hash = await fileHash(path);
  const run = await migrate(dir.path, ["--dry-run"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /users\.id {2}4 rows/);
  assert.match(run.stdout, /posts\.author_id -> users\.id {2}declared {2}ON DELETE CASCADE/);
  assert.match(run.stdout, /--map audit_events\.user_id=users/);
  assert.match(run.stdout, /Dry run: nothing was written/);
  assert.equal(await fileHash(path), hash);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["legacy.db"]);
});

Deno.test("migrate uuid without a terminal refuses to run without --yes (exit 2)", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  await createLegacyDb(path, { users: 3 });
  const hash = await fileHash(path);
  const run = await migrate(dir.path, MAP);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /pass --yes/);
  assert.equal(await fileHash(path), hash);
});

Deno.test("migrate uuid refuses references that match no row instead of losing them", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  await createLegacyDb(path, {
    users: 3,
    extraSql: "INSERT INTO audit_events (user_id, action) VALUES (999, 'ghost');",
  });
  const hash = await fileHash(path);
  const run = await migrate(dir.path, [...MAP, "--yes"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /audit_events\.user_id: 1 values match no row of users/);
  assert.equal(await fileHash(path), hash);
});

Deno.test("migrate uuid works on an encrypted database and keeps the backup encrypted", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  const key = "legacy-encryption-key-0123456789abcdef";
  await createLegacyDb(path, { users: 8, key });
  const before = open(path, key);
  const relBefore = await relationships(before, false);
  const dumpBefore = await dump(before);
  before.close();

  const run = await migrate(dir.path, [...MAP, "--yes"], { DATABASE_ENCRYPTION_KEY: key });
  assert.equal(run.code, 0, run.stderr);
  const after = open(path, key);
  assert.deepEqual(await relationships(after, true), relBefore);
  after.close();

  const backupName = [...Deno.readDirSync(dir.path)].map((e) => e.name)
    .find((n) => n.startsWith("legacy-backup-"))!;
  const backupPath = `${dir.path}/${backupName}`;
  for (const file of [path, backupPath]) {
    const bytes = new TextDecoder("latin1").decode(await Deno.readFile(file));
    assert.ok(!bytes.includes("u1@example.com"), `${file} holds plaintext`);
    assert.ok(!bytes.startsWith("SQLite format 3"), `${file} has a plaintext header`);
  }
  const withoutKey = open(backupPath);
  await assert.rejects(withoutKey.execute("SELECT count(*) FROM users"), /not a database/);
  withoutKey.close();
  const backup = open(backupPath, key);
  assert.equal(await dump(backup), dumpBefore);
  backup.close();
});

Deno.test("scripts/migrate_to_uuid.ts runs the same command through deno run", async () => {
  await using dir = await tempDir();
  await createLegacyDb(`${dir.path}/legacy.db`, { users: 3 });
  const script = new URL("../../scripts/migrate_to_uuid.ts", import.meta.url).pathname;
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      ...RUN_PERMISSIONS,
      script,
      "--database",
      `${dir.path}/legacy.db`,
      ...MAP,
      "--yes",
    ],
    cwd: dir.path,
    env: { NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /converted users: 2 rows/);
});

Deno.test("migrate uuid --dry-run points at owner_id and created_by columns whose values are all ids of one table, and says why", async () => {
  await using dir = await tempDir();
  await createLegacyDb(`${dir.path}/legacy.db`, {
    users: 5,
    extraSql: `
      ALTER TABLE posts ADD COLUMN created_by INTEGER;
      UPDATE posts SET created_by = author_id;
      CREATE TABLE documents (id INTEGER PRIMARY KEY, owner_id INTEGER, reviewed_by INTEGER);
      INSERT INTO documents VALUES (1, 6, 999), (2, 9, NULL), (3, 6, NULL);
    `,
  });
  const run = await migrate(dir.path, ["--dry-run"]);
  assert.equal(run.code, 0, run.stderr);
  const hints = run.stdout.split("\n").filter((l) => l.includes("undeclared reference"));
  assert.deepEqual(hints, [
    "warning: posts.created_by looks like an undeclared reference to users (all 4 distinct " +
    "values are ids of users); if it is one, pass --map posts.created_by=users",
    "warning: audit_events.user_id looks like an undeclared reference to users (its name " +
    "matches table users and all 4 distinct values are ids of users); if it is one, pass " +
    "--map audit_events.user_id=users",
    "warning: documents.owner_id looks like an undeclared reference to users (all 2 distinct " +
    "values are ids of users); if it is one, pass --map documents.owner_id=users",
  ]);
});
