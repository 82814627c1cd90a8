/**
 * Social sign-in in tests: a test app whose one provider (`testidp`) is a real oidc-provider on
 * loopback, the whole browser leg of a sign-in (start, the provider, the callback) over HTTP,
 * and the exchange of the one-time code.
 */
import assert from "node:assert/strict";
import { buildTestApp, request, type TestApp } from "./helpers.ts";
import {
  driveAuthorization,
  startOidcProvider,
  type TestOidcProvider,
  type TestOidcProviderOptions,
} from "./oidc_provider.ts";

/** The callback the test app's provider sends the browser back to. */
export const OAUTH_CALLBACK = "http://localhost/api/v1/auth/oauth/testidp/callback";
/** The one app return address OAUTH_REDIRECT_URLS allows. */
export const OAUTH_APP = "https://app.example.com/cb";

/** A test app with the provider, closed together. */
export type OAuthSetUp = { t: TestApp; idp: TestOidcProvider } & AsyncDisposable;

/** A test app with `testidp` (and `env` on top), and its provider. */
export async function oauthSetUp(
  env: Record<string, string> = {},
  provider: Partial<TestOidcProviderOptions> = {},
): Promise<OAuthSetUp> {
  const idp = await startOidcProvider({ redirectUris: [OAUTH_CALLBACK], ...provider });
  const t = await buildTestApp({
    OAUTH_PROVIDERS: "testidp",
    OAUTH_TESTIDP_ISSUER: idp.issuer,
    OAUTH_TESTIDP_CLIENT_ID: idp.clientId,
    OAUTH_TESTIDP_CLIENT_SECRET: idp.clientSecret,
    OAUTH_REDIRECT_URLS: OAUTH_APP,
    ...env,
  });
  return {
    t,
    idp,
    async [Symbol.asyncDispose]() {
      await t.close();
      await idp.close();
    },
  };
}

/**
 * start (with `extraQuery`, e.g. `&prompt=login`) -> provider (signed in as `sub`) -> callback,
 * to `redirectTo`; answers the fragment of the final redirect, the provider's authorization
 * URL, the callback's path and the flow cookie.
 */
export async function oauthSignIn(
  t: TestApp,
  idp: TestOidcProvider,
  sub: string,
  redirectTo = OAUTH_APP,
  extraQuery = "",
) {
  const start = await request(
    t.app,
    "GET",
    `/api/v1/auth/oauth/testidp/start?redirect_to=${encodeURIComponent(redirectTo)}${extraQuery}`,
  );
  assert.equal(start.status, 302, await start.clone().text());
  const authorization = new URL(start.headers.get("location")!);
  const cookie = start.headers.get("set-cookie")!.split(";")[0];
  const back = await driveAuthorization(idp, start.headers.get("location")!, sub);
  const callbackPath = back.pathname + back.search;
  const res = await request(t.app, "GET", callbackPath, { headers: { cookie } });
  assert.equal(res.status, 302, await res.clone().text());
  const location = new URL(res.headers.get("location")!);
  assert.equal(location.origin + location.pathname, redirectTo);
  return {
    fragment: new URLSearchParams(location.hash.slice(1)),
    authorization,
    callbackPath,
    cookie,
  };
}

/** `POST /api/v1/auth/oauth/exchange` with `code`. */
export async function oauthExchange(t: TestApp, code: string) {
  return await request(t.app, "POST", "/api/v1/auth/oauth/exchange", { body: { code } });
}
