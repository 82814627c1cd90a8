import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser, uniqueEmail } from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import {
  assertProblem,
  auditRows,
  mfaStep,
  mfaUser,
  midStepMs,
  passwordStep,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";

const RECOVERY_CODE = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

async function app(env: Record<string, string> = {}) {
  const clock = new ManualClock(midStepMs());
  return { t: await buildTestApp(env, { clock }), clock };
}

/** A six-digit code that is not `code`. */
function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, "0");
}

async function me(t: TestApp, token: string) {
  const res = await authed(t, "GET", "/api/v1/me", token);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/** log2 of how many values a recovery code can take, from its format. */
function entropyBits(code: string): number {
  const symbols = code.replaceAll("-", "");
  assert.match(symbols, /^[a-z2-7]+$/, "base32 symbols: 5 bits each");
  return symbols.length * Math.log2(32);
}

Deno.test("POST /me/mfa/totp answers a base32 seed and an otpauth URI (MFA_ISSUER, email, SHA1/6/30) that an authenticator app reads", async () => {
  const { t } = await app({ MFA_ISSUER: "Acme Corp" });
  try {
    const email = uniqueEmail("enrol");
    await registerUser(t, email);
    const { access_token } = await login(t, email);
    const res = await authed(t, "POST", "/api/v1/me/mfa/totp", access_token);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ["otpauth_uri", "secret"]);
    assert.match(body.secret, /^[A-Z2-7]+$/, "RFC 4648 base32, unpadded");
    assert.ok(body.secret.length * 5 >= 160, "a seed of at least 160 bits (RFC 4226)");

    const uri = new URL(body.otpauth_uri);
    assert.equal(uri.protocol, "otpauth:");
    assert.equal(uri.host, "totp");
    assert.equal(decodeURIComponent(uri.pathname), `/Acme Corp:${email}`);
    assert.equal(uri.searchParams.get("secret"), body.secret);
    assert.equal(uri.searchParams.get("issuer"), "Acme Corp");
    assert.equal(uri.searchParams.get("algorithm"), "SHA1");
    assert.equal(uri.searchParams.get("digits"), "6");
    assert.equal(uri.searchParams.get("period"), "30");

    // What an authenticator app makes of it (otpauth parses like the apps do).
    const parsed = OTPAuth.URI.parse(body.otpauth_uri);
    assert.ok(parsed instanceof OTPAuth.TOTP);
    assert.equal(parsed.issuer, "Acme Corp");
    assert.equal(parsed.label, email);
    assert.equal(parsed.algorithm, "SHA1");
    assert.equal(parsed.digits, 6);
    assert.equal(parsed.period, 30);
    assert.equal(parsed.secret.base32, body.secret);

    // Pending only: MFA is not on until a code confirms it.
    const view = await me(t, access_token);
    assert.equal(view.mfa_enabled, false);
    assert.equal(view.user.mfa_enabled, false);
    assert.ok("access_token" in await login(t, email), "login still needs no second factor");
  } finally {
    await t.close();
  }
});

Deno.test("a second POST /me/mfa/totp replaces the pending enrolment: the first seed's code no longer confirms", async () => {
  const { t, clock } = await app();
  try {
    const email = uniqueEmail("again");
    await registerUser(t, email);
    const { access_token } = await login(t, email);
    const first = await (await authed(t, "POST", "/api/v1/me/mfa/totp", access_token)).json();
    const second = await (await authed(t, "POST", "/api/v1/me/mfa/totp", access_token)).json();
    assert.notEqual(first.secret, second.secret, "a new seed each time");
    const oldCode = totp(first.secret, clock.now());
    assert.notEqual(oldCode, totp(second.secret, clock.now()), "precondition: the codes differ");

    const stale = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", access_token, {
      code: oldCode,
    });
    await assertProblem(stale, 401, "invalid_mfa_code");
    assert.equal((await me(t, access_token)).mfa_enabled, false);

    const ok = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", access_token, {
      code: totp(second.secret, clock.now()),
    });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await me(t, access_token)).mfa_enabled, true);
  } finally {
    await t.close();
  }
});

Deno.test("POST /me/mfa/totp/verify: a wrong code is 401, the right one turns MFA on with 10 recovery codes of at least 50 bits; enrolling again is 409", async () => {
  const { t, clock } = await app();
  try {
    const email = uniqueEmail("verify");
    const user = await registerUser(t, email);
    const { access_token } = await login(t, email);

    const early = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", access_token, {
      code: "123456",
    });
    await assertProblem(early, 409, "mfa_enrollment_not_started");

    const { secret } = await (await authed(t, "POST", "/api/v1/me/mfa/totp", access_token))
      .json();
    const right = totp(secret, clock.now());
    const wrong = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", access_token, {
      code: otherCode(right),
    });
    await assertProblem(wrong, 401, "invalid_mfa_code");
    assert.equal((await me(t, access_token)).mfa_enabled, false, "still off after a wrong code");

    const res = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", access_token, {
      code: right,
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["recovery_codes"]);
    const codes: string[] = body.recovery_codes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10, "all different");
    for (const code of codes) {
      assert.match(code, RECOVERY_CODE);
      assert.ok(entropyBits(code) >= 50, `${entropyBits(code)} bits`);
    }
    // Random, not derived from the account: another user's set shares nothing with this one.
    const other = await mfaUser(t, clock);
    assert.equal(other.recoveryCodes.filter((c) => codes.includes(c)).length, 0);

    const view = await me(t, access_token);
    assert.equal(view.mfa_enabled, true);
    assert.equal(view.recovery_codes_left, 10);
    assert.equal(view.user.mfa_enabled, true);
    assert.equal(view.user.recovery_codes_left, 10);
    const enrolled = (await auditRows(t, "mfa.enrolled")).filter((r) => r.target_id === user.id);
    assert.equal(enrolled.length, 1);
    assert.equal(enrolled[0].outcome, "success");

    const again = await authed(t, "POST", "/api/v1/me/mfa/totp", access_token);
    await assertProblem(again, 409, "mfa_already_enabled");
    const reconfirm = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", access_token, {
      code: totp(secret, clock.now(), 1),
    });
    await assertProblem(reconfirm, 409, "mfa_already_enabled");
    assert.equal((await me(t, access_token)).recovery_codes_left, 10, "the set is unchanged");
  } finally {
    await t.close();
  }
});

// How the factor is sent to DELETE /me/mfa: a TOTP code, a recovery code in its own field,
// and a recovery code in `code` (the contract's `{code}` takes either).
const DISABLE_CASES = [
  {
    name: "a TOTP code",
    factor: (u: { secret: string }, now: number) => ({ code: totp(u.secret, now) }),
  },
  {
    name: "a recovery code",
    factor: (u: { recoveryCodes: string[] }) => ({ recovery_code: u.recoveryCodes[3] }),
  },
  {
    name: "a recovery code sent as `code`",
    factor: (u: { recoveryCodes: string[] }) => ({ code: u.recoveryCodes[4] }),
  },
] as const;

for (const { name, factor } of DISABLE_CASES) {
  Deno.test(`DELETE /me/mfa with ${name} is 204: MFA off, every other session revoked, the caller's kept`, async () => {
    const { t, clock } = await app();
    try {
      const user = await mfaUser(t, clock);
      // A second session, through the MFA login (next step's code).
      const challenge = await passwordStep(t, user.email);
      const other = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
      assert.equal(other.status, 200, await other.clone().text());
      const otherTokens = await other.json();
      assert.equal((await me(t, otherTokens.access_token)).mfa_enabled, true);
      clock.advance(STEP_MS);

      const wrong = await authed(t, "DELETE", "/api/v1/me/mfa", user.accessToken, {
        code: otherCode(totp(user.secret, clock.now())),
      });
      await assertProblem(wrong, 401, "invalid_mfa_code");
      assert.equal(
        (await me(t, user.accessToken)).mfa_enabled,
        true,
        "a wrong code changes nothing",
      );

      const res = await authed(
        t,
        "DELETE",
        "/api/v1/me/mfa",
        user.accessToken,
        factor(user, clock.now()),
      );
      assert.equal(res.status, 204, await res.clone().text());
      assert.equal(await res.text(), "");

      const view = await me(t, user.accessToken);
      assert.equal(view.mfa_enabled, false, "the calling session keeps working");
      assert.equal(view.recovery_codes_left, 0);
      const revoked = await authed(t, "GET", "/api/v1/me", otherTokens.access_token);
      assert.equal(revoked.status, 401, "the other session's access token is refused");
      const refresh = await request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: otherTokens.refresh_token },
      });
      assert.equal(refresh.status, 401, "and its refresh token too");
      const own = await request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: user.refreshToken },
      });
      assert.equal(own.status, 200, "the caller's session still refreshes");

      assert.ok("access_token" in await login(t, user.email), "login needs no code any more");
      const rows = await t.deps.db.selectFrom("mfa_recovery_codes").select("code_hash")
        .where("user_id", "=", user.id).execute();
      assert.equal(rows.length, 0, "the recovery codes are gone");
      const [event] = (await auditRows(t, "mfa.disabled")).filter((r) => r.target_id === user.id);
      assert.equal(event.outcome, "success");
      assert.equal(event.details.sessions_revoked, 1);
    } finally {
      await t.close();
    }
  });
}

Deno.test("POST /me/mfa/recovery-codes with a code answers a new set of 10; the old set is refused, the new one works", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    // Spend one old code first: the new set is whole again.
    const first = await passwordStep(t, user.email);
    const spent = await mfaStep(t, first.mfa_token, { recovery_code: user.recoveryCodes[0] });
    assert.equal(spent.status, 200, await spent.clone().text());
    assert.equal((await me(t, user.accessToken)).recovery_codes_left, 9);

    const res = await authed(t, "POST", "/api/v1/me/mfa/recovery-codes", user.accessToken, {
      code: totp(user.secret, clock.now()),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { recovery_codes: fresh } = await res.json() as { recovery_codes: string[] };
    assert.equal(fresh.length, 10);
    assert.equal(new Set(fresh).size, 10);
    for (const code of fresh) assert.match(code, RECOVERY_CODE);
    assert.equal(fresh.filter((c) => user.recoveryCodes.includes(c)).length, 0, "all new");
    assert.equal((await me(t, user.accessToken)).recovery_codes_left, 10);
    const [event] = await auditRows(t, "mfa.recovery_codes_regenerated");
    assert.equal(event.target_id, user.id);
    assert.equal(event.details.count, 10);

    // Three of the old set (the account takes 10 failures before it is blocked).
    for (const old of user.recoveryCodes.slice(1, 4)) {
      const challenge = await passwordStep(t, user.email);
      const refused = await mfaStep(t, challenge.mfa_token, { recovery_code: old });
      await assertProblem(refused, 401, "invalid_mfa_code");
    }
    const challenge = await passwordStep(t, user.email);
    const ok = await mfaStep(t, challenge.mfa_token, { recovery_code: fresh[0] });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await ok.json()).user.recovery_codes_left, 9);

    // An old code cannot regenerate either; a new one can.
    const byOld = await authed(t, "POST", "/api/v1/me/mfa/recovery-codes", user.accessToken, {
      recovery_code: user.recoveryCodes[5],
    });
    await assertProblem(byOld, 401, "invalid_mfa_code");
    const byNew = await authed(t, "POST", "/api/v1/me/mfa/recovery-codes", user.accessToken, {
      code: fresh[1],
    });
    assert.equal(byNew.status, 200, await byNew.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("API keys, even with me:write, are refused on every /me/mfa route (403 session_required) and change nothing", async () => {
  const { t, clock } = await app();
  try {
    const plain = await registerUser(t);
    const plainToken = (await login(t, plain.email)).access_token;
    const enrolled = await mfaUser(t, clock);
    for (
      const owner of [{ id: plain.id, token: plainToken }, {
        id: enrolled.id,
        token: enrolled.accessToken,
      }]
    ) {
      const created = await authed(t, "POST", "/api/v1/api-keys", owner.token, {
        name: "automation",
        scopes: ["me:read", "me:write"],
      });
      assert.equal(created.status, 201, await created.clone().text());
      const { key } = await created.json() as { key: string };
      const routes: [string, string, unknown][] = [
        ["POST", "/api/v1/me/mfa/totp", undefined],
        ["POST", "/api/v1/me/mfa/totp/verify", { code: "123456" }],
        ["DELETE", "/api/v1/me/mfa", { code: totp(enrolled.secret, clock.now()) }],
        ["POST", "/api/v1/me/mfa/recovery-codes", { code: enrolled.recoveryCodes[0] }],
      ];
      for (const [method, path, body] of routes) {
        const variants: Record<string, string>[] = [
          { authorization: `Bearer ${key}` },
          { "x-api-key": key },
        ];
        for (const headers of variants) {
          const res = await request(t.app, method, path, { body, headers });
          await assertProblem(res, 403, "session_required");
        }
      }
      // The key itself works where keys belong.
      const view = await request(t.app, "GET", "/api/v1/me", { headers: { "x-api-key": key } });
      assert.equal(view.status, 200);
    }
    const seeds = await t.deps.db.selectFrom("mfa_totp").select("user_id")
      .where("user_id", "=", plain.id).execute();
    assert.equal(seeds.length, 0, "no enrolment was started by a key");
    assert.equal((await me(t, enrolled.accessToken)).mfa_enabled, true);
    assert.equal((await me(t, enrolled.accessToken)).recovery_codes_left, 10);
  } finally {
    await t.close();
  }
});

Deno.test("wrong codes on DELETE /me/mfa and POST /me/mfa/recovery-codes count against the account's 10 failures: then 429, MFA stays on, logins are blocked too", async () => {
  const { t, clock } = await app();
  try {
    const user = await mfaUser(t, clock);
    const now = clock.now();
    const near = new Set([-1, 0, 1].map((s) => totp(user.secret, now, s)));
    const wrong = Array.from({ length: 40 }, (_, i) => String(200_000 + i * 13))
      .filter((c) => !near.has(c)).slice(0, 10);
    for (const [i, code] of wrong.entries()) {
      const path = i % 2 ? "/api/v1/me/mfa/recovery-codes" : "/api/v1/me/mfa";
      const method = i % 2 ? "POST" : "DELETE";
      await assertProblem(
        await authed(t, method, path, user.accessToken, { code }),
        401,
        "invalid_mfa_code",
      );
    }
    const right = totp(user.secret, now);
    const blocked = await authed(t, "DELETE", "/api/v1/me/mfa", user.accessToken, { code: right });
    await assertProblem(blocked, 429, "too_many_attempts");
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);
    const byRecovery = await authed(t, "POST", "/api/v1/me/mfa/recovery-codes", user.accessToken, {
      recovery_code: user.recoveryCodes[0],
    });
    await assertProblem(byRecovery, 429, "too_many_attempts");
    const view = await me(t, user.accessToken);
    assert.equal(view.mfa_enabled, true);
    assert.equal(view.recovery_codes_left, 10);
    const challenge = await passwordStep(t, user.email);
    await assertProblem(
      await mfaStep(t, challenge.mfa_token, { code: right }),
      429,
      "too_many_attempts",
    );
  } finally {
    await t.close();
  }
});
