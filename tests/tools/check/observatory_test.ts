import assert from "node:assert/strict";
import { internalLeaks } from "../../../src/tools/check/live_probe.ts";
import {
  classifyRedirection,
  gradeObservatory,
  type ObservedResponse,
} from "../../../src/tools/check/observatory.ts";

function page(
  headers: Record<string, string>,
  body = "",
  url = "https://api.example.com/",
): ObservedResponse {
  return { url, status: 200, headers: new Headers(headers), body };
}

function result(response: ObservedResponse, test: string): string {
  return gradeObservatory({ response }).tests.find((t) => t.name === test)!.result;
}

Deno.test("classifyRedirection() grades the plain-HTTP entry as the Observatory does", () => {
  const cases: Array<[string[] | undefined, string, number]> = [
    [undefined, "redirection-not-needed-no-http", 0],
    [["http://a.example/"], "redirection-missing", -20],
    [["http://a.example/", "https://a.example/"], "redirection-to-https", 0],
    [["http://a.example/", "https://b.example/"], "redirection-off-host-from-http", -5],
    [
      ["http://a.example/", "http://www.a.example/", "https://www.a.example/"],
      "redirection-not-to-https-on-initial-redirection",
      -10,
    ],
    [["http://a.example/", "http://www.a.example/"], "redirection-not-to-https", -20],
  ];
  for (const [visited, expected, modifier] of cases) {
    assert.deepEqual(
      classifyRedirection(visited),
      { result: expected, modifier },
      JSON.stringify(visited),
    );
  }
});

Deno.test("gradeObservatory() reads nonces, strict-dynamic and style-only unsafe sources in CSP", () => {
  const csp = (policy: string) =>
    result(page({ "content-security-policy": policy }), "content-security-policy");
  assert.equal(
    csp("default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic' https: 'unsafe-inline'"),
    "csp-implemented-with-no-unsafe",
  );
  assert.equal(csp("script-src 'strict-dynamic'; object-src 'none'"), "csp-header-invalid");
  assert.equal(
    csp("default-src 'self'; style-src 'unsafe-inline'"),
    "csp-implemented-with-unsafe-inline-in-style-src-only",
  );
  assert.equal(
    csp("default-src 'self'; script-src 'self' http://cdn.example"),
    "csp-implemented-with-insecure-scheme",
  );
  assert.equal(csp("default-src 'none'"), "csp-implemented-with-no-unsafe-default-src-none");
});

Deno.test("gradeObservatory() scores scripts on HTML pages by origin, transport and integrity", () => {
  const html = { "content-type": "text/html; charset=utf-8" };
  const sri = (body: string) => result(page(html, body), "subresource-integrity");
  assert.equal(sri("<p>hi</p>"), "sri-not-implemented-but-no-scripts-loaded");
  assert.equal(
    sri('<script src="/app.js"></script>'),
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
  );
  assert.equal(
    sri('<script src="http://cdn.example/x.js"></script>'),
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
  );
  assert.equal(
    sri('<script src="https://cdn.example/x.js" integrity="sha384-abc" crossorigin></script>'),
    "sri-implemented-and-external-scripts-loaded-securely",
  );
});

Deno.test("gradeObservatory() adds bonuses only while the penalised score is 90 or more", () => {
  const strong = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "same-origin",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
  };
  assert.equal(gradeObservatory({ response: page(strong) }).score, 130);
  const noHsts = { ...strong, "strict-transport-security": "max-age=300" };
  assert.equal(gradeObservatory({ response: page(noHsts) }).score, 120);
  const plain = gradeObservatory({ response: page(strong, "", "http://api.example.com/") });
  assert.equal(plain.score, 80, "-20 for no HTTPS leaves 80: no bonus");
  assert.equal(plain.grade, "B+");
});

Deno.test("internalLeaks() spots stacks, SQL and paths, and passes a problem+json answer", () => {
  assert.deepEqual(
    internalLeaks(
      500,
      "SyntaxError: Unexpected end of JSON input\n    at JSON.parse (<anonymous>)\n    at handler (/srv/app/server.js:42:7)",
    ),
    [
      "a stack trace",
      "an exception class name",
      "a server file path",
      "a source file name",
      "status 500 instead of 400",
    ],
  );
  assert.deepEqual(internalLeaks(400, 'SQLITE_ERROR: near "FROM": syntax error'), ["SQL"]);
  assert.deepEqual(
    internalLeaks(
      400,
      '{"type":"https://citadel.dev/problems/malformed-json","status":400,"code":"malformed_json"}',
    ),
    [],
  );
});
