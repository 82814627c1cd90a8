/**
 * `/api/v1/me/passkeys` (issue 20): registration options only for a fresh session, a passkey
 * registered with exactly the documented view and audited, listed by the session or an API key
 * with `me:read`, renamed, removed in a fresh session (after which it signs in no more), the
 * existing passkeys excluded from new options, twenty at most, and a registration answered for
 * another session's challenge or without user verification refused.
 */
import assert from "node:assert/strict";
import { toBase64Url } from "../../src/lib/crypto.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { assertProblem, auditRows, midStepMs } from "../support/mfa_support.ts";
import {
  apiKey,
  assertNoToken,
  creationOptions,
  insertPasskey,
  passkeyRows,
  passkeySignIn,
  passkeyUser,
  registerPasskey,
  securityAlerts,
  VIEW_FIELDS,
  withKey,
  withoutPasskeyId,
} from "../support/passkey_support.ts";
import { SoftAuthenticator, type Tweaks } from "../support/soft_authenticator.ts";
import { staleSession } from "../support/step_up_support.ts";

const PATH = "/api/v1/me/passkeys";

/** A signed-in user without passkeys (a password login still gives tokens). */
async function signedIn(t: TestApp, email = uniqueEmail("me")) {
  const user = await registerUser(t, email);
  return { ...user, tokens: await login(t, email) };
}

Deno.test("POST /me/passkeys/options: a fresh session gets creation options for its own account; a stale session, an API key and nobody are refused", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const stale = await signedIn(t);
    const staleTokens = await staleSession(t, clock, stale.tokens);
    const user = await signedIn(t);
    const key = await apiKey(t, user.tokens.access_token, ["me:read", "me:write"]);

    const options = await creationOptions(t, user.tokens.access_token);
    assert.deepEqual(options.rp, { name: "citadel", id: "localhost" });
    // The user handle is the account id (no personal data), as sign-in checks it.
    assert.equal(options.user.id, toBase64Url(new TextEncoder().encode(user.id)));
    assert.equal(options.user.name, user.email);
    assert.equal(options.attestation, "none");
    assert.equal(options.timeout, 300_000);
    assert.equal(options.authenticatorSelection?.userVerification, "required");
    assert.equal(options.authenticatorSelection?.residentKey, "required");
    assert.deepEqual(options.excludeCredentials, []);
    assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/);
    // The challenge is stored only as a keyed hash, bound to this session, for five minutes.
    const stored = await t.deps.db.selectFrom("passkey_challenges").selectAll()
      .where("user_id", "=", user.id).execute();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].purpose, "register");
    assert.equal(stored[0].expires_at - stored[0].created_at, 300_000);
    assert.ok(!JSON.stringify(stored).includes(options.challenge), "never the challenge itself");

    const refusals: Array<[string, Record<string, string>, number, string]> = [
      [
        "a stale session",
        { authorization: `Bearer ${staleTokens.access_token}` },
        403,
        "reauthentication_required",
      ],
      ["an API key with me:write", { "x-api-key": key }, 403, "session_required"],
      ["nobody", {}, 401, "unauthorized"],
    ];
    for (const [who, headers, status, code] of refusals) {
      const res = await request(t.app, "POST", `${PATH}/options`, { headers });
      const problem = await assertProblem(res, status, code);
      assert.equal(problem.status, status, who);
    }
    const count = await t.deps.db.selectFrom("passkey_challenges").select("challenge_hash")
      .execute();
    assert.equal(count.length, 1, "a refused caller leaves no challenge behind");
  } finally {
    await t.close();
  }
});

Deno.test("POST /me/passkeys registers the passkey: 201 with exactly the view fields, stored for the user, audited passkey.registered", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await signedIn(t);
    const authenticator = await SoftAuthenticator.create();
    const options = await creationOptions(t, user.tokens.access_token);
    const res = await authed(t, "POST", PATH, user.tokens.access_token, {
      name: "  Work laptop  ",
      response: await authenticator.register(options),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const view = await res.json();
    assert.deepEqual(Object.keys(view).sort(), VIEW_FIELDS);
    assert.match(view.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(view.name, "Work laptop", "the name is trimmed");
    assert.equal(view.created_at, new Date(clock.now()).toISOString());
    assert.equal(view.last_used_at, null);
    assert.equal(view.backed_up, false);
    assert.deepEqual(view.transports, ["internal"]);
    assert.ok(!("credential_id" in view) && !("public_key" in view) && !("counter" in view));

    const [row, ...others] = await passkeyRows(t, user.id);
    assert.equal(others.length, 0);
    assert.equal(row.id, view.id);
    assert.equal(row.credential_id, authenticator.id);
    assert.equal(row.counter, 0);
    assert.equal(row.device_type, "singleDevice");

    const [event, ...more] = await auditRows(t, "passkey.registered");
    assert.equal(more.length, 0);
    assert.equal(event.actor_type, "user");
    assert.equal(event.actor_id, user.id);
    assert.equal(event.target_type, "user");
    assert.equal(event.target_id, user.id);
    assert.equal(event.outcome, "success");
    // passkey_id itself: see "passkey audit events and alerts name the passkey" below.
    assert.deepEqual(withoutPasskeyId(event.details), {
      name: "Work laptop",
      device_type: "singleDevice",
      backed_up: false,
    });

    // Without a name the passkey is called "Passkey"; the challenge is spent once used.
    const second = await SoftAuthenticator.create();
    const fresh = await creationOptions(t, user.tokens.access_token);
    const response = await second.register(fresh);
    const unnamed = await authed(t, "POST", PATH, user.tokens.access_token, { response });
    assert.equal(unnamed.status, 201, await unnamed.clone().text());
    assert.equal((await unnamed.json()).name, "Passkey");
    const replayed = await authed(t, "POST", PATH, user.tokens.access_token, { response });
    await assertProblem(replayed, 401, "invalid_passkey");
    assert.equal((await passkeyRows(t, user.id)).length, 2);
    assert.equal((await auditRows(t, "passkey.registered")).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("GET /me/passkeys lists the user's own passkeys, oldest first, for the session and an API key with me:read; a key without me:read gets 403 insufficient_scope", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await passkeyUser(t);
    clock.advance(1_000);
    const second = await registerPasskey(t, owner.accessToken, { name: "Phone" });
    const stranger = await passkeyUser(t);
    const reader = await apiKey(t, owner.accessToken, ["me:read"]);
    const keysOnly = await apiKey(t, owner.accessToken, ["api_keys:read"]);

    const bySession = await authed(t, "GET", PATH, owner.accessToken);
    assert.equal(bySession.status, 200);
    const { passkeys } = await bySession.json();
    assert.deepEqual(passkeys.map((p: { id: string }) => p.id), [
      owner.passkey.id,
      second.passkey.id,
    ]);
    assert.deepEqual(passkeys.map((p: { name: string }) => p.name), ["Laptop", "Phone"]);
    for (const passkey of passkeys) assert.deepEqual(Object.keys(passkey).sort(), VIEW_FIELDS);
    assert.ok(!JSON.stringify(passkeys).includes(stranger.passkey.id), "only the owner's");

    const byKey = await withKey(t, "GET", PATH, reader);
    assert.equal(byKey.status, 200);
    assert.deepEqual(await byKey.json(), { passkeys });

    const refused = await withKey(t, "GET", PATH, keysOnly);
    await assertProblem(refused, 403, "insufficient_scope");
    await assertProblem(await request(t.app, "GET", PATH), 401, "unauthorized");
  } finally {
    await t.close();
  }
});

Deno.test("PATCH /me/passkeys/:id renames the user's passkey; another user's passkey is 404 passkey_not_found and unchanged; bad bodies are 422 validation_failed with errors", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const other = await passkeyUser(t);

    const renamed = await authed(t, "PATCH", `${PATH}/${owner.passkey.id}`, owner.accessToken, {
      name: " YubiKey 5C ",
    });
    assert.equal(renamed.status, 200, await renamed.clone().text());
    const view = await renamed.json();
    assert.deepEqual(Object.keys(view).sort(), VIEW_FIELDS);
    assert.deepEqual(view, { ...owner.passkey, name: "YubiKey 5C" });

    // Another user's passkey: the same 404 as an id that does not exist.
    for (const id of [other.passkey.id, crypto.randomUUID()]) {
      const res = await authed(t, "PATCH", `${PATH}/${id}`, owner.accessToken, { name: "Mine" });
      await assertProblem(res, 404, "passkey_not_found");
    }
    const [untouched] = await passkeyRows(t, other.id);
    assert.equal(untouched.name, "Laptop");

    const bad: Array<[string, unknown, string]> = [
      ["an empty name", { name: "   " }, "name"],
      ["a name of 101 characters", { name: "x".repeat(101) }, "name"],
      ["no name", {}, "name"],
      ["a name that is not text", { name: 7 }, "name"],
      ["an extra field", { name: "ok", user_id: other.id }, "body"],
    ];
    for (const [what, body, field] of bad) {
      const res = await authed(t, "PATCH", `${PATH}/${owner.passkey.id}`, owner.accessToken, body);
      const problem = await assertProblem(res, 422, "validation_failed");
      assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, what);
      if (field !== "body") {
        assert.ok(problem.errors.some((e: { field: string }) => e.field === field), what);
      }
    }
    const notAnId = await authed(t, "PATCH", `${PATH}/not-a-uuid`, owner.accessToken, {
      name: "ok",
    });
    const problem = await assertProblem(notAnId, 422, "validation_failed");
    assert.equal(problem.errors[0].field, "id");
    const malformed = await request(t.app, "PATCH", `${PATH}/${owner.passkey.id}`, {
      body: "{not json",
      headers: { authorization: `Bearer ${owner.accessToken}` },
    });
    await assertProblem(malformed, 400, "malformed_json");
    assert.equal((await passkeyRows(t, owner.id))[0].name, "YubiKey 5C");
  } finally {
    await t.close();
  }
});

Deno.test("DELETE /me/passkeys/:id in a fresh session: 204, audited passkey.removed, and a sign-in with that passkey then fails 401 invalid_passkey", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await passkeyUser(t);
    const other = await passkeyUser(t);
    // The passkey signs in before it is removed.
    const before = await passkeySignIn(t, owner.authenticator);
    assert.equal(before.status, 200, await before.clone().text());
    await before.body?.cancel();

    const foreign = await authed(t, "DELETE", `${PATH}/${other.passkey.id}`, owner.accessToken);
    await assertProblem(foreign, 404, "passkey_not_found");
    assert.equal((await passkeyRows(t, other.id)).length, 1);

    const removed = await authed(t, "DELETE", `${PATH}/${owner.passkey.id}`, owner.accessToken);
    assert.equal(removed.status, 204);
    assert.equal(await removed.text(), "");
    assert.equal((await passkeyRows(t, owner.id)).length, 0);
    const [event, ...more] = await auditRows(t, "passkey.removed");
    assert.equal(more.length, 0);
    assert.equal(event.actor_type, "user");
    assert.equal(event.actor_id, owner.id);
    assert.equal(event.target_id, owner.id);
    assert.equal(event.outcome, "success");
    assert.deepEqual(withoutPasskeyId(event.details), { name: "Laptop" });

    const again = await authed(t, "DELETE", `${PATH}/${owner.passkey.id}`, owner.accessToken);
    await assertProblem(again, 404, "passkey_not_found");

    const after = await passkeySignIn(t, owner.authenticator);
    await assertNoToken(after);
    await assertProblem(after, 401, "invalid_passkey");
    const failed = (await auditRows(t, "auth.login.failed")).at(-1)!;
    assert.deepEqual(failed.details, { reason: "unknown_passkey", method: "passkey" });
    // Without a passkey the password alone signs in again (no second step).
    const tokens = await login(t, owner.email);
    assert.equal(typeof tokens.access_token, "string");

    // A stale session may not remove a passkey.
    const stale = await staleSession(t, clock, {
      access_token: other.accessToken,
      refresh_token: other.refreshToken,
    });
    const refused = await authed(t, "DELETE", `${PATH}/${other.passkey.id}`, stale.access_token);
    await assertProblem(refused, 403, "reauthentication_required");
    assert.equal((await passkeyRows(t, other.id)).length, 1);
    assert.equal((await auditRows(t, "passkey.removed")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("registration options list the user's existing passkeys in excludeCredentials, and only theirs", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const second = await registerPasskey(t, owner.accessToken, { name: "Phone" });
    await passkeyUser(t); // someone else's passkey is not listed
    const options = await creationOptions(t, owner.accessToken);
    assert.deepEqual(options.excludeCredentials, [
      { id: owner.authenticator.id, transports: ["internal"], type: "public-key" },
      { id: second.authenticator.id, transports: ["internal"], type: "public-key" },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("a user holds at most 20 passkeys: the 21st is 409 passkey_limit_reached and not stored; after removing one, another registers", async () => {
  const t = await buildTestApp();
  try {
    const user = await signedIn(t);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await insertPasskey(t, user.id, `Key ${i}`));
    const authenticator = await SoftAuthenticator.create();
    const options = await creationOptions(t, user.tokens.access_token);
    assert.equal(options.excludeCredentials?.length, 20);
    const res = await authed(t, "POST", PATH, user.tokens.access_token, {
      name: "One too many",
      response: await authenticator.register(options),
    });
    const problem = await assertProblem(res, 409, "passkey_limit_reached");
    assert.match(problem.detail, /20/);
    assert.equal((await passkeyRows(t, user.id)).length, 20);
    assert.equal((await auditRows(t, "passkey.registered")).length, 0);

    const removed = await authed(t, "DELETE", `${PATH}/${ids[0]}`, user.tokens.access_token);
    assert.equal(removed.status, 204);
    const added = await registerPasskey(t, user.tokens.access_token, { authenticator });
    assert.equal(added.passkey.name, "Laptop");
    assert.equal((await passkeyRows(t, user.id)).length, 20);
  } finally {
    await t.close();
  }
});

Deno.test("a registration answering a challenge issued to another session of the same user is refused 401 invalid_passkey, and nothing is stored", async () => {
  const t = await buildTestApp();
  try {
    const email = uniqueEmail("sessions");
    const user = await registerUser(t, email);
    const first = await login(t, email);
    const second = await login(t, email);
    const options = await creationOptions(t, first.access_token);
    const response = await (await SoftAuthenticator.create()).register(options);
    const res = await authed(t, "POST", PATH, second.access_token, { name: "x", response });
    await assertProblem(res, 401, "invalid_passkey");
    assert.equal((await passkeyRows(t, user.id)).length, 0);
    assert.equal((await auditRows(t, "passkey.registered")).length, 0);

    // Nor can another account post it (the challenge is bound to the user as well).
    const intruder = await signedIn(t);
    const again = await creationOptions(t, first.access_token);
    const stolen = await (await SoftAuthenticator.create()).register(again);
    const byIntruder = await authed(t, "POST", PATH, intruder.tokens.access_token, {
      response: stolen,
    });
    await assertProblem(byIntruder, 401, "invalid_passkey");
    assert.equal((await passkeyRows(t, intruder.id)).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("a registration the authenticator did not answer properly is refused 401 invalid_passkey and stores nothing", async () => {
  const t = await buildTestApp();
  try {
    const user = await signedIn(t);
    const cases: Array<[string, Tweaks]> = [
      ["without user verification", { unverified: true }],
      ["from another origin", { origin: "https://evil.example" }],
      ["for another RP ID", { rpId: "evil.example" }],
      ["for a made-up challenge", { challenge: "A".repeat(43) }],
    ];
    for (const [what, tweaks] of cases) {
      const options = await creationOptions(t, user.tokens.access_token);
      const response = await (await SoftAuthenticator.create()).register(options, tweaks);
      const res = await authed(t, "POST", PATH, user.tokens.access_token, { response });
      const problem = await assertProblem(res, 401, "invalid_passkey");
      assert.equal(problem.status, 401, what);
      assert.equal((await passkeyRows(t, user.id)).length, 0, what);
    }
    assert.equal((await auditRows(t, "passkey.registered")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("passkey audit events and the cloning alert name the passkey they are about: passkey_id is kept, not redacted", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const id = owner.passkey.id;
    const signedIn = await passkeySignIn(t, owner.authenticator);
    assert.equal(signedIn.status, 200, await signedIn.clone().text());
    await signedIn.body?.cancel();
    const cloned = await passkeySignIn(t, owner.authenticator, { tweaks: { counter: 1 } });
    await assertProblem(cloned, 401, "invalid_passkey");
    const removed = await authed(t, "DELETE", `${PATH}/${id}`, owner.accessToken);
    assert.equal(removed.status, 204);

    for (
      const action of [
        "passkey.registered",
        "passkey.login",
        "passkey.counter_regression",
        "passkey.removed",
      ]
    ) {
      const [event] = await auditRows(t, action);
      assert.equal(event?.details.passkey_id, id, `${action} names the passkey`);
    }
    const [alert] = await securityAlerts(t, "passkey_counter_regression");
    assert.equal(alert?.details.passkey_id, id, "the alert names the passkey");
  } finally {
    await t.close();
  }
});
