/**
 * `/api/v1/admin/keys` over real HTTP on loopback: who may list, rotate and retire signing
 * keys (super admins only; their API keys by scope), what the bodies may hold, and the
 * HS256 answers.
 */
import assert from "node:assert/strict";
import { hs256KeyId } from "../../src/services/jwt.ts";
import { adminSession, login, registerUser } from "../support/auth_support.ts";
import { TEST_SECRET } from "../support/helpers.ts";
import { type LoopbackApp, loopbackApp } from "../support/loopback_client.ts";
import { asymmetricEnv, keyAuditEvents, rowInState } from "../support/signing_key_support.ts";

const BASE = "/api/v1/admin/keys";

async function apiKey(lb: LoopbackApp, token: string, scopes: string[]): Promise<string> {
  const res = await lb.json("POST", "/api/v1/api-keys", {
    bearer: token,
    body: { name: scopes.join(" "), scopes },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.key;
}

/** An EdDSA installation with every kind of caller. */
async function callers(env: Record<string, string> = {}) {
  const lb = await loopbackApp({ ...asymmetricEnv("EdDSA"), JWKS_PUBLISH_DELAY: "600", ...env });
  const superAdmin = await adminSession(lb.t, "super_admin");
  const admin = await adminSession(lb.t, "admin");
  const user = await registerUser(lb.t);
  const userToken = (await login(lb.t, user.email)).access_token;
  const superToken = superAdmin.tokens.access_token;
  const adminToken = admin.tokens.access_token;
  return {
    lb,
    superAdmin,
    superToken,
    adminToken,
    userToken,
    superRead: await apiKey(lb, superToken, ["admin:read"]),
    superWrite: await apiKey(lb, superToken, ["admin:write"]),
    superMe: await apiKey(lb, superToken, ["me:read"]),
    adminBoth: await apiKey(lb, adminToken, ["admin:read", "admin:write"]),
  };
}

const ROUTES = [
  ["GET", BASE, undefined],
  ["POST", `${BASE}/rotate`, {}],
  ["POST", `${BASE}/no-such-kid/retire`, undefined],
] as const;

Deno.test("admin keys: the credential matrix of the three routes", async () => {
  // No publish delay: both allowed rotations succeed (publish, then promote).
  const c = await callers({ JWKS_PUBLISH_DELAY: "0" });
  await using lb = c.lb;
  const expectations: [string, string | undefined, [number, number, number], string?][] = [
    ["super admin session", c.superToken, [200, 200, 404]],
    ["admin session", c.adminToken, [403, 403, 403], "forbidden"],
    ["user session", c.userToken, [403, 403, 403], "forbidden"],
    ["super admin's admin:read key", c.superRead, [200, 403, 403], "insufficient_scope"],
    ["super admin's admin:write key", c.superWrite, [403, 200, 404], "insufficient_scope"],
    ["super admin's me:read key", c.superMe, [403, 403, 403], "insufficient_scope"],
    ["admin's admin:read+write key", c.adminBoth, [403, 403, 403], "forbidden"],
    ["no credential", undefined, [401, 401, 401], "unauthorized"],
  ];
  for (const [who, bearer, statuses, refusal] of expectations) {
    for (const [i, [method, path, body]] of ROUTES.entries()) {
      const res = await lb.json(method, path, { bearer, body });
      assert.equal(
        res.status,
        statuses[i],
        `${who}: ${method} ${path}: ${JSON.stringify(res.body)}`,
      );
      if (res.status === 403 || res.status === 401) {
        assert.equal(res.body.code, refusal, `${who}: ${method} ${path}`);
      }
      if (res.status === 404) assert.equal(res.body.code, "key_not_found");
    }
  }
  // The refusals changed nothing: the two allowed rotations published and promoted, and
  // nothing was retired.
  const db = lb.t.deps.db;
  const states = (await db.selectFrom("signing_keys").select("state").execute()).map((r) => r.state)
    .sort();
  assert.deepEqual(states, ["current", "next", "previous"]);
});

Deno.test("admin keys: a super admin lists, rotates and retires; the answers carry no key material and each write is audited with its actor", async () => {
  const c = await callers();
  await using lb = c.lb;
  const bearer = c.superToken;
  const listed = await lb.json("GET", BASE, { bearer });
  assert.equal(listed.status, 200);
  assert.equal(listed.body.algorithm, "EdDSA");
  const current = (await rowInState(lb.t.deps.db, "current"))!;
  assert.deepEqual(listed.body.keys, [{
    kid: current.kid,
    algorithm: "EdDSA",
    state: "current",
    created_at: new Date(current.created_at).toISOString(),
    activated_at: new Date(current.activated_at!).toISOString(),
    expires_at: null,
    retired_at: null,
  }]);

  const published = await lb.json("POST", `${BASE}/rotate`, { bearer, body: {} });
  assert.equal(published.status, 200);
  assert.equal(published.body.action, "published");
  assert.equal(published.body.next.state, "next");
  const early = await lb.json("POST", `${BASE}/rotate`, { bearer, body: { force: false } });
  assert.equal(early.status, 409);
  assert.equal(early.body.code, "rotation_too_early");
  assert.match(early.headers.get("content-type")!, /application\/problem\+json/);
  assert.match(early.body.detail, /JWKS_PUBLISH_DELAY/);
  const promoted = await lb.json("POST", `${BASE}/rotate`, { bearer, body: { force: true } });
  assert.equal(promoted.status, 200);
  assert.equal(promoted.body.action, "promoted");
  assert.equal(promoted.body.current.kid, published.body.next.kid);
  assert.equal(promoted.body.previous.kid, current.kid);
  assert.equal(promoted.body.previous.state, "previous");

  const retired = await lb.json("POST", `${BASE}/${current.kid}/retire`, { bearer });
  assert.equal(retired.status, 200);
  assert.equal(retired.body.key.kid, current.kid);
  assert.equal(retired.body.key.state, "retired");

  // The session's own access token was signed by the key just retired.
  const refused = await lb.json("GET", BASE, { bearer });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, "invalid_token");
  const fresh = await lb.json("POST", "/api/v1/auth/refresh", {
    body: { refresh_token: c.superAdmin.tokens.refresh_token },
  });
  assert.equal(fresh.status, 200, "the refresh token is not a JWT: the session goes on");
  const all = await lb.json("GET", BASE, { bearer: fresh.body.access_token });
  assert.deepEqual(
    all.body.keys.map((k: { state: string }) => k.state).sort(),
    ["current", "next", "retired"],
  );
  const rows = await lb.t.deps.db.selectFrom("signing_keys").selectAll().execute();
  const bodies = JSON.stringify([listed, published, promoted, retired, all].map((r) => r.body));
  for (const row of rows) {
    assert.ok(!bodies.includes(row.private_key));
    assert.ok(!bodies.includes(JSON.parse(row.public_jwk).x), "not even the public key");
  }
  assert.doesNotMatch(bodies, /private|pkcs8|"d"|v1\./);

  const userEvents = (await keyAuditEvents(lb.t.deps.db)).filter((e) => e.actor_type === "user");
  assert.deepEqual(userEvents.map((e) => e.action), [
    "signing_key.created",
    "signing_key.promoted",
    "signing_key.retired",
  ]);
  for (const e of userEvents) assert.equal(e.actor_id, c.superAdmin.user.id);
});

Deno.test("admin keys: an admin:write key of a super admin rotates and retires", async () => {
  const c = await callers();
  await using lb = c.lb;
  const rotated = await lb.json("POST", `${BASE}/rotate`, { bearer: c.superWrite, body: {} });
  assert.equal(rotated.status, 200);
  const kid = rotated.body.next.kid;
  const retired = await lb.json("POST", `${BASE}/${kid}/retire`, { bearer: c.superWrite });
  assert.equal(retired.status, 200);
  assert.equal(retired.body.key.state, "retired");
});

Deno.test("admin keys: bodies and kids are validated after authorization (422), unknown kids are 404 key_not_found", async () => {
  const c = await callers();
  await using lb = c.lb;
  const bearer = c.superToken;
  for (
    const body of [
      { force: "true" },
      { force: 1 },
      { force: null },
      { force: true, extra: 1 },
      { unknown: true },
      [],
      "force",
    ]
  ) {
    const res = await lb.json("POST", `${BASE}/rotate`, { bearer, body });
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(res.body.code, "validation_failed");
    const anonymous = await lb.json("POST", `${BASE}/rotate`, { body });
    assert.equal(anonymous.status, 401, "no validation detail before authentication");
  }
  for (
    const kid of [
      "a".repeat(65),
      encodeURIComponent("kid with spaces"),
      encodeURIComponent("k/../x"),
      encodeURIComponent("kid'--"),
      "k%00",
      "k.id",
    ]
  ) {
    const res = await lb.json("POST", `${BASE}/${kid}/retire`, { bearer });
    assert.equal(res.status, 422, kid);
    assert.equal(res.body.code, "validation_failed", kid);
  }
  const unknown = await lb.json("POST", `${BASE}/${"A".repeat(43)}/retire`, { bearer });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, "key_not_found");
  const states = (await lb.t.deps.db.selectFrom("signing_keys").select("state").execute())
    .map((r) => r.state);
  assert.deepEqual(states, ["current"], "nothing rotated or retired");
  const bare = await lb.call("POST", `${BASE}/rotate`, { bearer });
  assert.equal(bare.status, 200, "no body at all: force defaults to false");
  assert.equal((await bare.json()).action, "published");
});

Deno.test("admin keys with HS256: the list shows the configured secrets' key ids (never the secrets); rotate and retire are 409 keys_in_configuration", async () => {
  const previous = `${TEST_SECRET}-previous`;
  await using lb = await loopbackApp({ JWT_SECRET_KEY_PREVIOUS: previous });
  const superToken = (await adminSession(lb.t, "super_admin")).tokens.access_token;
  const listed = await lb.json("GET", BASE, { bearer: superToken });
  assert.equal(listed.status, 200);
  assert.equal(listed.body.algorithm, "HS256");
  assert.deepEqual(
    listed.body.keys.map((k: { kid: string; state: string; algorithm: string }) => [
      k.kid,
      k.state,
      k.algorithm,
    ]),
    [
      [await hs256KeyId(TEST_SECRET), "current", "HS256"],
      [await hs256KeyId(previous), "previous", "HS256"],
    ],
  );
  const text = JSON.stringify(listed.body);
  assert.ok(!text.includes(TEST_SECRET));
  const rotate = await lb.json("POST", `${BASE}/rotate`, { bearer: superToken, body: {} });
  assert.equal(rotate.status, 409);
  assert.equal(rotate.body.code, "keys_in_configuration");
  assert.match(rotate.body.detail, /JWT_SECRET_KEY_PREVIOUS/);
  const kid = await hs256KeyId(TEST_SECRET);
  const retire = await lb.json("POST", `${BASE}/${kid}/retire`, { bearer: superToken });
  assert.equal(retire.status, 409);
  assert.equal(retire.body.code, "keys_in_configuration");
  const again = await lb.json("GET", `${BASE}`, { bearer: superToken });
  assert.equal(again.status, 200, "the session signed under the secret still works");
  const rows = await lb.t.deps.db.selectFrom("signing_keys").select("kid").execute();
  assert.deepEqual(rows, [], "HS256 never creates a signing key");
});
