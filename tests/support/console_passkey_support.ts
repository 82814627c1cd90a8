/**
 * What the console's passkey tests share: the JSON POST the console script sends (the page's
 * CSRF token in `x-csrf-token`, `Origin`, the session or anonymous cookie), the anonymous
 * sign-in page's cookie and token, a passkey registered through the console's endpoints
 * with the software authenticator, and a passwordless sign-in with it.
 * @module
 */
import assert from "node:assert/strict";
import { CSRF_HEADER } from "../../src/console/context.ts";
import type { TestApp } from "./helpers.ts";
import {
  CONSOLE_ORIGIN,
  CSRF_COOKIE,
  csrfFor,
  csrfOf,
  getPage,
  setCookieOf,
} from "./console_support.ts";
import { SoftAuthenticator, type Tweaks } from "./soft_authenticator.ts";

/** A JSON POST as the console script sends it; `origin: null` sends no Origin. */
export function postJson(
  t: TestApp,
  path: string,
  options: {
    cookie?: string;
    csrf?: string;
    body?: unknown;
    origin?: string | null;
    contentType?: string;
    /** The client address (default 127.0.0.1). */
    ip?: string;
  },
): Promise<Response> {
  const body = JSON.stringify(options.body ?? {});
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
    "content-length": String(new TextEncoder().encode(body).length),
    accept: "application/json",
  };
  const origin = options.origin === undefined ? CONSOLE_ORIGIN : options.origin;
  if (origin !== null) headers.origin = origin;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf !== undefined) headers[CSRF_HEADER] = options.csrf;
  return Promise.resolve(
    t.app.request(`${CONSOLE_ORIGIN}${path}`, { method: "POST", headers, body }, {
      remoteAddr: { hostname: options.ip ?? "127.0.0.1" },
    }),
  );
}

/** The JSON of an answer, after checking its status (the body in the message when not). */
export async function jsonAnswer(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

/** A browser before sign-in: its anonymous CSRF cookie, the sign-in page and its token. */
export async function anonymous(
  t: TestApp,
): Promise<{ cookie: string; csrf: string; html: string }> {
  const page = await getPage(t, "/account/sign-in");
  assert.equal(page.status, 200);
  const cookie = setCookieOf(page, CSRF_COOKIE);
  assert.ok(cookie, "the sign-in page sets the anonymous CSRF cookie");
  const html = await page.text();
  return { cookie, csrf: csrfOf(html), html };
}

/**
 * Adds a passkey to the signed-in console session `cookie` through `/account/passkeys/options`
 * and `/account/passkeys`, as the account page's script does; answers the authenticator and
 * the endpoint's JSON (the API's view of the passkey plus `location`).
 */
export async function addPasskey(
  t: TestApp,
  cookie: string,
  name = "Laptop",
  authenticator?: SoftAuthenticator,
): Promise<{ auth: SoftAuthenticator; passkey: Record<string, unknown> }> {
  const auth = authenticator ?? await SoftAuthenticator.create();
  const csrf = await csrfFor(t, cookie);
  const options = await jsonAnswer(
    await postJson(t, "/account/passkeys/options", { cookie, csrf }),
    200,
  );
  const response = await auth.register(options as never);
  const passkey = await jsonAnswer(
    await postJson(t, "/account/passkeys", { cookie, csrf, body: { name, response } }),
    201,
  );
  return { auth, passkey };
}

/**
 * A passwordless sign-in through the sign-in page's ceremony endpoints, as its script does, in
 * a fresh anonymous browser; `tweaks` change the assertion (a counter that went backwards).
 * Answers the endpoint's response.
 */
export async function passkeySignIn(
  t: TestApp,
  auth: SoftAuthenticator,
  tweaks: Tweaks = {},
): Promise<Response> {
  const browser = await anonymous(t);
  const options = await jsonAnswer(
    await postJson(t, "/account/sign-in/passkey/options", browser),
    200,
  );
  return await postJson(t, "/account/sign-in/passkey", {
    ...browser,
    body: { response: await auth.assert(options as never, tweaks) },
  });
}

/**
 * A passkey suspended as the API suspends one: signed in with once (its counter stored), then
 * presented with the same counter again, as a copy would. Answers the refused response.
 */
export async function suspendByCounter(t: TestApp, auth: SoftAuthenticator): Promise<Response> {
  const first = await passkeySignIn(t, auth);
  assert.equal(first.status, 200, await first.clone().text());
  return await passkeySignIn(t, auth, { counter: auth.counter });
}
