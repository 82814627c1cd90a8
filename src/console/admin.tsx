/**
 * `/admin`: administration pages (placeholder until they land).
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ConsoleKit } from "./kit.ts";

/** The admin routes. */
export function adminRoutes(_kit: ConsoleKit) {
  return new Hono<AppEnv>().get("/", (c) => c.redirect("/admin/users", 303));
}
