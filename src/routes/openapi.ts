/**
 * `GET /openapi.json`: the OpenAPI 3.1 description of the API, built once from the app's own
 * routes (openapi_document.ts) on first request, so it always describes what is served.
 */
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../app_types.ts";
import { documented } from "../lib/route_docs.ts";
import { type DocumentInfo, openApiDocument } from "./openapi_document.ts";

/** The top of an OpenAPI document (the rest is described by the OpenAPI specification). */
const openApiShape = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

/** The description's route; `app` answers the app it describes (complete by then). */
export function openApiRoutes(app: () => Hono<AppEnv>, info: DocumentInfo) {
  let body: string | undefined;
  return new Hono<AppEnv>().get(
    "/openapi.json",
    documented({
      summary: "This OpenAPI 3.1 description",
      tags: ["service"],
      responses: { 200: { description: "The OpenAPI document", schema: openApiShape } },
    }, (c) => {
      body ??= JSON.stringify(openApiDocument(app() as never, info));
      c.set("publicCache", true);
      return c.body(body, 200, { "content-type": "application/json" });
    }),
  );
}
