/**
 * `GET /metrics`: allowed from METRICS_ALLOWED_IPS (loopback by default) or with
 * METRICS_TOKEN as a Bearer token, either one; anything else gets exactly the answer of an
 * unknown route. Requests are counted by route template, so 10,000 distinct unknown paths
 * (and ids in a path) add no label value; METRICS_ENABLED=false turns the route off.
 */
import assert from "node:assert/strict";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";

const TOKEN = "m".repeat(16) + "-scrape-token-0123456789";

async function scrape(t: TestApp, options: { ip?: string; token?: string } = {}) {
  return await request(t.app, "GET", "/metrics", {
    ip: options.ip,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
}

/** A 404's body without its request id, to compare two answers. */
async function notFound(res: Response) {
  assert.equal(res.status, 404);
  const { request_id: _, ...body } = await res.json();
  return { body, type: res.headers.get("content-type") };
}

/** The label sets of one metric in an exposition. */
function series(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`));
}

Deno.test("a scrape from loopback or with the token is the exposition; anything else is an unknown route", async () => {
  const t = await buildTestApp({ METRICS_TOKEN: TOKEN, NOT_FOUND_MAX_HITS: "1000" });
  try {
    const local = await scrape(t, { ip: "127.0.0.1" });
    assert.equal(local.status, 200);
    assert.equal(local.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.match(await local.text(), /^citadel_build_info\{version="[^"]+",runtime="deno /m);
    assert.equal((await scrape(t, { ip: "::1" })).status, 200);
    assert.equal((await scrape(t, { ip: "203.0.113.7", token: TOKEN })).status, 200);

    const unknown = await notFound(await request(t.app, "GET", "/metricz", { ip: "203.0.113.7" }));
    for (
      const refused of [
        { ip: "203.0.113.7" },
        { ip: "203.0.113.7", token: TOKEN + "x" },
        { ip: "203.0.113.7", token: TOKEN.slice(1) },
        { ip: "10.0.0.1", token: "Bearer" },
      ]
    ) {
      assert.deepEqual(await notFound(await scrape(t, refused)), unknown, JSON.stringify(refused));
    }
  } finally {
    await t.close();
  }
});

Deno.test("METRICS_ALLOWED_IPS replaces loopback; without a token only those addresses scrape", async () => {
  const t = await buildTestApp({ METRICS_ALLOWED_IPS: "10.1.0.0/16" });
  try {
    assert.equal((await scrape(t, { ip: "10.1.2.3" })).status, 200);
    assert.equal((await scrape(t, { ip: "127.0.0.1" })).status, 404);
    assert.equal((await scrape(t, { ip: "10.2.0.1", token: "anything" })).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("requests are counted by route template: 10,000 unknown paths and any ids add no label value", async () => {
  const t = await buildTestApp({ NOT_FOUND_MAX_HITS: "100000" });
  try {
    await request(t.app, "GET", "/health");
    for (const id of [crypto.randomUUID(), crypto.randomUUID(), "x'; drop table users"]) {
      await request(t.app, "GET", `/api/v1/admin/users/${encodeURIComponent(id)}`);
    }
    const before = await (await scrape(t)).text();
    for (let i = 0; i < 10_000; i++) {
      await request(t.app, i % 2 ? "GET" : "POST", `/probe-${i}/${crypto.randomUUID()}`, {
        ip: `198.51.${i % 200}.${i % 250}`,
      });
    }
    const after = await (await scrape(t)).text();
    const labels = (text: string) =>
      series(text, "citadel_http_requests_total").map((line) => line.replace(/ \d+$/, ""));
    const added = labels(after).filter((line) => !labels(before).includes(line));
    // /metrics itself, and the unknown paths under one label per method and status.
    for (const line of added) {
      assert.match(line, /route="(unmatched|\/metrics)"/, line);
    }
    assert.ok(added.length <= 4, added.join("\n"));
    assert.ok(
      labels(after).some((l) => l.includes('route="/api/v1/admin/users/:id",method="GET"')),
      "the admin route under its template",
    );
    assert.ok(!after.includes("probe-"), "no raw path");
    assert.ok(!after.includes("drop table"), "no id");
    assert.match(
      after,
      /^citadel_http_requests_total\{route="unmatched",method="GET",status="404"\} 5000$/m,
    );
  } finally {
    await t.close();
  }
});

Deno.test("METRICS_ENABLED=false: /metrics is an unknown route even from loopback", async () => {
  const t = await buildTestApp({ METRICS_ENABLED: "false" });
  try {
    const res = await scrape(t, { ip: "127.0.0.1" });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).code, "not_found");
  } finally {
    await t.close();
  }
});
