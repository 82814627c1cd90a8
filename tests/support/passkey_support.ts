/**
 * Helpers for the passkey tests: a passkey registered over HTTP with a software authenticator,
 * a user who has one, the sign-in ceremony (options, then the assertion), passkey rows written
 * straight into the database (for limits and credential tables), the security alerts the app
 * logged, API keys of given scopes, refused registrations and whether a session still works.
 */
import assert from "node:assert/strict";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { toBase64Url } from "../../src/lib/crypto.ts";
import { authed, login, registerUser, STRONG_PASSWORD, uniqueEmail } from "./auth_support.ts";
import { request, type TestApp } from "./helpers.ts";
import { assertProblem, auditRows } from "./mfa_support.ts";
import { SoftAuthenticator, type Tweaks } from "./soft_authenticator.ts";

/** A passkey as the API shows it. */
export type { PasskeyView } from "../../src/services/passkeys.ts";
import type { PasskeyView } from "../../src/services/passkeys.ts";

/** The fields of a passkey view, sorted. */
export const VIEW_FIELDS = ["backed_up", "created_at", "id", "last_used_at", "name", "transports"];

/** POST /api/v1/me/passkeys/options with a session token; asserts 200. */
export async function creationOptions(
  t: TestApp,
  accessToken: string,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const res = await authed(t, "POST", "/api/v1/me/passkeys/options", accessToken);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/**
 * Registers a passkey for the session of `accessToken` (which must be fresh): options, the
 * authenticator's answer, POST /api/v1/me/passkeys; asserts 201.
 */
export async function registerPasskey(
  t: TestApp,
  accessToken: string,
  options: { name?: string; authenticator?: SoftAuthenticator; origin?: string } = {},
): Promise<{ authenticator: SoftAuthenticator; passkey: PasskeyView }> {
  const authenticator = options.authenticator ?? await SoftAuthenticator.create(options.origin);
  const creation = await creationOptions(t, accessToken);
  const res = await authed(t, "POST", "/api/v1/me/passkeys", accessToken, {
    name: options.name ?? "Laptop",
    response: await authenticator.register(creation),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return { authenticator, passkey: await res.json() };
}

/** A user with one passkey, and the (fresh) session that registered it. */
export interface PasskeyUser {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  authenticator: SoftAuthenticator;
  passkey: PasskeyView;
}

/** Registers a user, logs in with the password and registers a passkey in that session. */
export async function passkeyUser(t: TestApp, email = uniqueEmail("pk")): Promise<PasskeyUser> {
  const user = await registerUser(t, email);
  const tokens = await login(t, email);
  const { authenticator, passkey } = await registerPasskey(t, tokens.access_token);
  return {
    id: user.id,
    email,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    authenticator,
    passkey,
  };
}

/** POST /api/v1/auth/passkey/options with a body; the raw response. */
export function requestOptionsResponse(
  t: TestApp,
  body: Record<string, unknown> = {},
  ip?: string,
): Promise<Response> {
  return request(t.app, "POST", "/api/v1/auth/passkey/options", { body, ip });
}

/** POST /api/v1/auth/passkey/options; asserts 200 and returns the request options. */
export async function signInOptions(
  t: TestApp,
  body: { email?: string; mfa_token?: string } = {},
  ip?: string,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const res = await requestOptionsResponse(t, body, ip);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/** POST /api/v1/auth/passkey with an assertion. */
export function postAssertion(
  t: TestApp,
  response: AuthenticationResponseJSON,
  ip?: string,
): Promise<Response> {
  return request(t.app, "POST", "/api/v1/auth/passkey", { body: { response }, ip });
}

/** Passwordless sign-in: options (for `email`, or discoverable), the assertion, POST. */
export async function passkeySignIn(
  t: TestApp,
  authenticator: SoftAuthenticator,
  options: { email?: string; tweaks?: Tweaks; ip?: string } = {},
): Promise<Response> {
  const requestOptions = await signInOptions(
    t,
    options.email === undefined ? {} : { email: options.email },
    options.ip,
  );
  return await postAssertion(
    t,
    await authenticator.assert(requestOptions, options.tweaks),
    options.ip,
  );
}

/** The password step of a user with a passkey: its `mfa_token` (asserting no token came). */
export async function passwordStepToken(t: TestApp, email: string, ip?: string) {
  const res = await request(t.app, "POST", "/api/v1/auth/login", {
    body: { email, password: STRONG_PASSWORD },
    ip,
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  assert.equal(body.mfa_required, true, JSON.stringify(body));
  assert.equal(body.access_token, undefined);
  return body as { mfa_token: string; methods: string[]; expires_in: number };
}

/** POST /api/v1/auth/mfa with a passkey assertion. */
export function mfaPasskeyStep(
  t: TestApp,
  mfaToken: string,
  response: AuthenticationResponseJSON,
  ip?: string,
): Promise<Response> {
  return request(t.app, "POST", "/api/v1/auth/mfa", {
    body: { mfa_token: mfaToken, passkey_response: response },
    ip,
  });
}

/** POST /api/v1/auth/reauthenticate/options with a session token; asserts 200. */
export async function stepUpOptions(
  t: TestApp,
  accessToken: string,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const res = await authed(t, "POST", "/api/v1/auth/reauthenticate/options", accessToken);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

/** The stored passkey rows of a user, oldest first. */
export async function passkeyRows(t: TestApp, userId: string) {
  return await t.deps.db.selectFrom("passkeys").selectAll().where("user_id", "=", userId)
    .orderBy("created_at").orderBy("id").execute();
}

/**
 * Writes a passkey row straight into the database (no ceremony): for limits and for tables
 * of routes that need one to act on. Its key is not a real one; it cannot sign in.
 */
export async function insertPasskey(
  t: TestApp,
  userId: string,
  name = "Inserted",
): Promise<string> {
  const id = crypto.randomUUID();
  await t.deps.db.insertInto("passkeys").values({
    id,
    user_id: userId,
    credential_id: toBase64Url(crypto.getRandomValues(new Uint8Array(32))),
    public_key: toBase64Url(crypto.getRandomValues(new Uint8Array(77))),
    counter: 0,
    transports: JSON.stringify(["internal"]),
    device_type: "singleDevice",
    backed_up: 0,
    aaguid: "00000000-0000-0000-0000-000000000000",
    name,
    created_at: t.clock.now(),
    last_used_at: null,
    suspended_at: null,
  }).execute();
  return id;
}

/** The "security alert" log lines of one alert, their fields parsed. */
export async function securityAlerts(t: TestApp, alert: string) {
  await t.deps.logger.flush();
  return t.logs.map((line) => JSON.parse(line))
    .filter((e) => e.msg === "security alert" && e.alert === alert);
}

/** Creates an API key with `scopes` using `bearer`; returns the secret. */
export async function apiKey(t: TestApp, bearer: string, scopes: string[]): Promise<string> {
  const res = await authed(t, "POST", "/api/v1/api-keys", bearer, { name: "k", scopes });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).key as string;
}

/** Sends a request with an API key in `X-API-Key`. */
export function withKey(
  t: TestApp,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<Response> {
  return request(t.app, method, path, { body, headers: { "x-api-key": key } });
}

/** Asserts a response carries no token of any kind (body or cookie). */
export async function assertNoToken(res: Response): Promise<void> {
  const text = await res.clone().text();
  assert.ok(!/access_token|refresh_token|device_token/.test(text), text);
  assert.equal(res.headers.get("set-cookie"), null, "no cookie is set");
}

/** The reasons the user's sessions were revoked for, `null` for a live one, oldest first. */
export async function revokeReasons(t: TestApp, userId: string): Promise<Array<string | null>> {
  const rows = await t.deps.db.selectFrom("sessions").select("revoke_reason")
    .where("user_id", "=", userId).orderBy("created_at").orderBy("id").execute();
  return rows.map((row) => row.revoke_reason);
}

/** The number of sessions a user has (started by any login). */
export async function sessionCount(t: TestApp, userId: string): Promise<number> {
  const rows = await t.deps.db.selectFrom("sessions").select("id").where("user_id", "=", userId)
    .execute();
  return rows.length;
}

/**
 * An audit event's details without `passkey_id`, asserting it is there: the other fields are
 * compared exactly, the id itself by the test that names it (me_passkeys_test.ts).
 */
export function withoutPasskeyId(details: Record<string, unknown>): Record<string, unknown> {
  const { passkey_id, ...rest } = details;
  assert.equal(typeof passkey_id, "string", "the event names a passkey");
  return rest;
}

/** POST /api/v1/me/passkeys with a session token and a body; the raw response. */
export function postRegistration(
  t: TestApp,
  accessToken: string,
  body: { name?: string; response: RegistrationResponseJSON },
): Promise<Response> {
  return authed(t, "POST", "/api/v1/me/passkeys", accessToken, body);
}

/** The refused registrations audited so far (`passkey.registered`, outcome denied). */
export async function refusedRegistrations(t: TestApp) {
  return (await auditRows(t, "passkey.registered")).filter((e) => e.outcome === "denied");
}

/** The successful registrations audited so far. */
export async function registrations(t: TestApp) {
  return (await auditRows(t, "passkey.registered")).filter((e) => e.outcome === "success");
}

/** Session tokens: an access token and its refresh token. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
}

/**
 * Asserts a session has ended: its access token is 401 invalid_token (the revocation list of
 * this process knows at once) and its refresh token is 401 invalid_refresh_token.
 */
export async function assertSessionEnded(t: TestApp, tokens: Tokens, what: string) {
  const me = await authed(t, "GET", "/api/v1/me", tokens.access_token);
  const problem = await assertProblem(me, 401, "invalid_token");
  assert.equal(problem.status, 401, `${what}: the access token`);
  const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
    body: { refresh_token: tokens.refresh_token },
  });
  const refused = await assertProblem(refreshed, 401, "invalid_refresh_token");
  assert.equal(refused.status, 401, `${what}: the refresh token`);
}

/**
 * Asserts a session still works: its access token reads /me, its refresh token refreshes.
 * Returns the session's new tokens (the refresh token rotated; the old one is spent).
 */
export async function assertSessionWorks(t: TestApp, tokens: Tokens, what: string) {
  const me = await authed(t, "GET", "/api/v1/me", tokens.access_token);
  assert.equal(me.status, 200, `${what}: ${await me.clone().text()}`);
  await me.body?.cancel();
  const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
    body: { refresh_token: tokens.refresh_token },
  });
  assert.equal(refreshed.status, 200, `${what}: ${await refreshed.clone().text()}`);
  const body = await refreshed.json();
  return { access_token: body.access_token as string, refresh_token: body.refresh_token as string };
}

/** A problem body's text without its `request_id` (the one field that differs per request). */
export function withoutRequestId(text: string): string {
  const body = JSON.parse(text);
  assert.equal(typeof body.request_id, "string", text);
  const stripped = text.replace(/,?"request_id":"[^"]*"/, "");
  assert.ok(!stripped.includes("request_id"), text);
  return stripped;
}
