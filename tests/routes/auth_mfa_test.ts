import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import {
  assertProblem,
  auditRows,
  jwtClaims,
  mfaStep,
  mfaUser,
  midStepMs,
  passwordStep,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";

const MINUTE = 60_000;

async function app() {
  const clock = new ManualClock(midStepMs());
  return { t: await buildTestApp({}, { clock }), clock };
}

/** A six-digit code that no step within the skew window (and one beyond) accepts. */
function wrongCode(secret: string, now: number, salt = 0): string {
  const near = new Set([-2, -1, 0, 1, 2].map((s) => totp(secret, now, s)));
  for (let n = 100_000 + salt * 7919;; n++) {
    const code = String(n % 1_000_000).padStart(6, "0");
    if (!near.has(code)) return code;
  }
}

async function me(t: TestApp, token: string) {
  const res = await authed(t, "GET", "/api/v1/me", token);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

async function failuresOf(t: TestApp, userId: string) {
  return (await auditRows(t, "mfa.challenge_failed")).filter((r) => r.target_id === userId);
}

Deno.test("login with MFA on answers {mfa_required, mfa_token, methods, expires_in} and no token, and the password alone reaches no token anywhere", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const res = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: user.email, password: "Quartz-Lantern-Orbit-71!" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("set-cookie"), null, "no refresh or device cookie");
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), [
      "expires_in",
      "methods",
      "mfa_required",
      "mfa_token",
    ]);
    assert.equal(body.mfa_required, true);
    assert.deepEqual(body.methods, ["totp", "recovery_code"]);
    assert.equal(body.expires_in, 300);
    assert.equal(typeof body.mfa_token, "string");
    assert.ok(body.mfa_token.length >= 40, "an opaque token of at least 32 random bytes");
    for (const key of ["access_token", "refresh_token", "device_token", "user"]) {
      assert.ok(!(key in body), key);
    }
    // Stored hashed: the row does not hold the token.
    const rows = await t.deps.db.selectFrom("mfa_challenges").selectAll()
      .where("user_id", "=", user.id).execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(body.mfa_token));

    // The mfa_token is no credential, and nothing refreshes without a refresh token.
    const asBearer = await authed(t, "GET", "/api/v1/me", body.mfa_token);
    assert.equal(asBearer.status, 401);
    const refreshNothing = await request(t.app, "POST", "/api/v1/auth/refresh", { body: {} });
    assert.ok(refreshNothing.status >= 400 && refreshNothing.status < 500);
    assert.ok(!("access_token" in await refreshNothing.json()));
    const refreshWithToken = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: body.mfa_token },
    });
    assert.equal(refreshWithToken.status, 401);
    const bogus = await mfaStep(t, "not-a-token", { code: totp(user.secret, clock.now()) });
    await assertProblem(bogus, 401, "invalid_mfa_token");
    const noFactor = await request(t.app, "POST", "/api/v1/auth/mfa", {
      body: { mfa_token: body.mfa_token },
    });
    await assertProblem(noFactor, 422, "validation_failed");
    const sessions = await t.deps.db.selectFrom("sessions").select("id")
      .where("user_id", "=", user.id).execute();
    assert.equal(sessions.length, 1, "only the enrolling session exists");
  } finally {
    await t.close();
  }
});

Deno.test("POST /auth/mfa with a TOTP code answers exactly a password login's body; the token says amr [pwd, otp] and auth_time", async () => {
  const { t, clock } = await app();
  try {
    const plain = await registerUser(t);
    const plainBody = await login(t, plain.email);
    assert.deepEqual(jwtClaims(plainBody.access_token).amr, ["pwd"]);

    const user = await mfaUser(t, clock);
    const challenge = await passwordStep(t, user.email, "203.0.113.7");
    clock.advance(7_000); // auth_time is when the second factor was given
    const res = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get("set-cookie") ?? "", /__Host-citadel_device=/);
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), Object.keys(plainBody).sort());
    assert.deepEqual(Object.keys(body).sort(), [
      "access_token",
      "device_token",
      "expires_in",
      "refresh_token",
      "token_type",
      "user",
    ]);
    assert.deepEqual(Object.keys(body.user).sort(), Object.keys(plainBody.user).sort());
    for (const key of Object.keys(plainBody) as (keyof typeof plainBody)[]) {
      assert.equal(typeof body[key], typeof plainBody[key], key);
    }
    assert.equal(body.token_type, plainBody.token_type);
    assert.equal(body.expires_in, plainBody.expires_in);
    assert.equal(body.user.id, user.id);
    assert.equal(body.user.mfa_enabled, true);

    const claims = jwtClaims(body.access_token);
    assert.deepEqual(claims.amr, ["pwd", "otp"]);
    assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
    assert.equal((await me(t, body.access_token)).user.id, user.id);

    // A refreshed access token keeps how and when the user authenticated.
    clock.advance(MINUTE);
    const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: body.refresh_token },
    });
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    const again = jwtClaims((await refreshed.json()).access_token);
    assert.deepEqual(again.amr, ["pwd", "otp"]);
    assert.equal(again.auth_time, claims.auth_time);

    const succeeded = (await auditRows(t, "auth.login.succeeded"))
      .filter((r) => r.actor_id === user.id);
    assert.equal(succeeded.at(-1)!.details.method, "pwd+otp");
  } finally {
    await t.close();
  }
});

Deno.test("POST /auth/mfa with a recovery code: amr [pwd, rc], one code fewer, audited and alerted, and the same code never again", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const code = user.recoveryCodes[2];
    const first = await passwordStep(t, user.email);
    const res = await mfaStep(t, first.mfa_token, { recovery_code: code });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(jwtClaims(body.access_token).amr, ["pwd", "rc"]);
    assert.equal(body.user.recovery_codes_left, 9);
    const view = await me(t, body.access_token);
    assert.equal(view.recovery_codes_left, 9);
    assert.equal(view.user.recovery_codes_left, 9);

    const [used] = await auditRows(t, "mfa.recovery_code_used");
    assert.equal(used.target_id, user.id);
    assert.equal(used.outcome, "success");
    assert.equal(used.details.codes_left, 9);
    await t.deps.logger.flush();
    assert.ok(
      t.logs.some((l) => l.includes('"alert":"mfa_recovery_code_used"')),
      "the owner's team is alerted",
    );

    // Replayed, in any spelling: refused, and nothing more is spent.
    for (const replay of [code, code.toUpperCase(), code.replaceAll("-", "")]) {
      const challenge = await passwordStep(t, user.email);
      const again = await mfaStep(t, challenge.mfa_token, { recovery_code: replay });
      await assertProblem(again, 401, "invalid_mfa_code");
    }
    assert.equal((await me(t, body.access_token)).recovery_codes_left, 9);
    assert.equal((await auditRows(t, "mfa.recovery_code_used")).length, 1);

    // Another code of the set, typed without dashes in capitals, is accepted once.
    const next = await passwordStep(t, user.email);
    const typed = user.recoveryCodes[5].replaceAll("-", "").toUpperCase();
    const ok = await mfaStep(t, next.mfa_token, { recovery_code: typed });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await ok.json()).user.recovery_codes_left, 8);
  } finally {
    await t.close();
  }
});

Deno.test("an mfa_token is single-use: after a success it is 401 invalid_mfa_token, and a recovery code sent with it is not spent", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const challenge = await passwordStep(t, user.email);
    const ok = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(ok.status, 200);
    clock.advance(STEP_MS);
    const withCode = await mfaStep(t, challenge.mfa_token, {
      code: totp(user.secret, clock.now()),
    });
    await assertProblem(withCode, 401, "invalid_mfa_token");
    const withRecovery = await mfaStep(t, challenge.mfa_token, {
      recovery_code: user.recoveryCodes[0],
    });
    await assertProblem(withRecovery, 401, "invalid_mfa_token");
    assert.equal((await me(t, user.accessToken)).recovery_codes_left, 10);
    // The step refused with the dead token was not spent: a new token takes it.
    const fresh = await passwordStep(t, user.email);
    const next = await mfaStep(t, fresh.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(next.status, 200, await next.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("an mfa_token expires after 5 minutes: 401 invalid_mfa_token even with the right code", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const stale = await passwordStep(t, user.email);
    const inTime = await passwordStep(t, user.email);
    clock.advance(5 * MINUTE - 1_000);
    const ok = await mfaStep(t, inTime.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(ok.status, 200, "valid until the last second");
    clock.advance(1_000);
    const late = await mfaStep(t, stale.mfa_token, {
      code: totp(user.secret, clock.now(), 1),
    });
    await assertProblem(late, 401, "invalid_mfa_token");
    const lateRecovery = await mfaStep(t, stale.mfa_token, {
      recovery_code: user.recoveryCodes[0],
    });
    await assertProblem(lateRecovery, 401, "invalid_mfa_token");
    assert.equal((await me(t, user.accessToken)).recovery_codes_left, 10);
  } finally {
    await t.close();
  }
});

Deno.test("a code or recovery code of another account does not complete this account's login (401 invalid_mfa_code)", async () => {
  const { t, clock } = await app();
  try {
    const alice = await mfaUser(t, clock);
    const bob = await mfaUser(t, clock);
    const now = clock.now();
    const aliceCode = totp(alice.secret, now);
    assert.ok(
      ![-1, 0, 1].some((s) => totp(bob.secret, now, s) === aliceCode),
      "precondition: Alice's code is none of Bob's",
    );
    const bobChallenge = await passwordStep(t, bob.email);
    const crossCode = await mfaStep(t, bobChallenge.mfa_token, { code: aliceCode });
    await assertProblem(crossCode, 401, "invalid_mfa_code");
    const crossRecovery = await mfaStep(t, bobChallenge.mfa_token, {
      recovery_code: alice.recoveryCodes[0],
    });
    await assertProblem(crossRecovery, 401, "invalid_mfa_code");
    assert.equal((await failuresOf(t, bob.id)).length, 2, "counted against Bob");

    // Both factors are still good for their owners.
    const bobOk = await mfaStep(t, bobChallenge.mfa_token, { code: totp(bob.secret, now) });
    assert.equal(bobOk.status, 200);
    const aliceChallenge = await passwordStep(t, alice.email);
    const aliceOk = await mfaStep(t, aliceChallenge.mfa_token, { code: aliceCode });
    assert.equal(aliceOk.status, 200);
    const aliceRc = await passwordStep(t, alice.email);
    const rcOk = await mfaStep(t, aliceRc.mfa_token, { recovery_code: alice.recoveryCodes[0] });
    assert.equal(rcOk.status, 200, "Alice's recovery code was not spent on Bob's token");
  } finally {
    await t.close();
  }
});

Deno.test("a TOTP code is accepted once: the same code again (same step, new token) is 401 invalid_mfa_code, even sent concurrently", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const code = totp(user.secret, clock.now());
    const first = await passwordStep(t, user.email);
    assert.equal((await mfaStep(t, first.mfa_token, { code })).status, 200);
    const second = await passwordStep(t, user.email);
    await assertProblem(await mfaStep(t, second.mfa_token, { code }), 401, "invalid_mfa_code");
    // Nor an older step within the skew window once a later one was accepted.
    const third = await passwordStep(t, user.email);
    const older = totp(user.secret, clock.now(), -1);
    await assertProblem(
      await mfaStep(t, third.mfa_token, { code: older }),
      401,
      "invalid_mfa_code",
    );

    // Two logins racing with one fresh code: exactly one wins.
    clock.advance(STEP_MS);
    const racing = totp(user.secret, clock.now());
    const tokens = [await passwordStep(t, user.email), await passwordStep(t, user.email)];
    const answers = await Promise.all(
      tokens.map((c) => mfaStep(t, c.mfa_token, { code: racing })),
    );
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 401]);
    await Promise.all(answers.map((r) => r.body?.cancel()));
  } finally {
    await t.close();
  }
});

Deno.test("clock skew: a code of the previous or next step is accepted, two steps away is refused", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    clock.advance(STEP_MS); // the previous step is not the enrolment's (spent) one
    const now = clock.now();
    const challenge = await passwordStep(t, user.email);
    for (const steps of [-2, 2]) {
      const far = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, now, steps) });
      await assertProblem(far, 401, "invalid_mfa_code");
    }
    // Older step first: once a step is accepted, no earlier one is.
    for (const steps of [-1, 1]) {
      const near = await passwordStep(t, user.email);
      const res = await mfaStep(t, near.mfa_token, { code: totp(user.secret, now, steps) });
      assert.equal(res.status, 200, `step ${steps}: ${await res.clone().text()}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("5 wrong codes kill an mfa_token: the 6th attempt is 401 invalid_mfa_token even with the right code", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const challenge = await passwordStep(t, user.email);
    for (let i = 0; i < 5; i++) {
      const res = await mfaStep(t, challenge.mfa_token, {
        code: wrongCode(user.secret, clock.now(), i),
      });
      await assertProblem(res, 401, "invalid_mfa_code");
    }
    const right = totp(user.secret, clock.now());
    await assertProblem(
      await mfaStep(t, challenge.mfa_token, { code: right }),
      401,
      "invalid_mfa_token",
    );
    await assertProblem(
      await mfaStep(t, challenge.mfa_token, { recovery_code: user.recoveryCodes[0] }),
      401,
      "invalid_mfa_token",
    );
    assert.equal((await failuresOf(t, user.id)).length, 5, "the dead token verified nothing");
    // The account (5 of 10) is not blocked: a new token with the right code logs in.
    const fresh = await passwordStep(t, user.email);
    assert.equal((await mfaStep(t, fresh.mfa_token, { code: right })).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("10 wrong codes over several tokens and addresses block the account: 429 with Retry-After, a right password does not lift it, 15 min after the last failure it lifts", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const other = await mfaUser(t, clock);
    // Two tokens from two addresses, one failure a minute (each token within its 5 min).
    for (let token = 0; token < 2; token++) {
      const ip = `198.51.100.${token + 1}`;
      const challenge = await passwordStep(t, user.email, ip);
      for (let i = 0; i < 5; i++) {
        if (i > 0) clock.advance(MINUTE);
        const res = await mfaStep(t, challenge.mfa_token, {
          code: wrongCode(user.secret, clock.now(), i),
        }, ip);
        await assertProblem(res, 401, "invalid_mfa_code");
      }
    }
    const lastFailure = clock.now();
    assert.equal((await failuresOf(t, user.id)).length, 10);
    const [blocked] = await auditRows(t, "mfa.challenge_blocked");
    assert.equal(blocked.target_id, user.id);
    assert.equal(blocked.details.failures, 10);
    await t.deps.logger.flush();
    assert.ok(t.logs.some((l) => l.includes('"alert":"mfa_blocked"')));

    // The right password still answers a challenge, but no factor gets through.
    const challenge = await passwordStep(t, user.email, "192.0.2.50");
    const right = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    await assertProblem(right, 429, "too_many_attempts");
    const retryAfter = Number(right.headers.get("retry-after"));
    assert.ok(retryAfter >= 895 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    const rc = await mfaStep(t, challenge.mfa_token, { recovery_code: user.recoveryCodes[0] });
    await assertProblem(rc, 429, "too_many_attempts");
    assert.equal((await me(t, user.accessToken)).recovery_codes_left, 10, "nothing verified");
    assert.equal((await failuresOf(t, user.id)).length, 10, "no verification while blocked");

    // Another account is not affected.
    const otherChallenge = await passwordStep(t, other.email, "198.51.100.1");
    const otherOk = await mfaStep(t, otherChallenge.mfa_token, {
      code: totp(other.secret, clock.now()),
    }, "198.51.100.1");
    assert.equal(otherOk.status, 200);

    // Past the counter's window (15 min after the first failure) the block still holds...
    clock.set(lastFailure + 15 * MINUTE - 1_000);
    const late = await passwordStep(t, user.email);
    const stillBlocked = await mfaStep(t, late.mfa_token, {
      code: totp(user.secret, clock.now()),
    });
    await assertProblem(stillBlocked, 429, "too_many_attempts");
    assert.equal(stillBlocked.headers.get("retry-after"), "1");
    // ...until 15 min after the last one.
    clock.set(lastFailure + 15 * MINUTE);
    const ok = await mfaStep(t, late.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(ok.status, 200, await ok.clone().text());
  } finally {
    await t.close();
  }
});

/** Fires `perToken` concurrent wrong codes on each of `tokens` challenges. */
async function concurrentWrongCodes(
  t: TestApp,
  user: { email: string; secret: string },
  now: number,
  tokens: number,
  perToken: number,
) {
  const challenges = [];
  for (let i = 0; i < tokens; i++) {
    challenges.push(await passwordStep(t, user.email, `10.9.0.${i + 1}`));
  }
  const attempts = challenges.flatMap((c, token) =>
    Array.from({ length: perToken }, (_, i) => ({ token, mfaToken: c.mfa_token, i }))
  );
  return await Promise.all(attempts.map(async (a) => {
    const res = await mfaStep(t, a.mfaToken, {
      code: wrongCode(user.secret, now, a.token * perToken + a.i),
    }, `10.9.0.${a.token + 1}`);
    const body = await res.json();
    return { token: a.token, status: res.status, code: body.code as string };
  }));
}

Deno.test("20 concurrent wrong codes over 4 tokens: at most 10 are verified, the others are 429", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const answers = await concurrentWrongCodes(t, user, clock.now(), 4, 5);
    const verified = answers.filter((a) => a.code === "invalid_mfa_code").length;
    const blocked = answers.filter((a) => a.code === "too_many_attempts").length;
    assert.equal(verified + blocked, 20, JSON.stringify(answers));
    assert.ok(verified <= 10, `${verified} verifications`);
    assert.ok(blocked >= 10, `${blocked} refused`);
    assert.ok((await failuresOf(t, user.id)).length <= 10);
    // Blocked now, the right code included.
    const challenge = await passwordStep(t, user.email);
    const right = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    await assertProblem(right, 429, "too_many_attempts");
  } finally {
    await t.close();
  }
});

Deno.test("20 concurrent wrong codes over 2 tokens: at most 5 are verified per token, at most 10 in all", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const answers = await concurrentWrongCodes(t, user, clock.now(), 2, 10);
    for (const token of [0, 1]) {
      const mine = answers.filter((a) => a.token === token);
      const verified = mine.filter((a) => a.code === "invalid_mfa_code").length;
      assert.ok(verified <= 5, `token ${token}: ${verified} verifications`);
      assert.ok(
        mine.every((a) =>
          ["invalid_mfa_code", "invalid_mfa_token", "too_many_attempts"].includes(a.code)
        ),
        JSON.stringify(mine),
      );
    }
    assert.ok((await failuresOf(t, user.id)).length <= 10);
    const rows = await t.deps.db.selectFrom("mfa_challenges").select("attempts")
      .where("user_id", "=", user.id).execute();
    assert.equal(rows.length, 2);
    for (const row of rows) assert.ok(row.attempts <= 5, `${row.attempts} attempts reserved`);
  } finally {
    await t.close();
  }
});

Deno.test("20 concurrent wrong codes on one token: 5 are verified, 15 are invalid_mfa_token, and the account is not blocked", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const answers = await concurrentWrongCodes(t, user, clock.now(), 1, 20);
    const verified = answers.filter((a) => a.code === "invalid_mfa_code").length;
    const dead = answers.filter((a) => a.code === "invalid_mfa_token").length;
    assert.equal(verified, 5, JSON.stringify(answers));
    assert.equal(dead, 15);
    assert.equal((await failuresOf(t, user.id)).length, 5);
    const challenge = await passwordStep(t, user.email);
    const right = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(right.status, 200, await right.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("the account limit is a sliding window: 9 wrong codes, 10 minutes later 1 more blocks (a fixed window that ended between them would not)", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const fail = async (n: number) => {
      for (let i = 0; i < n; i++) {
        // A fresh token every 4 codes keeps each under its own limit of 5.
        const challenge = await passwordStep(t, user.email, `198.51.100.${i + 1}`);
        const res = await mfaStep(t, challenge.mfa_token, {
          code: wrongCode(user.secret, clock.now(), i),
        });
        await assertProblem(res, 401, "invalid_mfa_code");
      }
    };
    await fail(9);
    clock.advance(10 * MINUTE);
    await fail(1);
    const challenge = await passwordStep(t, user.email, "192.0.2.60");
    const right = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    await assertProblem(right, 429, "too_many_attempts");
    // Once the first nine are more than 15 minutes old (and the block after the tenth has
    // run out), one failure in the window is not a block.
    clock.advance(15 * MINUTE + 1000);
    const later = await passwordStep(t, user.email, "192.0.2.61");
    const ok = await mfaStep(t, later.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(ok.status, 200, await ok.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("a TOTP code is single-use per purpose: the code that just signed in also confirms the next operation in the same step (reauthenticate, new recovery codes, turning MFA off), but signs in only once", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const code = totp(user.secret, clock.now());
    const challenge = await passwordStep(t, user.email);
    const signedIn = await mfaStep(t, challenge.mfa_token, { code });
    assert.equal(signedIn.status, 200, await signedIn.clone().text());
    const { access_token } = await signedIn.json();

    const reauth = await authed(t, "POST", "/api/v1/auth/reauthenticate", access_token, {
      password: STRONG_PASSWORD,
      code,
    });
    assert.equal(reauth.status, 200, await reauth.clone().text());
    const again = await authed(t, "POST", "/api/v1/auth/reauthenticate", access_token, {
      password: STRONG_PASSWORD,
      code,
    });
    await assertProblem(again, 401, "invalid_mfa_code");

    const regenerated = await authed(t, "POST", "/api/v1/me/mfa/recovery-codes", access_token, {
      code,
    });
    assert.equal(regenerated.status, 200, await regenerated.clone().text());

    const replay = await passwordStep(t, user.email);
    await assertProblem(
      await mfaStep(t, replay.mfa_token, { code }),
      401,
      "invalid_mfa_code",
    );

    const off = await authed(t, "DELETE", "/api/v1/me/mfa", access_token, { code });
    assert.equal(off.status, 204, await off.clone().text());
  } finally {
    await t.close();
  }
});
