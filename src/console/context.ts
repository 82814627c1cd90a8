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
    c.set("pagePolicy", pagePolicy(nonce));
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

/**
 * A form POST's fields, once it passed the checks: this origin (`Origin` or
 * `Sec-Fetch-Site`), a size within bounds, and the CSRF token of this session.
 */
export async function formOf(
  c: Context<AppEnv>,
  services: Services,
): Promise<Record<string, string>> {
  if (!isTrustedOrigin(c.req.raw, c.get("secure") === true, new Set())) throw refused();
  const length = c.req.header("content-length");
  if (length === undefined || !(Number(length) <= MAX_FORM_BYTES)) {
    throw problem("payload_too_large", { detail: "The form is too large" });
  }
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw problem("unsupported_media_type", { detail: "Forms only" });
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(await c.req.text())) {
    if (!(name in fields)) fields[name] = value;
  }
  if (!constantTimeEqual(fields._csrf ?? "", await csrfToken(c, services))) throw refused();
  delete fields._csrf;
  return fields;
}
