import assert from "node:assert/strict";
import { startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { parseRawResponse, rawHttp, rawRequest } from "../support/loopback.ts";
import { generateCertificate } from "../support/tls_cert.ts";

const ENV = {
  APP_ENV: "development",
  JWT_SECRET_KEY: TEST_SECRET,
  ARGON2_MEMORY_KIB: "1024",
  ARGON2_TIME_COST: "1",
};

Deno.test("over plain HTTP an absolute-form `https://` target is not HTTPS: no HSTS, and CSRF expects the http:// origin", async () => {
  await using dir = await tempDir();
  const server = await startServer({ ...ENV, DATABASE_URL: `file:${dir.path}/citadel.db` }, {
    cwd: dir.path,
  });
  try {
    const host = `127.0.0.1:${server.port}`;
    const send = async (method: string, target: string, headers: Record<string, string> = {}) =>
      parseRawResponse(
        await rawHttp(server.port, rawRequest(method, target, { host, ...headers })),
      );

    for (const target of ["/health", `https://${host}/health`, `http://${host}/health`]) {
      const health = await send("GET", target);
      assert.equal(health.status, 200, target);
      assert.equal(health.headers.get("strict-transport-security"), undefined, target);
    }

    // A cookie-authenticated write: CSRF compares Origin with this server's own origin,
    // which over this plain listener is http://, whatever scheme the target names.
    const logout = (origin: string) =>
      send("POST", `https://${host}/api/v1/auth/logout`, {
        cookie: "__Host-citadel_refresh=x",
        origin,
        "content-length": "0",
      });
    const claimedHttps = await logout(`https://${host}`);
    assert.equal(claimedHttps.status, 403);
    assert.equal(JSON.parse(claimedHttps.body).code, "csrf_rejected");
    const sameOrigin = await logout(`http://${host}`);
    assert.equal(sameOrigin.status, 401, "past the CSRF check, refused for want of a token");
  } finally {
    await server.stop();
  }
});

Deno.test("over the TLS listener requests are HTTPS: HSTS is sent", async () => {
  await using dir = await tempDir();
  const { certFile, keyFile, ca } = await generateCertificate(dir.path);
  const server = await startServer({
    ...ENV,
    DATABASE_URL: `file:${dir.path}/citadel.db`,
    TLS_CERT_FILE: certFile,
    TLS_KEY_FILE: keyFile,
  }, { cwd: dir.path });
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const health = await fetch(`https://127.0.0.1:${server.port}/health`, { client });
    assert.equal(health.status, 200);
    assert.match(health.headers.get("strict-transport-security") ?? "", /^max-age=\d+/);
    await health.body?.cancel();
  } finally {
    client.close();
    await server.stop();
  }
});
