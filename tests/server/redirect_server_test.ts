import assert from "node:assert/strict";
import { redirectHandler } from "../../src/server/redirect_server.ts";

const handler = redirectHandler({
  httpsPort: 443,
  allowedHosts: ["api.example.com", ".example.org"],
});

function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  return handler(new Request(url, { headers, method }));
}

Deno.test("redirectHandler() sends 301 to the same host and path on HTTPS, leaving out port 443", () => {
  const cases: Array<[string, string]> = [
    ["http://api.example.com/", "https://api.example.com/"],
    ["http://api.example.com/api/v1/me?x=1&y=%20z", "https://api.example.com/api/v1/me?x=1&y=%20z"],
    ["http://API.example.com:8080/a//b", "https://api.example.com/a//b"],
    ["http://sub.example.org/health", "https://sub.example.org/health"],
  ];
  for (const [from, to] of cases) {
    const response = get(from);
    assert.equal(response.status, 301, from);
    assert.equal(response.headers.get("location"), to);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("strict-transport-security"), null);
  }
  assert.equal(get("http://api.example.com/x", {}, "POST").status, 301);
});

Deno.test("redirectHandler() keeps a non-default HTTPS port", () => {
  const other = redirectHandler({ httpsPort: 8443, allowedHosts: [] });
  const response = other(new Request("http://localhost:8080/p?q=1"));
  assert.equal(response.headers.get("location"), "https://localhost:8443/p?q=1");
});

Deno.test("redirectHandler() refuses hosts outside the allowlist instead of redirecting there", async () => {
  for (
    const [url, headers] of [
      ["http://evil.example/", {}],
      ["http://api.example.com/", { host: "evil.example" }],
      ["http://evil.example/", { host: "api.example.com" }],
      ["http://api.example.com/", { host: "api.example.com, evil.example" }],
    ] as Array<[string, Record<string, string>]>
  ) {
    const response = get(url, headers);
    assert.equal(response.status, 400, `${url} ${JSON.stringify(headers)}`);
    assert.equal(response.headers.get("location"), null);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    assert.equal((await response.json()).code, "invalid_host");
  }
});
