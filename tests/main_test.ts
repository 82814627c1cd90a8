import assert from "node:assert/strict";
import { runCli, tempDir, TEST_SECRET } from "./support/helpers.ts";

Deno.test("citadel --version and --help exit 0", async () => {
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^citadel \d+\.\d+\.\d+/);
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  for (const command of ["serve", "migrate"]) assert.match(help.stdout, new RegExp(command));
});

Deno.test("an unknown subcommand prints usage on stderr and exits 2", async () => {
  const result = await runCli(["frobnicate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command "frobnicate"/);
  assert.match(result.stderr, /usage: citadel/);
  assert.equal(result.stdout, "");
});

const productionRefusals: Array<[string, Record<string, string>, string]> = [
  ["no JWT secret", {}, "JWT_SECRET_KEY"],
  ["CORS_ORIGINS=*", { JWT_SECRET_KEY: TEST_SECRET, CORS_ORIGINS: "*" }, "CORS_ORIGINS"],
  ["DEBUG=true", { JWT_SECRET_KEY: TEST_SECRET, DEBUG: "true" }, "DEBUG"],
];
for (const [name, env, variable] of productionRefusals) {
  Deno.test(`serve refuses to start in production with ${name}: exit 2 naming ${variable}`, async () => {
    await using dir = await tempDir();
    const result = await runCli(["serve"], {
      cwd: dir.path,
      env: {
        APP_ENV: "production",
        ALLOWED_HOSTS: "api.example.com",
        ALLOW_INSECURE_HTTP: "true",
        DATABASE_URL: `file:${dir.path}/x.db`,
        ...env,
      },
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${variable}: `));
    await assert.rejects(() => Deno.stat(`${dir.path}/x.db`), "nothing was created");
  });
}

Deno.test("invalid configuration lists every problem with its fix and exits 2", async () => {
  const result = await runCli(["migrate", "status"], { env: { PORT: "x", LOG_LEVEL: "loud" } });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /PORT: must be a whole number/);
  assert.match(result.stderr, /LOG_LEVEL: must be debug, info, warn or error/);
});

Deno.test("migrate status lists pending migrations, up applies them, status shows applied", async () => {
  await using dir = await tempDir();
  const env = { DATABASE_URL: `file:${dir.path}/m.db` };
  const before = await runCli(["migrate", "status"], { env });
  assert.equal(before.code, 0);
  assert.match(before.stdout, /0001_users\s+pending/);
  const up = await runCli(["migrate", "up"], { env });
  assert.equal(up.code, 0);
  assert.match(up.stdout, /applied: 0001_users/);
  const after = await runCli(["migrate"], { env });
  assert.match(after.stdout, /nothing to apply/);
  const status = await runCli(["migrate", "status"], { env });
  assert.match(status.stdout, /0 pending/);
  const wrong = await runCli(["migrate", "sideways"], { env });
  assert.equal(wrong.code, 2);
});

Deno.test(".env in the working directory is loaded, the real environment wins, wide modes warn", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/.env`,
    `DATABASE_URL=file:${dir.path}/from-dotenv.db\nPORT=notaport\n`,
    {
      mode: 0o644,
    },
  );
  await Deno.chmod(`${dir.path}/.env`, 0o644);
  const result = await runCli(["migrate", "up"], { cwd: dir.path, env: { PORT: "8123" } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /\.env has mode 644.*chmod 600/);
  await Deno.stat(`${dir.path}/from-dotenv.db`);
});
