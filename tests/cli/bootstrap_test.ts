import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { runCli, startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";

const FAST = { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" };

function production(dir: string): Record<string, string> {
  return {
    APP_ENV: "production",
    ALLOWED_HOSTS: "api.example.com",
    ALLOW_INSECURE_HTTP: "true",
    JWT_SECRET_KEY: TEST_SECRET,
    HASH_PEPPER: `${TEST_SECRET}-pepper`,
    DATABASE_URL: `file:${dir}/c.db`,
    SUPER_ADMIN_USERNAME: "ops-lead@example.com",
    ...FAST,
  };
}

async function superAdmins(databaseUrl: string): Promise<number> {
  const { db } = await connect({ databaseUrl });
  try {
    const rows = await db.selectFrom("users").select("id").where("role", "=", "super_admin")
      .execute();
    return rows.length;
  } finally {
    await db.destroy();
  }
}

Deno.test("serve refuses a SUPER_ADMIN_PASSWORD that fails the password policy: exit 2, every broken rule named, no super admin", async () => {
  await using dir = await tempDir();
  const env: Record<string, string> = {
    ...production(dir.path),
    SUPER_ADMIN_PASSWORD: "password1",
  };
  const result = await runCli(["serve"], { cwd: dir.path, env, timeoutMs: 20_000 });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /SUPER_ADMIN_PASSWORD fails the password policy/);
  assert.match(result.stderr, /at least 12 characters/);
  assert.match(result.stderr, /most common passwords/);
  assert.match(result.stderr, /citadel admin create/);
  assert.doesNotMatch(result.stdout + result.stderr, /super admin created/);
  assert.doesNotMatch(result.stdout + result.stderr, /password1/, "the password is never echoed");
  assert.equal(await superAdmins(env.DATABASE_URL), 0);
});

Deno.test("serve in production with no administrator says once, across workers, how to create one; not once one exists", async () => {
  await using dir = await tempDir();
  const env = production(dir.path);
  const first = await startServer(env, { cwd: dir.path, args: ["--workers", "2"] });
  assert.equal((await first.stop()).code, 0);
  const hints = first.output.filter((l) => l.includes("citadel admin create"));
  assert.equal(hints.length, 1, first.output.join("\n"));
  assert.match(hints[0], /no administrator exists/);

  const created = await runCli(["admin", "create", "--email", "ops-lead@example.com"], {
    cwd: dir.path,
    env,
    stdin: "Quartz-Meadow-Falcon-42\n",
  });
  assert.equal(created.code, 0, created.stderr);
  const second = await startServer(env, { cwd: dir.path });
  assert.equal((await second.stop()).code, 0);
  assert.ok(!second.output.some((l) => l.includes("no administrator exists")));
});
