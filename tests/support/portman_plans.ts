/**
 * What the Portman run sends to each operation of the document and which answer it expects:
 * the real ids, bodies, sessions and tokens of the fixtures (portman_fixtures.ts), so that
 * every operation really succeeds. Every operation of the document needs a plan here: a new
 * route fails the test until it gets one.
 * @module
 */
import { STRONG_PASSWORD } from "./auth_support.ts";
import type { Fixtures } from "./portman_fixtures.ts";
import { OAUTH_APP, PROVIDER } from "./portman_oauth.ts";
import { totpScript } from "./portman_totp.ts";

/** The main request of one operation and its expected answer. */
export interface Plan {
  /** The status Portman's contract test expects, with that status's content and schema. */
  status: number;
  /** A bearer token other than the main session's (an operation that ends or changes it). */
  token?: string;
  path?: Record<string, string>;
  /** Request headers added (the OAuth flow cookie: the collection sends no cookies). */
  headers?: Record<string, string>;
  /**
   * The query parameters sent; the generated ones not named here are disabled (not sent, but
   * kept for the fuzzer, which sends each of them alone with a value out of bounds).
   */
  query?: Record<string, string>;
  /** Pre-request scripts of the contract request (not of its fuzzing variations). */
  preRequest?: string[];
  /**
   * The JSON body sent instead of the generated one. It names every optional field too: the
   * fuzzer changes only fields present, and a fuzzing variation of an absent one would be the
   * valid request again.
   */
  body?: unknown;
}

/** The new password of the accounts whose password the run changes or resets. */
const NEW_PASSWORD = "Harbor-Violet-Compass-93?";

/** Every operation's plan, keyed `METHOD::/path` as Portman names operations. */
export function plans(f: Fixtures): Record<string, Plan> {
  const admin = "/api/v1/admin";
  const victim = f.victim.id;
  return {
    "GET::/.well-known/jwks.json": { status: 200 },
    "GET::/health": { status: 200 },
    "GET::/health/live": { status: 200 },
    "GET::/health/ready": { status: 200 },
    "GET::/openapi.json": { status: 200 },
    "GET::/metrics": { status: 200 },

    [`GET::${admin}/api-keys`]: {
      status: 200,
      query: { user_id: victim, include_revoked: "true", limit: "10" },
    },
    [`PATCH::${admin}/api-keys/{id}`]: {
      status: 200,
      path: { id: f.victim.keyToLimit },
      body: { rate_limit_per_minute: 600 },
    },
    [`DELETE::${admin}/api-keys/{id}`]: { status: 204, path: { id: f.victim.keyToRevoke } },
    [`GET::${admin}/check`]: { status: 200 },
    [`GET::${admin}/keys`]: { status: 200 },
    // Retired before the rotation below, which then publishes a new next key.
    [`POST::${admin}/keys/{kid}/retire`]: { status: 200, path: { kid: f.nextKid } },
    [`POST::${admin}/keys/rotate`]: { status: 200, body: { force: false } },
    [`GET::${admin}/users`]: {
      status: 200,
      query: { status: "active", role: "super_admin", email_prefix: "portman", limit: "10" },
    },
    [`GET::${admin}/users/{id}`]: { status: 200, path: { id: victim } },
    [`PATCH::${admin}/users/{id}`]: { status: 200, path: { id: victim }, body: { role: "admin" } },
    [`DELETE::${admin}/users/{id}`]: { status: 204, path: { id: f.doomedId } },
    [`POST::${admin}/users/{id}/mfa/reset`]: { status: 204, path: { id: victim } },
    [`GET::${admin}/users/{id}/passkeys`]: { status: 200, path: { id: victim } },
    [`DELETE::${admin}/users/{id}/passkeys/{passkeyId}`]: {
      status: 204,
      path: { id: victim, passkeyId: f.victim.passkeyId },
    },
    [`POST::${admin}/users/{id}/revoke-sessions`]: {
      status: 200,
      path: { id: victim },
      body: { revoke_api_keys: false },
    },
    [`GET::${admin}/users/{id}/sessions`]: { status: 200, path: { id: victim } },
    [`GET::${admin}/audit`]: {
      status: 200,
      query: { outcome: "success", since: "2020-01-01T00:00:00Z", limit: "20" },
    },
    [`GET::${admin}/audit/verify`]: { status: 200 },

    "GET::/api/v1/api-keys": { status: 200 },
    "POST::/api/v1/api-keys": {
      status: 201,
      body: {
        name: "portman",
        scopes: ["me:read"],
        expires_in_days: 30,
        rate_limit_per_minute: 60,
      },
    },
    "DELETE::/api/v1/api-keys/{id}": { status: 204, path: { id: f.apiKeys.revoke } },
    "POST::/api/v1/api-keys/{id}/rotate": {
      status: 200,
      path: { id: f.apiKeys.rotate },
      body: { overlap_hours: 1 },
    },

    "POST::/api/v1/auth/register": {
      status: 201,
      body: { email: "portman.registered@example.com", password: STRONG_PASSWORD, name: "P" },
    },
    "POST::/api/v1/auth/login": {
      status: 200,
      body: { email: f.admin.email, password: f.admin.password, device_token: f.admin.deviceToken },
    },
    "POST::/api/v1/auth/mfa": {
      status: 200,
      body: { mfa_token: f.mfaToken, recovery_code: f.recoveryCodes.mfaStep },
    },
    "POST::/api/v1/auth/refresh": { status: 200, body: { refresh_token: f.refreshToken } },
    "POST::/api/v1/auth/logout": { status: 204, token: f.tokens.logout },
    "POST::/api/v1/auth/logout-all": { status: 204, token: f.tokens.logoutAll },
    // The admin has passkeys: a step-up needs one (a password alone is 401 invalid_passkey).
    "POST::/api/v1/auth/reauthenticate": {
      status: 200,
      token: f.tokens.stepUp,
      body: { passkey_response: f.stepUpAssertion },
    },
    "POST::/api/v1/auth/reauthenticate/options": { status: 200 },
    "POST::/api/v1/auth/passkey/options": { status: 200, body: { email: f.admin.email } },
    "POST::/api/v1/auth/passkey": {
      status: 200,
      body: { response: f.assertion, device_token: f.admin.deviceToken },
    },
    "POST::/api/v1/auth/verify-email": {
      status: 200,
      body: { token: f.emailTokens.verifyEmail },
    },
    "POST::/api/v1/auth/verify-email/request": { status: 202, body: { email: f.pendingEmail } },
    "POST::/api/v1/auth/password-reset": {
      status: 204,
      body: { token: f.emailTokens.passwordReset, new_password: NEW_PASSWORD },
    },
    "POST::/api/v1/auth/password-reset/request": {
      status: 202,
      body: { email: "portman.nobody@example.com" },
    },
    "POST::/api/v1/auth/confirm-email-change": {
      status: 200,
      body: { token: f.emailTokens.confirmEmail },
    },
    "POST::/api/v1/auth/unlock": { status: 200, body: { token: f.emailTokens.unlock } },
    "GET::/api/v1/auth/oauth/providers": { status: 200 },
    "GET::/api/v1/auth/oauth/{provider}/start": {
      status: 302,
      path: { provider: PROVIDER },
      query: { redirect_to: OAUTH_APP },
    },
    // The provider's redirect back of a sign-in the fixtures began, with its flow cookie.
    "GET::/api/v1/auth/oauth/{provider}/callback": {
      status: 302,
      path: { provider: PROVIDER },
      query: f.oauth.callback.query,
      headers: { Cookie: f.oauth.callback.cookie },
    },
    "POST::/api/v1/auth/oauth/exchange": { status: 200, body: { code: f.oauth.exchangeCode } },

    "GET::/api/v1/me": { status: 200 },
    "PATCH::/api/v1/me": { status: 200, body: { name: "Portman Admin" } },
    "POST::/api/v1/me/email": {
      status: 202,
      body: { new_email: "portman.admin.moved@example.com", password: f.admin.password },
    },
    "POST::/api/v1/me/password": {
      status: 204,
      token: f.tokens.passwordChange,
      body: {
        current_password: STRONG_PASSWORD,
        new_password: NEW_PASSWORD,
        revoke_api_keys: false,
      },
    },
    "GET::/api/v1/me/sessions": { status: 200 },
    "DELETE::/api/v1/me/sessions/{id}": { status: 204, path: { id: f.sessionId } },
    "GET::/api/v1/me/identities": { status: 200 },
    "DELETE::/api/v1/me/identities/{id}": {
      status: 204,
      token: f.oauth.identity.token,
      path: { id: f.oauth.identity.id },
    },
    "POST::/api/v1/me/identities/link": { status: 200, body: { link_code: f.oauth.linkCode } },
    "POST::/api/v1/me/mfa/totp": { status: 200 },
    // The enrolment the fixtures started; the script sends the code of the moment.
    "POST::/api/v1/me/mfa/totp/verify": {
      status: 200,
      token: f.enrolment.token,
      body: { code: "000000" },
      preRequest: [totpScript(f.enrolment.secret)],
    },
    "POST::/api/v1/me/mfa/recovery-codes": {
      status: 200,
      token: f.tokens.recoveryCodes,
      body: { recovery_code: f.recoveryCodes.replace },
    },
    "DELETE::/api/v1/me/mfa": {
      status: 204,
      token: f.tokens.mfaOff,
      body: { recovery_code: f.recoveryCodes.turnOff },
    },
    "GET::/api/v1/me/passkeys": { status: 200 },
    "POST::/api/v1/me/passkeys/options": { status: 200 },
    "POST::/api/v1/me/passkeys": {
      status: 201,
      token: f.tokens.passkeyRegistration,
      body: { name: "Portman key", response: f.registration },
    },
    "PATCH::/api/v1/me/passkeys/{id}": {
      status: 200,
      path: { id: f.passkeyId },
      body: { name: "Renamed by Portman" },
    },
    // Another account's: removing a passkey ends its owner's other sessions.
    "DELETE::/api/v1/me/passkeys/{id}": {
      status: 204,
      token: f.passkeyOwner.token,
      path: { id: f.passkeyOwner.passkeyId },
    },
  };
}

/**
 * Operations that must run first in their folder (Portman orders within a folder, and the
 * folders in an order of its own, so no plan depends on another folder's), in this order: the
 * next key is retired before a rotation publishes another; the victim's passkey is removed
 * before its second factors are reset (which removes passkeys too).
 */
export const ORDER = [
  "POST::/api/v1/admin/keys/{kid}/retire",
  "POST::/api/v1/admin/keys/rotate",
  "DELETE::/api/v1/admin/users/{id}/passkeys/{passkeyId}",
  "POST::/api/v1/admin/users/{id}/mfa/reset",
];
