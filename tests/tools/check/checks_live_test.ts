import assert from "node:assert/strict";
import { HOSTILE_ORIGIN } from "../../../src/tools/check/live_probe.ts";
import { CheckReportSchema } from "../../../src/lib/check_report_schema.ts";
import { startServer, tempDir, TEST_ENV } from "../../support/helpers.ts";
import { generateCertificate } from "../../support/tls_cert.ts";
import { hardenedDeployment, significant } from "../../support/check_deployment.ts";

const LIVE_IDS = /^CIT-08\d$/;

function liveFindings(findings: { id: string; severity: string }[]): string[] {
  return significant(findings.filter((f) => LIVE_IDS.test(f.id)) as never);
}

/** A server with every mistake --url looks for. */
function insecureServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const headers = new Headers({ server: "Apache/2.2.15 (CentOS)", "x-powered-by": "PHP/5.4" });
    const origin = request.headers.get("origin");
    if (origin) {
      headers.set("access-control-allow-origin", origin);
      headers.set("access-control-allow-credentials", "true");
    }
    if (url.pathname === "/.env") {
      return new Response("JWT_SECRET_KEY=changeme\nDATABASE_URL=postgres://app:app@db/app\n", {
        headers,
      });
    }
    if (url.pathname === "/.git/config") {
      return new Response("[core]\n\trepositoryformatversion = 0\n", { headers });
    }
    if (request.method === "POST") {
      try {
        JSON.parse(await request.text());
      } catch (error) {
        return new Response(
          String((error as Error).stack) + "\n    at handler (/srv/app/server.js:42:7)",
          {
            status: 500,
            headers,
          },
        );
      }
    }
    return new Response("ok", { headers });
  });
}

Deno.test("check --url flags every mistake of a deliberately insecure server", async () => {
  await using d = await hardenedDeployment();
  await using server = insecureServer();
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const { report, exitCode } = await d.check({ url });
  CheckReportSchema.parse(report);
  assert.deepEqual(liveFindings(report.findings), [
    "CIT-081 medium",
    "CIT-082 high",
    "CIT-083 critical",
    "CIT-083 critical",
    "CIT-085 critical",
    "CIT-086 critical",
    "CIT-087 high",
    "CIT-087 high",
    "CIT-088 low",
    "CIT-088 low",
    "CIT-089 high",
  ]);
  assert.equal(exitCode, 1);
  // No CSP -25, universal CORS -50, no redirect -20, no HSTS -20, no nosniff -5, no XFO -20.
  assert.equal(report.observatory?.score, 0);
  assert.equal(report.observatory?.grade, "F");
  const failing = report.observatory!.tests.filter((t) => !t.pass).map((t) => t.result).sort();
  assert.deepEqual(failing, [
    "cross-origin-resource-sharing-implemented-with-universal-access",
    "csp-not-implemented",
    "hsts-not-implemented-no-https",
    "redirection-missing",
    "x-content-type-options-not-implemented",
    "x-frame-options-not-implemented",
  ]);
  const leak = report.findings.find((f) => f.id === "CIT-087")!;
  assert.match(leak.found, /status 500/);
  assert.match(leak.found, /a stack trace/);
  assert.match(leak.found, /an exception class name/);
  assert.ok(
    report.findings.some((f) => f.id === "CIT-088" && f.found === "Server: Apache/2.2.15 (CentOS)"),
  );
  assert.ok(report.findings.some((f) => f.id === "CIT-083" && f.found.includes(HOSTILE_ORIGIN)));
});

Deno.test("check --url finds nothing wrong with a real citadel over plain HTTP but the missing TLS", async () => {
  await using d = await hardenedDeployment();
  await using dir = await tempDir();
  const server = await startServer({
    ...TEST_ENV,
    LOG_LEVEL: "info",
    DATABASE_URL: `file:${dir.path}/c.db`,
  }, { cwd: dir.path });
  try {
    const { report } = await d.check({ url: `${server.url}/health` });
    CheckReportSchema.parse(report);
    assert.deepEqual(liveFindings(report.findings), [
      "CIT-081 medium",
      "CIT-082 high",
      "CIT-089 high",
    ]);
    const failing = report.observatory!.tests.filter((t) => !t.pass).map((t) => t.result).sort();
    assert.deepEqual(failing, ["hsts-not-implemented-no-https", "redirection-missing"]);
    assert.equal(report.observatory!.score, 60);
    assert.ok(report.findings.some((f) => f.id === "CIT-080" && /scores 60 \(C\+\)/.test(f.found)));
  } finally {
    await server.stop();
  }
});

Deno.test("check --url grades a real citadel over TLS A+ with no live finding", async () => {
  await using d = await hardenedDeployment();
  await using dir = await tempDir();
  const { ca, certFile, keyFile } = await generateCertificate(dir.path);
  const server = await startServer({
    ...TEST_ENV,
    LOG_LEVEL: "info",
    DATABASE_URL: `file:${dir.path}/c.db`,
    TLS_CERT_FILE: certFile,
    TLS_KEY_FILE: keyFile,
  }, { cwd: dir.path });
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const trusting: typeof fetch = (input, init) => fetch(input, { ...init, client });
    const { report } = await d.check({
      url: `https://127.0.0.1:${server.port}/health`,
      fetch: trusting,
    });
    CheckReportSchema.parse(report);
    assert.deepEqual(liveFindings(report.findings), []);
    assert.equal(report.observatory!.grade, "A+");
    // 100 + CSP default-src 'none' 10 + Referrer-Policy 5 + frame-ancestors 5 + CORP 10.
    assert.equal(report.observatory!.score, 130);
    const hsts = report.observatory!.tests.find((t) => t.name === "strict-transport-security");
    assert.equal(hsts?.result, "hsts-implemented-max-age-at-least-six-months");
  } finally {
    client.close();
    await server.stop();
  }
});
