import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../src/app_types.ts";
import { requestContext } from "../../src/middleware/request_context.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";

function app(trustedProxies: string[], forwardedHeader?: "x-forwarded-for" | "forwarded") {
  const logger = createLogger({ level: "warn", sinks: [memorySink()] });
  const hono = new Hono<AppEnv>();
  hono.use(requestContext({ logger, trustedProxies, forwardedHeader, now: () => 0 }));
  hono.get("/who", (c) => c.json({ ip: c.get("clientIp"), secure: c.get("secure") }));
  return (ip: string, headers: Record<string, string> = {}, url = "http://api.test/who") =>
    Promise.resolve(hono.request(url, { headers }, { remoteAddr: { hostname: ip } }))
      .then((r) => r.json());
}

Deno.test("requestContext() sets the client IP and secure flag from a trusted proxy only", async () => {
  const who = app(["10.0.0.0/8"]);
  const forwarded = { "x-forwarded-for": "198.51.100.9", "x-forwarded-proto": "https" };
  assert.deepEqual(await who("10.0.0.2", forwarded), { ip: "198.51.100.9", secure: true });
  assert.deepEqual(await who("203.0.113.1", forwarded), { ip: "203.0.113.1", secure: false });
  assert.deepEqual(await who("::ffff:203.0.113.1"), { ip: "203.0.113.1", secure: false });
  assert.deepEqual(await who("203.0.113.1", {}, "https://api.test/who"), {
    ip: "203.0.113.1",
    secure: true,
  });
});

Deno.test("requestContext() with forwardedHeader=forwarded reads RFC 7239 and not X-Forwarded-*", async () => {
  const who = app(["10.0.0.0/8"], "forwarded");
  assert.deepEqual(
    await who("10.0.0.2", {
      forwarded: 'for="[2001:db8::7]:1234";proto=https',
      "x-forwarded-for": "6.6.6.6",
    }),
    { ip: "2001:db8::7", secure: true },
  );
  assert.deepEqual(
    await who("10.0.0.2", { "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https" }),
    { ip: "10.0.0.2", secure: false },
  );
});

Deno.test("requestContext() takes the secure flag from the listener's env, never from the URL it names", async () => {
  const logger = createLogger({ level: "warn", sinks: [memorySink()] });
  const hono = new Hono<AppEnv>();
  hono.use(requestContext({ logger, trustedProxies: ["10.0.0.0/8"], now: () => 0 }));
  hono.get("/who", (c) => c.json(c.get("secure")));
  const cases: Array<[string, string, boolean, Record<string, string>, boolean]> = [
    // [peer, url, listener is TLS, headers, secure]
    ["203.0.113.1", "https://api.test/who", false, {}, false],
    ["203.0.113.1", "http://api.test/who", true, {}, true],
    ["10.0.0.2", "https://api.test/who", false, { "x-forwarded-proto": "http" }, false],
    ["10.0.0.2", "http://api.test/who", false, { "x-forwarded-proto": "https" }, true],
  ];
  for (const [peer, url, tls, headers, secure] of cases) {
    const env = { remoteAddr: { transport: "tcp", hostname: peer, port: 1 }, secure: tls };
    const response = await hono.request(url, { headers }, env);
    assert.equal(await response.json(), secure, `${peer} ${url} tls=${tls}`);
  }
});
