/**
 * Signing in with a passkey (issue 20): `POST /api/v1/auth/passkey/options` for any
 * discoverable passkey, for an email (the same shape whether or not the account or its passkeys
 * exist) or for the `mfa_token` of a password login; `POST /api/v1/auth/passkey` answering the
 * normal login body with `amr` hwk+user; the second step of a password login; step-up with a
 * passkey; a disabled account; the login guard and the device credential (`device_token` or
 * its cookie) past a spent per-account budget; a passkey session's `hwk` kept when TOTP is
 * turned off; and the relying party in production.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  adminSession,
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";
import {
  assertProblem,
  auditRows,
  jwtClaims,
  mfaUser,
  midStepMs,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";
import {
  apiKey,
  assertNoToken,
  creationOptions,
  mfaPasskeyStep,
  passkeyRows,
  passkeySignIn,
  passkeyUser,
  passwordStepToken,
  postAssertion,
  registerPasskey,
  requestOptionsResponse,
  sessionCount,
  signInOptions,
  stepUpOptions,
  withKey,
  withoutPasskeyId,
} from "../support/passkey_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";
import { reauthenticate, staleSession } from "../support/step_up_support.ts";

/** The keys of request options for an email, whoever it belongs to. */
const OPTION_KEYS = ["allowCredentials", "challenge", "rpId", "timeout", "userVerification"];

Deno.test("POST /auth/passkey/options {} answers options for any discoverable passkey: no allowCredentials, user verification required, a login challenge for nobody in particular", async () => {
  const t = await buildTestApp();
  try {
    await passkeyUser(t);
    const options = await signInOptions(t, {});
    assert.deepEqual(Object.keys(options).sort(), [
      "challenge",
      "rpId",
      "timeout",
      "userVerification",
    ]);
    assert.equal(options.rpId, "localhost");
    assert.equal(options.userVerification, "required");
    assert.equal(options.timeout, 300_000);
    assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/);
    const second = await signInOptions(t, {});
    assert.notEqual(second.challenge, options.challenge, "a new challenge each time");
    const rows = await t.deps.db.selectFrom("passkey_challenges").selectAll()
      .where("purpose", "=", "login").execute();
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.user_id, null);
      assert.equal(row.bound_to, null);
    }
  } finally {
    await t.close();
  }
});

Deno.test("POST /auth/passkey/options {email} of a user with passkeys allows exactly that user's credentials", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const second = await registerPasskey(t, owner.accessToken, { name: "Phone" });
    await passkeyUser(t);
    for (const email of [owner.email, `  ${owner.email.toUpperCase()} `]) {
      const options = await signInOptions(t, { email });
      assert.deepEqual(Object.keys(options).sort(), OPTION_KEYS);
      const ids = options.allowCredentials!.map((c) => c.id).sort();
      assert.deepEqual(ids, [owner.authenticator.id, second.authenticator.id].sort(), email);
      for (const credential of options.allowCredentials!) {
        assert.equal(credential.type, "public-key");
        assert.deepEqual(credential.transports, ["internal"]);
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("POST /auth/passkey/options {email} answers an unknown address and an account without passkeys with the same shape: one credential, stable per address, different between addresses", async () => {
  const t = await buildTestApp();
  try {
    const known = await passkeyUser(t);
    const withoutPasskey = await registerUser(t);
    const unknown = uniqueEmail("nobody");
    const real = await signInOptions(t, { email: known.email });
    const shape = (options: typeof real) => ({
      keys: Object.keys(options).sort(),
      credentials: options.allowCredentials!.length,
      credentialKeys: options.allowCredentials!.map((c) => Object.keys(c).sort()),
      idLength: options.allowCredentials!.map((c) => c.id.length),
      rpId: options.rpId,
      timeout: options.timeout,
      userVerification: options.userVerification,
    });

    const decoys: Record<string, string> = {};
    for (const email of [unknown, withoutPasskey.email]) {
      const first = await signInOptions(t, { email });
      assert.deepEqual(shape(first), shape(real), email);
      assert.equal(first.allowCredentials![0].type, "public-key");
      const again = await signInOptions(t, { email });
      assert.deepEqual(again.allowCredentials, first.allowCredentials, "stable for the address");
      assert.notEqual(again.challenge, first.challenge);
      const spelledOtherwise = await signInOptions(t, { email: email.toUpperCase() });
      assert.deepEqual(spelledOtherwise.allowCredentials, first.allowCredentials);
      decoys[email] = first.allowCredentials![0].id;
    }
    assert.notEqual(decoys[unknown], decoys[withoutPasskey.email], "different per address");
    assert.ok(!Object.values(decoys).includes(known.authenticator.id));
    const stored = await t.deps.db.selectFrom("passkeys").select("credential_id").execute();
    for (const decoy of Object.values(decoys)) {
      assert.ok(!stored.some((row) => row.credential_id === decoy), "a decoy is no credential");
    }
  } finally {
    await t.close();
  }
});

Deno.test("the stand-in credential for an address without passkeys carries transports a browser could have registered (getTransports() lists them in lexicographic order), so it cannot be told from a real one", async () => {
  const t = await buildTestApp();
  try {
    const options = await signInOptions(t, { email: uniqueEmail("nobody") });
    const [decoy] = options.allowCredentials!;
    const transports = decoy.transports ?? [];
    assert.deepEqual(transports, [...transports].sort(), JSON.stringify(transports));
  } finally {
    await t.close();
  }
});

Deno.test("POST /auth/passkey signs in: the normal login body and cookies, amr [hwk, user], last_used_at and the counter recorded, audited passkey.login and auth.login.succeeded", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ REFRESH_COOKIE: "true" }, { clock });
  try {
    const owner = await passkeyUser(t);
    // A password login of an account without a second factor, for comparison.
    const plain = await registerUser(t);
    const passwordLogin = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: plain.email, password: STRONG_PASSWORD },
    });
    assert.equal(passwordLogin.status, 200);
    const passwordBody = await passwordLogin.json();

    clock.advance(5_000);
    const sessionsBefore = await sessionCount(t, owner.id);
    const res = await passkeySignIn(t, owner.authenticator, { ip: "198.51.100.20" });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), Object.keys(passwordBody).sort());
    assert.deepEqual(Object.keys(body.user).sort(), Object.keys(passwordBody.user).sort());
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.user.id, owner.id);
    assert.equal(typeof body.refresh_token, "string");
    assert.equal(typeof body.device_token, "string");
    const cookieNames = (r: Response) =>
      r.headers.getSetCookie().map((c) => c.split("=")[0]).sort();
    assert.deepEqual(cookieNames(res), cookieNames(passwordLogin));
    assert.deepEqual(cookieNames(res), ["__Host-citadel_device", "__Host-citadel_refresh"]);
    assert.ok(res.headers.getSetCookie().some((c) => c.includes(body.device_token)));

    const claims = jwtClaims(body.access_token);
    assert.deepEqual(claims.amr, ["hwk", "user"]);
    assert.equal(claims.sub, owner.id);
    assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
    assert.equal(await sessionCount(t, owner.id), sessionsBefore + 1);
    const me = await authed(t, "GET", "/api/v1/me", body.access_token);
    assert.equal(me.status, 200);
    await me.body?.cancel();
    // The session refreshes like any other and keeps its methods.
    const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: body.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    assert.deepEqual(jwtClaims((await refreshed.json()).access_token).amr, ["hwk", "user"]);

    const list = await (await authed(t, "GET", "/api/v1/me/passkeys", body.access_token)).json();
    assert.equal(list.passkeys[0].last_used_at, new Date(clock.now()).toISOString());
    const [row] = await passkeyRows(t, owner.id);
    assert.equal(row.counter, owner.authenticator.counter);
    assert.equal(row.counter, 1);

    const [used, ...moreUsed] = await auditRows(t, "passkey.login");
    assert.equal(moreUsed.length, 0);
    assert.equal(used.actor_type, "user");
    assert.equal(used.actor_id, owner.id);
    assert.equal(used.target_id, owner.id);
    assert.equal(used.outcome, "success");
    assert.equal(used.ip, "198.51.100.20");
    assert.deepEqual(withoutPasskeyId(used.details), { purpose: "login" });
    const succeeded = (await auditRows(t, "auth.login.succeeded")).at(-1)!;
    assert.equal(succeeded.actor_id, owner.id);
    assert.equal(succeeded.target_id, claims.sid);
    assert.equal(succeeded.details.method, "hwk+user");
    assert.equal(succeeded.details.session_id, claims.sid);
  } finally {
    await t.close();
  }
});

Deno.test("a password login of a user with a passkey asks for the second step with method passkey; {mfa_token} options, then POST /auth/mfa with the assertion signs in with amr [pwd, hwk]; the token works once", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const loginsBefore = (await auditRows(t, "auth.login.succeeded")).length;
    const challenge = await passwordStepToken(t, owner.email);
    assert.deepEqual(challenge.methods, ["passkey"]);

    const options = await signInOptions(t, { mfa_token: challenge.mfa_token });
    assert.deepEqual(options.allowCredentials!.map((c) => c.id), [owner.authenticator.id]);
    assert.equal(options.userVerification, "required");
    const res = await mfaPasskeyStep(
      t,
      challenge.mfa_token,
      await owner.authenticator.assert(options),
    );
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.equal(body.user.id, owner.id);
    assert.equal(typeof body.device_token, "string");
    assert.deepEqual(jwtClaims(body.access_token).amr, ["pwd", "hwk"]);
    const [used] = await auditRows(t, "passkey.login");
    assert.deepEqual(withoutPasskeyId(used.details), { purpose: "mfa" });
    const succeeded = (await auditRows(t, "auth.login.succeeded")).at(-1)!;
    assert.equal(succeeded.details.method, "pwd+hwk");

    // The mfa_token is spent: no new options, and no second login with a new assertion.
    const reused = await requestOptionsResponse(t, { mfa_token: challenge.mfa_token });
    await assertProblem(reused, 401, "invalid_mfa_token");
    const again = await mfaPasskeyStep(
      t,
      challenge.mfa_token,
      await owner.authenticator.assert(options),
    );
    await assertNoToken(again);
    await assertProblem(again, 401, "invalid_mfa_token");
    assert.equal((await auditRows(t, "auth.login.succeeded")).length, loginsBefore + 1);
  } finally {
    await t.close();
  }
});

Deno.test("a user with TOTP and a passkey is offered all three methods, and either finishes the login", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await mfaUser(t, clock);
    const { authenticator } = await registerPasskey(t, user.accessToken);
    const first = await passwordStepToken(t, user.email);
    assert.deepEqual(first.methods, ["totp", "recovery_code", "passkey"]);
    const byPasskey = await mfaPasskeyStep(
      t,
      first.mfa_token,
      await authenticator.assert(await signInOptions(t, { mfa_token: first.mfa_token })),
    );
    assert.equal(byPasskey.status, 200);
    assert.deepEqual(jwtClaims((await byPasskey.json()).access_token).amr, ["pwd", "hwk"]);
    const second = await passwordStepToken(t, user.email);
    const byCode = await request(t.app, "POST", "/api/v1/auth/mfa", {
      body: { mfa_token: second.mfa_token, code: totp(user.secret, clock.now()) },
    });
    assert.equal(byCode.status, 200);
    assert.deepEqual(jwtClaims((await byCode.json()).access_token).amr, ["pwd", "otp"]);
  } finally {
    await t.close();
  }
});

Deno.test("POST /auth/passkey/options with an mfa_token that is not live is 401 invalid_mfa_token, and leaves no challenge", async () => {
  const t = await buildTestApp();
  try {
    for (const token of ["not-a-token", "A".repeat(43)]) {
      const res = await requestOptionsResponse(t, { mfa_token: token });
      await assertProblem(res, 401, "invalid_mfa_token");
    }
    const bothAtOnce = await requestOptionsResponse(t, {
      mfa_token: "A".repeat(43),
      email: "a@example.com",
    });
    await assertProblem(bothAtOnce, 422, "validation_failed");
    const rows = await t.deps.db.selectFrom("passkey_challenges").selectAll().execute();
    assert.equal(rows.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("step-up with a passkey: a stale session gets options bound to it, POST /auth/reauthenticate {passkey_response} answers a fresh access token that may ask for registration options", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await passkeyUser(t);
    const stale = await staleSession(t, clock, {
      access_token: owner.accessToken,
      refresh_token: owner.refreshToken,
    });
    const refused = await authed(t, "POST", "/api/v1/me/passkeys/options", stale.access_token);
    await assertProblem(refused, 403, "reauthentication_required");

    const options = await stepUpOptions(t, stale.access_token);
    assert.deepEqual(options.allowCredentials!.map((c) => c.id), [owner.authenticator.id]);
    const res = await reauthenticate(t, stale.access_token, {
      passkey_response: await owner.authenticator.assert(options),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "token_type"]);
    const before = jwtClaims(stale.access_token);
    const after = jwtClaims(body.access_token);
    assert.equal(after.sid, before.sid, "the same session");
    assert.equal(after.auth_time, Math.floor(clock.now() / 1000));
    assert.deepEqual(after.amr, ["hwk", "user"]);

    const allowed = await authed(t, "POST", "/api/v1/me/passkeys/options", body.access_token);
    assert.equal(allowed.status, 200, await allowed.clone().text());
    await allowed.body?.cancel();

    const [event] = await auditRows(t, "auth.reauthenticated");
    assert.deepEqual(event.details, { session_id: before.sid, amr: ["hwk", "user"] });
    const used = (await auditRows(t, "passkey.login")).at(-1)!;
    assert.deepEqual(withoutPasskeyId(used.details), { purpose: "reauthenticate" });
  } finally {
    await t.close();
  }
});

Deno.test("a user with a passkey and no TOTP may not step up with the password alone: 401 invalid_passkey, and the session stays stale", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await passkeyUser(t);
    const stale = await staleSession(t, clock, {
      access_token: owner.accessToken,
      refresh_token: owner.refreshToken,
    });
    const res = await reauthenticate(t, stale.access_token, { password: STRONG_PASSWORD });
    const problem = await assertProblem(res, 401, "invalid_passkey");
    assert.match(problem.detail, /reauthenticate\/options/);
    assert.equal((await auditRows(t, "auth.reauthenticated")).length, 0);
    const still = await authed(t, "POST", "/api/v1/me/passkeys/options", stale.access_token);
    await assertProblem(still, 403, "reauthentication_required");
  } finally {
    await t.close();
  }
});

Deno.test("a disabled user's passkey sign-in is 401 invalid_passkey: no token, no session, audited account_disabled, the counter untouched", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    await t.deps.db.updateTable("users").set({ status: "disabled" }).where("id", "=", owner.id)
      .execute();
    const sessionsBefore = await sessionCount(t, owner.id);
    const res = await passkeySignIn(t, owner.authenticator);
    await assertNoToken(res);
    await assertProblem(res, 401, "invalid_passkey");
    assert.equal(await sessionCount(t, owner.id), sessionsBefore);
    const [failed] = await auditRows(t, "auth.login.failed");
    assert.equal(failed.target_id, owner.id);
    assert.deepEqual(failed.details, { reason: "account_disabled", method: "passkey" });
    assert.equal((await auditRows(t, "passkey.login")).length, 0);
    assert.equal((await passkeyRows(t, owner.id))[0].counter, 0);
  } finally {
    await t.close();
  }
});

Deno.test("the login guard applies to passkey sign-in: after LOGIN_MAX_ATTEMPTS refused assertions from one address even a valid one is 429 with Retry-After, unverified; another address is not blocked", async () => {
  const t = await buildTestApp({ LOGIN_MAX_ATTEMPTS: "3" });
  try {
    const owner = await passkeyUser(t);
    const ip = "203.0.113.9";
    for (let i = 0; i < 3; i++) {
      const res = await passkeySignIn(t, owner.authenticator, {
        ip,
        tweaks: { origin: "https://evil.example" },
      });
      await assertProblem(res, 401, "invalid_passkey");
    }
    const options = await signInOptions(t, {}, ip);
    const valid = await owner.authenticator.assert(options);
    const blocked = await postAssertion(t, valid, ip);
    await assertNoToken(blocked);
    await assertProblem(blocked, 429, "too_many_attempts");
    const retryAfter = Number(blocked.headers.get("retry-after"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 900, `${retryAfter}`);
    const [event] = await auditRows(t, "auth.login.blocked");
    assert.equal(event.outcome, "denied");
    assert.equal(event.ip, ip);
    assert.equal((await auditRows(t, "passkey.login")).length, 0, "nothing was verified");
    assert.equal((await passkeyRows(t, owner.id))[0].counter, 0);

    // The pair is blocked, not the passkey: the same assertion from elsewhere signs in.
    const elsewhere = await postAssertion(t, valid, "198.51.100.77");
    assert.equal(elsewhere.status, 200, await elsewhere.clone().text());
    await elsewhere.body?.cancel();
  } finally {
    await t.close();
  }
});

/** A production configuration that breaks no production rule (as auth_email_production_test). */
function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  const secret = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(48))));
  return {
    APP_ENV: "production",
    JWT_SECRET_KEY: secret(),
    HASH_PEPPER: secret(),
    ALLOWED_HOSTS: "localhost",
    CORS_ORIGINS: "https://app.example.com",
    TRUSTED_PROXIES: "127.0.0.1",
    ...extra,
  };
}

Deno.test("in production without PUBLIC_URL or WEBAUTHN_* every passkey ceremony answers 503 passkeys_unavailable and issues no challenge", async () => {
  const t = await buildTestApp(productionEnv());
  try {
    assert.equal(t.deps.config.appEnv, "production");
    const user = await registerUser(t);
    const session = await login(t, user.email);
    const calls: Array<[string, Response]> = [
      ["options {}", await requestOptionsResponse(t, {})],
      ["options {email}", await requestOptionsResponse(t, { email: user.email })],
      [
        "registration options",
        await authed(t, "POST", "/api/v1/me/passkeys/options", session.access_token),
      ],
      [
        "step-up options",
        await authed(t, "POST", "/api/v1/auth/reauthenticate/options", session.access_token),
      ],
    ];
    for (const [what, res] of calls) {
      const problem = await assertProblem(res, 503, "passkeys_unavailable");
      assert.match(problem.detail, /PUBLIC_URL/, what);
    }
    assert.equal(
      (await t.deps.db.selectFrom("passkey_challenges").selectAll().execute()).length,
      0,
    );
  } finally {
    await t.close();
  }
});

Deno.test("with PUBLIC_URL=https://auth.example.com the relying party is auth.example.com: a passkey registered and asserted from that origin signs in; one from http://localhost does not", async () => {
  const t = await buildTestApp(productionEnv({ PUBLIC_URL: "https://auth.example.com" }));
  try {
    const user = await registerUser(t);
    const session = await login(t, user.email);
    const creation = await creationOptions(t, session.access_token);
    assert.deepEqual(creation.rp, { name: "citadel", id: "auth.example.com" });

    // Registering from the request's own origin is refused: only PUBLIC_URL's origin counts.
    const local = await SoftAuthenticator.create();
    const fromLocalhost = await authed(t, "POST", "/api/v1/me/passkeys", session.access_token, {
      response: await local.register(creation, { rpId: "localhost" }),
    });
    await assertProblem(fromLocalhost, 400, "passkey_registration_failed");
    const [refused] = (await auditRows(t, "passkey.registered")).filter((e) =>
      e.outcome === "denied"
    );
    assert.deepEqual(refused.details, { reason: "invalid_response", name: "Passkey" });

    const authenticator = await SoftAuthenticator.create("https://auth.example.com");
    await registerPasskey(t, session.access_token, { authenticator });
    const options = await signInOptions(t, {});
    assert.equal(options.rpId, "auth.example.com");

    const wrongOrigin = await postAssertion(
      t,
      await authenticator.assert(options, { origin: "http://localhost" }),
    );
    await assertNoToken(wrongOrigin);
    await assertProblem(wrongOrigin, 401, "invalid_passkey");
    const ok = await postAssertion(t, await authenticator.assert(await signInOptions(t, {})));
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual(jwtClaims((await ok.json()).access_token).amr, ["hwk", "user"]);
  } finally {
    await t.close();
  }
});

Deno.test("REQUIRE_MFA_FOR_ADMINS: a passkey is the admin's second factor: its sign-in and its second step reach the admin API, and the admin's API key works while the passkey exists", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ REQUIRE_MFA_FOR_ADMINS: "true" }, { clock });
  try {
    const { user, tokens } = await adminSession(t, "admin");
    const key = await apiKey(t, tokens.access_token, ["admin:read"]);
    await assertProblem(
      await authed(t, "GET", "/api/v1/admin/users", tokens.access_token),
      403,
      "mfa_enrollment_required",
    );
    const { authenticator, passkey } = await registerPasskey(t, tokens.access_token);
    clock.advance(1_000); // past the API-key cache

    const signedIn = await passkeySignIn(t, authenticator);
    assert.equal(signedIn.status, 200);
    const byPasskey = (await signedIn.json()).access_token as string;
    assert.equal((await authed(t, "GET", "/api/v1/admin/users", byPasskey)).status, 200);

    const { mfa_token } = await passwordStepToken(t, user.email);
    const second = await mfaPasskeyStep(
      t,
      mfa_token,
      await authenticator.assert(await signInOptions(t, { mfa_token })),
    );
    assert.equal(second.status, 200);
    const byBoth = (await second.json()).access_token as string;
    assert.equal((await authed(t, "GET", "/api/v1/admin/users", byBoth)).status, 200);
    assert.equal((await withKey(t, "GET", "/api/v1/admin/users", key)).status, 200);

    const removed = await authed(t, "DELETE", `/api/v1/me/passkeys/${passkey.id}`, byBoth);
    assert.equal(removed.status, 204);
    clock.advance(1_000);
    await assertProblem(
      await withKey(t, "GET", "/api/v1/admin/users", key),
      403,
      "mfa_enrollment_required",
    );
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=required: a passkey sign-in of an account whose address is not verified is 403 email_not_verified, without a token, and audited like a password login", async () => {
  const t = await buildTestApp({ EMAIL_VERIFICATION: "required" });
  try {
    const email = uniqueEmail("unverified");
    const accepted = await request(t.app, "POST", "/api/v1/auth/register", {
      body: { email, password: STRONG_PASSWORD },
    });
    assert.equal(accepted.status, 202);
    const verify = (at: number | null) =>
      t.deps.db.updateTable("users").set({ email_verified_at: at }).where("email", "=", email)
        .execute();
    await verify(Date.now());
    const session = await login(t, email);
    const { authenticator } = await registerPasskey(t, session.access_token);
    await verify(null);

    const res = await passkeySignIn(t, authenticator);
    await assertNoToken(res);
    await assertProblem(res, 403, "email_not_verified");
    const password = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email, password: STRONG_PASSWORD },
    });
    await assertProblem(password, 403, "email_not_verified");
    const failures = (await auditRows(t, "auth.login.failed")).map((e) => e.details);
    assert.deepEqual(failures, [
      { reason: "email_not_verified", method: "passkey" },
      { reason: "email_not_verified", method: "password" },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("a spent per-email budget (an attack from many networks) does not lock the owner's passkey out on a device holding its device credential, given as device_token or as its cookie, as it does not lock out the password; without it the passkey is blocked too", async () => {
  const t = await buildTestApp({ LOGIN_EMAIL_MAX_ATTEMPTS: "3" });
  try {
    const owner = await passkeyUser(t);
    const first = await passkeySignIn(t, owner.authenticator, { ip: "10.0.1.7" });
    assert.equal(first.status, 200);
    const { device_token } = await first.json();
    for (let i = 2; i <= 5; i++) {
      const res = await request(t.app, "POST", "/api/v1/auth/login", {
        body: { email: owner.email, password: "Wrong-Password-123!" },
        ip: `10.0.${i}.7`,
      });
      assert.ok([401, 429].includes(res.status), `${res.status}`);
      await res.body?.cancel();
    }
    const newNetwork = "10.0.99.7";
    // The password, from a new network with the device credential, still gets its second step.
    const password = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: owner.email, password: STRONG_PASSWORD, device_token },
      ip: newNetwork,
    });
    assert.equal(password.status, 200, await password.clone().text());
    assert.equal((await password.json()).mfa_required, true);

    const passkeyFrom = async (
      extra: { body?: Record<string, unknown>; headers?: Record<string, string> },
      ip: string,
    ) => {
      const options = await signInOptions(t, {}, ip);
      return await request(t.app, "POST", "/api/v1/auth/passkey", {
        body: { response: await owner.authenticator.assert(options), ...extra.body },
        headers: extra.headers,
        ip,
      });
    };
    // Without the device credential the account's budget is spent: blocked before verifying.
    const without = await passkeyFrom({}, "10.0.98.7");
    await assertNoToken(without);
    await assertProblem(without, 429, "too_many_attempts");

    const ways: Array<
      [string, { body?: Record<string, unknown>; headers?: Record<string, string> }]
    > = [
      ["device_token in the body", { body: { device_token } }],
      // A request with a cookie must come from an allowed origin (CSRF), as a browser's does.
      ["the device cookie", {
        headers: { cookie: `__Host-citadel_device=${device_token}`, origin: "http://localhost" },
      }],
    ];
    for (const [what, extra] of ways) {
      const res = await passkeyFrom(extra, newNetwork);
      const blocked = (await auditRows(t, "auth.login.blocked")).map((e) => e.details.reason);
      assert.equal(res.status, 200, `${what}: ${await res.clone().text()} blocked for ${blocked}`);
      assert.equal(jwtClaims((await res.json()).access_token).sub, owner.id, what);
    }
    // Another user's device credential does not stand in for the owner's.
    const stranger = await passkeyUser(t);
    const theirs = await passkeySignIn(t, stranger.authenticator, { ip: "10.0.50.7" });
    const strangerDevice = (await theirs.json()).device_token as string;
    const foreign = await passkeyFrom({ body: { device_token: strangerDevice } }, "10.0.97.7");
    await assertProblem(foreign, 429, "too_many_attempts");
    // A device_token that is not text is a validation failure.
    const bad = await passkeyFrom({ body: { device_token: 7 } }, "10.0.96.7");
    await assertProblem(bad, 422, "validation_failed");
  } finally {
    await t.close();
  }
});

Deno.test("turning TOTP off (DELETE /me/mfa) keeps the passkey in the calling session's amr: a passkey sign-in keeps [hwk, user], a password+passkey one [pwd, hwk]; a password+otp session gets [pwd]", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    type SignIn = (user: Awaited<ReturnType<typeof mfaUser>>, a: SoftAuthenticator) => Promise<
      Response
    >;
    const cases: Array<[string, SignIn, string[], string[]]> = [
      ["a passkey sign-in", (_user, a) => passkeySignIn(t, a), ["hwk", "user"], ["hwk", "user"]],
      [
        "the password and a passkey",
        async (user, a) => {
          const { mfa_token } = await passwordStepToken(t, user.email);
          return mfaPasskeyStep(
            t,
            mfa_token,
            await a.assert(await signInOptions(t, { mfa_token })),
          );
        },
        ["pwd", "hwk"],
        ["pwd", "hwk"],
      ],
      [
        "the password and a TOTP code",
        async (user) => {
          const { mfa_token } = await passwordStepToken(t, user.email);
          const res = await request(t.app, "POST", "/api/v1/auth/mfa", {
            body: { mfa_token, code: totp(user.secret, clock.now()) },
          });
          clock.advance(STEP_MS); // that code is spent; turning TOTP off takes the next one
          return res;
        },
        ["pwd", "otp"],
        ["pwd"],
      ],
    ];
    for (const [what, signIn, before, after] of cases) {
      const user = await mfaUser(t, clock);
      const { authenticator } = await registerPasskey(t, user.accessToken);
      const signedIn = await signIn(user, authenticator);
      assert.equal(signedIn.status, 200, `${what}: ${await signedIn.clone().text()}`);
      const tokens = await signedIn.json();
      assert.deepEqual(jwtClaims(tokens.access_token).amr, before, what);

      const off = await authed(t, "DELETE", "/api/v1/me/mfa", tokens.access_token, {
        code: totp(user.secret, clock.now()),
      });
      assert.equal(off.status, 204, `${what}: ${await off.clone().text()}`);
      const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: tokens.refresh_token },
      });
      assert.equal(refreshed.status, 200, `${what}: ${await refreshed.clone().text()}`);
      const claims = jwtClaims((await refreshed.json()).access_token);
      assert.deepEqual(claims.amr, after, what);
      assert.equal(claims.sid, jwtClaims(tokens.access_token).sid, what);
      const [row] = await t.deps.db.selectFrom("sessions").select("amr")
        .where("id", "=", claims.sid as string).execute();
      assert.deepEqual(JSON.parse(row.amr!), after, what);
      // The passkey is still the second factor: the password alone asks for it.
      const step = await passwordStepToken(t, user.email);
      assert.deepEqual(step.methods, ["passkey"], what);
    }
  } finally {
    await t.close();
  }
});
