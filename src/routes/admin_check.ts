/**
 * `GET /api/v1/admin/check`: `citadel check`'s report of the running deployment (configuration,
 * files, database), for administrators and the console's check page. `citadel serve` runs the
 * audit (reused for a minute); elsewhere (an edge entry) the route answers 503.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";
import { requireAdmin } from "../middleware/authenticate.ts";

/** `/api/v1/admin/check`. */
export function adminCheckRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get("/", requireAdmin("admin:read"), async (c) => {
    if (!deps.checkReport) {
      throw problem("check_unavailable", {
        detail: "This deployment cannot run the audit itself: run `citadel check` on the host",
      });
    }
    try {
      return c.json(await deps.checkReport());
    } catch (cause) {
      throw problem("check_unavailable", {
        detail: "The audit could not run now: run `citadel check` on the host",
        cause,
      });
    }
  });
}
