/**
 * The one guard (middleware/authenticate.ts) on every route of linked provider identities
 * (enumerated from the app, so a new one must be added here) and on the public exchange of a
 * social sign-in's code, against every kind of credential, in one table: nobody, a user's
 * fresh session, a user's stale session (another user's), the user's API key with every user
 * scope, an API key without the route's scope, an admin's fresh session and an admin's API key
 * with the admin scopes. Each cell is the status and code that credential gets, with a body
 * that would succeed: a link code offered to the credential's owner, an identity of the
 * owner's to unlink, a fresh login code (sent without the flow cookie, as an app on another
 * site sends it); all of them made by a real provider on loopback.
 */
import assert from "node:assert/strict";
import {
  ALL_USER_SCOPES,
  type Credential,
  CREDENTIALS,
  servedRoutes,
} from "../support/credential_kinds.ts";
import type { ManualClock } from "../../src/platform/clock.ts";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";
import { authPost, latestToken } from "../support/email_support.ts";
import { request, type TestApp } from "../support/helpers.ts";
import { type OAuthSetUp, oauthSetUp, oauthSignIn } from "../support/oauth_support.ts";
import { apiKey } from "../support/passkey_support.ts";
import { staleSession } from "../support/step_up_support.ts";

/** The expected answer of each route to each credential, in CREDENTIALS order. */
const EXPECTED: Record<string, string[]> = {
  // me:read: any credential of the account, keys included, if they hold the scope.
  "GET /api/v1/me/identities": [
    "401 unauthorized",
    "200",
    "200",
    "200",
    "403 insufficient_scope",
    "200",
    "403 insufficient_scope",
  ],
  // Session only (the sign-in is the owner's proof of presence), but not a fresh one.
  "POST /api/v1/me/identities/link": [
    "401 unauthorized",
    "200",
    "200",
    "403 session_required",
    "403 session_required",
    "200",
    "403 session_required",
  ],
  // A fresh session only.
  "DELETE /api/v1/me/identities/:id": [
    "401 unauthorized",
    "204",
    "403 reauthentication_required",
    "403 session_required",
    "403 session_required",
    "204",
    "403 session_required",
  ],
  // Public: the code alone decides, whatever credential comes with it.
  "POST /api/v1/auth/oauth/exchange": ["200", "200", "200", "200", "200", "200", "200"],
};

/** Confirms an account's address through the link emailed at its registration. */
async function confirmEmail(t: TestApp, email: string) {
  const token = await latestToken(t, email, "verify_email");
  assert.equal((await authPost(t, "verify-email", { token })).status, 200);
}

/** Registers an account whose address is confirmed (only those are offered a link). */
async function verifiedUser(t: TestApp) {
  const user = await registerUser(t);
  await confirmEmail(t, user.email);
  return user;
}

let subjects = 0;

/** A new provider account asserting the owner's verified address, and its link code. */
async function linkCodeFor(s: OAuthSetUp, email: string): Promise<string> {
  const sub = `subject-${subjects++}`;
  s.idp.accounts.set(sub, { sub, email, email_verified: true });
  const flow = await oauthSignIn(s.t, s.idp, sub);
  assert.equal(flow.fragment.get("error"), "link_required");
  return flow.fragment.get("link_code")!;
}

/** Links a new identity to the owner of the fresh session `token`; its id. */
async function linkedIdentity(s: OAuthSetUp, email: string, token: string): Promise<string> {
  const res = await authed(s.t, "POST", "/api/v1/me/identities/link", token, {
    link_code: await linkCodeFor(s, email),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).id;
}

Deno.test("every identity route and the code exchange answer each kind of credential as its rule says", async () => {
  await using s = await oauthSetUp();
  const { t } = s;
  const clock = t.clock as ManualClock;
  // The stale session first: making it stale moves the clock past every earlier sign-in.
  const staleUser = await verifiedUser(t);
  const stale = await staleSession(t, clock, await login(t, staleUser.email));
  const staleUserFresh = await login(t, staleUser.email);
  const user = await verifiedUser(t);
  const userSession = await login(t, user.email);
  const admin = await adminSession(t, "admin");
  await confirmEmail(t, admin.user.email);
  const adminEmail = admin.user.email;
  const adminTokens = admin.tokens;
  const userKey = await apiKey(t, userSession.access_token, ALL_USER_SCOPES);
  const userKeyWithoutScope = await apiKey(t, userSession.access_token, ["api_keys:read"]);
  const adminKey = await apiKey(t, adminTokens.access_token, ["admin:read", "admin:write"]);
  // A returning person at the provider: each exchange cell gets a fresh login code of theirs.
  await linkedIdentity(s, user.email, userSession.access_token);
  const returningSub = `subject-${subjects - 1}`;

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  /** Headers of a credential, its owner's email and the owner's fresh session. */
  const credential = (
    who: Credential,
  ): { headers: Record<string, string>; email: string; fresh: string } => {
    const asUser = { email: user.email, fresh: userSession.access_token };
    switch (who) {
      case "nobody":
        return { headers: {}, ...asUser };
      case "user session":
        return { headers: bearer(userSession.access_token), ...asUser };
      case "user stale session":
        return {
          headers: bearer(stale.access_token),
          email: staleUser.email,
          fresh: staleUserFresh.access_token,
        };
      case "user key (all user scopes)":
        return { headers: { "x-api-key": userKey }, ...asUser };
      case "key without the scope":
        return { headers: { "x-api-key": userKeyWithoutScope }, ...asUser };
      case "admin session":
        return {
          headers: bearer(adminTokens.access_token),
          email: adminEmail,
          fresh: adminTokens.access_token,
        };
      case "admin key (admin scopes)":
        return {
          headers: { "x-api-key": adminKey },
          email: adminEmail,
          fresh: adminTokens.access_token,
        };
    }
  };

  const served = servedRoutes(
    t.app.routes,
    (path) => path.includes("/identities") || path.endsWith("/oauth/exchange"),
  );
  assert.deepEqual(served, Object.keys(EXPECTED).sort(), "every route is in the table");

  const actual: string[] = [];
  const expected: string[] = [];
  for (const route of Object.keys(EXPECTED)) {
    const [method, template] = route.split(" ");
    for (const [index, who] of CREDENTIALS.entries()) {
      const { headers, email, fresh } = credential(who);
      let path = template;
      let body: unknown;
      if (route === "POST /api/v1/me/identities/link") {
        body = { link_code: await linkCodeFor(s, email) };
      } else if (method === "DELETE") {
        // An identity of its own to unlink, for every cell (a passing cell removes it).
        path = template.replace(":id", await linkedIdentity(s, email, fresh));
      } else if (route === "POST /api/v1/auth/oauth/exchange") {
        body = { code: (await oauthSignIn(t, s.idp, returningSub)).fragment.get("code") };
      }
      const res = await request(t.app, method, path, { headers, body });
      const text = await res.text();
      const code = res.status >= 400 ? ` ${JSON.parse(text).code}` : "";
      actual.push(`${route} | ${who}: ${res.status}${code}`);
      expected.push(`${route} | ${who}: ${EXPECTED[route][index]}`);
      if (route === "POST /api/v1/auth/oauth/exchange") {
        assert.equal(JSON.parse(text).user.id, user.id, `${who}: the code's user signs in`);
      }
    }
  }
  assert.deepEqual(actual, expected);
});
