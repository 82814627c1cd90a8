/**
 * `GET /api/v1/admin/check`: `citadel check`'s report of the running deployment (configuration,
 * files, database), for administrators and the console's check page. `citadel serve` runs the
 * audit (reused for a minute); elsewhere (an edge entry) the route answers 503.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../app_types.ts";
import { problem } from "../errors.ts";
import { documented } from "../lib/route_docs.ts";
import { requireAdmin } from "../middleware/authenticate.ts";
// The schema of `citadel check --json`: the route answers that document.
import { CheckReportSchema } from "../lib/check_report_schema.ts";

// What answers before the route: ADMIN_ALLOWED_IPS hides the admin routes from elsewhere as an
// unknown route (404 not_found).
const BEFORE_ROUTE = ["not_found"];

/** `/api/v1/admin/check`. */
export function adminCheckRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get(
    "/",
    requireAdmin("admin:read"),
    documented({
      summary: "Audit the running deployment as `citadel check` does",
      description: "The report of `citadel check --json`, reused for a minute. A deployment " +
        "that cannot run the audit itself (an edge entry) answers 503 check_unavailable.",
      tags: ["admin"],
      responses: { 200: { description: "The check report", schema: CheckReportSchema } },
      errors: [...BEFORE_ROUTE, "check_unavailable"],
    }, async (c) => {
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
    }),
  );
}
