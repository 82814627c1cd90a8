/**
 * `/admin`: the administration pages. Each one reads and acts through the admin API as the
 * signed-in session, so who may see or do what (admin or super admin, least privilege,
 * step-up) is the API's rule and its refusal is what the page shows.
 * @module
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import { apiKeyHandlers } from "./admin_api_keys.tsx";
import { auditExport, auditPage } from "./admin_audit.tsx";
import { checkPage } from "./admin_check.tsx";
import { signingKeysPage } from "./admin_signing_keys.tsx";
import { userDetailHandlers } from "./admin_user_detail.tsx";
import { usersPage } from "./admin_users.tsx";
import type { ConsoleKit } from "./kit.ts";

/** The admin routes, mounted at `/admin`. */
export function adminRoutes(kit: ConsoleKit) {
  const detail = userDetailHandlers(kit);
  const keys = apiKeyHandlers(kit);
  return new Hono<AppEnv>()
    .get("/", (c) => c.redirect("/admin/users", 303))
    .get("/users", usersPage(kit))
    .get("/users/:id", detail.page)
    .post("/users/:id/status", detail.status)
    .post("/users/:id/role", detail.role)
    .post("/users/:id/revoke-sessions", detail.revokeSessions)
    .post("/users/:id/mfa-reset", detail.resetMfa)
    .post("/users/:id/api-keys/:kid/revoke", detail.revokeKey)
    .post("/users/:id/passkeys/:pid/remove", detail.removePasskey)
    .get("/api-keys", keys.page)
    .post("/api-keys/:kid/revoke", keys.revoke)
    .get("/audit", auditPage(kit))
    .get("/audit/export", auditExport(kit))
    .get("/check", checkPage(kit))
    .get("/signing-keys", signingKeysPage(kit));
}
