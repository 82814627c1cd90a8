import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { SYSTEM_ACTOR } from "../../src/services/audit_events.ts";
import { createServices } from "../../src/services/container.ts";
import { buildTestApp, runCli, startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { rawHttp } from "../support/loopback.ts";

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

// ---- Signing keys at start (issue 16): prepareSigningKeys ----

/** A field-encryption key: 32 random bytes, base64. */
function encryptionKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

async function signingKeys(databaseUrl: string) {
  const { db } = await connect({ databaseUrl });
  try {
    const keys = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").execute();
    const created = await db.selectFrom("audit_events").select("target_id")
      .where("action", "=", "signing_key.created").execute();
    const secrets = await db.selectFrom("hs256_secrets").selectAll().execute();
    return { keys, created: created.map((r) => r.target_id), secrets };
  } finally {
    await db.destroy();
  }
}

Deno.test("serve in production with EdDSA creates the first signing key once, before its workers start, and publishes it; a wrong ENCRYPTION_KEY then stops the start naming ENCRYPTION_KEY", async () => {
  await using dir = await tempDir();
  const env: Record<string, string> = {
    ...production(dir.path),
    JWT_ALGORITHM: "EdDSA",
    ENCRYPTION_KEY: encryptionKey(),
  };
  const server = await startServer(env, { cwd: dir.path, args: ["--workers", "2"] });
  try {
    const raw = await rawHttp(
      server.port,
      "GET /.well-known/jwks.json HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n",
    );
    assert.match(raw, /^HTTP\/1\.1 200/);
    const jwks = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));
    const { keys, created } = await signingKeys(env.DATABASE_URL);
    assert.equal(keys.length, 1);
    assert.equal(keys[0].state, "current");
    assert.deepEqual(created, [keys[0].kid], "created once, by the supervisor");
    assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid), [keys[0].kid]);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
  const wrong = await runCli(["serve"], {
    cwd: dir.path,
    env: { ...env, ENCRYPTION_KEY: encryptionKey() },
    timeoutMs: 20_000,
  });
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /ENCRYPTION_KEY: a signing key does not decrypt/);
  assert.match(wrong.stderr, /ENCRYPTION_KEY_PREVIOUS/, "the message says how to fix it");
  assert.equal((await signingKeys(env.DATABASE_URL)).keys.length, 1, "no key created instead");
});

Deno.test("serve refuses to start when the current signing key's envelope was swapped with another row's (exit 2, naming ENCRYPTION_KEY and the row)", async () => {
  await using dir = await tempDir();
  const env: Record<string, string> = {
    ...production(dir.path),
    JWT_ALGORITHM: "ES256",
    ENCRYPTION_KEY: encryptionKey(),
  };
  // A current and a next key, made in process over the same file and ENCRYPTION_KEY.
  const t = await buildTestApp({
    DATABASE_URL: env.DATABASE_URL,
    JWT_ALGORITHM: "ES256",
    ENCRYPTION_KEY: env.ENCRYPTION_KEY,
  });
  await createServices(t.deps).keyAdmin.rotate({}, SYSTEM_ACTOR);
  await t.close();
  const { db } = await connect({ databaseUrl: env.DATABASE_URL });
  let swapped: string[];
  try {
    const rows = await db.selectFrom("signing_keys").selectAll().execute();
    assert.deepEqual(rows.map((r) => r.state).sort(), ["current", "next"]);
    const [current, next] = [
      rows.find((r) => r.state === "current")!,
      rows.find((r) => r.state === "next")!,
    ];
    swapped = [current.kid, next.kid];
    await db.updateTable("signing_keys").set({ private_key: next.private_key })
      .where("kid", "=", current.kid).execute();
    await db.updateTable("signing_keys").set({ private_key: current.private_key })
      .where("kid", "=", next.kid).execute();
  } finally {
    await db.destroy();
  }
  const refused = await runCli(["serve"], { cwd: dir.path, env, timeoutMs: 20_000 });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /ENCRYPTION_KEY: a signing key does not decrypt/);
  assert.match(
    refused.stderr,
    new RegExp(`signing_keys\\.private_key of row (${swapped.join("|")})`),
  );
  assert.match(refused.stderr, /copied from another row or column/);
});

Deno.test("serve in production refuses without ENCRYPTION_KEY: with EdDSA at once, and with HS256 once encrypted fields exist (exit 2, naming the fields)", async () => {
  await using dir = await tempDir();
  const env = production(dir.path);
  const eddsa = await runCli(["serve"], {
    cwd: dir.path,
    env: { ...env, JWT_ALGORITHM: "EdDSA" },
    timeoutMs: 20_000,
  });
  assert.equal(eddsa.code, 2, eddsa.stderr);
  assert.match(eddsa.stderr, /ENCRYPTION_KEY/);

  // HS256 with no encrypted field: no ENCRYPTION_KEY needed.
  const plain = await startServer(env, { cwd: dir.path });
  assert.equal((await plain.stop()).code, 0, plain.output.join("\n"));
  assert.equal((await signingKeys(env.DATABASE_URL)).keys.length, 0);

  // An EdDSA period leaves encrypted private keys behind; back on HS256 without the key,
  // production refuses rather than run with secrets it could never read again.
  const withKey = { ...env, JWT_ALGORITHM: "EdDSA", ENCRYPTION_KEY: encryptionKey() };
  const eddsaRun = await startServer(withKey, { cwd: dir.path });
  assert.equal((await eddsaRun.stop()).code, 0, eddsaRun.output.join("\n"));
  const refused = await runCli(["serve"], { cwd: dir.path, env, timeoutMs: 20_000 });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /ENCRYPTION_KEY: is required when APP_ENV=production/);
  assert.match(
    refused.stderr,
    /1 database field\(s\) are encrypted \(signing_keys\.private_key, mfa_totp\.secret\)/,
  );
  const back = await startServer({ ...env, ENCRYPTION_KEY: withKey.ENCRYPTION_KEY }, {
    cwd: dir.path,
  });
  assert.equal((await back.stop()).code, 0, "with the key it starts, on HS256");
});

Deno.test("serve with HS256 records when each JWT_SECRET_KEY first signed (by key id, never the secret), once", async () => {
  await using dir = await tempDir();
  const env = production(dir.path);
  for (const secret of [TEST_SECRET, TEST_SECRET, `${TEST_SECRET}-rotated`]) {
    const server = await startServer({ ...env, JWT_SECRET_KEY: secret }, { cwd: dir.path });
    assert.equal((await server.stop()).code, 0);
  }
  const { secrets, keys } = await signingKeys(env.DATABASE_URL);
  assert.equal(secrets.length, 2, "one row per secret, not per start");
  assert.equal(keys.length, 0);
  for (const row of secrets) {
    assert.ok(!row.kid.includes(TEST_SECRET.slice(0, 8)));
    assert.ok(row.first_signed_at > 0);
  }
});
