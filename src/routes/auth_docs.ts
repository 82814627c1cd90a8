/**
 * What the `/api/v1/auth` routes and their descriptions share (auth.ts and the route files it
 * mounts, which therefore cannot import it from auth.ts without a cycle).
 * @module
 */
import type { ResponseDoc } from "../lib/route_docs.ts";
import { loginOrMfaSchema } from "./response_schemas.ts";

/** Name of the refresh cookie; `__Host-` pins it to this host, path / and Secure. */
export const REFRESH_COOKIE = "__Host-citadel_refresh";

/** The cookies a completed login sets, as the description names them. */
export const LOGIN_COOKIES = "The device credential (`__Host-citadel_device`) and, with " +
  "REFRESH_TOKEN_COOKIE on, the refresh token (`__Host-citadel_refresh`); HttpOnly, Secure";

/** The problems of every route behind the per-IP auth limiter. */
export const LIMITED = ["rate_limited", "guard_unavailable"] as const;

/** The answer of a first factor (password, provider): the session, or the second step's challenge. */
export const LOGIN_OR_MFA: Record<number, ResponseDoc> = {
  200: {
    description: "Signed in, or the second step's challenge",
    schema: loginOrMfaSchema,
    headers: { "Set-Cookie": LOGIN_COOKIES + " (when signed in)" },
  },
};
