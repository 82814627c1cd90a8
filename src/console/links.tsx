/**
 * The pages the email links open (placeholder until they land).
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ConsoleKit } from "./kit.ts";

/** The link pages' routes. */
export function linkRoutes(_kit: ConsoleKit) {
  return new Hono<AppEnv>();
}
