import assert from "node:assert/strict";
import { hostMatcher } from "../../src/middleware/host_guard.ts";
import { hardenedApp } from "../support/hardened_app.ts";
import { rawHttp as raw } from "../support/loopback.ts";

async function get(url: string, headers: Record<string, string> = {}, allowedHosts?: string[]) {
  const { app, close } = hardenedApp({ allowedHosts });
  const response = await app.request(url, { headers }, { remoteAddr: { hostname: "127.0.0.1" } });
  const body = await response.json();
  await close();
  return { status: response.status, body, headers: response.headers };
}

const HOSTS: Array<[string, string, Record<string, string>, number]> = [
  ["an allowlisted host", "https://api.example.com/ok", {}, 200],
  ["an allowlisted host in upper case with a trailing dot", "https://api.example.com/ok", {
    host: "API.Example.COM.",
  }, 200],
  ["an allowlisted host with a port", "https://api.example.com:8443/ok", {
    host: "api.example.com:8443",
  }, 200],
  ["the apex of a leading-dot entry", "https://example.org/ok", {}, 200],
  ["a subdomain of a leading-dot entry", "https://a.b.example.org/ok", {}, 200],
  ["a host merely ending in the entry's text", "https://evilexample.org/ok", {}, 400],
  ["a host not in the list", "https://evil.example/ok", {}, 400],
  ["a subdomain of an exact entry", "https://x.api.example.com/ok", {}, 400],
  ["a Host header naming another host than the target", "https://api.example.com/ok", {
    host: "evil.example",
  }, 400],
  ["a target naming another host than the Host header", "https://evil.example/ok", {
    host: "api.example.com",
  }, 400],
  ["merged duplicate Host values", "https://api.example.com/ok", {
    host: "api.example.com, evil.example",
  }, 400],
  ["a Host with userinfo", "https://api.example.com/ok", { host: "user@api.example.com" }, 400],
];
for (const [name, url, headers, status] of HOSTS) {
  Deno.test(`hostGuard(): ${name} -> ${status}`, async () => {
    const result = await get(url, headers);
    assert.equal(result.status, status);
    if (status === 400) {
      assert.equal(result.body.code, "invalid_host");
      assert.equal(result.headers.get("content-type"), "application/problem+json");
      assert.equal(result.headers.get("x-frame-options"), "DENY");
    }
  });
}

Deno.test("hostGuard() with an empty list allows any well-formed host but not a mismatch", async () => {
  assert.equal((await get("https://anything.example/ok", {}, [])).status, 200);
  assert.equal(
    (await get("https://anything.example/ok", { host: "other.example" }, [])).status,
    400,
  );
  assert.equal((await get("https://anything.example/ok", { host: "a b" }, [])).status, 400);
});

// An entry that is not a host name is refused by parseConfig (tests/config_test.ts).
Deno.test("hostMatcher() lets a leading-dot entry allow every subdomain", () => {
  assert.equal(hostMatcher([".example.org"])("deep.sub.example.org"), true);
});

Deno.test("over a real socket, absolute-form targets and duplicate Host headers never reach a route", async () => {
  const { app, hits, close } = hardenedApp();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const port = server.addr.port;
  try {
    const ok = await raw(
      port,
      "GET /ok HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n",
    );
    assert.match(ok, /^HTTP\/1\.1 200 /);
    assert.equal(hits.count, 1);

    const absolute = await raw(
      port,
      "GET http://evil.example/ok HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n",
    );
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    assert.match(absolute, /"code":"invalid_host"/);
    assert.match(absolute, /content-security-policy: default-src 'none'/i);

    const absoluteNoHost = await raw(
      port,
      "GET http://evil.example/ok HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert.match(absoluteNoHost, /^HTTP\/1\.1 400 /);
    assert.match(absoluteNoHost, /"code":"invalid_host"/);

    // Deno's HTTP server refuses duplicate Host headers itself, before the app runs.
    const duplicate = await raw(
      port,
      "GET /ok HTTP/1.1\r\nHost: api.example.com\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert.match(duplicate, /^HTTP\/1\.1 400 /);

    const forged = await raw(
      port,
      "GET /ok HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert.match(forged, /^HTTP\/1\.1 400 /);
    assert.match(forged, /"code":"invalid_host"/);
    assert.equal(hits.count, 1, "no refused request reached the route");
  } finally {
    await server.shutdown();
    await close();
  }
});
