import assert from "node:assert/strict";
import { runCli, tempDir, TEST_SECRET } from "../support/helpers.ts";

Deno.test("citadel email test writes an .eml file (mode 600) in development without SMTP_URL", async () => {
  await using dir = await tempDir();
  const env = { DATABASE_URL: `file:${dir.path}/data/c.db` };
  const sent = await runCli(["email", "test", "--to", "ada@example.com"], { cwd: dir.path, env });
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /sent to ada@example\.com \(file\): written to /);
  const files = [...Deno.readDirSync(`${dir.path}/data/mail`)];
  assert.equal(files.length, 1);
  const path = `${dir.path}/data/mail/${files[0].name}`;
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const text = await Deno.readTextFile(path);
  assert.match(text, /^To: ada@example\.com$/m);
  assert.match(text, /^Subject: citadel test message$/m);
});

Deno.test("citadel email test reports an SMTP failure with exit 1 and the reason; production without SMTP_URL and bad arguments are usage errors", async () => {
  await using dir = await tempDir();
  const base = { DATABASE_URL: `file:${dir.path}/c.db` };
  const down = await runCli(["email", "test", "--to", "a@example.com"], {
    cwd: dir.path,
    env: { ...base, SMTP_URL: "smtp://127.0.0.1:9" },
  });
  assert.equal(down.code, 1, down.stdout);
  assert.match(down.stderr, /citadel email test: not sent: .*ECONNREFUSED/);

  const production = await runCli(["email", "test", "--to", "a@example.com"], {
    cwd: dir.path,
    env: {
      ...base,
      APP_ENV: "production",
      JWT_SECRET_KEY: TEST_SECRET,
      ALLOWED_HOSTS: "api.example.com",
      ALLOW_INSECURE_HTTP: "true",
    },
  });
  assert.equal(production.code, 2, production.stderr);
  assert.match(production.stderr, /SMTP_URL: is not set/);

  for (
    const args of [["email"], ["email", "send"], ["email", "test"], [
      "email",
      "test",
      "--to",
      "nobody",
    ]]
  ) {
    const refused = await runCli(args, { cwd: dir.path, env: base });
    assert.equal(refused.code, 2, `${args.join(" ")}: ${refused.stderr}`);
  }
});
