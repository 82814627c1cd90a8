/**
 * Helpers for the second-factor tests: TOTP codes computed by an independent implementation
 * (npm `otpauth`, never src/lib/totp.ts), a user enrolled over HTTP, the password step of a
 * login with MFA on, a JWT's claims and the audit rows of one action.
 */
import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import { fromBase64Url } from "../../src/lib/crypto.ts";
import type { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, registerUser, STRONG_PASSWORD, uniqueEmail } from "./auth_support.ts";
import { request, type TestApp } from "./helpers.ts";

/** Seconds per TOTP step (RFC 6238 default). */
export const STEP_MS = 30_000;

/** A manual clock in the middle of a TOTP step, so no test sits on a step boundary. */
export function midStepMs(now = Date.now()): number {
  return Math.floor(now / STEP_MS) * STEP_MS + STEP_MS / 2;
}

/** The code of `secret` (base32) at `timestamp`, `steps` steps away, by `otpauth`. */
export function totp(secret: string, timestamp: number, steps = 0): string {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: "SHA1",
    digits: 6,
    period: 30,
  }).generate({ timestamp: timestamp + steps * STEP_MS });
}

/** A user with MFA on, enrolled over HTTP; the clock is moved to the next step afterwards. */
export interface MfaUser {
  id: string;
  email: string;
  secret: string;
  recoveryCodes: string[];
  /** The access token of the session that enrolled (fresh, with amr pwd+otp). */
  accessToken: string;
  refreshToken: string;
}

/** Registers a user, logs in and enrols TOTP through `/api/v1/me/mfa`. */
export async function mfaUser(t: TestApp, clock: ManualClock, email = uniqueEmail("mfa")) {
  const user = await registerUser(t, email);
  const tokens = await login(t, email);
  const started = await authed(t, "POST", "/api/v1/me/mfa/totp", tokens.access_token);
  assert.equal(started.status, 200, await started.clone().text());
  const { secret } = await started.json() as { secret: string };
  const confirmed = await authed(t, "POST", "/api/v1/me/mfa/totp/verify", tokens.access_token, {
    code: totp(secret, clock.now()),
  });
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  const { recovery_codes } = await confirmed.json() as { recovery_codes: string[] };
  // The confirming code's step is spent: the next login uses the next step.
  clock.advance(STEP_MS);
  return {
    id: user.id,
    email,
    secret,
    recoveryCodes: recovery_codes,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
  } satisfies MfaUser;
}

/** The answer of the password step for an account with MFA on. */
export interface MfaChallengeBody {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
  expires_in: number;
}

/** Logs in with the password and returns the MFA challenge (asserting there is no token). */
export async function passwordStep(t: TestApp, email: string, ip?: string) {
  const res = await request(t.app, "POST", "/api/v1/auth/login", {
    body: { email, password: STRONG_PASSWORD },
    ip,
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  assert.equal(body.mfa_required, true, JSON.stringify(body));
  return body as MfaChallengeBody;
}

/** POST /api/v1/auth/mfa with a token and a factor. */
export function mfaStep(
  t: TestApp,
  mfaToken: string,
  factor: { code: string } | { recovery_code: string },
  ip?: string,
): Promise<Response> {
  return request(t.app, "POST", "/api/v1/auth/mfa", {
    body: { mfa_token: mfaToken, ...factor },
    ip,
  });
}

/** The claims of a JWT (not verified: the server verified it when it was used). */
export function jwtClaims(token: string): Record<string, unknown> {
  const [, payload] = token.split(".");
  return JSON.parse(new TextDecoder().decode(fromBase64Url(payload)));
}

/** The audit rows of one action, oldest first, with their details parsed. */
export async function auditRows(t: TestApp, action: string) {
  const rows = await t.deps.db.selectFrom("audit_events").selectAll()
    .where("action", "=", action).orderBy("seq").execute();
  return rows.map((row) => ({ ...row, details: JSON.parse(row.details) }));
}

/** Asserts a problem+json answer with its status and code; returns the body. */
export async function assertProblem(res: Response, status: number, code: string) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.code, code, text);
  return body;
}
