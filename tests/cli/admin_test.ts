import assert from "node:assert/strict";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { verifyPassword } from "../../src/services/passwords.ts";
import { connect } from "../../src/db/connect.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  buildTestApp,
  DENO,
  MAIN,
  request,
  RUN_PERMISSIONS,
  runCli,
  tempDir,
  TEST_ENV,
} from "../support/helpers.ts";
import { STRONG_PASSWORD } from "../support/auth_support.ts";
import { type MfaUser, mfaUser, midStepMs } from "../support/mfa_support.ts";
import { type PasskeyUser, passkeyUser } from "../support/passkey_support.ts";
import { cliDb, seedSession, seedUser } from "../support/cli_db.ts";

const PASSWORD = "Vq7$kR2#pL9m";
const NEW_PASSWORD = "Correct-Horse-Battery-9";
const hasher = nativeArgon2({ memoryKib: 1024, timeCost: 1, parallelism: 1 });

Deno.test("admin create reads the password from stdin and stores an argon2id hash of it", async () => {
  await using t = await cliDb();
  const result = await t.run(
    ["admin", "create", "--email", "Root@Example.com", "--name", "Root Person"],
    `${PASSWORD}\n`,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Created admin root@example\.com \(id [0-9a-f-]{36}\)\n$/);
  assert.ok(!result.stdout.includes(PASSWORD) && !result.stderr.includes(PASSWORD));
  const user = await t.db.selectFrom("users").selectAll().executeTakeFirstOrThrow();
  assert.equal(user.email, "root@example.com");
  assert.equal(user.name, "Root Person");
  assert.equal(user.role, "admin");
  assert.match(user.password_hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  assert.deepEqual(await verifyPassword(user.password_hash, PASSWORD, hasher), {
    ok: true,
    needsUpgrade: false,
  });
});

Deno.test("admin create --role super_admin creates a super admin; other roles are usage errors", async () => {
  await using t = await cliDb();
  const created = await t.run(
    ["admin", "create", "--email", "owner@example.com", "--role", "super_admin"],
    `${PASSWORD}\n`,
  );
  assert.equal(created.code, 0, created.stderr);
  const row = await t.db.selectFrom("users").select("role").executeTakeFirstOrThrow();
  assert.equal(row.role, "super_admin");
  const user = await t.run(
    ["admin", "create", "--email", "x@example.com", "--role", "user"],
    `${PASSWORD}\n`,
  );
  assert.equal(user.code, 2);
  assert.match(user.stderr, /--role must be admin or super_admin/);
});

Deno.test("admin create never takes the password from the command line", async () => {
  await using t = await cliDb();
  const result = await t.run([
    "admin",
    "create",
    "--email",
    "a@example.com",
    "--password",
    PASSWORD,
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown option "--password"/);
  assert.ok(!result.stderr.includes(PASSWORD), "the password is not echoed");
  const none = await t.run(["admin", "create", "--email", "a@example.com"], "");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No password on standard input/);
  assert.equal((await t.db.selectFrom("users").selectAll().execute()).length, 0);
});

Deno.test("admin create lists every password policy violation and creates nothing", async () => {
  await using t = await cliDb();
  const result = await t.run(
    ["admin", "create", "--email", "alice.smith@example.com"],
    "alicesmith\n",
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /does not meet the password policy/);
  for (
    const message of [
      "at least 12 characters",
      "upper-case letter",
      "digit",
      "symbol",
      "resemble your email address",
      "too easy to guess",
    ]
  ) assert.ok(result.stderr.includes(message), `missing "${message}" in ${result.stderr}`);
  assert.equal((await t.db.selectFrom("users").selectAll().execute()).length, 0);
});

Deno.test("admin create refuses an email that is already registered", async () => {
  await using t = await cliDb();
  await seedUser(t.db, "taken@example.com");
  const result = await t.run(["admin", "create", "--email", "TAKEN@example.com"], `${PASSWORD}\n`);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /already exists/);
});

Deno.test("admin reset-password replaces the hash and revokes every open session", async () => {
  await using t = await cliDb();
  const user = await seedUser(t.db, "bob@example.com", { role: "admin" });
  const other = await seedUser(t.db, "carol@example.com");
  const open = [await seedSession(t.db, user.id), await seedSession(t.db, user.id)];
  const old = await seedSession(t.db, user.id, { at: 1_000, reason: "logout" });
  const untouched = await seedSession(t.db, other.id);

  const result = await t.run(
    ["admin", "reset-password", "--email", "bob@example.com"],
    `${NEW_PASSWORD}\n`,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "Password reset for bob@example.com; 2 sessions revoked\n");

  const stored = await t.db.selectFrom("users").select("password_hash")
    .where("id", "=", user.id).executeTakeFirstOrThrow();
  assert.equal((await verifyPassword(stored.password_hash, NEW_PASSWORD, hasher)).ok, true);
  const sessions = await t.db.selectFrom("sessions").selectAll().execute();
  const byId = new Map(sessions.map((s) => [s.id, s]));
  for (const id of open) {
    assert.equal(byId.get(id)!.revoke_reason, "password_reset");
    assert.ok(byId.get(id)!.revoked_at! > Date.now() - 60_000);
  }
  assert.deepEqual([byId.get(old)!.revoked_at, byId.get(old)!.revoke_reason], [1_000, "logout"]);
  assert.equal(byId.get(untouched)!.revoked_at, null);
});

Deno.test("admin reset-password --revoke-api-keys ends the user's API keys too, audited", async () => {
  await using t = await cliDb();
  const user = await seedUser(t.db, "erin@example.com");
  const now = Date.now();
  await t.db.insertInto("api_keys").values({
    id: crypto.randomUUID(),
    user_id: user.id,
    name: "ci",
    prefix: "ctd_abcdefgh",
    scopes: JSON.stringify(["me:read"]),
    rate_limit_per_minute: null,
    created_at: now,
    expires_at: now + 86_400_000,
    last_used_at: null,
    last_used_ip: null,
    revoked_at: null,
  }).execute();

  const kept = await t.run(["admin", "reset-password", "--email", user.email], `${NEW_PASSWORD}\n`);
  assert.equal(kept.code, 0, kept.stderr);
  const active = () =>
    t.db.selectFrom("api_keys").select("id").where("user_id", "=", user.id)
      .where("revoked_at", "is", null).execute();
  assert.equal((await active()).length, 1, "without the flag the key keeps working");

  const ended = await t.run(
    ["admin", "reset-password", "--email", user.email, "--revoke-api-keys"],
    `${NEW_PASSWORD}\n`,
  );
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(ended.stdout, /1 API keys revoked/);
  assert.equal((await active()).length, 0);
  const audited = await t.db.selectFrom("audit_events").select(["action", "actor_type"])
    .where("target_id", "=", user.id).where("action", "=", "user.password_changed").execute();
  assert.equal(audited.length, 2);
  assert.ok(audited.every((e) => e.actor_type === "system"));
});

Deno.test("admin reset-password of an unknown email exits 1 and a weak password changes nothing", async () => {
  await using t = await cliDb();
  const unknown = await t.run(
    ["admin", "reset-password", "--email", "nobody@example.com"],
    `${NEW_PASSWORD}\n`,
  );
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No user has the email or username nobody@example\.com/);

  const user = await seedUser(t.db, "dave@example.com");
  const session = await seedSession(t.db, user.id);
  const weak = await t.run(["admin", "reset-password", "--email", user.email], "Password123!\n");
  assert.equal(weak.code, 1);
  assert.match(weak.stderr, /most common passwords/);
  const row = await t.db.selectFrom("sessions").select("revoked_at")
    .where("id", "=", session).executeTakeFirstOrThrow();
  assert.equal(row.revoked_at, null);
});

/** Runs the CLI on a pseudo-terminal (util-linux `script`) and types into it. */
async function onTerminal(
  args: string[],
  env: Record<string, string>,
  typed: string[],
): Promise<{ code: number; screen: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [DENO, "run", ...RUN_PERMISSIONS, MAIN, ...args].map(quote).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "", ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let screen = "";
  const prompts = typed.length;
  let answered = 0;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    screen += chunk;
    // Type only once the prompt is shown: by then echo is off.
    while (answered < prompts && screen.split(/password: /i).length - 1 > answered) {
      await writer.write(new TextEncoder().encode(typed[answered++] + "\r"));
    }
  }
  const status = await child.status;
  await writer.close().catch(() => {});
  return { code: status.code, screen };
}

Deno.test("admin create on a terminal prompts twice with echo off", async () => {
  await using t = await cliDb();
  // A typo corrected with backspace (DEL) on the first entry.
  const ok = await onTerminal(
    ["admin", "create", "--email", "tty@example.com"],
    t.env,
    [`${PASSWORD}X\x7f`, PASSWORD],
  );
  assert.equal(ok.code, 0, ok.screen);
  assert.match(
    ok.screen,
    /New password: \r?\nRepeat the password: \r?\nCreated admin tty@example\.com/,
  );
  assert.ok(!ok.screen.includes(PASSWORD.slice(0, 4)), "the password was echoed");
  const stored = await t.db.selectFrom("users").select("password_hash").executeTakeFirstOrThrow();
  assert.equal((await verifyPassword(stored.password_hash, PASSWORD, hasher)).ok, true);

  const mismatch = await onTerminal(
    ["admin", "create", "--email", "tty2@example.com"],
    t.env,
    [PASSWORD, PASSWORD + "x"],
  );
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.screen, /The passwords do not match/);

  const cancelled = await onTerminal(
    ["admin", "create", "--email", "tty3@example.com"],
    t.env,
    ["Vq7\x03"],
  );
  assert.equal(cancelled.code, 130);
  assert.match(cancelled.screen, /Cancelled/);
  const emails = (await t.db.selectFrom("users").select("email").execute()).map((u) => u.email);
  assert.deepEqual(emails, ["tty@example.com"]);
});

Deno.test("admin reset-mfa turns a user's second factor off, revokes their sessions and audits it as the system; a user without MFA is left alone", async () => {
  await using dir = await tempDir();
  const databaseUrl = `file:${dir.path}/c.db`;
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ DATABASE_URL: databaseUrl }, { clock });
  let enrolled: MfaUser;
  try {
    enrolled = await mfaUser(t, clock);
  } finally {
    await t.close();
  }
  const env = { ...TEST_ENV, DATABASE_URL: databaseUrl };
  const reset = await runCli(["admin", "reset-mfa", "--email", enrolled.email], { env });
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /Second factor removed/);
  const again = await runCli(["admin", "reset-mfa", "--email", enrolled.email], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /has no second factor; nothing changed/);
  const unknown = await runCli(["admin", "reset-mfa", "--email", "nobody@example.com"], { env });
  assert.equal(unknown.code, 1);
  const usage = await runCli(["admin", "reset-mfa"], { env });
  assert.equal(usage.code, 2);

  const { db } = await connect({ databaseUrl });
  try {
    const user = await db.selectFrom("users").selectAll().where("id", "=", enrolled.id)
      .executeTakeFirstOrThrow();
    assert.equal(user.mfa_enabled_at, null);
    assert.equal(user.recovery_codes_left, 0);
    const open = await db.selectFrom("sessions").select("id").where("user_id", "=", enrolled.id)
      .where("revoked_at", "is", null).execute();
    assert.deepEqual(open, []);
    assert.deepEqual(
      await db.selectFrom("mfa_totp").select("user_id").where("user_id", "=", enrolled.id)
        .execute(),
      [],
    );
    const events = await db.selectFrom("audit_events").select(["actor_type", "target_id"])
      .where("action", "=", "mfa.reset").execute();
    assert.deepEqual(events, [{ actor_type: "system", target_id: enrolled.id }]);
  } finally {
    await db.destroy();
  }
});

Deno.test("admin reset-mfa removes the passkeys of a user who has no TOTP, so a password signs them in again", async () => {
  await using dir = await tempDir();
  const databaseUrl = `file:${dir.path}/c.db`;
  const t = await buildTestApp({ DATABASE_URL: databaseUrl });
  let holder: PasskeyUser;
  try {
    holder = await passkeyUser(t);
  } finally {
    await t.close();
  }
  const env = { ...TEST_ENV, DATABASE_URL: databaseUrl };
  const reset = await runCli(["admin", "reset-mfa", "--email", holder.email], { env });
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /Second factor removed .*1 passkey/);
  const { db } = await connect({ databaseUrl });
  try {
    const left = await db.selectFrom("passkeys").select("id").where("user_id", "=", holder.id)
      .execute();
    assert.deepEqual(left, []);
  } finally {
    await db.destroy();
  }
  const again = await buildTestApp({ DATABASE_URL: databaseUrl });
  try {
    const res = await request(again.app, "POST", "/api/v1/auth/login", {
      body: { email: holder.email, password: STRONG_PASSWORD },
    });
    assert.equal(res.status, 200);
    assert.ok((await res.json()).access_token, "a token, no second step");
  } finally {
    await again.close();
  }
});
