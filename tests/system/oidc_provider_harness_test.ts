/**
 * The test OpenID provider (tests/support/oidc_provider.ts) driven the way a relying party
 * drives a real one, with oauth4webapi: discovery, PKCE + state + nonce, the browser leg, the
 * code exchange and ID token validation; and its levers (tampered ID tokens, token errors).
 * Every test runs with Deno's sanitizers on, so a provider left open would fail it.
 */
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import {
  driveAuthorization,
  type ProviderAccount,
  startOidcProvider,
  type TestOidcProvider,
  type TestOidcProviderOptions,
} from "../support/oidc_provider.ts";

// Never requested: driveAuthorization stops at the redirect back to the client.
const REDIRECT_URI = "http://127.0.0.1:9/oauth/callback";
const ALICE: ProviderAccount = {
  sub: "alice-1",
  email: "alice@example.test",
  email_verified: true,
  name: "Alice",
};
const INSECURE = { [oauth.allowInsecureRequests]: true };

async function withProvider(
  options: Partial<TestOidcProviderOptions>,
  body: (provider: TestOidcProvider) => Promise<void>,
): Promise<void> {
  const provider = await startOidcProvider({
    redirectUris: [REDIRECT_URI],
    accounts: [ALICE],
    ...options,
  });
  try {
    await body(provider);
  } finally {
    await provider.close();
  }
}

/** A relying party's whole authorization code flow; returns what its last step returned. */
async function signIn(provider: TestOidcProvider, sub: string, auth?: oauth.ClientAuth) {
  const issuer = new URL(provider.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...INSECURE }),
  );
  const client: oauth.Client = { client_id: provider.clientId };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const start = new URL(as.authorization_endpoint!);
  start.search = new URLSearchParams({
    client_id: provider.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    scope: "openid email profile",
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  }).toString();
  const back = await driveAuthorization(provider, start.href, sub);
  assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
  const params = oauth.validateAuthResponse(as, client, back, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth ?? oauth.ClientSecretBasic(provider.clientSecret),
    params,
    REDIRECT_URI,
    verifier,
    INSECURE,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  });
  return { as, client, tokens, claims: oauth.getValidatedIdTokenClaims(tokens)! };
}

Deno.test("a relying party signs in through the provider and its ID token names the account's email", async () => {
  await withProvider({}, async (provider) => {
    assert.match(provider.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const { claims } = await signIn(provider, ALICE.sub);
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.aud, provider.clientId);
    assert.equal(claims.sub, ALICE.sub);
    assert.equal(claims.email, ALICE.email);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.name, ALICE.name);
  });
});

Deno.test("accounts can change between sign-ins and the next ID token says so", async () => {
  await withProvider({}, async (provider) => {
    provider.accounts.set(ALICE.sub, { ...ALICE, email_verified: false });
    provider.accounts.set("bob-2", { sub: "bob-2", email: "bob@example.test" });
    assert.equal((await signIn(provider, ALICE.sub)).claims.email_verified, false);
    assert.equal((await signIn(provider, "bob-2")).claims.email, "bob@example.test");
  });
});

Deno.test("with idTokenClaims false the ID token carries no email and userinfo serves it", async () => {
  await withProvider({ idTokenClaims: false }, async (provider) => {
    const { as, client, tokens, claims } = await signIn(provider, ALICE.sub);
    assert.equal(claims.sub, ALICE.sub);
    assert.equal(claims.email, undefined);
    const info = await oauth.processUserInfoResponse(
      as,
      client,
      ALICE.sub,
      await oauth.userInfoRequest(as, client, tokens.access_token, INSECURE),
    );
    assert.equal(info.email, ALICE.email);
    assert.equal(info.email_verified, true);
  });
});

Deno.test("discovery offers only the registered way of sending the client secret, the token endpoint takes it, and the provider records how each token request sent it", async () => {
  // Refused as invalid_client: in the body, or (HTTP Basic) as a WWW-Authenticate challenge.
  const invalidClient = (error: Error) =>
    error instanceof oauth.WWWAuthenticateChallengeError ||
    (error as oauth.ResponseBodyError).error === "invalid_client";
  for (const method of ["client_secret_basic", "client_secret_post"] as const) {
    await withProvider({ tokenEndpointAuthMethod: method }, async (provider) => {
      const discovery = await (await fetch(
        `${provider.issuer}/.well-known/openid-configuration`,
      )).json();
      assert.deepEqual(discovery.token_endpoint_auth_methods_supported, [method]);
      const right = method === "client_secret_post"
        ? oauth.ClientSecretPost
        : oauth.ClientSecretBasic;
      assert.equal(
        (await signIn(provider, ALICE.sub, right(provider.clientSecret))).claims.sub,
        ALICE.sub,
      );
      assert.deepEqual(provider.tokenAuthSeen, [
        method === "client_secret_post" ? "post" : "basic",
      ]);
      await assert.rejects(
        signIn(provider, ALICE.sub, oauth.ClientSecretPost("not the secret")),
        invalidClient,
      );
    });
  }
});

Deno.test("a tampered ID token keeps a valid signature: another email is accepted, another nonce is not", async () => {
  await withProvider({}, async (provider) => {
    provider.tamperIdToken = (claims) => ({ ...claims, email: "mallory@example.test" });
    assert.equal((await signIn(provider, ALICE.sub)).claims.email, "mallory@example.test");
    provider.tamperIdToken = (claims) => ({ ...claims, nonce: "someone-else's" });
    await assert.rejects(
      signIn(provider, ALICE.sub),
      (error: Error) => /nonce/.test(error.message),
    );
    provider.tamperIdToken = undefined;
    assert.equal((await signIn(provider, ALICE.sub)).claims.email, ALICE.email);
  });
});

Deno.test("tokenEndpointError makes the token endpoint answer that error", async () => {
  await withProvider({}, async (provider) => {
    provider.tokenEndpointError = { error: "invalid_grant", error_description: "Gone" };
    await assert.rejects(
      signIn(provider, ALICE.sub),
      (error: oauth.ResponseBodyError) =>
        error.status === 400 && error.error === "invalid_grant" &&
        error.error_description === "Gone",
    );
    // oauth4webapi reads error bodies of 4xx answers only; a 5xx is an unexpected status.
    provider.tokenEndpointError = { status: 503, error: "temporarily_unavailable" };
    await assert.rejects(
      signIn(provider, ALICE.sub),
      (error: oauth.OperationProcessingError) => error.code === oauth.RESPONSE_IS_NOT_CONFORM,
    );
  });
});

Deno.test("signing in as an unknown account comes back to the client with error=access_denied", async () => {
  await withProvider({}, async (provider) => {
    const start = new URL(`${provider.issuer}/auth`);
    start.search = new URLSearchParams({
      client_id: provider.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: "openid email",
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: "S256",
      state: "s1",
    }).toString();
    const back = await driveAuthorization(provider, start.href, "nobody");
    assert.equal(back.searchParams.get("error"), "access_denied");
    assert.equal(back.searchParams.get("state"), "s1");
    assert.equal(back.searchParams.get("code"), null);
  });
});

Deno.test("the provider refuses an authorization request without PKCE", async () => {
  await withProvider({}, async (provider) => {
    const start = new URL(`${provider.issuer}/auth`);
    start.search = new URLSearchParams({
      client_id: provider.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: "openid",
      state: "s2",
    }).toString();
    const back = await driveAuthorization(provider, start.href, ALICE.sub);
    assert.equal(back.searchParams.get("error"), "invalid_request");
    assert.match(back.searchParams.get("error_description") ?? "", /PKCE/);
  });
});
