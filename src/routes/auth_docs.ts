/**
 * What the descriptions of the `/api/v1/auth` routes share (auth.ts and the route files it
 * mounts, which therefore cannot import it from auth.ts without a cycle).
 * @module
 */

/** The cookies a completed login sets, as the description names them. */
export const LOGIN_COOKIES = "The device credential (`__Host-citadel_device`) and, with " +
  "REFRESH_TOKEN_COOKIE on, the refresh token (`__Host-citadel_refresh`); HttpOnly, Secure";

/** The problems of every route behind the per-IP auth limiter. */
export const LIMITED = ["rate_limited", "guard_unavailable"] as const;
