/**
 * `/api/v1/me/passkeys` (issue 20): registration options only for a fresh session, a passkey
 * registered with exactly the documented view and audited, listed by the session or an API key
 * with `me:read`, renamed, removed in a fresh session (after which it signs in no more, and
 * every other session of the user has ended), the existing passkeys excluded from new options,
 * twenty at most, transports outside WebAuthn's list dropped, and a registration refused 400
 * `passkey_registration_failed` (audited `passkey.registered`, outcome denied, with the reason)
 * when it answers another session's challenge, does not verify, lacks user verification, names
 * another credential id than the attested one or one longer than 1,023 bytes.
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
  assertSessionEnded,
  assertSessionWorks,
  creationOptions,
  insertPasskey,
  mfaPasskeyStep,
  passkeyRows,
  passkeySignIn,
  passkeyUser,
  passwordStepToken,
  postRegistration,
  refusedRegistrations,
  registerPasskey,
  registrations,
  revokeReasons,
  securityAlerts,
  signInOptions,
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
    await assertProblem(replayed, 400, "passkey_registration_failed");
    assert.equal((await passkeyRows(t, user.id)).length, 2);
    assert.equal((await registrations(t)).length, 2);
    const [refused, ...moreRefused] = await refusedRegistrations(t);
    assert.equal(moreRefused.length, 0);
    assert.equal(refused.actor_id, user.id);
    assert.equal(refused.target_type, "user");
    assert.equal(refused.target_id, user.id);
    assert.deepEqual(refused.details, { reason: "invalid_challenge", name: "Passkey" });
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

Deno.test("DELETE /me/passkeys/:id in a fresh session: 204, every other session of the user ends (the caller's is kept), audited passkey.removed with sessions_revoked, and a sign-in with that passkey then fails 401 invalid_passkey", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await passkeyUser(t);
    const other = await passkeyUser(t);
    // The passkey signs in before it is removed: a second session of the owner, opened by it.
    const before = await passkeySignIn(t, owner.authenticator);
    assert.equal(before.status, 200, await before.clone().text());
    const byPasskey = await before.json();
    // And a third, by the password and the passkey as the second step.
    const { mfa_token } = await passwordStepToken(t, owner.email);
    const secondStep = await mfaPasskeyStep(
      t,
      mfa_token,
      await owner.authenticator.assert(await signInOptions(t, { mfa_token })),
    );
    assert.equal(secondStep.status, 200, await secondStep.clone().text());
    const third = await secondStep.json();

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
    assert.deepEqual(withoutPasskeyId(event.details), { name: "Laptop", sessions_revoked: 2 });

    // The sessions the lost device may have opened are over; the remover's own goes on, and
    // another user's sessions are untouched.
    assert.deepEqual(
      (await revokeReasons(t, owner.id)).sort(),
      [null, "passkey_removed", "passkey_removed"].sort(),
    );
    await assertSessionEnded(t, byPasskey, "the passkey's session");
    await assertSessionEnded(t, third, "the third session");
    await assertSessionWorks(t, {
      access_token: owner.accessToken,
      refresh_token: owner.refreshToken,
    }, "the caller's session");
    const otherTokens = await assertSessionWorks(t, {
      access_token: other.accessToken,
      refresh_token: other.refreshToken,
    }, "another user's session");

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
    const stale = await staleSession(t, clock, otherTokens);
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

Deno.test("a user holds at most 20 passkeys: a 21st completed after options taken at 19 is 409 passkey_limit_reached, not stored and audited denied (limit_reached); after removing one, another registers", async () => {
  const t = await buildTestApp();
  try {
    const user = await signedIn(t);
    const ids: string[] = [];
    for (let i = 0; i < 19; i++) ids.push(await insertPasskey(t, user.id, `Key ${i}`));
    const authenticator = await SoftAuthenticator.create();
    // Options taken at 19; the 20th arrives (another tab) before this registration completes.
    const options = await creationOptions(t, user.tokens.access_token);
    assert.equal(options.excludeCredentials?.length, 19);
    ids.push(await insertPasskey(t, user.id, "Key 19"));
    const res = await authed(t, "POST", PATH, user.tokens.access_token, {
      name: "One too many",
      response: await authenticator.register(options),
    });
    const problem = await assertProblem(res, 409, "passkey_limit_reached");
    assert.match(problem.detail, /20/);
    assert.equal((await passkeyRows(t, user.id)).length, 20);
    assert.equal((await registrations(t)).length, 0);
    const [refused, ...more] = await refusedRegistrations(t);
    assert.equal(more.length, 0);
    assert.equal(refused.target_id, user.id);
    assert.deepEqual(refused.details, { reason: "limit_reached", name: "One too many" });

    const removed = await authed(t, "DELETE", `${PATH}/${ids[0]}`, user.tokens.access_token);
    assert.equal(removed.status, 204);
    const added = await registerPasskey(t, user.tokens.access_token, { authenticator });
    assert.equal(added.passkey.name, "Laptop");
    assert.equal((await passkeyRows(t, user.id)).length, 20);
  } finally {
    await t.close();
  }
});

Deno.test("a registration answering a challenge issued to another session of the same user, or to another user, is refused 400 passkey_registration_failed, audited denied (invalid_challenge), and nothing is stored", async () => {
  const t = await buildTestApp();
  try {
    const email = uniqueEmail("sessions");
    const user = await registerUser(t, email);
    const first = await login(t, email);
    const second = await login(t, email);
    const options = await creationOptions(t, first.access_token);
    const response = await (await SoftAuthenticator.create()).register(options);
    const res = await authed(t, "POST", PATH, second.access_token, { name: "x", response });
    await assertProblem(res, 400, "passkey_registration_failed");
    assert.equal((await passkeyRows(t, user.id)).length, 0);
    assert.equal((await registrations(t)).length, 0);
    const [refused] = await refusedRegistrations(t);
    assert.equal(refused.actor_id, user.id);
    assert.equal(refused.target_id, user.id);
    assert.deepEqual(refused.details, { reason: "invalid_challenge", name: "x" });

    // Nor can another account post it (the challenge is bound to the user as well).
    const intruder = await signedIn(t);
    const again = await creationOptions(t, first.access_token);
    const stolen = await (await SoftAuthenticator.create()).register(again);
    const byIntruder = await authed(t, "POST", PATH, intruder.tokens.access_token, {
      response: stolen,
    });
    await assertProblem(byIntruder, 400, "passkey_registration_failed");
    assert.equal((await passkeyRows(t, intruder.id)).length, 0);
    const intruderEvents = (await refusedRegistrations(t)).filter((e) =>
      e.target_id === intruder.id
    );
    assert.deepEqual(intruderEvents.map((e) => e.details), [
      { reason: "invalid_challenge", name: "Passkey" },
    ]);
    // Any answer spends a challenge, the refused one too: the response works nowhere after.
    const own = await authed(t, "POST", PATH, first.access_token, { response: stolen });
    await assertProblem(own, 400, "passkey_registration_failed");
    assert.equal((await passkeyRows(t, user.id)).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("a registration the authenticator did not answer properly is refused 400 passkey_registration_failed, stores nothing and is audited denied with its reason", async () => {
  const t = await buildTestApp();
  try {
    const user = await signedIn(t);
    const cases: Array<[string, Tweaks, string]> = [
      ["without user verification", { unverified: true }, "invalid_response"],
      ["from another origin", { origin: "https://evil.example" }, "invalid_response"],
      ["for another RP ID", { rpId: "evil.example" }, "invalid_response"],
      ["for a made-up challenge", { challenge: "A".repeat(43) }, "invalid_challenge"],
    ];
    for (const [what, tweaks] of cases) {
      const options = await creationOptions(t, user.tokens.access_token);
      const response = await (await SoftAuthenticator.create()).register(options, tweaks);
      const res = await authed(t, "POST", PATH, user.tokens.access_token, { name: what, response });
      await assertNoToken(res);
      const problem = await assertProblem(res, 400, "passkey_registration_failed");
      assert.equal(problem.status, 400, what);
      assert.match(problem.detail, /new options/, what);
      assert.equal((await passkeyRows(t, user.id)).length, 0, what);
    }
    const refused = await refusedRegistrations(t);
    assert.deepEqual(
      refused.map((e) => e.details),
      cases.map(([what, , reason]) => ({ reason, name: what })),
    );
    for (const event of refused) {
      assert.equal(event.actor_id, user.id);
      assert.equal(event.target_id, user.id);
    }
    assert.equal((await registrations(t)).length, 0);
  } finally {
    await t.close();
  }
});

/** Another credential id of `length` bytes, base64url (the same length as the real one's). */
const otherCredentialId = (length: number) =>
  toBase64Url(crypto.getRandomValues(new Uint8Array(length)));

Deno.test("a registration must name the credential id the authenticator attested, of at most 1,023 bytes: another id in id/rawId or a 1,024-byte id is 400 passkey_registration_failed (invalid_credential_id), a 1,023-byte id registers", async () => {
  const t = await buildTestApp();
  try {
    const user = await signedIn(t);
    const token = user.tokens.access_token;

    // id and rawId swapped for another valid credential id of the same length.
    const honest = await SoftAuthenticator.create();
    const answer = await honest.register(await creationOptions(t, token));
    const swapped = otherCredentialId(honest.credentialId.length);
    assert.equal(swapped.length, answer.id.length);
    const mismatch = await postRegistration(t, token, {
      name: "Mismatch",
      response: { ...answer, id: swapped, rawId: swapped },
    });
    await assertProblem(mismatch, 400, "passkey_registration_failed");

    // An attested credential id of 1,024 bytes (WebAuthn: at most 1,023).
    const tooLong = await SoftAuthenticator.create();
    tooLong.credentialId = crypto.getRandomValues(new Uint8Array(1024));
    const long = await postRegistration(t, token, {
      name: "Too long",
      response: await tooLong.register(await creationOptions(t, token)),
    });
    await assertProblem(long, 400, "passkey_registration_failed");

    assert.equal((await passkeyRows(t, user.id)).length, 0);
    assert.deepEqual((await refusedRegistrations(t)).map((e) => e.details), [
      { reason: "invalid_credential_id", name: "Mismatch" },
      { reason: "invalid_credential_id", name: "Too long" },
    ]);
    // Neither id is anyone's credential now.
    const stored = await t.deps.db.selectFrom("passkeys").select("credential_id").execute();
    assert.ok(!stored.some((r) => r.credential_id === swapped || r.credential_id === tooLong.id));

    // 1,023 bytes is the longest accepted; it registers and signs in.
    const longest = await SoftAuthenticator.create();
    longest.credentialId = crypto.getRandomValues(new Uint8Array(1023));
    const accepted = await registerPasskey(t, token, { authenticator: longest, name: "Longest" });
    assert.equal(accepted.passkey.name, "Longest");
    const [row] = await passkeyRows(t, user.id);
    assert.equal(row.credential_id, longest.id);
    const signIn = await passkeySignIn(t, longest);
    assert.equal(signIn.status, 200, await signIn.clone().text());
    await signIn.body?.cancel();
    // The honest answer itself, with its own id, was never spent: its challenge was.
    const replay = await postRegistration(t, token, { response: answer });
    await assertProblem(replay, 400, "passkey_registration_failed");
  } finally {
    await t.close();
  }
});

Deno.test("transports outside WebAuthn's list are dropped when stored: [internal, <script>] is stored and listed as [internal]; all seven known ones are kept", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await signedIn(t);
    const token = user.tokens.access_token;
    const known = ["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"];
    const cases: Array<[string, string[], string[]]> = [
      ["a script", ["internal", "<script>"], ["internal"]],
      ["every known transport", known, known],
      ["only unknown ones", ["bluetooth", "USB", "lightning"], []],
    ];
    for (const [what, reported, kept] of cases) {
      clock.advance(1_000); // listed oldest first
      const authenticator = await SoftAuthenticator.create();
      const answer = await authenticator.register(await creationOptions(t, token));
      answer.response.transports = reported as typeof answer.response.transports;
      const res = await postRegistration(t, token, { name: what, response: answer });
      assert.equal(res.status, 201, await res.clone().text());
      const view = await res.json();
      assert.deepEqual(view.transports, kept, what);
      const row = (await passkeyRows(t, user.id)).find((r) => r.id === view.id)!;
      assert.deepEqual(JSON.parse(row.transports), kept, what);
    }
    const listed = await (await authed(t, "GET", PATH, token)).json();
    assert.deepEqual(
      listed.passkeys.map((p: { transports: string[] }) => p.transports),
      cases.map(([, , kept]) => kept),
    );
    // The options that list them again carry only the kept ones.
    const options = await creationOptions(t, token);
    assert.deepEqual(
      options.excludeCredentials?.map((c) => c.transports ?? []),
      cases.map(([, , kept]) => kept),
    );
    assert.ok(!JSON.stringify(options).includes("script"));
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
