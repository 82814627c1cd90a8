/**
 * What the Portman run (tests/system/portman_test.ts) needs before it starts, made over HTTP
 * on the live server: the super admin's sessions, accounts and rows whose ids the generated
 * requests name (so operations really succeed), second factors, passkeys, WebAuthn ceremonies
 * and sign-ins answered ahead, and the tokens of email links. An operation that ends or
 * changes a session or account gets one of its own here, so the main session lives to the end.
 * @module
 */
import assert from "node:assert/strict";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { STRONG_PASSWORD, uniqueEmail } from "./auth_support.ts";
import type { TestOidcProvider } from "./oidc_provider.ts";
import { client, mailedToken } from "./portman_client.ts";
import { type OAuthFixtures, prepareOAuth } from "./portman_oauth.ts";
import { SoftAuthenticator } from "./soft_authenticator.ts";

/**
 * LOGIN_EMAIL_MAX_ATTEMPTS of the server: an account failing this often is sent an unlock
 * link. Only the locked account here ever fails a login (validation refuses fuzzed logins).
 */
export const EMAIL_LOCKOUT = 5;

/** Ids, tokens and bodies the generated requests are given (see portman_plans.ts). */
export interface Fixtures {
  admin: { email: string; password: string; deviceToken: string };
  /** The super admin's session the whole collection runs on. */
  token: string;
  /** Bearer tokens of sessions or accounts that an operation ends or changes. */
  tokens: {
    logout: string;
    logoutAll: string;
    passwordChange: string;
    passkeyRegistration: string;
    stepUp: string;
    recoveryCodes: string;
    mfaOff: string;
  };
  refreshToken: string;
  /** Another session of the admin's, for DELETE /me/sessions/{id}. */
  sessionId: string;
  apiKeys: { revoke: string; rotate: string };
  victim: { id: string; keyToLimit: string; keyToRevoke: string; passkeyId: string };
  doomedId: string;
  /** The admin's passkey to rename. */
  passkeyId: string;
  /** An account's passkey and a session of its: removing one ends every other session. */
  passkeyOwner: { token: string; passkeyId: string };
  registration: RegistrationResponseJSON;
  /** A passkey sign-in's assertion, and a step-up's (for the `stepUp` session). */
  assertion: AuthenticationResponseJSON;
  stepUpAssertion: AuthenticationResponseJSON;
  recoveryCodes: { mfaStep: string; replace: string; turnOff: string };
  /** A TOTP enrolment started, not confirmed: its session and secret. */
  enrolment: { token: string; secret: string };
  /** The second step of a login with MFA on. */
  mfaToken: string;
  emailTokens: { verifyEmail: string; passwordReset: string; confirmEmail: string; unlock: string };
  /** An address whose account is not verified yet, for POST /verify-email/request. */
  pendingEmail: string;
  /** A published next signing key, retired by the run. */
  nextKid: string;
  oauth: OAuthFixtures;
}

type Api = ReturnType<typeof client>;

/** Accounts whose email links the run spends, and a verified account with a session. */
async function emailFixtures(api: Api, base: string, dataDir: string) {
  const unverified = await api.register("unverified");
  const resetting = await api.register("reset");
  await api.post("/api/v1/auth/password-reset/request", { email: resetting.email }, 202);
  const moving = await api.register("moving");
  const newAddress = uniqueEmail("portman-moved");
  const { access_token: movingToken } = await api.login(moving.email);
  await api.post(
    "/api/v1/me/email",
    { new_email: newAddress, password: STRONG_PASSWORD },
    202,
    movingToken,
  );
  const locked = await api.register("locked");
  for (let i = 0; i <= EMAIL_LOCKOUT; i++) {
    const res = await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: locked.email, password: `${STRONG_PASSWORD}-wrong` }),
    });
    assert.ok([401, 429].includes(res.status), `a wrong password: ${await res.text()}`);
  }
  const linker = await api.register("linker");
  const token = await mailedToken(dataDir, linker.email, "verify-email");
  await api.post("/api/v1/auth/verify-email", { token }, 200);
  return {
    emailTokens: {
      verifyEmail: await mailedToken(dataDir, unverified.email, "verify-email"),
      passwordReset: await mailedToken(dataDir, resetting.email, "reset-password"),
      confirmEmail: await mailedToken(dataDir, newAddress, "confirm-email-change"),
      unlock: await mailedToken(dataDir, locked.email, "unlock"),
    },
    pendingEmail: (await api.register("pending")).email,
    linker: { email: linker.email, token: (await api.login(linker.email)).access_token },
  };
}

/** Accounts with MFA on (their recovery codes), a login's second step, an enrolment begun. */
async function secondFactors(api: Api) {
  const replacing = await api.mfaUser("codes");
  const turningOff = await api.mfaUser("mfa-off");
  const stepping = await api.mfaUser("mfa-step");
  const step = await api.login(stepping.email);
  assert.equal(step.mfa_required, true);
  const enrolling = await api.register("enrolling");
  const { access_token: token } = await api.login(enrolling.email);
  const { secret } = (await api.post("/api/v1/me/mfa/totp", undefined, 200, token)).body;
  return {
    recoveryCodes: {
      mfaStep: stepping.recoveryCodes[0],
      replace: replacing.recoveryCodes[0],
      turnOff: turningOff.recoveryCodes[0],
    },
    tokens: { recoveryCodes: replacing.token, mfaOff: turningOff.token },
    mfaToken: step.mfa_token,
    enrolment: { token, secret },
  };
}

/**
 * The admin's passkeys, and ceremonies answered now for the run: a registration and a step-up
 * on sessions of their own (their challenges are bound to the session) and a sign-in, each by
 * its own authenticator, so that no signature counter goes back.
 */
async function passkeyFixtures(
  api: Api,
  admin: { email: string; token: string; registering: string; stepUp: string },
  origin: string,
) {
  const [kept, confirming, owned, fresh] = await Promise.all(
    [1, 2, 3, 4].map(() => SoftAuthenticator.create(origin)),
  );
  const passkeyId = await api.passkey(admin.token, kept);
  await api.passkey(admin.token, confirming);
  const owner = await api.register("passkey");
  const { access_token: ownerToken } = await api.login(owner.email);
  const creation = await api.post("/api/v1/me/passkeys/options", undefined, 200, admin.registering);
  const request = await api.post("/api/v1/auth/passkey/options", { email: admin.email }, 200);
  const stepUp = await api.post(
    "/api/v1/auth/reauthenticate/options",
    undefined,
    200,
    admin.stepUp,
  );
  return {
    passkeyId,
    passkeyOwner: { token: ownerToken, passkeyId: await api.passkey(ownerToken, owned) },
    registration: await fresh.register(creation.body),
    assertion: await kept.assert(request.body),
    stepUpAssertion: await confirming.assert(stepUp.body),
  };
}

/**
 * Makes every fixture on the server at `base`: `admin` is its super admin, `dataDir` where its
 * development mail lands, `origin` its PUBLIC_URL (passkeys) and `idp` its provider.
 */
export async function prepareFixtures(
  base: string,
  admin: { email: string; password: string },
  options: { dataDir: string; origin: string; idp: TestOidcProvider },
): Promise<Fixtures> {
  const api = client(base);
  // Every session of the admin's first: with a passkey, a password login is only a first step.
  const session = () => api.login(admin.email, admin.password);
  const first = await session();
  const token: string = first.access_token;
  const other = (await session()).access_token;
  const logout = (await session()).access_token;
  const registering = (await session()).access_token;
  const stepUp = (await session()).access_token;
  const { refresh_token: refreshToken } = await session();
  const sessions = await api.call("GET", "/api/v1/me/sessions", other, 200);
  const sessionId = sessions.body.sessions.find((s: { current: boolean }) => s.current).id;

  const victim = await api.register("victim");
  const { access_token: victimToken } = await api.login(victim.email);
  const mail = await emailFixtures(api, base, options.dataDir);
  const factors = await secondFactors(api);
  const passkeys = await passkeyFixtures(
    api,
    { email: admin.email, token, registering, stepUp },
    options.origin,
  );
  const rotated = await api.post("/api/v1/admin/keys/rotate", {}, 200, token);
  assert.equal(rotated.body.action, "published");

  return {
    admin: { ...admin, deviceToken: first.device_token },
    token,
    tokens: {
      logout,
      logoutAll: (await api.login((await api.register("leaver")).email)).access_token,
      passwordChange: (await api.login((await api.register("changer")).email)).access_token,
      passkeyRegistration: registering,
      stepUp,
      ...factors.tokens,
    },
    refreshToken,
    sessionId,
    apiKeys: {
      revoke: await api.apiKey(token, "revoke"),
      rotate: await api.apiKey(token, "rotate"),
    },
    victim: {
      id: victim.id,
      keyToLimit: await api.apiKey(victimToken, "limit"),
      keyToRevoke: await api.apiKey(victimToken, "revoke"),
      passkeyId: await api.passkey(victimToken, await SoftAuthenticator.create(options.origin)),
    },
    doomedId: (await api.register("doomed")).id,
    ...passkeys,
    recoveryCodes: factors.recoveryCodes,
    enrolment: factors.enrolment,
    mfaToken: factors.mfaToken,
    emailTokens: mail.emailTokens,
    pendingEmail: mail.pendingEmail,
    nextKid: rotated.body.next.kid,
    oauth: await prepareOAuth(base, options.idp, { adminEmail: admin.email, linker: mail.linker }),
  };
}
