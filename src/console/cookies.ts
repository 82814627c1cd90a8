/**
 * The console's cookies: the session (`__Host-citadel_console`) and, before sign-in, the
 * anonymous CSRF secret (`__Host-citadel_csrf`). Both `__Host-`: Secure, path /, no Domain;
 * HttpOnly and SameSite=Strict. Browsers accept Secure cookies on http://localhost, so plain
 * HTTP works for development there.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app_types.ts";
import { CONSOLE_ABSOLUTE_MS } from "../services/console_sessions.ts";

/** The console session's cookie. */
export const SESSION_COOKIE = "__Host-citadel_console";
/** The anonymous forms' CSRF secret. */
export const CSRF_COOKIE = "__Host-citadel_csrf";

const base = { httpOnly: true, secure: true, sameSite: "Strict", path: "/" } as const;

/** Sets the session cookie; it lives as long as the session may (12 h). */
export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { ...base, maxAge: CONSOLE_ABSOLUTE_MS / 1000 });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
}

/** The session cookie's value, if any. */
export const sessionCookie = (c: Context<AppEnv>) => getCookie(c, SESSION_COOKIE);

/** The anonymous CSRF secret, set now when the browser has none. */
export function anonymousSecret(c: Context<AppEnv>, fresh: () => string): string {
  const existing = getCookie(c, CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{22,64}$/.test(existing)) return existing;
  const secret = fresh();
  setCookie(c, CSRF_COOKIE, secret, { ...base, maxAge: 12 * 3600 });
  return secret;
}
