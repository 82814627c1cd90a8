/**
 * Console test helpers: sign in through the console's own form and send its forms the way a
 * browser does (the session cookie, the page's CSRF token, `Origin`, a content-length).
 *
 * ```ts
 * const cookie = await signIn(t, email);                  // "__Host-citadel_console=..."
 * const page = await getPage(t, "/admin/users", cookie);  // a GET with that cookie
 * const _csrf = csrfOf(await page.text());                // the token of the page's forms
 * await postForm(t, "/admin/users/x/status", cookie, { _csrf, status: "disabled" });
 * ```
 * @module
 */
import assert from "node:assert/strict";
import { registerUser, STRONG_PASSWORD, uniqueEmail } from "./auth_support.ts";
import type { TestApp } from "./helpers.ts";

/** The console session's cookie name. */
export const CONSOLE_COOKIE = "__Host-citadel_console";
/** The anonymous (pre-sign-in) CSRF secret's cookie name. */
export const CSRF_COOKIE = "__Host-citadel_csrf";
/** The origin of the test app's URLs (`http://localhost`), which the console trusts. */
export const CONSOLE_ORIGIN = "http://localhost";

/** Where a request comes from: the client address (default 127.0.0.1). */
export interface FromOptions {
  ip?: string;
}

/** The value of the first `<input name="_csrf">` of a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  assert.ok(match, "the page has a CSRF input");
  return match[1];
}

/** `name=value` of the cookie `name` a response sets, or undefined. */
export function setCookieOf(res: Response, name: string): string | undefined {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return cookie?.split(";")[0];
}

/** A GET of a console page with a Cookie header value (or none). */
export function getPage(
  t: TestApp,
  path: string,
  cookie?: string,
  options: FromOptions = {},
): Promise<Response> {
  return Promise.resolve(t.app.request(`${CONSOLE_ORIGIN}${path}`, {
    headers: cookie ? { cookie } : {},
    redirect: "manual",
  }, { remoteAddr: { hostname: options.ip ?? "127.0.0.1" } }));
}

/**
 * A urlencoded form POST as a browser sends it. `fields` carries `_csrf` (or not: the tests of
 * the CSRF check leave it out); `origin: null` sends no Origin header.
 */
export function postForm(
  t: TestApp,
  path: string,
  cookie: string | undefined,
  fields: Record<string, string>,
  options: FromOptions & { origin?: string | null } = {},
): Promise<Response> {
  const body = new URLSearchParams(fields).toString();
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    "content-length": String(new TextEncoder().encode(body).length),
  };
  const origin = options.origin === undefined ? CONSOLE_ORIGIN : options.origin;
  if (origin !== null) headers.origin = origin;
  if (cookie) headers.cookie = cookie;
  return Promise.resolve(
    t.app.request(`${CONSOLE_ORIGIN}${path}`, { method: "POST", headers, body }, {
      remoteAddr: { hostname: options.ip ?? "127.0.0.1" },
    }),
  );
}

/** The CSRF token of a signed-in session, read from its `/account` page. */
export async function csrfFor(t: TestApp, cookie: string, options: FromOptions = {}) {
  const res = await getPage(t, "/account", cookie, options);
  assert.equal(res.status, 200, "the session is live");
  return csrfOf(await res.text());
}

/**
 * Signs in through `/account/sign-in` (and its second-factor form when `code` is given) and
 * answers the console session's Cookie header value, `__Host-citadel_console=<token>`.
 */
export async function signIn(
  t: TestApp,
  email: string,
  password = STRONG_PASSWORD,
  options: FromOptions & { code?: string } = {},
): Promise<string> {
  const form = await getPage(t, "/account/sign-in", undefined, options);
  assert.equal(form.status, 200);
  const anonymous = setCookieOf(form, CSRF_COOKIE);
  assert.ok(anonymous, "the sign-in page sets the anonymous CSRF cookie");
  let res = await postForm(t, "/account/sign-in", anonymous, {
    _csrf: csrfOf(await form.text()),
    email,
    password,
  }, options);
  if (res.status === 200 && options.code !== undefined) {
    const html = await res.text();
    const mfaToken = /name="mfa_token" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(mfaToken, "the second-factor form follows the password");
    res = await postForm(t, "/account/sign-in/mfa", anonymous, {
      _csrf: csrfOf(html),
      mfa_token: mfaToken,
      code: options.code,
    }, options);
  }
  assert.equal(res.status, 303, `sign-in redirects: ${await res.clone().text()}`);
  const session = setCookieOf(res, CONSOLE_COOKIE);
  assert.ok(session, "sign-in sets the console session cookie");
  return session;
}

/** A registered user promoted to `role` (as the bootstrap does) and signed in to the console. */
export async function consoleAdmin(
  t: TestApp,
  role: "admin" | "super_admin",
  options: FromOptions = {},
): Promise<{ id: string; email: string; cookie: string }> {
  const email = uniqueEmail(role);
  const user = await registerUser(t, email);
  await t.deps.db.updateTable("users").set({ role }).where("id", "=", user.id).execute();
  return { id: user.id, email, cookie: await signIn(t, email, STRONG_PASSWORD, options) };
}
