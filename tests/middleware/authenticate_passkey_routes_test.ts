/**
 * The one guard (middleware/authenticate.ts) on every authenticated passkey route of the API
 * (enumerated from the app, so a new one must be added here) against every kind of credential,
 * in one table: nobody, a user's fresh session, a user's stale session (another user's: a
 * passkey removed by the first user's session ends that user's other sessions), the user's API
 * key with every user scope, an API key without the route's scope, an admin's fresh session
 * and an admin's API key with the admin scopes. Each cell is the status and code that
 * credential gets, with a body that would succeed.
 */
import assert from "node:assert/strict";
import {
  ALL_USER_SCOPES,
  type Credential,
  CREDENTIALS,
  servedRoutes,
} from "../support/credential_kinds.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { adminSession, login, registerUser } from "../support/auth_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";
import { midStepMs } from "../support/mfa_support.ts";
import { apiKey, creationOptions, insertPasskey } from "../support/passkey_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";
import { staleSession } from "../support/step_up_support.ts";

/** The expected answer of each route to each credential, in CREDENTIALS order. */
const EXPECTED: Record<string, string[]> = {
  "GET /api/v1/me/passkeys": [
    "401 unauthorized",
    "200",
    "200",
    "200",
    "403 insufficient_scope",
    "200",
    "403 insufficient_scope",
  ],
  "POST /api/v1/me/passkeys/options": [
    "401 unauthorized",
    "200",
    "403 reauthentication_required",
    "403 session_required",
    "403 session_required",
    "200",
    "403 session_required",
  ],
  // The body answers options of the owner's fresh session: a stale session can get no
  // challenge of its own, so it has nothing it could register with.
  "POST /api/v1/me/passkeys": [
    "401 unauthorized",
    "201",
    "400 passkey_registration_failed",
    "403 session_required",
    "403 session_required",
    "201",
    "403 session_required",
  ],
  "PATCH /api/v1/me/passkeys/:id": [
    "401 unauthorized",
    "200",
    "200",
    "403 session_required",
    "403 session_required",
    "200",
    "403 session_required",
  ],
  "DELETE /api/v1/me/passkeys/:id": [
    "401 unauthorized",
    "204",
    "403 reauthentication_required",
    "403 session_required",
    "403 session_required",
    "204",
    "403 session_required",
  ],
  "POST /api/v1/auth/reauthenticate/options": [
    "401 unauthorized",
    "200",
    "200",
    "403 session_required",
    "403 session_required",
    "200",
    "403 session_required",
  ],
  "GET /api/v1/admin/users/:id/passkeys": [
    "401 unauthorized",
    "403 forbidden",
    "403 forbidden",
    "403 forbidden",
    "403 insufficient_scope",
    "200",
    "200",
  ],
  "DELETE /api/v1/admin/users/:id/passkeys/:passkeyId": [
    "401 unauthorized",
    "403 forbidden",
    "403 forbidden",
    "403 forbidden",
    "403 insufficient_scope",
    "204",
    "204",
  ],
};

Deno.test("every authenticated passkey route answers each kind of credential as its rule says", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    // The stale session first: making it stale moves the clock past every earlier sign-in.
    // It is another user's, whose fresh session (for options) removes no passkey.
    const staleUser = await registerUser(t);
    const stale = await staleSession(t, clock, await login(t, staleUser.email));
    const staleUserFresh = await login(t, staleUser.email);
    const user = await registerUser(t);
    const userSession = await login(t, user.email);
    const admin = await adminSession(t, "admin");
    const target = await registerUser(t);
    const userKey = await apiKey(t, userSession.access_token, ALL_USER_SCOPES);
    const userKeyWithoutScope = await apiKey(t, userSession.access_token, ["api_keys:read"]);
    const adminKey = await apiKey(t, admin.tokens.access_token, ["admin:read", "admin:write"]);
    const adminKeyWithoutScope = await apiKey(t, admin.tokens.access_token, ["me:read"]);
    await insertPasskey(t, user.id);
    await insertPasskey(t, staleUser.id);
    await insertPasskey(t, admin.user.id);

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    /** Headers of a credential, its owner, and the owner's fresh session (for options). */
    const credential = (
      who: Credential,
      route: string,
    ): { headers: Record<string, string>; owner: string; fresh: string } => {
      const adminRoute = route.includes("/admin/");
      switch (who) {
        case "nobody":
          return { headers: {}, owner: user.id, fresh: userSession.access_token };
        case "user session":
          return {
            headers: bearer(userSession.access_token),
            owner: user.id,
            fresh: userSession.access_token,
          };
        case "user stale session":
          return {
            headers: bearer(stale.access_token),
            owner: staleUser.id,
            fresh: staleUserFresh.access_token,
          };
        case "user key (all user scopes)":
          return {
            headers: { "x-api-key": userKey },
            owner: user.id,
            fresh: userSession.access_token,
          };
        case "key without the scope":
          // A key of the route's natural caller: a user's on /me, an admin's on /admin.
          return adminRoute
            ? {
              headers: { "x-api-key": adminKeyWithoutScope },
              owner: admin.user.id,
              fresh: admin.tokens.access_token,
            }
            : {
              headers: { "x-api-key": userKeyWithoutScope },
              owner: user.id,
              fresh: userSession.access_token,
            };
        case "admin session":
          return {
            headers: bearer(admin.tokens.access_token),
            owner: admin.user.id,
            fresh: admin.tokens.access_token,
          };
        case "admin key (admin scopes)":
          return {
            headers: { "x-api-key": adminKey },
            owner: admin.user.id,
            fresh: admin.tokens.access_token,
          };
      }
    };

    const served = servedRoutes(
      t.app.routes,
      (path) => path.includes("/passkeys") || path.endsWith("/reauthenticate/options"),
    );
    assert.deepEqual(served, Object.keys(EXPECTED).sort(), "every route is in the table");

    const actual: string[] = [];
    const expected: string[] = [];
    for (const route of Object.keys(EXPECTED)) {
      const [method, template] = route.split(" ");
      for (const [index, who] of CREDENTIALS.entries()) {
        const { headers, owner, fresh } = credential(who, route);
        // A passkey of its own to act on, for every cell (a passing cell removes it).
        const passkeyId = await insertPasskey(t, route.includes("/admin/") ? target.id : owner);
        const path = template.replace(":id", route.includes("/admin/") ? target.id : passkeyId)
          .replace(":passkeyId", passkeyId);
        let body: unknown;
        if (route === "POST /api/v1/me/passkeys") {
          const options = await creationOptions(t, fresh);
          body = { response: await (await SoftAuthenticator.create()).register(options) };
        } else if (method === "PATCH") {
          body = { name: "Renamed" };
        }
        const res = await request(t.app, method, path, { headers, body });
        const text = await res.text();
        const code = res.status >= 400 ? ` ${JSON.parse(text).code}` : "";
        actual.push(`${route} | ${who}: ${res.status}${code}`);
        expected.push(`${route} | ${who}: ${EXPECTED[route][index]}`);
      }
    }
    assert.deepEqual(actual, expected);
  } finally {
    await t.close();
  }
});
