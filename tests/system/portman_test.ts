/**
 * Issue 22's independent fuzzer: Portman (npm `@apideck/portman`, run by `newman`) builds a
 * Postman collection from the live server's GET /openapi.json, with a contract test for every
 * operation and fuzzing variations of every request body and query (required fields removed,
 * lengths and bounds exceeded), and newman sends it with a super admin's token. No assertion
 * may fail: each operation answers its planned status with the documented content type and
 * schema (tests/support/portman_plans.ts), every answer is one the document lists for its
 * status, every fuzzed request gets a 4xx, nothing gets a 5xx. The counts are printed for the
 * issue note. PORTMAN_KEEP=<dir> keeps a copy of the run's files (document, configuration,
 * collection, newman's report); PORTMAN_VERBOSE=1 also lists the dropped variations.
 */
import assert from "node:assert/strict";
import { startServer, tempDir, TEST_ENV, TEST_SECRET } from "../support/helpers.ts";
import {
  checkedAs,
  failuresOf,
  isFuzzed,
  operationOf,
  requirePortman,
  runPortman,
  statusCounts,
} from "../support/portman.ts";
import { fuzzableOperations, operationsOf, portmanConfig } from "../support/portman_config.ts";
import { documentCheckScript } from "../support/portman_document_check.ts";
import { EMAIL_LOCKOUT, prepareFixtures } from "../support/portman_fixtures.ts";
import { OAUTH_APP, PROVIDER } from "../support/portman_oauth.ts";
import { plans } from "../support/portman_plans.ts";
import { startOidcProvider } from "../support/oidc_provider.ts";
import { freePort } from "../support/smtp_server.ts";

const ADMIN = { email: "portman-admin@example.com", password: "Granite-Meadow-Lantern-2024!" };

Deno.test({
  name: "portman: every operation's contract test and every fuzzed body and query pass against " +
    "a live citadel: documented answers only, fuzzed requests get a 4xx, never a 5xx",
  async fn() {
    await requirePortman();
    await using dir = await tempDir();
    // The provider first, its client registered with the callback on a port chosen here.
    const port = freePort();
    const publicUrl = `http://localhost:${port}`;
    const idp = await startOidcProvider({
      redirectUris: [`${publicUrl}/api/v1/auth/oauth/${PROVIDER}/callback`],
    });
    const server = await startServer({
      PORT: String(port),
      // Email links, the OAuth callback and the passkeys' origin and RP ID (localhost).
      PUBLIC_URL: publicUrl,
      APP_ENV: "development",
      DATABASE_URL: `file:${dir.path}/citadel.db`,
      JWT_SECRET_KEY: TEST_SECRET,
      // Asymmetric signing keys, so the key routes really rotate and retire.
      JWT_ALGORITHM: "EdDSA",
      ENCRYPTION_KEY: TEST_ENV.ENCRYPTION_KEY,
      ALLOWED_HOSTS: "127.0.0.1,localhost",
      SUPER_ADMIN_USERNAME: ADMIN.email,
      SUPER_ADMIN_PASSWORD: ADMIN.password,
      ACCESS_TOKEN_TTL: "3600",
      OAUTH_PROVIDERS: PROVIDER,
      [`OAUTH_${PROVIDER.toUpperCase()}_ISSUER`]: idp.issuer,
      [`OAUTH_${PROVIDER.toUpperCase()}_CLIENT_ID`]: idp.clientId,
      [`OAUTH_${PROVIDER.toUpperCase()}_CLIENT_SECRET`]: idp.clientSecret,
      OAUTH_REDIRECT_URLS: OAUTH_APP,
      // The fuzzer must reach the routes, not the brute-force and rate limits.
      RATE_LIMIT_ENABLED: "false",
      LOGIN_MAX_ATTEMPTS: "1000",
      LOGIN_IP_MAX_ATTEMPTS: "100000",
      LOGIN_EMAIL_MAX_ATTEMPTS: String(EMAIL_LOCKOUT),
      ARGON2_MEMORY_KIB: "1024",
      ARGON2_TIME_COST: "1",
    }, { cwd: dir.path }).catch(async (error) => {
      await idp.close();
      throw error;
    });
    try {
      const started = performance.now();
      const docResponse = await fetch(`${server.url}/openapi.json`);
      assert.equal(docResponse.status, 200);
      const doc = await docResponse.json();
      const operations = operationsOf(doc);
      const fixtures = await prepareFixtures(server.url, ADMIN, {
        dataDir: dir.path,
        origin: publicUrl,
        idp,
      });
      const checkScript = `${dir.path}/document-check.js`;
      const { report, dropped } = await runPortman(dir.path, {
        baseUrl: server.url,
        doc,
        config: portmanConfig(doc, plans(fixtures), { token: fixtures.token, checkScript }),
        checkScript: documentCheckScript(doc),
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);

      const { executions } = report.run;
      const main = executions.filter((e) => !isFuzzed(e));
      const fuzzed = executions.filter(isFuzzed);
      const fuzzedOps = new Set(fuzzed.map(checkedAs));
      const assertions = report.run.stats.assertions;
      const failures = failuresOf(report);
      const code = (e: (typeof executions)[number]) => e.response?.code ?? 0;
      console.log(
        `portman: ${operations.length} operations, ${executions.length} requests ` +
          `(${main.length} contract, ${fuzzed.length} fuzzed on ${fuzzedOps.size} operations; ` +
          `${dropped.length} fuzzing variations that changed nothing dropped), ` +
          `${assertions.total} assertions, ${assertions.failed} failed, ${failures.length} ` +
          `failures; contract answers ${JSON.stringify(statusCounts(main))}, fuzzed answers ` +
          `${JSON.stringify(statusCounts(fuzzed))}; ${seconds} s`,
      );
      for (const failure of failures) console.log(`  ${failure}`);
      if (Deno.env.get("PORTMAN_VERBOSE")) {
        for (const name of dropped) console.log(`  dropped: ${name}`);
      }
      const keep = Deno.env.get("PORTMAN_KEEP");
      if (keep) await new Deno.Command("cp", { args: ["-r", `${dir.path}/.`, keep] }).output();

      assert.deepEqual(failures, [], "no failed assertion, request or script");
      assert.equal(assertions.failed, 0);
      assert.deepEqual(
        main.map(operationOf).sort(),
        operations.map((op) => op.key).sort(),
        "one contract-tested request per operation of the document",
      );
      assert.deepEqual(
        main.filter((e) => code(e) < 200 || code(e) >= 400).map((e) => e.item.name),
        [],
        "every operation really succeeds (or redirects)",
      );
      assert.deepEqual(
        fuzzableOperations(operations).filter((key) => !fuzzedOps.has(key)),
        [],
        "every constrained body and query was fuzzed",
      );
      assert.ok(fuzzed.length >= 100, `fuzzed requests: ${fuzzed.length}`);
      assert.deepEqual(
        fuzzed.filter((e) => code(e) < 400 || code(e) >= 500).map((e) => e.item.name),
        [],
        "every fuzzed request got a 4xx",
      );
      const unchecked = executions.filter((e) => {
        const names = (e.assertions ?? []).map((a) => a.assertion);
        const has = (end: string) => names.some((name) => name.endsWith(end));
        return !has(" - never a 5xx") || !has(" as the document lists it") ||
          (isFuzzed(e) ? !has(" - a fuzzed request gets a 4xx") : !operationOf(e));
      });
      assert.deepEqual(unchecked.map((e) => e.item.name), [], "every request was checked");
    } finally {
      await server.stop();
      await idp.close();
    }
  },
});
