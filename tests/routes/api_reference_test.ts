/**
 * `GET /docs`: the API reference page and its two scripts, served by citadel itself. The page
 * has its own policy (this origin's scripts only, no WebAuthn) and scores A+ on the
 * Observatory rules; Scalar's script is the embedded release, byte for byte (its SHA-384 is
 * the page's integrity value), gzip-compressed for clients that take it and plain for the
 * others; OPENAPI_ENABLED=false turns the page off with the document.
 */
import assert from "node:assert/strict";
import {
  API_REFERENCE_PATH,
  API_REFERENCE_POLICY,
  START_SCRIPT,
} from "../../src/routes/api_reference.ts";
import { SCALAR_INTEGRITY, SCALAR_VERSION } from "../../src/routes/vendor/scalar_release.ts";
import { PERMISSIONS_POLICY } from "../../src/middleware/secure_headers.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { observatoryScore } from "../support/observatory.ts";

const HOST = "https://api.example.com";

function send(t: TestApp, path: string, headers: Record<string, string> = {}) {
  return Promise.resolve(t.app.request(`${HOST}${path}`, { headers }, {
    remoteAddr: { hostname: "203.0.113.9" },
  }));
}

async function sha384(bytes: ArrayBuffer): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-384", bytes));
  return `sha384-${btoa(String.fromCharCode(...hash))}`;
}

Deno.test("the reference page has its own policy, names its scripts with integrity and scores A+", async () => {
  const t = await buildTestApp({ ALLOWED_HOSTS: "api.example.com,localhost" });
  try {
    const res = await send(t, "/docs");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(res.headers.get("content-security-policy"), API_REFERENCE_POLICY);
    assert.match(API_REFERENCE_POLICY, /script-src 'self'; /, "no inline or eval script");
    assert.equal(res.headers.get("permissions-policy"), PERMISSIONS_POLICY, "no WebAuthn here");
    const page = await res.clone().text();
    assert.ok(
      page.includes(`src="/docs/scalar-${SCALAR_VERSION}.js" integrity="${SCALAR_INTEGRITY}"`),
    );
    assert.ok(page.indexOf(API_REFERENCE_PATH.start) < page.indexOf(API_REFERENCE_PATH.scalar));
    assert.doesNotMatch(page, /https?:\/\//, "nothing from another site");
    const score = await observatoryScore({ response: res, https: true });
    assert.ok(score.score >= 100, `${score.score} ${JSON.stringify(score.tests)}`);
    assert.equal(score.grade, "A+");
  } finally {
    await t.close();
  }
});

Deno.test("Scalar's script is the embedded release: gzip when accepted, plain otherwise, same bytes", async () => {
  const t = await buildTestApp();
  try {
    const gzip = await request(t.app, "GET", API_REFERENCE_PATH.scalar, {
      headers: { "accept-encoding": "br, gzip;q=0.8" },
    });
    assert.equal(gzip.status, 200);
    assert.equal(gzip.headers.get("content-encoding"), "gzip");
    assert.match(gzip.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(gzip.headers.get("x-content-type-options"), "nosniff");
    assert.match(gzip.headers.get("cache-control") ?? "", /^public, max-age=\d+$/);
    const unzipped = await new Response(
      gzip.body!.pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer();
    assert.equal(await sha384(unzipped), SCALAR_INTEGRITY, "the release the page names");
    assert.ok(unzipped.byteLength > 1_000_000);

    for (const accept of [undefined, "identity", "gzip;q=0"]) {
      const plain = await request(t.app, "GET", API_REFERENCE_PATH.scalar, {
        headers: accept ? { "accept-encoding": accept } : {},
      });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get("content-encoding"), null, String(accept));
      assert.equal(await sha384(await plain.arrayBuffer()), SCALAR_INTEGRITY, String(accept));
    }

    const start = await request(t.app, "GET", API_REFERENCE_PATH.start);
    assert.equal(start.status, 200);
    assert.match(start.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(await start.text(), START_SCRIPT);
    assert.match(START_SCRIPT, /telemetry: false/);
    assert.match(START_SCRIPT, /withDefaultFonts: false/);
  } finally {
    await t.close();
  }
});

Deno.test("OPENAPI_ENABLED=false turns the reference off with the document: 404 like an unknown route", async () => {
  const t = await buildTestApp({ OPENAPI_ENABLED: "false" });
  try {
    for (const path of Object.values(API_REFERENCE_PATH)) {
      const res = await request(t.app, "GET", path);
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).code, "not_found", path);
    }
  } finally {
    await t.close();
  }
});
