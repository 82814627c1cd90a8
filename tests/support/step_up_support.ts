/**
 * Helpers for the step-up tests: a session made stale (its sign-in older than STEP_UP_MAX_AGE,
 * its access token refreshed so only the sign-in is old), POST /api/v1/auth/reauthenticate,
 * TOTP enrolment of an existing session, a login completed with a TOTP code, and the admin
 * routes as the app itself lists them.
 */
import assert from "node:assert/strict";
import type { ManualClock } from "../../src/platform/clock.ts";
import { authed, STRONG_PASSWORD } from "./auth_support.ts";
import { request, type TestApp } from "./helpers.ts";
import { jwtClaims, mfaStep, passwordStep, STEP_MS, totp } from "./mfa_support.ts";

/** STEP_UP_MAX_AGE's default, in milliseconds. */
export const STEP_UP_MAX_AGE_MS = 600_000;

/** The tokens of a session. */
export interface SessionTokens {
  access_token: string;
  refresh_token: string;
}

/**
 * Moves the clock one second past `maxAgeMs` after the sign-in of `tokens` (never back) and
 * refreshes: the returned access token is new and valid, the sign-in it carries is not fresh.
 * Asserts that the refresh kept `auth_time`.
 */
export async function staleSession(
  t: TestApp,
  clock: ManualClock,
  tokens: SessionTokens,
  maxAgeMs = STEP_UP_MAX_AGE_MS,
): Promise<SessionTokens> {
  const authTime = jwtClaims(tokens.access_token).auth_time as number;
  assert.equal(typeof authTime, "number", "access tokens carry auth_time");
  clock.set(Math.max(clock.now(), authTime * 1000 + maxAgeMs + 1_000));
  const res = await request(t.app, "POST", "/api/v1/auth/refresh", {
    body: { refresh_token: tokens.refresh_token },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json() as SessionTokens;
  const claims = jwtClaims(body.access_token);
  assert.equal(claims.auth_time, authTime, "a refreshed access token keeps the sign-in time");
  assert.equal(claims.iat, Math.floor(clock.now() / 1000), "the refreshed token itself is new");
  assert.equal(claims.sid, jwtClaims(tokens.access_token).sid, "the same session");
  return { access_token: body.access_token, refresh_token: body.refresh_token };
}

/** POST /api/v1/auth/reauthenticate with a Bearer credential and a body. */
export function reauthenticate(
  t: TestApp,
  bearer: string,
  body: Record<string, unknown>,
  ip?: string,
): Promise<Response> {
  return request(t.app, "POST", "/api/v1/auth/reauthenticate", {
    body,
    headers: { authorization: `Bearer ${bearer}` },
    ip,
  });
}

/** Reauthenticates with the password (and `code` when given) and returns the new access token. */
export async function freshToken(
  t: TestApp,
  bearer: string,
  factor: { code?: string; recovery_code?: string } = {},
  password = STRONG_PASSWORD,
): Promise<string> {
  const res = await reauthenticate(t, bearer, { password, ...factor });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).access_token;
}

/**
 * Enrols TOTP for the session of `accessToken` (which must be fresh) and moves the clock to
 * the next step, so the confirming code is not replayed by the caller's next code.
 */
export async function enrolTotp(
  t: TestApp,
  clock: ManualClock,
  accessToken: string,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await authed(t, "POST", "/api/v1/me/mfa/totp", accessToken);
  assert.equal(started.status, 200, await started.clone().text());
  const { secret } = await started.json() as { secret: string };
  const confirmed = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", accessToken, {
    code: totp(secret, clock.now()),
  });
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  const { recovery_codes } = await confirmed.json() as { recovery_codes: string[] };
  clock.advance(STEP_MS);
  return { secret, recoveryCodes: recovery_codes };
}

/**
 * Logs in with the password and the TOTP code of the clock's current step (the caller keeps
 * steps unspent), asserting that the access token's `amr` names the second factor.
 */
export async function loginWithTotp(
  t: TestApp,
  clock: ManualClock,
  email: string,
  secret: string,
): Promise<SessionTokens> {
  const challenge = await passwordStep(t, email);
  const res = await mfaStep(t, challenge.mfa_token, { code: totp(secret, clock.now()) });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json() as SessionTokens;
  assert.deepEqual(jwtClaims(body.access_token).amr, ["pwd", "otp"]);
  return { access_token: body.access_token, refresh_token: body.refresh_token };
}

/** "METHOD /path" of every route the app serves under /api/v1/admin, middleware excluded. */
export function adminRoutes(t: TestApp): { reads: string[]; writes: string[] } {
  const all = new Set(
    t.app.routes.filter((r) => r.path.startsWith("/api/v1/admin/") && r.method !== "ALL")
      .map((r) => `${r.method} ${r.path}`),
  );
  const sorted = [...all].sort();
  return {
    reads: sorted.filter((r) => r.startsWith("GET ")),
    writes: sorted.filter((r) => !r.startsWith("GET ")),
  };
}
