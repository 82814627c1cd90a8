/**
 * `GET /openapi.json`: an OpenAPI 3.1 document that validates against the specification's
 * schema, describes every API route the app serves (enumerated from the app, so a new route
 * cannot be left out), takes its request schemas from the validators and its security from
 * the one guard, and is 404 with OPENAPI_ENABLED=false.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { docOf } from "../../src/lib/route_docs.ts";
import { isApiPath } from "../../src/routes/openapi_document.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { checkAgainstDocument } from "../support/openapi_check.ts";

/** The formats JSON Schema 2020-12 and OpenAPI 3.1 define. */
const STANDARD_FORMATS = new Set([
  "date-time",
  "date",
  "time",
  "duration",
  "email",
  "idn-email",
  "hostname",
  "idn-hostname",
  "ipv4",
  "ipv6",
  "uri",
  "uri-reference",
  "iri",
  "iri-reference",
  "uuid",
  "uri-template",
  "json-pointer",
  "relative-json-pointer",
  "regex",
  "int32",
  "int64",
  "float",
  "double",
  "password",
]);

async function documentOf(t: TestApp) {
  const res = await request(t.app, "GET", "/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

Deno.test("the document is OpenAPI 3.1 and valid against the specification's schema", async () => {
  const t = await buildTestApp();
  try {
    const doc = await documentOf(t);
    assert.equal(doc.openapi, "3.1.0");
    const result = await new Validator().validate(doc);
    assert.deepEqual(result, { valid: true }, JSON.stringify(result.errors?.slice(0, 5)));
    // Only formats JSON Schema defines (zod's own, like "starts_with", make tools warn).
    const formats = new Set(
      [...JSON.stringify(doc).matchAll(/"format":"([^"]+)"/g)].map((m) => m[1]),
    );
    assert.deepEqual([...formats].filter((f) => !STANDARD_FORMATS.has(f)), []);
  } finally {
    await t.close();
  }
});

Deno.test("every API route the app serves is in the document with its method, and the console's pages are not", async () => {
  const t = await buildTestApp({
    OAUTH_PROVIDERS: "acme",
    OAUTH_ACME_ISSUER: "https://id.acme.example",
    OAUTH_ACME_CLIENT_ID: "a",
    OAUTH_ACME_CLIENT_SECRET: "b",
  });
  try {
    const doc = await documentOf(t);
    const served = new Set(
      t.app.routes.filter((r) => r.method !== "ALL" && isApiPath(r.path))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const described = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>)
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)),
    );
    assert.ok(served.size > 60, `the app serves ${served.size} API routes`);
    assert.deepEqual([...served].filter((r) => !described.has(r)), [], "missing from the document");
    assert.deepEqual([...described].filter((r) => !served.has(r)), [], "described, not served");
    for (const path of Object.keys(doc.paths)) {
      assert.doesNotMatch(path, /^\/(account|admin|console|docs)(\/|$)/, path);
    }
    assert.ok(doc.paths["/api/v1/auth/oauth/{provider}/start"]?.get, "social sign-in is in");
    const tags = new Set(doc.tags.map((tag: { name: string }) => tag.name));
    for (
      const [path, ops] of Object.entries(
        doc.paths as Record<string, Record<string, { tags: string[] }>>,
      )
    ) {
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(op.tags.every((tag: string) => tags.has(tag)), `${method} ${path}: ${op.tags}`);
      }
    }

    // Every operation has its own words and responses (documented()), so every answer the
    // route tests receive is checked against the document.
    const documentedRoutes = new Set(
      t.app.routes.filter((r) => docOf(r.handler)?.kind === "operation")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    assert.deepEqual([...served].filter((r) => !documentedRoutes.has(r)), [], "not documented()");
  } finally {
    await t.close();
  }
});

Deno.test("request schemas come from the validators and security from the one guard, with its scope and problems", async () => {
  const t = await buildTestApp();
  try {
    const { paths } = await documentOf(t);
    const login = paths["/api/v1/auth/login"].post;
    const body = login.requestBody.content["application/json"].schema;
    assert.deepEqual(body.required, ["email", "password"]);
    assert.deepEqual(login.security, []);
    assert.ok(login.responses["422"], "a validated body can be 422");

    const me = paths["/api/v1/me"].get;
    assert.deepEqual(me.security, [{ bearer: [] }, { apiKey: ["me:read"] }]);
    const forbidden = me.responses["403"].content["application/problem+json"].schema.allOf[1];
    assert.ok(forbidden.properties.code.enum.includes("insufficient_scope"));
    assert.ok(me.responses["401"]);

    const link = paths["/api/v1/me/identities/link"].post;
    assert.deepEqual(link.security, [{ bearer: [] }], "session only: no API key");
    const unlink = paths["/api/v1/me/identities/{id}"].delete;
    assert.equal(unlink.parameters[0].name, "id");
    assert.equal(unlink.parameters[0].in, "path");
    const codes = unlink.responses["403"].content["application/problem+json"].schema.allOf[1]
      .properties.code.enum;
    assert.ok(codes.includes("reauthentication_required"), "a fresh sign-in is needed");
  } finally {
    await t.close();
  }
});

Deno.test("with OPENAPI_ENABLED=false the document is 404 like an unknown route", async () => {
  const t = await buildTestApp({ OPENAPI_ENABLED: "false" });
  try {
    const res = await request(t.app, "GET", "/openapi.json");
    assert.equal(res.status, 404);
    assert.equal((await res.json()).code, "not_found");
  } finally {
    await t.close();
  }
});

Deno.test("answers are checked against the document: an unlisted status, another content type or a body off its schema is refused", async () => {
  const t = await buildTestApp();
  try {
    const ok = await request(t.app, "GET", "/health");
    assert.equal(ok.status, 200, "a documented answer passes the check");
    const json = { "content-type": "application/json" };
    const cases: Array<[Response, RegExp]> = [
      [new Response("{}", { status: 418, headers: json }), /does not list/],
      [new Response("ok", { status: 200, headers: { "content-type": "text/plain" } }), /as text/],
      [
        new Response(JSON.stringify({ status: "fine", version: "1", database: "ok" }), {
          status: 200,
          headers: json,
        }),
        /does not match/,
      ],
      [
        new Response(
          JSON.stringify({ type: "x", title: "x", status: 500, detail: "x", code: "nope" }),
          {
            status: 500,
            headers: { "content-type": "application/problem+json" },
          },
        ),
        /does not match/,
      ],
    ];
    for (const [response, error] of cases) {
      await assert.rejects(
        checkAgainstDocument(t.app as never, "GET", "/health", response),
        error,
      );
    }
  } finally {
    await t.close();
  }
});
