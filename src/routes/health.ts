/**
 * The route of `GET /health`: the version and whether the database answers.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { pingDatabase } from "../db/ping.ts";
import type { Db } from "../db/schema.ts";
import { documented } from "../lib/route_docs.ts";

const health = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  database: z.enum(["ok", "down"]),
});

/** `GET /health`: 200 when the database answers, 503 `degraded` when it does not. */
export function healthRoutes(deps: { db: Db; version: string }) {
  return new Hono<AppEnv>().get(
    "/health",
    documented({
      summary: "Whether citadel and its database answer",
      tags: ["service"],
      responses: {
        200: { description: "citadel and its database answer", schema: health },
        503: { description: "The database does not answer", schema: health },
      },
    }, async (c) => {
      const ok = await pingDatabase(deps.db);
      return c.json(
        { status: ok ? "ok" : "degraded", version: deps.version, database: ok ? "ok" : "down" },
        ok ? 200 : 503,
      );
    }),
  );
}
