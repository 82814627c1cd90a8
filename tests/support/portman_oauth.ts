/**
 * The social sign-in fixtures of the Portman run: with a real OpenID Connect provider
 * (oidc_provider.ts) as `testidp`, sign-ins driven over HTTP up to the point where each
 * operation of the run takes over: a provider's redirect back not yet requested (with its
 * flow cookie) for the callback, a one-time code for the exchange, a link code offered to the
 * admin's account, and a linked identity to unlink.
 * @module
 */
import assert from "node:assert/strict";
import { driveAuthorization, type TestOidcProvider } from "./oidc_provider.ts";

/** The provider's name in citadel (OAUTH_PROVIDERS). */
export const PROVIDER = "testidp";
/** The one app return address the server allows (OAUTH_REDIRECT_URLS). */
export const OAUTH_APP = "https://app.example.com/cb";

/** What the run's social sign-in operations are given. */
export interface OAuthFixtures {
  /** The provider's redirect back, not yet requested: its query and the flow cookie. */
  callback: { query: Record<string, string>; cookie: string };
  /** A sign-in's one-time code, for a new account. */
  exchangeCode: string;
  /** A code offered to link an identity to the admin's account. */
  linkCode: string;
  /** An identity linked to an account that keeps its password, and that account's session. */
  identity: { id: string; token: string };
}

/** Starts a flow at `base` (the server) and signs `sub` in at the provider. */
async function toCallback(base: string, idp: TestOidcProvider, sub: string) {
  const query = new URLSearchParams({ redirect_to: OAUTH_APP });
  const start = await fetch(`${base}/api/v1/auth/oauth/${PROVIDER}/start?${query}`, {
    redirect: "manual",
  });
  assert.equal(start.status, 302, await start.text());
  const cookie = start.headers.get("set-cookie")!.split(";")[0];
  return { back: await driveAuthorization(idp, start.headers.get("location")!, sub), cookie };
}

/** A whole sign-in as `email`: the fragment the app is sent back with. */
async function signIn(base: string, idp: TestOidcProvider, email: string) {
  const sub = `portman-${crypto.randomUUID()}`;
  idp.accounts.set(sub, { sub, email, email_verified: true, name: "Portman" });
  const { back, cookie } = await toCallback(base, idp, sub);
  const res = await fetch(`${base}${back.pathname}${back.search}`, {
    headers: { cookie },
    redirect: "manual",
  });
  assert.equal(res.status, 302, await res.text());
  return new URLSearchParams(new URL(res.headers.get("location")!).hash.slice(1));
}

/**
 * Prepares the sign-ins; `admin` and `linker` are accounts with verified addresses (the
 * linker's identity is linked here, with its session, for the run to unlink).
 */
export async function prepareOAuth(
  base: string,
  idp: TestOidcProvider,
  options: { adminEmail: string; linker: { email: string; token: string } },
): Promise<OAuthFixtures> {
  const sub = `portman-${crypto.randomUUID()}`;
  idp.accounts.set(sub, { sub, email: "portman.provider@example.com", email_verified: true });
  const { back, cookie } = await toCallback(base, idp, sub);

  const exchangeCode = (await signIn(base, idp, "portman.social@example.com")).get("code");
  assert.ok(exchangeCode, "a new account's sign-in gives a code");
  const linkCode = (await signIn(base, idp, options.adminEmail)).get("link_code");
  assert.ok(linkCode, "a sign-in with the admin's address offers a link code");
  const offered = (await signIn(base, idp, options.linker.email)).get("link_code");
  const linked = await fetch(`${base}/api/v1/me/identities/link`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${options.linker.token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ link_code: offered }),
  });
  const identity = await linked.json();
  assert.equal(linked.status, 200, JSON.stringify(identity));
  return {
    callback: { query: Object.fromEntries(back.searchParams), cookie },
    exchangeCode,
    linkCode,
    identity: { id: identity.id, token: options.linker.token },
  };
}
