import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { runCli, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { dump, fileHash, open } from "../support/legacy_db.ts";
import { seedUser } from "../support/cli_db.ts";

const KEY = "backup-test-encryption-key-0123456789";

/** A migrated citadel database file with two users; closed again so the CLI owns it. */
async function citadelDb(dir: string, key?: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    APP_ENV: "test",
    DATABASE_URL: `file:${dir}/citadel.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ...(key ? { DATABASE_ENCRYPTION_KEY: key } : {}),
  };
  const { db } = await connect({ databaseUrl: env.DATABASE_URL, databaseEncryptionKey: key });
  await migrateUp(db);
  await seedUser(db, "first@example.com");
  await seedUser(db, "second@example.com");
  await db.destroy();
  return env;
}

async function dumpOf(path: string, key?: string): Promise<string> {
  const client = open(path, key);
  try {
    return await dump(client);
  } finally {
    client.close();
  }
}

for (const key of [undefined, KEY]) {
  const kind = key ? "an encrypted" : "a plain";
  Deno.test(`backup and restore round-trip ${kind} database and keep the replaced one aside`, async () => {
    await using dir = await tempDir();
    const env = await citadelDb(dir.path, key);
    const db = `${dir.path}/citadel.db`;
    const out = `${dir.path}/backups/citadel-1.db`;

    const backup = await runCli(["backup", "--out", out], { env, cwd: dir.path });
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /backup written and verified/);
    assert.match(backup.stdout, key ? /, encrypted\)/ : /, not encrypted\)/);
    assert.equal((await Deno.stat(out)).mode! & 0o777, 0o600);
    const original = await dumpOf(db, key);
    assert.equal(await dumpOf(out, key), original);
    if (key) {
      const bytes = new TextDecoder("latin1").decode(await Deno.readFile(out));
      assert.ok(!bytes.includes("first@example.com"), "the backup holds plaintext");
      const withoutKey = open(out);
      await assert.rejects(withoutKey.execute("SELECT count(*) FROM users"), /not a database/);
      withoutKey.close();
    }

    const change = open(db, key);
    await change.execute("DELETE FROM users WHERE email = 'first@example.com'");
    change.close();
    const changed = await dumpOf(db, key);

    const restore = await runCli(["restore", out, "--yes"], { env, cwd: dir.path });
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await dumpOf(db, key), original);
    const aside = /kept at (\S+)/.exec(restore.stdout)?.[1] ?? "";
    assert.ok(aside.startsWith(`${db}.replaced-`), restore.stdout);
    assert.equal(await dumpOf(aside, key), changed);
    assert.equal((await Deno.stat(db)).mode! & 0o777, 0o600);
  });
}

Deno.test("restore refuses a backup from a newer schema and leaves the database alone", async () => {
  await using dir = await tempDir();
  const env = await citadelDb(dir.path);
  const out = `${dir.path}/newer.db`;
  assert.equal((await runCli(["backup", "--out", out], { env, cwd: dir.path })).code, 0);
  const future = open(out);
  await future.execute(
    "INSERT INTO citadel_migrations (name, checksum, applied_at) VALUES ('9999_future', 'x', 0)",
  );
  future.close();
  const hash = await fileHash(`${dir.path}/citadel.db`);
  const restore = await runCli(["restore", out, "--yes"], { env, cwd: dir.path });
  assert.equal(restore.code, 1);
  assert.match(restore.stderr, /newer schema \(migrations unknown to this version: 9999_future\)/);
  assert.equal(await fileHash(`${dir.path}/citadel.db`), hash);
});

Deno.test("restore refuses a file that is not a citadel database", async () => {
  await using dir = await tempDir();
  const env = await citadelDb(dir.path);
  const other = open(`${dir.path}/other.db`);
  await other.execute("CREATE TABLE t (x)");
  other.close();
  const restore = await runCli(["restore", `${dir.path}/other.db`, "--yes"], {
    env,
    cwd: dir.path,
  });
  assert.equal(restore.code, 1);
  assert.match(restore.stderr, /not a citadel database/);
});

Deno.test("restore without a terminal and without --yes refuses with exit code 2", async () => {
  await using dir = await tempDir();
  const env = await citadelDb(dir.path);
  const out = `${dir.path}/b.db`;
  assert.equal((await runCli(["backup", "--out", out], { env, cwd: dir.path })).code, 0);
  const restore = await runCli(["restore", out], { env, cwd: dir.path });
  assert.equal(restore.code, 2);
  assert.match(restore.stderr, /pass --yes/);
});

Deno.test("backup never overwrites an existing file", async () => {
  await using dir = await tempDir();
  const env = await citadelDb(dir.path);
  const out = `${dir.path}/b.db`;
  await Deno.writeTextFile(out, "precious");
  const backup = await runCli(["backup", "--out", out], { env, cwd: dir.path });
  assert.equal(backup.code, 1);
  assert.match(backup.stderr, /already exists/);
  assert.equal(await Deno.readTextFile(out), "precious");
});
