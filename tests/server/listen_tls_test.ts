import assert from "node:assert/strict";
import { redirectServer } from "../../src/server/redirect_server.ts";
import { startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { observatoryScore } from "../support/observatory.ts";
import { generateCertificate, openssl } from "../support/tls_cert.ts";

async function rawHttp(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text));
  const out: string[] = [];
  const buf = new Uint8Array(8192);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    out.push(new TextDecoder().decode(buf.subarray(0, n)));
  }
  conn.close();
  return out.join("");
}

Deno.test({
  name:
    "serve with TLS_CERT_FILE/TLS_KEY_FILE speaks HTTPS, TLS 1.2 and 1.3 only, and the redirect listener sends HTTP to it",
  async fn() {
    await using dir = await tempDir();
    const { certFile, keyFile, ca } = await generateCertificate(dir.path);
    const server = await startServer({
      APP_ENV: "development",
      DATABASE_URL: `file:${dir.path}/citadel.db`,
      JWT_SECRET_KEY: TEST_SECRET,
      TLS_CERT_FILE: certFile,
      TLS_KEY_FILE: keyFile,
      ARGON2_MEMORY_KIB: "1024",
      ARGON2_TIME_COST: "1",
    }, { cwd: dir.path });
    const client = Deno.createHttpClient({ caCerts: [ca] });
    let listener: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      assert.ok(server.output.some((l) => l.includes(`"url":"https://127.0.0.1:${server.port}"`)));
      const health = await fetch(`https://127.0.0.1:${server.port}/health`, { client });
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");

      const target = `127.0.0.1:${server.port}`;
      const tls11 = await openssl([
        "s_client",
        "-connect",
        target,
        "-tls1_1",
        "-cipher",
        "DEFAULT@SECLEVEL=0",
      ]);
      assert.notEqual(tls11.code, 0, "a TLS 1.1 handshake must fail");
      assert.match(
        tls11.output,
        /alert|wrong version|unsupported protocol/i,
        "the server refused it",
      );
      assert.match(tls11.output, /no peer certificate available/);
      assert.match(tls11.output, /Cipher is \(NONE\)/);
      const tls12 = await openssl(["s_client", "-connect", target, "-tls1_2"]);
      assert.equal(tls12.code, 0, tls12.output);
      assert.match(tls12.output, /New, TLSv1\.2, Cipher is [A-Z0-9-]+/);
      const tls13 = await openssl(["s_client", "-connect", target, "-tls1_3"]);
      assert.equal(tls13.code, 0, tls13.output);
      assert.match(tls13.output, /New, TLSv1\.3, Cipher is TLS_[A-Z0-9_]+/);

      listener = redirectServer({
        hostname: "127.0.0.1",
        port: 0,
        httpsPort: server.port,
        allowedHosts: ["localhost", "127.0.0.1"],
      });
      const redirectPort = listener.addr.port;
      const moved = await fetch(`http://127.0.0.1:${redirectPort}/health?probe=1`, {
        redirect: "manual",
      });
      await moved.body?.cancel();
      assert.equal(moved.status, 301);
      const location = moved.headers.get("location")!;
      assert.equal(location, `https://127.0.0.1:${server.port}/health?probe=1`);
      assert.equal(moved.headers.get("strict-transport-security"), null);
      const score = await observatoryScore({
        response: health,
        https: true,
        httpResponse: moved,
        host: "127.0.0.1",
      });
      assert.equal(score.tests["redirection"].result, "redirection-to-https");
      const followed = await fetch(location, { client });
      assert.equal(followed.status, 200);
      await followed.body?.cancel();

      const forged = await rawHttp(
        redirectPort,
        "GET /x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
      );
      assert.match(forged, /^HTTP\/1\.1 400 /);
      assert.match(forged, /"code":"invalid_host"/);
      assert.doesNotMatch(forged, /location:/i);
    } finally {
      await listener?.shutdown();
      client.close();
      await server.stop();
    }
  },
});
