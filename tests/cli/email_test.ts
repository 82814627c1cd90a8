import assert from "node:assert/strict";
import { cliDb } from "../support/cli_db.ts";
import { runCli, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { enqueueEmail, outboxCipher } from "../../src/services/email_outbox.ts";
import { createPepper } from "../../src/services/pepper.ts";

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
    const args of [
      ["email"],
      ["email", "resend"],
      ["email", "send", "now"],
      ["email", "send", "--to", "a@example.com"],
      ["email", "test"],
      ["email", "test", "--to", "nobody"],
    ]
  ) {
    const refused = await runCli(args, { cwd: dir.path, env: base });
    assert.equal(refused.code, 2, `${args.join(" ")}: ${refused.stderr}`);
  }
});

Deno.test("citadel email send delivers the due outbox once, and exits 1 with the message kept when the server refuses", async () => {
  await using d = await cliDb();
  // The CLI seals and opens bodies with the pepper; this test queues under the same one.
  const pepper = "test-pepper-0123456789-abcdefghijklmnopqrstuvwxyz";
  d.env.HASH_PEPPER = pepper;
  const cipher = await outboxCipher(createPepper({ hashPepper: pepper, jwtSecret: TEST_SECRET }));
  const message = (to: string) => ({
    to,
    subject: "Reset your password",
    text: "text\n",
    html: "<p>html</p>\n",
    kind: "password_reset",
  });
  await enqueueEmail(d.db, message("ada@example.com"), Date.now(), cipher);

  const sent = await d.run(["email", "send"]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(
    sent.stdout.trim(),
    "sent 1; 0 waiting (0 failed just now and will be retried); 0 given up",
  );
  const files = [...Deno.readDirSync(`${d.dir}/mail`)];
  assert.equal(files.length, 1, "one .eml in DATA_DIR/mail");
  const again = await d.run(["email", "send"]);
  assert.match(again.stdout, /^sent 0;/, "nothing is sent twice");
  assert.equal([...Deno.readDirSync(`${d.dir}/mail`)].length, 1);

  const id = await enqueueEmail(d.db, message("bob@example.com"), Date.now(), cipher);
  const down = await runCli(["email", "send"], {
    cwd: d.dir,
    env: { ...d.env, SMTP_URL: "smtp://127.0.0.1:9" },
  });
  assert.equal(down.code, 1, down.stdout);
  assert.match(down.stdout, /sent 0; 1 waiting \(1 failed just now and will be retried\)/);
  const row = await d.db.selectFrom("email_outbox").selectAll().where("id", "=", id)
    .executeTakeFirstOrThrow();
  assert.equal(row.sent_at, null);
  assert.equal(row.attempts, 1);
  assert.match(row.last_error ?? "", /ECONNREFUSED/);
});
