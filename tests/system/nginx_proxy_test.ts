/**
 * The nginx example (scripts/deploy/nginx/citadel.conf) in front of a real citadel:
 * TLS at nginx, the client address and scheme forwarded, and TRUSTED_PROXIES matching
 * only nginx. Needs `nginx` and `curl` (installed by .ci/run). To tell nginx's hop from
 * a client, nginx connects from 127.0.0.2 (proxy_bind, test-only) and the client from
 * 127.0.0.3; citadel trusts 127.0.0.2 only.
 */
import assert from "node:assert/strict";
import { startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { generateCertificate } from "../support/tls_cert.ts";
import { waitForLine } from "../support/spawned_server.ts";

const EXAMPLE = new URL("../../scripts/deploy/nginx/citadel.conf", import.meta.url).pathname;
// The test certificate is for localhost; the example's api.example.com is renamed to it.
const HOST = "localhost";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The example, pointed at test ports, certificate and files; nothing else changes. */
function testConfig(example: string, dir: string, ports: Record<string, number>, tls: {
  certFile: string;
  keyFile: string;
}): string {
  const site = example
    .replaceAll("api.example.com", HOST)
    .replace("server 127.0.0.1:8000;", `server 127.0.0.1:${ports.citadel};`)
    .replaceAll(/^\s*listen \[::\].*$/gm, "")
    .replace("listen 80;", `listen 127.0.0.1:${ports.http};`)
    .replace("listen 443 ssl http2;", `listen 127.0.0.1:${ports.https} ssl http2;`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${tls.certFile};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${tls.keyFile};`)
    .replace(
      "proxy_pass http://citadel;",
      "proxy_pass http://citadel;\n        proxy_bind 127.0.0.2;",
    );
  assert.ok(site.includes(`listen 127.0.0.1:${ports.https} ssl`), "the example's listen changed");
  return `daemon off;
master_process off;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}

async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "-D", "-", "--interface", "127.0.0.3", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const [headers, ...rest] = text.split("\r\n\r\n");
  return {
    status: Number(headers.split(" ")[1]),
    headers: headers.toLowerCase(),
    body: rest.join(""),
  };
}

Deno.test("nginx example: TLS at nginx, client address and HTTPS forwarded only through the trusted hop", async () => {
  await using dir = await tempDir();
  const ports = { citadel: freePort(), http: freePort(), https: freePort() };
  const tls = await generateCertificate(dir.path);
  const citadel = await startServer({
    APP_ENV: "production",
    PORT: String(ports.citadel),
    JWT_SECRET_KEY: TEST_SECRET,
    HASH_PEPPER: `${TEST_SECRET}-pepper`,
    DATABASE_URL: `file:${dir.path}/citadel.db`,
    ALLOWED_HOSTS: HOST,
    TRUSTED_PROXIES: "127.0.0.2",
    TRUSTED_PROXY_HEADER: "x-forwarded-for",
    LOG_LEVEL: "info",
  }, { cwd: dir.path });
  const conf = `${dir.path}/nginx.conf`;
  await Deno.writeTextFile(
    conf,
    testConfig(await Deno.readTextFile(EXAMPLE), dir.path, ports, tls),
  );
  // Foreground, single process (daemon off, master_process off): SIGQUIT stops it.
  const nginx = new Deno.Command("nginx", {
    args: ["-c", conf, "-p", dir.path, "-e", "stderr"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await waitForPort(ports.https);
    const resolve = ["--resolve", `${HOST}:${ports.https}:127.0.0.1`, "--cacert", tls.caFile];
    const viaNginx = await curl([
      ...resolve,
      "-H",
      "x-forwarded-for: 6.6.6.6",
      `https://${HOST}:${ports.https}/health`,
    ]);
    assert.equal(viaNginx.status, 200, viaNginx.body);
    assert.match(viaNginx.headers, /strict-transport-security: max-age=\d+; includesubdomains/);
    const line = await waitForLine(citadel.output, /"msg":"request".*"path":"\/health"/);
    assert.equal(
      JSON.parse(line).client_ip,
      "127.0.0.3",
      "the forged X-Forwarded-For was replaced",
    );

    const redirect = await curl([`http://127.0.0.1:${ports.http}/health`, "-H", `host: ${HOST}`]);
    assert.equal(redirect.status, 301);
    assert.match(redirect.headers, new RegExp(`location: https://${HOST}/health`));

    // Straight to citadel, not through nginx: the same headers are ignored.
    const direct = await curl([
      "-H",
      `host: ${HOST}`,
      "-H",
      "x-forwarded-for: 6.6.6.6",
      "-H",
      "x-forwarded-proto: https",
      `http://127.0.0.1:${ports.citadel}/health`,
    ]);
    assert.equal(direct.status, 200, direct.body);
    assert.doesNotMatch(direct.headers, /strict-transport-security/);
    // Log lines are batched: wait for the direct request's line too.
    const health = /"msg":"request".*"path":"\/health"/;
    for (let i = 0; i < 100 && citadel.output.filter((l) => health.test(l)).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const logged = citadel.output.filter((l) => health.test(l)).map((l) => JSON.parse(l));
    assert.deepEqual(logged.map((entry) => entry.client_ip), ["127.0.0.3", "127.0.0.3"]);
  } finally {
    nginx.kill("SIGQUIT");
    await nginx.stderr.cancel();
    await nginx.status;
    await citadel.stop();
  }
});
