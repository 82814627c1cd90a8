/**
 * The pepper of stored token hashes and the upgrade from the release that derived it from
 * JWT_SECRET_KEY. The "old installation" is an app built with HASH_PEPPER unset, which is
 * exactly what that release did (its pepper key was HMAC(JWT secret, "citadel/hash-pepper/
 * v1"), for every hash and every refresh-token successor); the stored hashes are checked
 * against that formula written out here with Web Crypto alone, so the simulation cannot
 * drift from the release it stands for. The upgraded app then runs over the same file with
 * a pepper of its own.
 */
import assert from "node:assert/strict";
import { hex, hmac } from "../../src/lib/crypto.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { createDeviceTokens } from "../../src/services/device_tokens.ts";
import { createPepper, derivedPepperKey } from "../../src/services/pepper.ts";
import { authed, login, registerUser } from "../support/auth_support.ts";
import { buildTestApp, request, tempDir, TEST_SECRET, type TestApp } from "../support/helpers.ts";

const encoder = new TextEncoder();
const NEW_PEPPER = "a-pepper-of-its-own-0123456789-abcdefghijklmnopqrstuvwxyz";
const K2 = "second-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/** HMAC-SHA256 with raw key bytes, straight from Web Crypto. */
async function rawHmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array> {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(data)));
}

/** The stored hash of the release before the pepper stood on its own, as it computed it. */
async function oldReleaseHash(jwtSecret: string, value: string): Promise<string> {
  const pepper = await rawHmac(encoder.encode(jwtSecret), "citadel/hash-pepper/v1");
  return hex(await rawHmac(pepper as Uint8Array<ArrayBuffer>, value));
}

/** The stored hash under a pepper text (HASH_PEPPER or the generated file). */
async function pepperHash(pepper: string, value: string): Promise<string> {
  return hex(await rawHmac(encoder.encode(pepper), value));
}

Deno.test("derivedPepperKey() reproduces the old release's pepper exactly", async () => {
  for (const secret of [TEST_SECRET, K2, "x".repeat(200)]) {
    const key = await derivedPepperKey(secret);
    for (const value of ["rt:abc", "ak:ctd_xyz", ""]) {
      assert.equal(hex(await hmac(key, value)), await oldReleaseHash(secret, value));
    }
  }
});

Deno.test("createPepper(): HASH_PEPPER is current and both JWT secrets' derived peppers are legacy; without it the current secret's derived pepper is current", async () => {
  const previous = `${TEST_SECRET}-previous`;
  const own = createPepper({ hashPepper: NEW_PEPPER, jwtSecret: K2, previousJwtSecret: previous });
  assert.equal(hex(await hmac(await own.key, "v")), await pepperHash(NEW_PEPPER, "v"));
  assert.deepEqual(
    await Promise.all((await own.legacy).map(async (k) => hex(await hmac(k, "v")))),
    [await oldReleaseHash(K2, "v"), await oldReleaseHash(previous, "v")],
  );
  const derived = createPepper({ jwtSecret: K2, previousJwtSecret: previous });
  assert.equal(hex(await hmac(await derived.key, "v")), await oldReleaseHash(K2, "v"));
  assert.deepEqual(
    await Promise.all((await derived.legacy).map(async (k) => hex(await hmac(k, "v")))),
    [await oldReleaseHash(previous, "v")],
  );
  const alone = createPepper({ hashPepper: NEW_PEPPER, jwtSecret: K2 });
  assert.equal((await alone.legacy).length, 1);
});

/** What a user of the old installation holds. */
interface Holdings {
  email: string;
  /** Rotated once before the upgrade (outside the grace window): replaying it is reuse. */
  rotatedRefresh: string;
  refresh: string;
  apiKey: string;
}

async function hold(t: TestApp): Promise<Holdings> {
  const user = await registerUser(t);
  const first = await login(t, user.email);
  const res = await request(t.app, "POST", "/api/v1/auth/refresh", {
    body: { refresh_token: first.refresh_token },
  });
  assert.equal(res.status, 200);
  const second = await res.json();
  const created = await authed(t, "POST", "/api/v1/api-keys", second.access_token, {
    name: "ci",
    scopes: ["me:read"],
  });
  assert.equal(created.status, 201);
  return {
    email: user.email,
    rotatedRefresh: first.refresh_token,
    refresh: second.refresh_token,
    apiKey: (await created.json()).key,
  };
}

const storedRefreshHashes = async (t: TestApp) =>
  new Set((await t.deps.db.selectFrom("refresh_tokens").select("token_hash").execute())
    .map((r) => r.token_hash));
const storedKeyHashes = async (t: TestApp) =>
  new Set((await t.deps.db.selectFrom("api_key_secrets").select("key_hash").execute())
    .map((r) => r.key_hash));

Deno.test("upgrade: refresh tokens and API keys hashed under the JWT-derived pepper keep working under a pepper of its own, and are re-hashed on use", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(Date.now());
  const databaseUrl = `file:${dir.path}/citadel.db`;
  const old = await buildTestApp({ DATABASE_URL: databaseUrl }, { clock });
  assert.equal(old.deps.config.hashPepper, undefined, "the old release's configuration");
  const a = await hold(old);
  const b = await hold(old);
  // The old installation stored exactly what the old release would have.
  const oldRefresh = await storedRefreshHashes(old);
  const oldKeys = await storedKeyHashes(old);
  for (const h of [a, b]) {
    assert.ok(oldRefresh.has(await oldReleaseHash(TEST_SECRET, `rt:${h.refresh}`)));
    assert.ok(oldRefresh.has(await oldReleaseHash(TEST_SECRET, `rt:${h.rotatedRefresh}`)));
    assert.ok(oldKeys.has(await oldReleaseHash(TEST_SECRET, `ak:${h.apiKey}`)));
  }
  await old.close();
  clock.advance(60_000); // past the refresh grace window

  // The upgrade: same JWT secret, a pepper of its own.
  const upgraded = await buildTestApp({ DATABASE_URL: databaseUrl, HASH_PEPPER: NEW_PEPPER }, {
    clock,
  });
  try {
    const me = await request(upgraded.app, "GET", "/api/v1/me", {
      headers: { "x-api-key": a.apiKey },
    });
    assert.equal(me.status, 200, await me.clone().text());
    assert.equal((await me.json()).user.email, a.email);
    const keys = await storedKeyHashes(upgraded);
    assert.ok(keys.has(await pepperHash(NEW_PEPPER, `ak:${a.apiKey}`)), "re-hashed on use");
    assert.ok(!keys.has(await oldReleaseHash(TEST_SECRET, `ak:${a.apiKey}`)), "old hash gone");
    assert.ok(keys.has(await oldReleaseHash(TEST_SECRET, `ak:${b.apiKey}`)), "b not yet used");

    const refreshed = await request(upgraded.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: a.refresh },
    });
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    const next = await refreshed.json();
    const hashes = await storedRefreshHashes(upgraded);
    assert.ok(!hashes.has(await oldReleaseHash(TEST_SECRET, `rt:${a.refresh}`)), "old hash gone");
    assert.ok(hashes.has(await pepperHash(NEW_PEPPER, `rt:${a.refresh}`)), "kept, re-hashed");
    assert.ok(hashes.has(await pepperHash(NEW_PEPPER, `rt:${next.refresh_token}`)));
    const again = await request(upgraded.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: next.refresh_token },
    });
    assert.equal(again.status, 200, "the new successor works too");

    // A token the old release had already rotated is still recognised: replaying it is
    // reuse, and the session ends.
    const replay = await request(upgraded.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: a.rotatedRefresh },
    });
    assert.equal(replay.status, 401);
    assert.equal((await replay.json()).code, "refresh_token_reused");
    const after = await request(upgraded.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: (await again.json()).refresh_token },
    });
    assert.equal(after.status, 401, "the session was revoked");
    await after.body?.cancel();
  } finally {
    await upgraded.close();
  }

  // JWT_SECRET_KEY rotated once after the upgrade (the old one as previous): what was not
  // used yet still works, through the previous secret's derived pepper.
  const rotated = await buildTestApp({
    DATABASE_URL: databaseUrl,
    HASH_PEPPER: NEW_PEPPER,
    JWT_SECRET_KEY: K2,
    JWT_SECRET_KEY_PREVIOUS: TEST_SECRET,
  }, { clock });
  try {
    const me = await request(rotated.app, "GET", "/api/v1/me", {
      headers: { "x-api-key": b.apiKey },
    });
    assert.equal(me.status, 200);
    await me.body?.cancel();
    const refreshed = await request(rotated.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: b.refresh },
    });
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    await refreshed.body?.cancel();
    const replay = await request(rotated.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: b.rotatedRefresh },
    });
    assert.equal((await replay.json()).code, "refresh_token_reused");
    assert.ok((await storedKeyHashes(rotated)).has(await pepperHash(NEW_PEPPER, `ak:${b.apiKey}`)));
  } finally {
    await rotated.close();
  }
});

Deno.test("upgrade: a refresh token the old release rotated, retried within the grace window, gets the same successor the old release issued", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(Date.now());
  const databaseUrl = `file:${dir.path}/citadel.db`;
  const old = await buildTestApp({ DATABASE_URL: databaseUrl }, { clock });
  const user = await registerUser(old);
  const first = await login(old, user.email);
  const res = await request(old.app, "POST", "/api/v1/auth/refresh", {
    body: { refresh_token: first.refresh_token },
  });
  const successor = (await res.json()).refresh_token;
  await old.close();
  const upgraded = await buildTestApp({ DATABASE_URL: databaseUrl, HASH_PEPPER: NEW_PEPPER }, {
    clock,
  });
  try {
    // A second tab presents the first token again, within the grace window.
    const retry = await request(upgraded.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
    });
    assert.equal(retry.status, 200, await retry.clone().text());
    assert.equal((await retry.json()).refresh_token, successor);
    const use = await request(upgraded.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: successor },
    });
    assert.equal(use.status, 200);
    await use.body?.cancel();
  } finally {
    await upgraded.close();
  }
});

Deno.test("upgrade: a device credential signed under the derived pepper still verifies; one under an unrelated pepper does not", async () => {
  const clock = new ManualClock();
  const userId = crypto.randomUUID();
  const oldDevices = createDeviceTokens({
    pepper: createPepper({ jwtSecret: TEST_SECRET }),
    clock,
  });
  const token = await oldDevices.issue(userId);
  const upgraded = createDeviceTokens({
    pepper: createPepper({ hashPepper: NEW_PEPPER, jwtSecret: TEST_SECRET }),
    clock,
  });
  assert.ok(await upgraded.verify(token, userId));
  assert.equal(await upgraded.verify(token, crypto.randomUUID()), undefined);
  const stranger = createDeviceTokens({
    pepper: createPepper({ hashPepper: NEW_PEPPER, jwtSecret: K2 }),
    clock,
  });
  assert.equal(await stranger.verify(token, userId), undefined);
});

Deno.test("concurrent first uses of one legacy-pepper API key all succeed: the requests that find it already re-hashed look it up again", async () => {
  await using dir = await tempDir();
  const env = { DATABASE_URL: `file:${dir.path}/c.db` };
  // HASH_PEPPER unset: the pepper derived from JWT_SECRET_KEY is current, as before 0.2.
  const old = await buildTestApp(env);
  const user = await registerUser(old);
  const { access_token } = await login(old, user.email);
  const created = await authed(old, "POST", "/api/v1/api-keys", access_token, {
    name: "svc",
    scopes: ["me:read"],
  });
  const { key } = await created.json();
  await old.close();
  const upgraded = await buildTestApp({ ...env, HASH_PEPPER: NEW_PEPPER });
  try {
    const statuses = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await request(upgraded.app, "GET", "/api/v1/me", {
          headers: { "x-api-key": key },
        });
        await response.body?.cancel();
        return response.status;
      }),
    );
    assert.deepEqual(statuses, [200, 200, 200, 200]);
  } finally {
    await upgraded.close();
  }
});
