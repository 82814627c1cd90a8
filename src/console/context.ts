/**
 * What every console request goes through: a nonce and the page's Content-Security-Policy,
 * the session from its cookie, and for a form POST the checks that it comes from this
 * origin and carries the CSRF token of this session (or, before sign-in, of this browser's
 * anonymous secret). The token is an HMAC under the pepper, so nothing is stored for it.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";
import { constantTimeEqual, hmac, randomToken, toBase64Url } from "../lib/crypto.ts";
import { isTrustedOrigin } from "../middleware/csrf.ts";
import { PAGE_PERMISSIONS_POLICY } from "../middleware/secure_headers.ts";
import type { Services } from "../services/container.ts";
import { anonymousSecret, sessionCookie } from "./cookies.ts";

/** The policy of a console page: nothing but this origin's script and style, by nonce. */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** The largest form the console accepts. */
const MAX_FORM_BYTES = 16 * 1024;

/** Sets the nonce, the page policy and the session of every console request. */
export function consoleContext(services: Services): MiddlewareHandler<AppEnv> {
  return async function consoleContextHandler(c, next) {
    const nonce = randomToken(16);
    c.set("nonce", nonce);
    // Console pages run passkey ceremonies: WebAuthn for this origin, the rest denied.
    c.set("pagePolicy", {
      contentSecurityPolicy: pagePolicy(nonce),
      permissionsPolicy: PAGE_PERMISSIONS_POLICY,
    });
    const token = sessionCookie(c);
    const session = token ? await services.consoleSessions.resolve(token) : undefined;
    if (session) c.set("consoleSession", session);
    await next();
  };
}

/** The CSRF token of the request's session, or of the browser's anonymous secret. */
export async function csrfToken(c: Context<AppEnv>, services: Services): Promise<string> {
  const session = c.get("consoleSession");
  const subject = session
    ? `s:${session.sessionId}`
    : `a:${anonymousSecret(c, () => randomToken(24))}`;
  return toBase64Url(await hmac(await services.pepper.key, `console-csrf:${subject}`));
}

const refused = () =>
  problem("csrf_rejected", {
    detail: "The form did not come from this site, or it has expired: reload the page",
  });

/** The origin and size checks every console POST passes before its body is read. */
function checkPost(c: Context<AppEnv>, maxBytes: number, type: string, what: string): void {
  if (!isTrustedOrigin(c.req.raw, c.get("secure") === true, new Set())) throw refused();
  const length = c.req.header("content-length");
  if (length === undefined || !(Number(length) <= maxBytes)) {
    throw problem("payload_too_large", { detail: `The ${what} is too large` });
  }
  if (!(c.req.header("content-type") ?? "").startsWith(type)) {
    throw problem("unsupported_media_type", { detail: `Send ${type}` });
  }
}

/**
 * A form POST's fields, once it passed the checks: this origin (`Origin` or
 * `Sec-Fetch-Site`), a size within bounds, and the CSRF token of this session.
 */
export async function formOf(
  c: Context<AppEnv>,
  services: Services,
): Promise<Record<string, string>> {
  checkPost(c, MAX_FORM_BYTES, "application/x-www-form-urlencoded", "form");
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(await c.req.text())) {
    if (!(name in fields)) fields[name] = value;
  }
  if (!constantTimeEqual(fields._csrf ?? "", await csrfToken(c, services))) throw refused();
  delete fields._csrf;
  return fields;
}

/** The header a console script sends its page's CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";

/** The largest JSON body the console accepts (a passkey's registration response). */
const MAX_JSON_BYTES = 64 * 1024;

/**
 * A console script's JSON POST (the passkey ceremonies), once it passed the checks of a form:
 * this origin, a size within bounds, and the CSRF token of this session, sent in the
 * {@linkcode CSRF_HEADER} header. Answers the body's object.
 */
export async function jsonOf(
  c: Context<AppEnv>,
  services: Services,
): Promise<Record<string, unknown>> {
  checkPost(c, MAX_JSON_BYTES, "application/json", "request");
  const token = c.req.header(CSRF_HEADER) ?? "";
  if (!constantTimeEqual(token, await csrfToken(c, services))) throw refused();
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw problem("malformed_json", { detail: "The request is not JSON" });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw problem("bad_request", { detail: "Send a JSON object" });
  }
  return body as Record<string, unknown>;
}
