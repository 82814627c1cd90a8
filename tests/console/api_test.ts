/**
 * The console's in-process API client: the browser's address and forwarding headers reach the
 * API, the session's token rides as a Bearer, and a path that would walk to another route
 * (`..`, `%2e%2e`) is refused before any call.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../src/app_types.ts";
import { callApi } from "../../src/console/api.ts";
import { AppError } from "../../src/errors.ts";

Deno.test("callApi forwards the client's headers and the Bearer, and refuses dot segments", async () => {
  const seen: Request[] = [];
  const api = new Hono().all("*", (c) => {
    seen.push(c.req.raw);
    return c.json({ path: new URL(c.req.url).pathname });
  });
  const page = new Hono<AppEnv>();
  page.onError((error, c) => c.text(error instanceof AppError ? error.code : "other", 500));
  page.get("/walk/:path{.+}", async (c) => {
    const answer = await callApi(
      (r) => api.fetch(r),
      c,
      "GET",
      `/api/v1/me/${c.req.param("path")}`,
      {
        bearer: "token-1",
      },
    );
    return c.json(answer.body);
  });
  const ok = await page.request("http://citadel.test/walk/sessions", {
    headers: { "user-agent": "ua", "x-forwarded-for": "203.0.113.9", cookie: "secret=1" },
  });
  assert.deepEqual(await ok.json(), { path: "/api/v1/me/sessions" });
  assert.equal(seen[0].headers.get("authorization"), "Bearer token-1");
  assert.equal(seen[0].headers.get("user-agent"), "ua");
  assert.equal(seen[0].headers.get("x-forwarded-for"), "203.0.113.9");
  assert.equal(seen[0].headers.get("cookie"), null, "the browser's cookies stay out");
  for (const path of ["..%2Fadmin", "%2e%2e%2Fadmin", "x/..%2F..%2Fadmin"]) {
    const res = await page.request(`http://citadel.test/walk/${path}`);
    assert.equal(await res.text(), "bad_request", path);
  }
  assert.equal(seen.length, 1, "no walking call reached the API");
});
