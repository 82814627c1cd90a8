import assert from "node:assert/strict";
import { lockPathOf } from "../../src/server/database_lock.ts";
import { startServer } from "../support/helpers.ts";
import { open } from "../support/legacy_db.ts";
import { cliDb } from "../support/cli_db.ts";

const STOP_SERVER = /a citadel server is using .*x\.db .*; stop the server/;

async function userCount(path: string): Promise<number> {
  const client = open(path);
  try {
    return Number((await client.execute("SELECT count(*) AS n FROM users")).rows[0].n);
  } finally {
    client.close();
  }
}

Deno.test("restore and migrate uuid refuse while a server uses the database and say to stop it; restore runs once it stopped", async () => {
  await using d = await cliDb();
  const db = `${d.dir}/x.db`;
  const backup = `${d.dir}/before.db`;
  assert.equal((await d.run(["backup", "--out", backup])).code, 0);
  const server = await startServer(d.env, { cwd: d.dir });
  let stopped = false;
  try {
    // The server's bootstrap admin is in the live database only, not in the backup.
    assert.equal(await userCount(db), 1);
    const restore = await d.run(["restore", backup, "--yes"]);
    assert.equal(restore.code, 1, restore.stdout);
    assert.match(restore.stderr, STOP_SERVER);
    assert.match(restore.stderr, /citadel restore: .*nothing was changed/);
    assert.equal(await userCount(db), 1, "the live database is the server's still");

    const migrate = await d.run(["migrate", "uuid", "--database", db, "--yes"]);
    assert.equal(migrate.code, 1, migrate.stdout);
    assert.match(migrate.stderr, STOP_SERVER);

    await server.stop();
    stopped = true;
    const after = await d.run(["restore", backup, "--yes"]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(await userCount(db), 0);
  } finally {
    if (!stopped) await server.stop();
  }
});

Deno.test("serve refuses to start while a restore holds the database", async () => {
  await using d = await cliDb();
  const file = await Deno.open(lockPathOf(`${d.dir}/x.db`), { create: true, write: true });
  try {
    assert.ok(await file.tryLock(true));
    await assert.rejects(
      startServer(d.env, { cwd: d.dir }),
      /exited with 1:[\s\S]*x\.db is being restored or migrated by another citadel command/,
    );
  } finally {
    file.close();
  }
});
