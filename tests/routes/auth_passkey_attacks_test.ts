/**
 * Attacks on passkey ceremonies (issue 20's acceptance list and more), each asserted by its
 * status and code, that no token was issued, and the audit it leaves: a replayed assertion,
 * an assertion for another challenge, another user's or another token's challenge, a challenge
 * of one purpose used for another, a wrong origin or RP ID, a forged or unverified assertion, a
 * counter regression (cloned authenticator: audited, alerted and the passkey suspended for
 * good, also when the clone jumped ahead first), a credential id that another user already has
 * (also two registrations racing), an expired challenge, one assertion posted five times at
 * once, and one answer, byte for byte, to every refused sign-in.
 */
import assert from "node:assert/strict";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { fromBase64Url, toBase64Url } from "../../src/lib/crypto.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { buildTestApp, type TestApp } from "../support/helpers.ts";
import { assertProblem, auditRows, jwtClaims, midStepMs } from "../support/mfa_support.ts";
import {
  assertNoToken,
  creationOptions,
  mfaPasskeyStep,
  passkeyRows,
  passkeySignIn,
  type PasskeyUser,
  passkeyUser,
  passwordStepToken,
  postAssertion,
  postRegistration,
  refusedRegistrations,
  registerPasskey,
  registrations,
  requestOptionsResponse,
  securityAlerts,
  sessionCount,
  signInOptions,
  stepUpOptions,
  withoutPasskeyId,
  withoutRequestId,
} from "../support/passkey_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";
import { reauthenticate } from "../support/step_up_support.ts";

/** Sends a request and asserts it refused: 401 invalid_passkey, no token, no new session. */
async function assertRefused(
  t: TestApp,
  send: () => Promise<Response>,
  owner: { id: string },
  what: string,
) {
  const sessions = await sessionCount(t, owner.id);
  const res = await send();
  await assertNoToken(res);
  const problem = await assertProblem(res, 401, "invalid_passkey");
  assert.equal(problem.status, 401, what);
  assert.equal(await sessionCount(t, owner.id), sessions, `${what}: no session`);
}

/** The sign-in failures audited so far for a user, by reason. */
async function loginFailures(t: TestApp, userId: string) {
  return (await auditRows(t, "auth.login.failed")).filter((e) => e.target_id === userId)
    .map((e) => e.details);
}

Deno.test("a replayed assertion is refused: the same response twice signs in once, the second is 401 invalid_passkey and audited", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const response = await owner.authenticator.assert(await signInOptions(t, {}));
    const first = await postAssertion(t, response);
    assert.equal(first.status, 200, await first.clone().text());
    await first.body?.cancel();
    await assertRefused(t, () => postAssertion(t, response), owner, "replay");
    assert.deepEqual(await loginFailures(t, owner.id), [
      { reason: "invalid_passkey", method: "passkey" },
    ]);
    assert.equal((await auditRows(t, "passkey.login")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("an assertion answering another challenge is refused: a spent challenge or a made-up one, while the challenge actually issued stays usable", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const a = await signInOptions(t, {});
    const b = await signInOptions(t, {});
    const used = await postAssertion(t, await owner.authenticator.assert(a));
    assert.equal(used.status, 200);
    await used.body?.cancel();

    for (
      const [what, challenge] of [
        ["the spent challenge of A", a.challenge],
        ["a made-up challenge", toBase64Url(crypto.getRandomValues(new Uint8Array(32)))],
      ]
    ) {
      const response = await owner.authenticator.assert(b, { challenge });
      await assertRefused(t, () => postAssertion(t, response), owner, what);
    }
    assert.equal((await loginFailures(t, owner.id)).length, 2);
    const stillB = await postAssertion(t, await owner.authenticator.assert(b));
    assert.equal(stillB.status, 200, await stillB.clone().text());
    await stillB.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a challenge issued for user X's email does not accept user Y's passkey", async () => {
  const t = await buildTestApp();
  try {
    const x = await passkeyUser(t);
    const y = await passkeyUser(t);
    const forX = await signInOptions(t, { email: x.email });
    const response = await y.authenticator.assert(forX);
    await assertRefused(t, () => postAssertion(t, response), y, "Y on X's challenge");
    assert.deepEqual(await loginFailures(t, y.id), [
      { reason: "invalid_passkey", method: "passkey" },
    ]);
    assert.equal((await passkeyRows(t, y.id))[0].counter, 0, "Y's counter is untouched");
    assert.equal((await auditRows(t, "passkey.login")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("an assertion for the challenge of one mfa_token does not complete another mfa_token, of the same user or of another", async () => {
  const t = await buildTestApp();
  try {
    const victim = await passkeyUser(t);
    const attacker = await passkeyUser(t);
    const cases: Array<[string, () => Promise<[AuthenticationResponseJSON, string]>]> = [
      ["another token of the same user", async () => {
        const one = await passwordStepToken(t, victim.email);
        const other = await passwordStepToken(t, victim.email);
        const options = await signInOptions(t, { mfa_token: one.mfa_token });
        return [await victim.authenticator.assert(options), other.mfa_token];
      }],
      ["another user's token, signed by the attacker's passkey", async () => {
        const victimToken = await passwordStepToken(t, victim.email);
        const own = await passwordStepToken(t, attacker.email);
        const options = await signInOptions(t, { mfa_token: victimToken.mfa_token });
        return [await attacker.authenticator.assert(options), own.mfa_token];
      }],
    ];
    for (const [what, make] of cases) {
      const [response, token] = await make();
      const res = await mfaPasskeyStep(t, token, response);
      await assertNoToken(res);
      const problem = await assertProblem(res, 401, "invalid_passkey");
      assert.equal(problem.status, 401, what);
    }
    const failed = await auditRows(t, "mfa.challenge_failed");
    assert.equal(failed.length, 2);
    for (const event of failed) assert.equal(event.details.method, "passkey");
    assert.equal((await auditRows(t, "passkey.login")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("a challenge serves only the ceremony it was issued for: sign-in, the mfa step and step-up each refuse the others' challenges", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    type Issued = { options: Awaited<ReturnType<typeof signInOptions>>; mfaToken?: string };
    const issuers: Record<string, () => Promise<Issued>> = {
      "login {}": async () => ({ options: await signInOptions(t, {}) }),
      "login {email}": async () => ({ options: await signInOptions(t, { email: owner.email }) }),
      "mfa": async () => {
        const { mfa_token } = await passwordStepToken(t, owner.email);
        return { options: await signInOptions(t, { mfa_token }), mfaToken: mfa_token };
      },
      "reauthenticate": async () => ({ options: await stepUpOptions(t, owner.accessToken) }),
    };
    const consumers: Record<
      string,
      (r: AuthenticationResponseJSON, i: Issued) => Promise<Response>
    > = {
      "sign-in": (response) => postAssertion(t, response),
      "mfa step": async (response, issued) =>
        mfaPasskeyStep(
          t,
          issued.mfaToken ?? (await passwordStepToken(t, owner.email)).mfa_token,
          response,
        ),
      "step-up": (response) => reauthenticate(t, owner.accessToken, { passkey_response: response }),
    };
    const matches: Record<string, string> = {
      "login {}": "sign-in",
      "login {email}": "sign-in",
      "mfa": "mfa step",
      "reauthenticate": "step-up",
    };
    const table: string[] = [];
    for (const [issuer, issue] of Object.entries(issuers)) {
      for (const [consumer, consume] of Object.entries(consumers)) {
        const issued = await issue();
        const res = await consume(await owner.authenticator.assert(issued.options), issued);
        const body = await res.json();
        table.push(`${issuer} -> ${consumer}: ${res.status} ${body.code ?? "ok"}`);
        if (res.status === 200) assert.equal(typeof body.access_token, "string");
      }
    }
    const expected = Object.keys(issuers).flatMap((issuer) =>
      Object.keys(consumers).map((consumer) =>
        `${issuer} -> ${consumer}: ${
          matches[issuer] === consumer ? "200 ok" : "401 invalid_passkey"
        }`
      )
    );
    assert.deepEqual(table, expected);
  } finally {
    await t.close();
  }
});

/** The signature of an assertion with its last byte flipped (still well-formed DER). */
function flipSignature(response: AuthenticationResponseJSON): AuthenticationResponseJSON {
  const signature = fromBase64Url(response.response.signature);
  signature[signature.length - 1] ^= 0x01;
  return { ...response, response: { ...response.response, signature: toBase64Url(signature) } };
}

/** Sets the user-verified flag in the authenticator data after signing (forging UV). */
function forgeUserVerified(response: AuthenticationResponseJSON): AuthenticationResponseJSON {
  const data = fromBase64Url(response.response.authenticatorData);
  data[32] |= 0x04;
  return {
    ...response,
    response: { ...response.response, authenticatorData: toBase64Url(data) },
  };
}

Deno.test("forged or misdirected assertions are refused 401 invalid_passkey in every ceremony, with no token and the counter untouched", async () => {
  const t = await buildTestApp();
  try {
    const bystander = await passkeyUser(t);
    type Attack = [
      string,
      (
        a: SoftAuthenticator,
        o: Parameters<SoftAuthenticator["assert"]>[0],
      ) => Promise<AuthenticationResponseJSON>,
    ];
    const attacks: Attack[] = [
      ["wrong origin", (a, o) => a.assert(o, { origin: "https://evil.example" })],
      ["wrong RP ID", (a, o) => a.assert(o, { rpId: "evil.example" })],
      ["no user verification", (a, o) => a.assert(o, { unverified: true })],
      [
        "UV flag set after signing",
        async (a, o) => forgeUserVerified(await a.assert(o, { unverified: true })),
      ],
      ["tampered signature", async (a, o) => flipSignature(await a.assert(o))],
      ["another user's handle", async (a, o) => {
        const response = await a.assert(o);
        const handle = toBase64Url(new TextEncoder().encode(bystander.id));
        return { ...response, response: { ...response.response, userHandle: handle } };
      }],
    ];
    // One user per ceremony, so the account limits (10 second-factor failures) are not reached.
    const ceremonies: Array<
      [string, (u: PasskeyUser, attack: Attack[1]) => Promise<Response>]
    > = [
      ["sign-in", async (u, attack) => {
        const options = await signInOptions(t, { email: u.email });
        return postAssertion(t, await attack(u.authenticator, options), "198.51.100.1");
      }],
      ["mfa step", async (u, attack) => {
        const { mfa_token } = await passwordStepToken(t, u.email, "198.51.100.2");
        const options = await signInOptions(t, { mfa_token });
        return mfaPasskeyStep(t, mfa_token, await attack(u.authenticator, options));
      }],
      ["step-up", async (u, attack) => {
        const options = await stepUpOptions(t, u.accessToken);
        return reauthenticate(t, u.accessToken, {
          passkey_response: await attack(u.authenticator, options),
        });
      }],
    ];
    for (const [ceremony, run] of ceremonies) {
      // The login guard's pair limit (5) would block the sixth sign-in: a user per 4 attacks.
      let user = await passkeyUser(t);
      for (const [index, [what, attack]] of attacks.entries()) {
        if (index === 4) user = await passkeyUser(t);
        await assertRefused(t, () => run(user, attack), user, `${what} at ${ceremony}`);
        const [row] = await passkeyRows(t, user.id);
        assert.equal(row.counter, 0, `${what} at ${ceremony}: counter untouched`);
        assert.equal(row.last_used_at, null);
      }
    }
    assert.equal((await auditRows(t, "passkey.login")).length, 0);
    assert.equal((await auditRows(t, "auth.reauthenticated")).length, 0);
    assert.equal((await auditRows(t, "passkey.counter_regression")).length, 0, "no false alarm");
  } finally {
    await t.close();
  }
});

Deno.test("a counter that did not grow (cloned authenticator) is refused 401 invalid_passkey, audited passkey.counter_regression with both counters, alerted, and suspends the passkey: a higher counter is refused after it", async () => {
  const t = await buildTestApp();
  try {
    const cases: Array<[string, number]> = [["equal", 7], ["lower", 6], ["zero", 0]];
    for (const [index, [what, counter]] of cases.entries()) {
      const owner = await passkeyUser(t);
      const ip = `203.0.113.${40 + index}`;
      const ok = await passkeySignIn(t, owner.authenticator, { tweaks: { counter: 7 } });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
      const send = () => passkeySignIn(t, owner.authenticator, { tweaks: { counter }, ip });
      await assertRefused(t, send, owner, `${what} counter`);
      const [row] = await passkeyRows(t, owner.id);
      assert.equal(row.counter, 7, `${what}: the stored counter stays`);
      assert.equal(typeof row.suspended_at, "number", `${what}: the passkey is suspended`);

      const [event, ...more] = (await auditRows(t, "passkey.counter_regression"))
        .filter((e) => e.target_id === owner.id);
      assert.equal(more.length, 0);
      assert.equal(event.outcome, "denied");
      assert.equal(event.ip, ip);
      assert.deepEqual(event.details, {
        passkey_id: owner.passkey.id,
        stored_counter: 7,
        presented_counter: counter,
      });
      const alerts = (await securityAlerts(t, "passkey_counter_regression"))
        .filter((a) => a.details.user_id === owner.id);
      assert.equal(alerts.length, 1, what);
      assert.equal(alerts[0].details.ip, ip);
      assert.equal(alerts[0].details.passkey_id, owner.passkey.id);

      // Whichever authenticator counts on, genuine or clone, signs in no more.
      for (const next of [8, 1_000]) {
        const later = () =>
          passkeySignIn(t, owner.authenticator, { tweaks: { counter: next }, ip: "198.51.100.9" });
        await assertRefused(t, later, owner, `${what}, then counter ${next}`);
      }
      assert.equal((await passkeyRows(t, owner.id))[0].counter, 7, "nothing recorded");
      // Refused as suspended, not counted again: one alarm per passkey.
      assert.equal(
        (await auditRows(t, "passkey.counter_regression")).filter((e) => e.target_id === owner.id)
          .length,
        1,
      );
      assert.equal(
        (await auditRows(t, "passkey.login")).filter((e) => e.target_id === owner.id).length,
        1,
        "only the first sign-in",
      );
    }
  } finally {
    await t.close();
  }
});

Deno.test("a suspended passkey signs in nowhere (sign-in, mfa step, step-up) yet still counts as the user's second factor until removed; removed and replaced by a new passkey, sign-in works again", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const ok = await passkeySignIn(t, owner.authenticator, { tweaks: { counter: 3 } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const regressed = () => passkeySignIn(t, owner.authenticator, { tweaks: { counter: 2 } });
    await assertRefused(t, regressed, owner, "the regression");

    await assertRefused(
      t,
      () => passkeySignIn(t, owner.authenticator, { tweaks: { counter: 4 }, ip: "198.51.100.3" }),
      owner,
      "sign-in with a higher counter",
    );
    // The password alone still does not sign in: the passkey is the second step, and refused.
    const step = await passwordStepToken(t, owner.email, "198.51.100.4");
    assert.deepEqual(step.methods, ["passkey"]);
    const options = await signInOptions(t, { mfa_token: step.mfa_token });
    assert.deepEqual(options.allowCredentials?.map((c) => c.id), [owner.authenticator.id]);
    const mfa = await owner.authenticator.assert(options, { counter: 5 });
    await assertRefused(t, () => mfaPasskeyStep(t, step.mfa_token, mfa), owner, "the mfa step");
    const stepUp = await owner.authenticator.assert(await stepUpOptions(t, owner.accessToken), {
      counter: 6,
    });
    await assertRefused(
      t,
      () => reauthenticate(t, owner.accessToken, { passkey_response: stepUp }),
      owner,
      "step-up",
    );
    const passwordOnly = await reauthenticate(t, owner.accessToken, { password: STRONG_PASSWORD });
    await assertProblem(passwordOnly, 401, "invalid_passkey");
    assert.equal((await auditRows(t, "passkey.counter_regression")).length, 1);
    assert.equal((await auditRows(t, "auth.reauthenticated")).length, 0);

    // The user sees it and removes it (the session that registered it is still fresh).
    const listed = await (await authed(t, "GET", "/api/v1/me/passkeys", owner.accessToken))
      .json();
    assert.deepEqual(listed.passkeys.map((p: { id: string }) => p.id), [owner.passkey.id]);
    const removed = await authed(
      t,
      "DELETE",
      `/api/v1/me/passkeys/${owner.passkey.id}`,
      owner.accessToken,
    );
    assert.equal(removed.status, 204, await removed.clone().text());
    const { authenticator } = await registerPasskey(t, owner.accessToken, { name: "New" });
    const again = await passkeySignIn(t, authenticator, { ip: "198.51.100.5" });
    assert.equal(again.status, 200, await again.clone().text());
    const claims = jwtClaims((await again.json()).access_token);
    assert.equal(claims.sub, owner.id);
    assert.deepEqual(claims.amr, ["hwk", "user"]);
    // The old key stays refused: its credential is gone.
    await assertRefused(
      t,
      () => passkeySignIn(t, owner.authenticator, { tweaks: { counter: 50 }, ip: "198.51.100.6" }),
      owner,
      "the removed passkey",
    );
  } finally {
    await t.close();
  }
});

Deno.test("a clone that jumps the counter far ahead signs in first; the genuine authenticator's lower counter is then refused (regression audited and alerted), and from then on both are refused", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    // The clone holds the same key as the genuine authenticator; each reports its own counter.
    const genuine = (counter: number, ip: string) =>
      passkeySignIn(t, owner.authenticator, { tweaks: { counter }, ip });
    const clone = genuine;
    const first = await genuine(1, "198.51.100.10");
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const ahead = await clone(1_000, "203.0.113.66");
    assert.equal(ahead.status, 200, "the clone is not yet told from the genuine one");
    await ahead.body?.cancel();
    assert.equal((await passkeyRows(t, owner.id))[0].counter, 1_000);

    await assertRefused(t, () => genuine(2, "198.51.100.10"), owner, "the genuine one, behind");
    const [event] = await auditRows(t, "passkey.counter_regression");
    assert.deepEqual(withoutPasskeyId(event.details), {
      stored_counter: 1_000,
      presented_counter: 2,
    });
    assert.equal((await securityAlerts(t, "passkey_counter_regression")).length, 1);

    await assertRefused(t, () => clone(1_001, "203.0.113.66"), owner, "the clone, counting on");
    await assertRefused(t, () => genuine(3, "198.51.100.10"), owner, "the genuine one again");
    await assertRefused(t, () => genuine(5_000, "198.51.100.11"), owner, "anyone past both");
    assert.equal((await auditRows(t, "passkey.login")).length, 2);
    assert.equal((await auditRows(t, "passkey.counter_regression")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("a counter regression at the mfa step is refused, alerted and suspends the passkey too", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const ok = await passkeySignIn(t, owner.authenticator);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const { mfa_token } = await passwordStepToken(t, owner.email);
    const options = await signInOptions(t, { mfa_token });
    const response = await owner.authenticator.assert(options, { counter: 1 });
    const send = () => mfaPasskeyStep(t, mfa_token, response);
    await assertRefused(t, send, owner, "regression at the mfa step");
    const [event] = await auditRows(t, "passkey.counter_regression");
    assert.deepEqual(withoutPasskeyId(event.details), { stored_counter: 1, presented_counter: 1 });
    assert.equal((await securityAlerts(t, "passkey_counter_regression")).length, 1);
    // Suspended there too: the next sign-in, with a counter that grew, is refused.
    await assertRefused(
      t,
      () => passkeySignIn(t, owner.authenticator, { tweaks: { counter: 2 } }),
      owner,
      "a sign-in after the regression",
    );
  } finally {
    await t.close();
  }
});

Deno.test("an authenticator that does not count (counter 0 on both sides, a synced passkey) signs in every time; a replay of it is still refused", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    let last: AuthenticationResponseJSON | undefined;
    for (let i = 0; i < 3; i++) {
      last = await owner.authenticator.assert(await signInOptions(t, {}), { counter: 0 });
      const res = await postAssertion(t, last);
      assert.equal(res.status, 200, await res.clone().text());
      await res.body?.cancel();
    }
    assert.equal((await passkeyRows(t, owner.id))[0].counter, 0);
    assert.equal((await auditRows(t, "passkey.counter_regression")).length, 0);
    assert.equal((await securityAlerts(t, "passkey_counter_regression")).length, 0);
    await assertRefused(t, () => postAssertion(t, last!), owner, "a replayed counter-0 assertion");
  } finally {
    await t.close();
  }
});

Deno.test("registering a credential id that another user already has is 409 passkey_already_registered, audited denied (already_registered); nothing is stored and the owner's passkey still signs in as the owner", async () => {
  const t = await buildTestApp();
  try {
    const a = await passkeyUser(t);
    const b = await passkeyUser(t);
    const copy = await SoftAuthenticator.create();
    copy.credentialId = a.authenticator.credentialId;
    const options = await creationOptions(t, b.accessToken);
    const res = await authed(t, "POST", "/api/v1/me/passkeys", b.accessToken, {
      name: "Copied",
      response: await copy.register(options),
    });
    await assertProblem(res, 409, "passkey_already_registered");
    assert.equal((await passkeyRows(t, b.id)).length, 1, "B keeps only its own passkey");
    assert.equal((await registrations(t)).length, 2, "A's and B's own");
    const [refused] = await refusedRegistrations(t);
    assert.equal(refused.actor_id, b.id);
    assert.equal(refused.target_id, b.id);
    assert.deepEqual(refused.details, { reason: "already_registered", name: "Copied" });
    // The same credential id twice for one user is refused the same way.
    const repeat = await creationOptions(t, a.accessToken);
    const dup = await authed(t, "POST", "/api/v1/me/passkeys", a.accessToken, {
      response: await a.authenticator.register(repeat),
    });
    await assertProblem(dup, 409, "passkey_already_registered");
    assert.deepEqual((await refusedRegistrations(t)).map((e) => [e.target_id, e.details]), [
      [b.id, { reason: "already_registered", name: "Copied" }],
      [a.id, { reason: "already_registered", name: "Passkey" }],
    ]);

    // The copy (B's key under A's credential id) signs in as nobody.
    await assertRefused(t, () => passkeySignIn(t, copy), a, "B's key under A's credential id");
    const owner = await passkeySignIn(t, a.authenticator);
    assert.equal(owner.status, 200, await owner.clone().text());
    assert.equal(jwtClaims((await owner.json()).access_token).sub, a.id);
  } finally {
    await t.close();
  }
});

Deno.test("a challenge expires after five minutes: an assertion or a registration answering it 5 min + 1 s later is refused; at 5 min - 1 s it still works", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await passkeyUser(t);
    const late = await signInOptions(t, {});
    clock.advance(5 * 60_000 + 1_000);
    const response = await owner.authenticator.assert(late);
    await assertRefused(t, () => postAssertion(t, response), owner, "an expired challenge");

    const onTime = await signInOptions(t, {});
    clock.advance(5 * 60_000 - 1_000);
    const accepted = await postAssertion(t, await owner.authenticator.assert(onTime));
    assert.equal(accepted.status, 200, await accepted.clone().text());
    const fresh = (await accepted.json()).access_token as string;

    const creation = await creationOptions(t, fresh);
    clock.advance(5 * 60_000 + 1_000);
    const registered = await authed(t, "POST", "/api/v1/me/passkeys", fresh, {
      response: await (await SoftAuthenticator.create()).register(creation),
    });
    await assertProblem(registered, 400, "passkey_registration_failed");
    assert.equal((await passkeyRows(t, owner.id)).length, 1);
    assert.deepEqual((await refusedRegistrations(t)).map((e) => e.details), [
      { reason: "invalid_challenge", name: "Passkey" },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("the same assertion posted 5 times at once signs in exactly once", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const sessions = await sessionCount(t, owner.id);
    const response = await owner.authenticator.assert(await signInOptions(t, {}));
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => postAssertion(t, response)),
    );
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 401, 401, 401, 401]);
    for (const res of answers) {
      if (res.status === 401) assert.equal((await res.json()).code, "invalid_passkey");
      else await res.body?.cancel();
    }
    assert.equal(await sessionCount(t, owner.id), sessions + 1);
    assert.equal((await auditRows(t, "passkey.login")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("two assertions of one cloned key with the same counter, for two challenges, posted at once: at most one signs in", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const first = await owner.authenticator.assert(await signInOptions(t, {}), { counter: 5 });
    const second = await owner.authenticator.assert(await signInOptions(t, {}), { counter: 5 });
    const answers = await Promise.all([postAssertion(t, first), postAssertion(t, second)]);
    const statuses = answers.map((r) => r.status).sort();
    for (const res of answers) await res.body?.cancel();
    assert.deepEqual(statuses, [200, 401]);
    assert.equal((await passkeyRows(t, owner.id))[0].counter, 5);
    assert.equal((await auditRows(t, "passkey.login")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("a step-up challenge is bound to its session: another session of the same user cannot answer it", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    // A second session of the same user, signed in with the password and the passkey.
    const { mfa_token } = await passwordStepToken(t, owner.email);
    const options = await signInOptions(t, { mfa_token });
    const signedIn = await mfaPasskeyStep(t, mfa_token, await owner.authenticator.assert(options));
    assert.equal(signedIn.status, 200);
    const other = (await signedIn.json()).access_token as string;
    const forFirst = await stepUpOptions(t, owner.accessToken);
    const response = await owner.authenticator.assert(forFirst);
    await assertRefused(
      t,
      () => reauthenticate(t, other, { passkey_response: response }),
      owner,
      "another session's step-up challenge",
    );
    assert.equal((await auditRows(t, "auth.reauthenticated")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("a registration challenge does not sign in (nor does a sign-in challenge register)", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const creation = await creationOptions(t, owner.accessToken);
    const response = await owner.authenticator.assert(await signInOptions(t, {}), {
      challenge: creation.challenge,
    });
    await assertRefused(t, () => postAssertion(t, response), owner, "a registration challenge");

    const login = await signInOptions(t, {});
    const registration = await (await SoftAuthenticator.create()).register(
      await creationOptions(t, owner.accessToken),
      { challenge: login.challenge },
    );
    const res = await authed(t, "POST", "/api/v1/me/passkeys", owner.accessToken, {
      response: registration,
    });
    await assertProblem(res, 400, "passkey_registration_failed");
    assert.equal((await passkeyRows(t, owner.id)).length, 1);
    assert.deepEqual((await refusedRegistrations(t)).map((e) => e.details), [
      { reason: "invalid_challenge", name: "Passkey" },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("passkey answers at the mfa step are under the code limits: five refused per mfa_token kill it, ten per account block even a valid assertion with 429", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const refuse = async (mfaToken: string) => {
      const options = await signInOptions(t, { mfa_token: mfaToken });
      const response = await owner.authenticator.assert(options, {
        origin: "https://evil.example",
      });
      await assertRefused(t, () => mfaPasskeyStep(t, mfaToken, response), owner, "refused");
    };
    const first = await passwordStepToken(t, owner.email);
    for (let i = 0; i < 5; i++) await refuse(first.mfa_token);
    const dead = await requestOptionsResponse(t, { mfa_token: first.mfa_token });
    await assertProblem(dead, 401, "invalid_mfa_token");

    const second = await passwordStepToken(t, owner.email);
    for (let i = 0; i < 5; i++) await refuse(second.mfa_token);
    assert.equal((await auditRows(t, "mfa.challenge_blocked")).length, 1);

    const third = await passwordStepToken(t, owner.email);
    const options = await signInOptions(t, { mfa_token: third.mfa_token });
    const valid = await owner.authenticator.assert(options);
    const blocked = await mfaPasskeyStep(t, third.mfa_token, valid);
    await assertNoToken(blocked);
    await assertProblem(blocked, 429, "too_many_attempts");
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);
    assert.equal((await auditRows(t, "passkey.login")).length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("the same mfa-step assertion posted 5 times at once signs in exactly once", async () => {
  const t = await buildTestApp();
  try {
    const owner = await passkeyUser(t);
    const sessions = await sessionCount(t, owner.id);
    const { mfa_token } = await passwordStepToken(t, owner.email);
    const response = await owner.authenticator.assert(await signInOptions(t, { mfa_token }));
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => mfaPasskeyStep(t, mfa_token, response)),
    );
    const statuses = answers.map((r) => r.status).sort();
    for (const res of answers) await res.body?.cancel();
    assert.deepEqual(statuses, [200, 401, 401, 401, 401]);
    assert.equal(await sessionCount(t, owner.id), sessions + 1);
  } finally {
    await t.close();
  }
});

Deno.test("two users registering the same credential id at once: one 201, the other 409 passkey_already_registered (audited denied), never a 500; the credential has one owner", async () => {
  const t = await buildTestApp();
  try {
    for (let round = 0; round < 5; round++) {
      const users = await Promise.all([0, 1].map(async () => {
        const user = await registerUser(t);
        return { id: user.id, tokens: await login(t, user.email) };
      }));
      const original = await SoftAuthenticator.create();
      const copy = await SoftAuthenticator.create();
      copy.credentialId = original.credentialId;
      const responses = [
        await original.register(await creationOptions(t, users[0].tokens.access_token)),
        await copy.register(await creationOptions(t, users[1].tokens.access_token)),
      ];
      const answers = await Promise.all(
        users.map((user, i) =>
          postRegistration(t, user.tokens.access_token, {
            name: `Racer ${i}`,
            response: responses[i],
          })
        ),
      );
      const statuses = answers.map((r) => r.status);
      assert.deepEqual([...statuses].sort(), [201, 409], `round ${round}: ${statuses}`);
      const winner = statuses.indexOf(201);
      const loser = 1 - winner;
      await answers[winner].body?.cancel();
      await assertProblem(answers[loser], 409, "passkey_already_registered");

      const rows = await t.deps.db.selectFrom("passkeys").select("user_id")
        .where("credential_id", "=", original.id).execute();
      assert.deepEqual(rows.map((r) => r.user_id), [users[winner].id]);
      const refused = (await refusedRegistrations(t)).filter((e) =>
        e.target_id === users[loser].id
      );
      assert.deepEqual(refused.map((e) => e.details), [
        { reason: "already_registered", name: `Racer ${loser}` },
      ]);
      assert.equal(
        (await registrations(t)).filter((e) => e.target_id === users[loser].id).length,
        0,
        "the loser has no registration",
      );
    }
    await t.deps.logger.flush();
    const errors = t.logs.map((line) => JSON.parse(line))
      .filter((e) => e.level === "error" || e.status === 500);
    assert.deepEqual(errors, [], "no error was logged, no 500 answered");
  } finally {
    await t.close();
  }
});

Deno.test("every refused assertion at POST /auth/passkey answers the same 401 problem body apart from request_id: unknown credential, disabled account, bad signature, wrong challenge, counter regression, suspended passkey", async () => {
  const t = await buildTestApp();
  try {
    const disabled = await passkeyUser(t);
    await t.deps.db.updateTable("users").set({ status: "disabled" })
      .where("id", "=", disabled.id).execute();
    const owner = await passkeyUser(t);
    const counting = await passkeyUser(t);
    const ok = await passkeySignIn(t, counting.authenticator, { tweaks: { counter: 5 } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const stranger = await SoftAuthenticator.create();

    // Each from its own address, so that no login guard answers instead.
    const cases: Array<[string, (ip: string) => Promise<Response>]> = [
      ["an unknown credential id", (ip) => passkeySignIn(t, stranger, { ip })],
      ["a disabled account", (ip) => passkeySignIn(t, disabled.authenticator, { ip })],
      ["a bad signature", async (ip) => {
        const options = await signInOptions(t, {}, ip);
        return postAssertion(t, flipSignature(await owner.authenticator.assert(options)), ip);
      }],
      ["a wrong challenge", async (ip) => {
        const options = await signInOptions(t, {}, ip);
        const challenge = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
        return postAssertion(t, await owner.authenticator.assert(options, { challenge }), ip);
      }],
      [
        "a counter regression",
        (ip) => passkeySignIn(t, counting.authenticator, { tweaks: { counter: 4 }, ip }),
      ],
      [
        "a suspended passkey",
        (ip) => passkeySignIn(t, counting.authenticator, { tweaks: { counter: 6 }, ip }),
      ],
    ];
    const bodies: string[] = [];
    for (const [index, [what, send]] of cases.entries()) {
      const res = await send(`198.51.100.${120 + index}`);
      await assertNoToken(res);
      const text = await res.text();
      assert.equal(res.status, 401, `${what}: ${text}`);
      assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/, what);
      assert.equal(JSON.parse(text).code, "invalid_passkey", what);
      bodies.push(withoutRequestId(text));
    }
    for (const [index, [what]] of cases.entries()) {
      assert.equal(bodies[index], bodies[0], `${what} answers as ${cases[0][0]} does`);
    }
    // The reasons differ only in the audit log.
    const reasons = (await auditRows(t, "auth.login.failed")).map((e) => e.details.reason);
    assert.deepEqual(reasons, [
      "unknown_passkey",
      "account_disabled",
      "invalid_passkey",
      "invalid_passkey",
      "invalid_passkey",
      "invalid_passkey",
    ]);
    // The owner, with a good assertion, still signs in.
    const good = await passkeySignIn(t, owner.authenticator, { ip: "198.51.100.130" });
    assert.equal(good.status, 200, await good.clone().text());
    await good.body?.cancel();
  } finally {
    await t.close();
  }
});
