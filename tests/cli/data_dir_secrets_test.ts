import assert from "node:assert/strict";
import { runCli, startServer, tempDir } from "../support/helpers.ts";

const WARNING = /not set, so generated once/;

Deno.test("the development JWT_SECRET_KEY warning is printed once per data directory, by the command that generates the secret", async () => {
  await using dir = await tempDir();
  const env = {
    DATABASE_URL: `file:${dir.path}/data/c.db`,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
  };
  const migrated = await runCli(["migrate", "up"], { cwd: dir.path, env });
  assert.equal(migrated.code, 0, migrated.stderr);

  const first = await runCli(["audit", "verify"], { cwd: dir.path, env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr.match(new RegExp(WARNING, "g"))?.length, 1, first.stderr);
  assert.match(first.stderr, new RegExp(`${dir.path}/data/jwt_secret`));

  const again = await runCli(["audit", "verify"], { cwd: dir.path, env });
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, WARNING);

  const server = await startServer(env, { cwd: dir.path });
  assert.equal((await server.stop()).code, 0);
  assert.ok(!server.output.some((l) => WARNING.test(l)), "serve reuses the secret silently");
});
