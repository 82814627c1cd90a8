/**
 * The kinds of credential the guard's route tables try on every route, in their column order:
 * nobody, a user's fresh session, a user's stale session, the user's API key with every user
 * scope, a key without the route's scope, an admin's fresh session, an admin's key with the
 * admin scopes.
 */
export const CREDENTIALS = [
  "nobody",
  "user session",
  "user stale session",
  "user key (all user scopes)",
  "key without the scope",
  "admin session",
  "admin key (admin scopes)",
] as const;

/** One kind of credential of {@linkcode CREDENTIALS}. */
export type Credential = typeof CREDENTIALS[number];

/** The scopes the user's "all user scopes" key holds. */
export const ALL_USER_SCOPES = ["me:read", "me:write", "api_keys:read", "api_keys:write"];

/** The routes under /api/v1/ of an app's route list that `pick` selects, as sorted `METHOD /path` lines. */
export function servedRoutes(
  routes: ReadonlyArray<{ method: string; path: string }>,
  pick: (path: string) => boolean,
): string[] {
  return [
    ...new Set(
      routes.filter((r) => r.path.startsWith("/api/v1/") && r.method !== "ALL" && pick(r.path))
        .map((r) => `${r.method} ${r.path}`),
    ),
  ].sort();
}
