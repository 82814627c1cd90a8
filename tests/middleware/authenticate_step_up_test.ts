/**
 * Step-up (STEP_UP_MAX_AGE, `authorize({ fresh })` and `assertFreshAuthentication`) as an
 * attacker holding a session whose sign-in is old would try to get around it: the session's
 * access token is refreshed so it is valid, but the refresh keeps the old `auth_time`. Every
 * listed operation, and every admin write route the app serves (enumerated from the app, so
 * a new one without a case fails), answers 403 `reauthentication_required` and changes
 * nothing; admin reads still answer; after POST /api/v1/auth/reauthenticate each passes.
 * API keys are service credentials and are not asked.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  adminSession,
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
} from "../support/auth_support.ts";
import { runCheck } from "../../src/cli/check.ts";
import { buildTestApp, request, tempDir, TEST_ENV, type TestApp } from "../support/helpers.ts";
import {
  assertProblem,
  jwtClaims,
  mfaUser,
  midStepMs,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";
import { asymmetricEnv } from "../support/signing_key_support.ts";
import { adminRoutes, enrolTotp, freshToken, staleSession } from "../support/step_up_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";

/** One sensitive request and the status it gets once allowed. */
interface Operation {
  /** "METHOD /route/pattern", as the app lists it. */
  route: string;
  /** The concrete path (default: the pattern). */
  path?: string;
  /** Built at send time (codes depend on the clock). */
  body?: () => unknown;
  allowed: number;
  /** Reads what the allowed answer carries. */
  then?: (res: Response) => Promise<void>;
}

function send(t: TestApp, op: Operation, bearer: string): Promise<Response> {
  const [method, pattern] = op.route.split(" ");
  return authed(t, method, op.path ?? pattern, bearer, op.body?.());
}

/** Every operation refused with 403 reauthentication_required. */
async function assertAllRefused(t: TestApp, ops: readonly Operation[], bearer: string) {
  for (const op of ops) {
    const res = await send(t, op, bearer);
    const body = await assertProblem(res, 403, "reauthentication_required");
    assert.match(body.detail, /\/api\/v1\/auth\/reauthenticate/, op.route);
  }
}

/** Every operation allowed, in order. */
async function assertAllAllowed(t: TestApp, ops: readonly Operation[], bearer: string) {
  for (const op of ops) {
    const res = await send(t, op, bearer);
    assert.equal(res.status, op.allowed, `${op.route}: ${await res.clone().text()}`);
    if (op.then) await op.then(res);
    else await res.body?.cancel();
  }
}

/** What an admin write could change: compared before and after the refused attempts. */
async function snapshot(t: TestApp) {
  const db = t.deps.db;
  return {
    users: await db.selectFrom("users")
      .select(["id", "status", "role", "mfa_enabled_at", "password_hash", "recovery_codes_left"])
      .orderBy("id").execute(),
    sessions: await db.selectFrom("sessions").select(["id", "revoked_at"]).orderBy("id").execute(),
    apiKeys: await db.selectFrom("api_keys")
      .select(["id", "prefix", "scopes", "rate_limit_per_minute", "revoked_at"])
      .orderBy("id").execute(),
    mfa: await db.selectFrom("mfa_totp").select(["user_id", "confirmed_at"]).orderBy("user_id")
      .execute(),
    signingKeys: await db.selectFrom("signing_keys").select(["kid", "state"]).orderBy("kid")
      .execute(),
    passkeys: await db.selectFrom("passkeys").select("id").orderBy("id").execute(),
  };
}

/** Registers a passkey (a software authenticator) for the session's user; its id. */
async function addPasskey(t: TestApp, bearer: string): Promise<string> {
  const options = await (await authed(t, "POST", "/api/v1/me/passkeys/options", bearer)).json();
  const res = await authed(t, "POST", "/api/v1/me/passkeys", bearer, {
    name: "key",
    response: await (await SoftAuthenticator.create()).register(options),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

async function createKey(t: TestApp, bearer: string, scopes: string[]) {
  const res = await authed(t, "POST", "/api/v1/api-keys", bearer, {
    name: scopes.join(" "),
    scopes,
  });
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  return { id: body.api_key.id as string, key: body.key as string };
}

/**
 * One case per admin write route, each on its own target: users to change, delete, sign
 * out and reset, another user's keys, and a published next signing key to retire (retired
 * before the rotation publishes a new one). `superToken` must be fresh.
 */
async function adminWrites(t: TestApp, clock: ManualClock, superToken: string) {
  const patched = await registerUser(t);
  const deleted = await registerUser(t);
  const signedOut = await registerUser(t);
  await login(t, signedOut.email);
  const lostDevice = await mfaUser(t, clock);
  const holder = await registerUser(t);
  const passkeyId = await addPasskey(t, (await login(t, holder.email)).access_token);
  const owner = await registerUser(t);
  const ownerToken = (await login(t, owner.email)).access_token;
  const limited = await createKey(t, ownerToken, ["me:read"]);
  const revoked = await createKey(t, ownerToken, ["me:read"]);
  const published = await authed(t, "POST", "/api/v1/admin/keys/rotate", superToken, {});
  assert.equal(published.status, 200, await published.clone().text());
  const next = (await published.json()).next.kid as string;

  const users = "/api/v1/admin/users";
  const keys = "/api/v1/admin/api-keys";
  const ops: Operation[] = [
    {
      route: `PATCH ${users}/:id`,
      path: `${users}/${patched.id}`,
      body: () => ({ status: "disabled" }),
      allowed: 200,
    },
    { route: `DELETE ${users}/:id`, path: `${users}/${deleted.id}`, allowed: 204 },
    {
      route: `POST ${users}/:id/revoke-sessions`,
      path: `${users}/${signedOut.id}/revoke-sessions`,
      body: () => ({}),
      allowed: 200,
      then: async (res) => assert.equal((await res.json()).revoked, 1),
    },
    {
      route: `POST ${users}/:id/mfa/reset`,
      path: `${users}/${lostDevice.id}/mfa/reset`,
      allowed: 204,
    },
    {
      route: `DELETE ${users}/:id/passkeys/:passkeyId`,
      path: `${users}/${holder.id}/passkeys/${passkeyId}`,
      allowed: 204,
    },
    {
      route: `PATCH ${keys}/:id`,
      path: `${keys}/${limited.id}`,
      body: () => ({ rate_limit_per_minute: 10 }),
      allowed: 200,
    },
    { route: `DELETE ${keys}/:id`, path: `${keys}/${revoked.id}`, allowed: 204 },
    {
      route: "POST /api/v1/admin/keys/:kid/retire",
      path: `/api/v1/admin/keys/${next}/retire`,
      allowed: 200,
      then: async (res) => assert.equal((await res.json()).key.state, "retired"),
    },
    {
      route: "POST /api/v1/admin/keys/rotate",
      body: () => ({}),
      allowed: 200,
      then: async (res) => assert.equal((await res.json()).action, "published"),
    },
  ];
  assert.deepEqual(
    ops.map((op) => op.route).sort(),
    adminRoutes(t).writes,
    "every admin write route the app serves has a case here",
  );
  return ops;
}

/** Asserts what the allowed admin writes did. */
async function assertAdminWritesDone(t: TestApp, ops: readonly Operation[]) {
  const db = t.deps.db;
  const idIn = (route: string) => ops.find((op) => op.route === route)!.path!.split("/")[5];
  const patched = await db.selectFrom("users").select("status")
    .where("id", "=", idIn("PATCH /api/v1/admin/users/:id")).executeTakeFirstOrThrow();
  assert.equal(patched.status, "disabled");
  const deleted = await db.selectFrom("users").select("id")
    .where("id", "=", idIn("DELETE /api/v1/admin/users/:id")).executeTakeFirst();
  assert.equal(deleted, undefined);
  const reset = await db.selectFrom("users").select("mfa_enabled_at")
    .where("id", "=", idIn("POST /api/v1/admin/users/:id/mfa/reset")).executeTakeFirstOrThrow();
  assert.equal(reset.mfa_enabled_at, null);
  const passkeys = await db.selectFrom("passkeys").select("id")
    .where("user_id", "=", idIn("DELETE /api/v1/admin/users/:id/passkeys/:passkeyId")).execute();
  assert.deepEqual(passkeys, [], "the passkey was removed");
  const limited = await db.selectFrom("api_keys").select("rate_limit_per_minute")
    .where("id", "=", idIn("PATCH /api/v1/admin/api-keys/:id")).executeTakeFirstOrThrow();
  assert.equal(limited.rate_limit_per_minute, 10);
  const revoked = await db.selectFrom("api_keys").select("revoked_at")
    .where("id", "=", idIn("DELETE /api/v1/admin/api-keys/:id")).executeTakeFirstOrThrow();
  assert.notEqual(revoked.revoked_at, null);
}

Deno.test("a stale super admin session gets 403 reauthentication_required on every admin write route and changes nothing; reads still answer; reauthenticated, every write passes", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp(asymmetricEnv("EdDSA"), { clock });
  await using dir = await tempDir();
  // The check route answers what `citadel serve` gives it: the real audit, of a scratch setup.
  t.deps.checkReport = async () =>
    (await runCheck({ env: { ...TEST_ENV, DATABASE_URL: `file:${dir.path}/c.db` }, cwd: dir.path }))
      .report as Record<string, unknown>;
  try {
    const boss = await adminSession(t, "super_admin");
    const ops = await adminWrites(t, clock, boss.tokens.access_token);
    const stale = await staleSession(t, clock, boss.tokens);

    const before = await snapshot(t);
    await assertAllRefused(t, ops, stale.access_token);
    assert.deepEqual(await snapshot(t), before, "the refused writes changed nothing");

    for (const route of adminRoutes(t).reads) {
      const path = route.slice("GET ".length).replace(":id", boss.user.id);
      const res = await authed(t, "GET", path, stale.access_token);
      assert.equal(res.status, 200, `${route}: ${await res.clone().text()}`);
      await res.body?.cancel();
    }

    const fresh = await freshToken(t, stale.access_token);
    assert.equal(jwtClaims(fresh).sid, jwtClaims(stale.access_token).sid, "the same session");
    await assertAllAllowed(t, ops, fresh);
    await assertAdminWritesDone(t, ops);
  } finally {
    await t.close();
  }
});

Deno.test("API keys are service credentials: a super admin's admin:write key performs every admin write without step-up while its owner's stale session is refused", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp(asymmetricEnv("EdDSA"), { clock });
  try {
    const boss = await adminSession(t, "super_admin");
    const { key } = await createKey(t, boss.tokens.access_token, ["admin:read", "admin:write"]);
    const ops = await adminWrites(t, clock, boss.tokens.access_token);
    const stale = await staleSession(t, clock, boss.tokens);
    await assertAllRefused(t, ops.slice(0, 1), stale.access_token);

    await assertAllAllowed(t, ops, key);
    await assertAdminWritesDone(t, ops);
    // The key is refused where only a session may go: it cannot reauthenticate itself.
    const res = await request(t.app, "POST", "/api/v1/auth/reauthenticate", {
      body: { password: STRONG_PASSWORD },
      headers: { authorization: `Bearer ${key}` },
    });
    await assertProblem(res, 403, "session_required");
  } finally {
    await t.close();
  }
});

Deno.test("a stale session gets 403 reauthentication_required on new recovery codes, password change, an admin-scoped key, turning MFA off, enrolment and its confirmation; reauthenticated with password and code, each passes", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const { secret } = await enrolTotp(t, clock, admin.tokens.access_token);
    const stale = await staleSession(t, clock, admin.tokens);

    // Each TOTP code sent is of a later step than the one before (a code is accepted once).
    const nextCode = (s: string) => {
      clock.advance(STEP_MS);
      return totp(s, clock.now());
    };
    const newPassword = "Harbor-Compass-Violet-38!";
    let newSecret = "";
    const ops: Operation[] = [
      {
        route: "POST /api/v1/me/mfa/recovery-codes",
        body: () => ({ code: nextCode(secret) }),
        allowed: 200,
        then: async (res) => assert.equal((await res.json()).recovery_codes.length, 10),
      },
      {
        route: "POST /api/v1/me/password",
        body: () => ({ current_password: STRONG_PASSWORD, new_password: newPassword }),
        allowed: 204,
      },
      {
        route: "POST /api/v1/api-keys",
        body: () => ({ name: "ops", scopes: ["admin:read"] }),
        allowed: 201,
      },
      { route: "DELETE /api/v1/me/mfa", body: () => ({ code: nextCode(secret) }), allowed: 204 },
      {
        route: "POST /api/v1/me/mfa/totp",
        allowed: 200,
        then: async (res) => void (newSecret = (await res.json()).secret),
      },
      {
        route: "POST /api/v1/me/mfa/totp/verify",
        body: () => ({ code: newSecret ? nextCode(newSecret) : "123456" }),
        allowed: 200,
      },
    ];

    const before = await snapshot(t);
    await assertAllRefused(t, ops, stale.access_token);
    assert.deepEqual(await snapshot(t), before, "the refused operations changed nothing");
    const me = await (await authed(t, "GET", "/api/v1/me", stale.access_token)).json();
    assert.equal(me.mfa_enabled, true);
    assert.equal(me.recovery_codes_left, 10);

    const fresh = await freshToken(t, stale.access_token, { code: totp(secret, clock.now()) });
    assert.deepEqual(jwtClaims(fresh).amr, ["pwd", "otp"]);
    await assertAllAllowed(t, ops, fresh);

    // Done: a new password, an admin-scoped key, MFA on with the new seed.
    const keys = await (await authed(t, "GET", "/api/v1/api-keys", fresh)).json();
    assert.deepEqual(keys.api_keys.map((k: { scopes: string[] }) => k.scopes), [["admin:read"]]);
    const challenge = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: admin.user.email, password: newPassword },
    });
    assert.equal((await challenge.json()).mfa_required, true);
  } finally {
    await t.close();
  }
});

Deno.test("an API key with an admin scope needs a fresh sign-in whether created or rotated; other keys do not, and a key made by a stale session cannot mint admin scopes", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const adminKey = await createKey(t, admin.tokens.access_token, ["admin:read"]);
    const plainKey = await createKey(t, admin.tokens.access_token, ["me:read"]);
    const stale = await staleSession(t, clock, admin.tokens);
    const bearer = stale.access_token;

    for (const scopes of [["admin:read"], ["admin:write"], ["me:read", "admin:write"]]) {
      const res = await authed(t, "POST", "/api/v1/api-keys", bearer, { name: "x", scopes });
      await assertProblem(res, 403, "reauthentication_required");
    }
    // Rotating an admin-scoped key mints a new secret with its admin powers: step-up too.
    const rotateAdmin = await authed(
      t,
      "POST",
      `/api/v1/api-keys/${adminKey.id}/rotate`,
      bearer,
      {},
    );
    await assertProblem(rotateAdmin, 403, "reauthentication_required");

    // Keys without an admin scope need no step-up.
    await createKey(t, bearer, ["me:read"]);
    const rotatePlain = await authed(
      t,
      "POST",
      `/api/v1/api-keys/${plainKey.id}/rotate`,
      bearer,
      {},
    );
    assert.equal(rotatePlain.status, 200, await rotatePlain.clone().text());
    await rotatePlain.body?.cancel();

    // A key is a service credential and passes step-up, but it grants only scopes it holds:
    // a stale session cannot launder an admin key through one.
    const { key: keyMaker } = await createKey(t, bearer, ["api_keys:write", "api_keys:read"]);
    const minted = await authed(t, "POST", "/api/v1/api-keys", keyMaker, {
      name: "laundered",
      scopes: ["admin:read"],
    });
    await assertProblem(minted, 403, "insufficient_scope");
    const rotatedByKey = await authed(
      t,
      "POST",
      `/api/v1/api-keys/${adminKey.id}/rotate`,
      keyMaker,
      {},
    );
    await assertProblem(rotatedByKey, 403, "insufficient_scope");

    const row = await t.deps.db.selectFrom("api_keys").selectAll().where("id", "=", adminKey.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.prefix, adminKey.key.slice(0, row.prefix.length), "never rotated");
    const adminScoped = await t.deps.db.selectFrom("api_keys").select("id")
      .where("scopes", "like", "%admin:%").execute();
    assert.equal(adminScoped.length, 1, "no admin-scoped key was minted");

    const fresh = await freshToken(t, bearer);
    await createKey(t, fresh, ["admin:read"]);
    const rotated = await authed(t, "POST", `/api/v1/api-keys/${adminKey.id}/rotate`, fresh, {});
    assert.equal(rotated.status, 200, await rotated.clone().text());
    await rotated.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("reauthentication freshens only the token it returns and the session's later refreshes, for STEP_UP_MAX_AGE", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const stale = await staleSession(t, clock, admin.tokens);
    const adminKey = { name: "ops", scopes: ["admin:read"] };
    const fresh = await freshToken(t, stale.access_token);
    const reauthenticatedAt = Math.floor(clock.now() / 1000);
    assert.equal(jwtClaims(fresh).auth_time, reauthenticatedAt);

    // The stale token stays stale: freshness is in the token, not looked up per request.
    const old = await authed(t, "POST", "/api/v1/api-keys", stale.access_token, adminKey);
    await assertProblem(old, 403, "reauthentication_required");

    // A refresh after the reauthentication carries its time.
    clock.advance(60_000);
    const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: stale.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    const tokens = await refreshed.json();
    assert.equal(jwtClaims(tokens.access_token).auth_time, reauthenticatedAt);
    const created = await authed(t, "POST", "/api/v1/api-keys", tokens.access_token, adminKey);
    assert.equal(created.status, 201, await created.clone().text());
    await created.body?.cancel();

    // And it ages like a sign-in.
    const again = await staleSession(t, clock, tokens);
    const late = await authed(t, "POST", "/api/v1/api-keys", again.access_token, adminKey);
    await assertProblem(late, 403, "reauthentication_required");
  } finally {
    await t.close();
  }
});

Deno.test("STEP_UP_MAX_AGE (here 120 s, not the default 600) is the boundary: allowed at exactly that age, refused a millisecond later", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ STEP_UP_MAX_AGE: "120" }, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const signedInAt = clock.now();
    assert.equal(jwtClaims(admin.tokens.access_token).auth_time, signedInAt / 1000);
    const token = admin.tokens.access_token;
    const body = { name: "ops", scopes: ["admin:read"] };

    clock.set(signedInAt + 120_000);
    const atLimit = await authed(t, "POST", "/api/v1/api-keys", token, body);
    assert.equal(atLimit.status, 201, await atLimit.clone().text());
    await atLimit.body?.cancel();

    clock.advance(1);
    await assertProblem(
      await authed(t, "POST", "/api/v1/api-keys", token, body),
      403,
      "reauthentication_required",
    );
  } finally {
    await t.close();
  }
});
