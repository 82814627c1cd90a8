import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import {
  buildTestApp,
  request,
  runCli,
  startServer,
  tempDir,
  TEST_SECRET,
} from "../support/helpers.ts";

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

Deno.test("HASH_PEPPER set over a generated DATA_DIR/hash_pepper with another value is warned about (it ends the hashes made under the file's pepper); the same value is silent", async () => {
  await using dir = await tempDir();
  const env = { DATABASE_URL: `file:${dir.path}/data/c.db` };
  assert.equal((await runCli(["migrate", "up"], { cwd: dir.path, env })).code, 0);
  assert.equal((await runCli(["audit", "verify"], { cwd: dir.path, env })).code, 0);
  const filed = (await Deno.readTextFile(`${dir.path}/data/hash_pepper`)).trim();
  const differs = /HASH_PEPPER differs from .*data\/hash_pepper/;

  const other = await runCli(["audit", "verify"], {
    cwd: dir.path,
    env: { ...env, HASH_PEPPER: `${filed}-changed` },
  });
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stderr, differs);
  const same = await runCli(["audit", "verify"], {
    cwd: dir.path,
    env: { ...env, HASH_PEPPER: filed },
  });
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stderr, differs);
});

// ---- The hash pepper (issue 16): rotation of JWT_SECRET_KEY, the upgrade, production ----

const FAST = { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" };
const K1 = TEST_SECRET;
const K2 = "second-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const PASSWORD = "Quartz-Lantern-Orbit-71!";

/** A small JSON client of a served citadel. */
function client(url: string) {
  return async (
    method: string,
    path: string,
    options: { body?: unknown; bearer?: string; apiKey?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    if (options.apiKey) headers["x-api-key"] = options.apiKey;
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/** Runs `serve` with `env`, hands its client to `use`, and stops it. */
async function served<T>(
  dir: string,
  env: Record<string, string>,
  use: (call: ReturnType<typeof client>) => Promise<T>,
): Promise<T> {
  const server = await startServer(env, { cwd: dir });
  try {
    return await use(client(server.url));
  } finally {
    assert.equal((await server.stop()).code, 0, server.output.join("\n"));
  }
}

/** A user with a session (its pair) and an API key, made over HTTP. */
async function userWithKey(call: ReturnType<typeof client>, email: string) {
  const registered = await call("POST", "/api/v1/auth/register", {
    body: { email, password: PASSWORD },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const tokens = await call("POST", "/api/v1/auth/login", { body: { email, password: PASSWORD } });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  const key = await call("POST", "/api/v1/api-keys", {
    bearer: tokens.body.access_token,
    body: { name: "ci", scopes: ["me:read"] },
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  return { tokens: tokens.body, apiKey: key.body.key as string };
}

async function refreshes(call: ReturnType<typeof client>, refreshToken: string) {
  const res = await call("POST", "/api/v1/auth/refresh", { body: { refresh_token: refreshToken } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { access_token: string; refresh_token: string };
}

async function keyWorks(call: ReturnType<typeof client>, apiKey: string, email: string) {
  const me = await call("GET", "/api/v1/me", { apiKey });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.user.email, email);
}

for (const pepper of ["set", "unset"] as const) {
  Deno.test(`rotating JWT_SECRET_KEY (K1, then K2 with K1 previous, then K2 alone, restarting between) keeps every refresh token and API key, HASH_PEPPER ${pepper}`, async () => {
    await using dir = await tempDir();
    const base = {
      DATABASE_URL: `file:${dir.path}/data/c.db`,
      ...FAST,
      ...(pepper === "set" ? { HASH_PEPPER: `${TEST_SECRET}-pepper` } : {}),
    };
    const pepperFile = `${dir.path}/data/hash_pepper`;
    const first = await served(dir.path, { ...base, JWT_SECRET_KEY: K1 }, async (call) => {
      const used = await userWithKey(call, "used@example.com");
      const idle = await userWithKey(call, "idle@example.com");
      return { used, idle };
    });
    const generated = pepper === "unset" ? await Deno.readTextFile(pepperFile) : undefined;
    if (generated) assert.equal((await Deno.stat(pepperFile)).mode! & 0o777, 0o600);
    else await assert.rejects(Deno.stat(pepperFile), Deno.errors.NotFound);

    const second = await served(
      dir.path,
      { ...base, JWT_SECRET_KEY: K2, JWT_SECRET_KEY_PREVIOUS: K1 },
      async (call) => {
        await keyWorks(call, first.used.apiKey, "used@example.com");
        const me = await call("GET", "/api/v1/me", { bearer: first.used.tokens.access_token });
        assert.equal(
          me.status,
          200,
          "an access token of K1 verifies under JWT_SECRET_KEY_PREVIOUS",
        );
        return await refreshes(call, first.used.tokens.refresh_token);
      },
    );

    await served(dir.path, { ...base, JWT_SECRET_KEY: K2 }, async (call) => {
      await keyWorks(call, first.used.apiKey, "used@example.com");
      await keyWorks(call, first.idle.apiKey, "idle@example.com");
      await refreshes(call, second.refresh_token);
      const idle = await refreshes(call, first.idle.tokens.refresh_token);
      const me = await call("GET", "/api/v1/me", { bearer: idle.access_token });
      assert.equal(me.status, 200);
      const old = await call("GET", "/api/v1/me", { bearer: first.used.tokens.access_token });
      assert.equal(old.status, 401, "K1 itself is gone");
    });
    if (generated) assert.equal(await Deno.readTextFile(pepperFile), generated, "never replaced");
  });
}

/** HMAC-SHA256 hex of `value` under the pepper text `pepper`. */
async function pepperHash(pepper: string, value: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(pepper),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(value));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The old release's stored hash: under HMAC(JWT secret, "citadel/hash-pepper/v1"). */
async function oldReleaseHash(jwtSecret: string, value: string): Promise<string> {
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(jwtSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const derived = new Uint8Array(
    await crypto.subtle.sign("HMAC", base, new TextEncoder().encode("citadel/hash-pepper/v1")),
  );
  const key = await crypto.subtle.importKey(
    "raw",
    derived,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(value));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function storedHashes(databaseUrl: string) {
  const { db } = await connect({ databaseUrl });
  try {
    const refresh = await db.selectFrom("refresh_tokens").select("token_hash").execute();
    const keys = await db.selectFrom("api_key_secrets").select("key_hash").execute();
    return {
      refresh: new Set(refresh.map((r) => r.token_hash)),
      keys: new Set(keys.map((r) => r.key_hash)),
    };
  } finally {
    await db.destroy();
  }
}

Deno.test("upgrade: an installation whose hashes were made under the JWT-derived pepper starts with a generated DATA_DIR/hash_pepper, keeps every token, re-hashes on use, and survives a JWT_SECRET_KEY rotation after the upgrade", async () => {
  await using dir = await tempDir();
  const databaseUrl = `file:${dir.path}/data/c.db`;
  // The old release: HASH_PEPPER unset, so every hash was made under the derived pepper
  // (an app built without HASH_PEPPER does exactly that; checked against the formula).
  const old = await buildTestApp({ DATABASE_URL: databaseUrl, JWT_SECRET_KEY: K1 });
  const holdings: { email: string; refresh: string; rotated: string; apiKey: string }[] = [];
  for (const email of ["early@example.com", "late@example.com"]) {
    await registerUser(old, email);
    const first = await login(old, email);
    const res = await request(old.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
    });
    const second = await res.json();
    const key = await authed(old, "POST", "/api/v1/api-keys", second.access_token, {
      name: "ci",
      scopes: ["me:read"],
    });
    holdings.push({
      email,
      refresh: second.refresh_token,
      rotated: first.refresh_token,
      apiKey: (await key.json()).key,
    });
  }
  await old.close();
  const before = await storedHashes(databaseUrl);
  for (const h of holdings) {
    assert.ok(before.refresh.has(await oldReleaseHash(K1, `rt:${h.refresh}`)));
    assert.ok(before.keys.has(await oldReleaseHash(K1, `ak:${h.apiKey}`)));
  }
  // Past the refresh grace window, so a replay is reuse rather than a retry.
  await new Promise((r) => setTimeout(r, 1100));

  const [early, late] = holdings;
  const env = { DATABASE_URL: databaseUrl, ...FAST, REFRESH_GRACE_SECONDS: "1" };
  const server = await startServer({ ...env, JWT_SECRET_KEY: K1 }, { cwd: dir.path });
  let pepper: string;
  try {
    assert.ok(server.output.some((l) => /generated once.*HASH_PEPPER/.test(l)), "announced");
    pepper = (await Deno.readTextFile(`${dir.path}/data/hash_pepper`)).trim();
    const call = client(server.url);
    await keyWorks(call, early.apiKey, early.email);
    const next = await refreshes(call, early.refresh);
    const after = await storedHashes(databaseUrl);
    assert.ok(after.keys.has(await pepperHash(pepper, `ak:${early.apiKey}`)), "key re-hashed");
    assert.ok(!after.keys.has(await oldReleaseHash(K1, `ak:${early.apiKey}`)), "old hash gone");
    assert.ok(after.refresh.has(await pepperHash(pepper, `rt:${early.refresh}`)));
    assert.ok(!after.refresh.has(await oldReleaseHash(K1, `rt:${early.refresh}`)));
    assert.ok(after.refresh.has(await pepperHash(pepper, `rt:${next.refresh_token}`)));
    const replay = await call("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: early.rotated },
    });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, "refresh_token_reused", "a replayed legacy token is reuse");
    const revoked = await call("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: next.refresh_token },
    });
    assert.equal(revoked.status, 401, "and the session is over");
  } finally {
    assert.equal((await server.stop()).code, 0);
  }

  // JWT_SECRET_KEY rotated after the upgrade: the tokens not used yet were hashed under
  // K1's derived pepper, which now comes from JWT_SECRET_KEY_PREVIOUS.
  await served(
    dir.path,
    { ...env, JWT_SECRET_KEY: K2, JWT_SECRET_KEY_PREVIOUS: K1 },
    async (call) => {
      await keyWorks(call, late.apiKey, late.email);
      await refreshes(call, late.refresh);
      await keyWorks(call, early.apiKey, early.email);
    },
  );
  assert.equal((await Deno.readTextFile(`${dir.path}/data/hash_pepper`)).trim(), pepper);
  const final = await storedHashes(databaseUrl);
  assert.ok(final.keys.has(await pepperHash(pepper, `ak:${late.apiKey}`)));
  for (const h of holdings) {
    assert.ok(!final.keys.has(await oldReleaseHash(K1, `ak:${h.apiKey}`)), "no legacy key hash");
  }
});

function production(dir: string): Record<string, string> {
  return {
    APP_ENV: "production",
    ALLOWED_HOSTS: "api.example.com",
    ALLOW_INSECURE_HTTP: "true",
    JWT_SECRET_KEY: TEST_SECRET,
    DATABASE_URL: `file:${dir}/data/c.db`,
    ...FAST,
  };
}

Deno.test("production: serve without HASH_PEPPER refuses (exit 2, naming HASH_PEPPER and the file) and writes no pepper; with the file present it starts", async () => {
  await using dir = await tempDir();
  const env = production(dir.path);
  const pepperFile = `${dir.path}/data/hash_pepper`;
  const refused = await runCli(["serve"], { cwd: dir.path, env, timeoutMs: 20_000 });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /HASH_PEPPER/);
  assert.match(refused.stderr, new RegExp(pepperFile));
  assert.match(refused.stderr, /citadel secret/);
  await assert.rejects(Deno.stat(pepperFile), Deno.errors.NotFound, "production generates none");

  await Deno.mkdir(`${dir.path}/data`, { recursive: true });
  await Deno.writeTextFile(pepperFile, `${TEST_SECRET}-pepper-file\n`, { mode: 0o600 });
  const server = await startServer(env, { cwd: dir.path });
  assert.equal((await server.stop()).code, 0, server.output.join("\n"));
  assert.ok(!server.output.some((l) => WARNING.test(l)), "nothing generated, nothing announced");
});
