/**
 * The route of `GET /health`: the version and whether the database answers.
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import { pingDatabase } from "../db/ping.ts";
import type { Db } from "../db/schema.ts";

/** `GET /health`: 200 when the database answers, 503 `degraded` when it does not. */
export function healthRoutes(deps: { db: Db; version: string }) {
  return new Hono<AppEnv>().get("/health", async (c) => {
    const ok = await pingDatabase(deps.db);
    return c.json(
      { status: ok ? "ok" : "degraded", version: deps.version, database: ok ? "ok" : "down" },
      ok ? 200 : 503,
    );
  });
}
