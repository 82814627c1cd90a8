import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../src/app_types.ts";
import { errorHandler } from "../../src/middleware/errors.ts";
import { openLogFileSink } from "../../src/platform/log_file_sink.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";
import { createAlerter } from "../../src/services/alerts.ts";
import { recordAudit } from "../../src/services/audit.ts";
import { redact, REDACTED } from "../../src/lib/redact.ts";
import { buildTestApp, DENO, request, RUN_PERMISSIONS, tempDir } from "../support/helpers.ts";
import {
  leakedSecrets,
  logCorpus,
  SECRET_TEXT,
  secretFields,
  SECRETS,
} from "../support/secret_corpus.ts";

Deno.test("redact() scrubs every secret of the corpus and keeps the context around it", () => {
  const out = JSON.stringify(redact({ msg: SECRET_TEXT, ...secretFields() }));
  assert.deepEqual(leakedSecrets(out), []);
  for (
    const context of ["db.internal:5432", "cache.internal:6379", "state=xyz", "file=report.pdf"]
  ) {
    assert.ok(out.includes(context), `lost the context ${context}`);
  }
  const fields = redact(secretFields()) as Record<string, Record<string, unknown>>;
  assert.equal(fields.password, REDACTED);
  assert.equal(fields.headers.authorization, REDACTED);
  assert.equal(fields.headers["set-cookie"], REDACTED);
  assert.equal(fields.headers["x-api-key"], REDACTED);
  assert.equal(fields.headers["user-agent"], "corpus-agent/1.0");
  assert.deepEqual(fields.raw_headers, {
    authorization: REDACTED,
    cookie: REDACTED,
    "x-api-key": REDACTED,
  });
  assert.deepEqual(fields.header_pairs, [["cookie", REDACTED], ["accept", "application/json"]]);
});

Deno.test("logger lines reaching a memory sink carry no corpus secret", async () => {
  const sink = memorySink();
  const logger = createLogger({ level: "debug", sinks: [sink], flushIntervalMs: 1 });
  logCorpus(logger);
  await logger.close();
  assert.equal(sink.lines.length, 3);
  assert.deepEqual(leakedSecrets(sink.lines.join("\n")), []);
});

Deno.test("stdout of a real process logging the corpus carries no secret", async () => {
  const script = new URL("../support/log_corpus_stdout.ts", import.meta.url).pathname;
  const out = await new Deno.Command(DENO, {
    args: ["run", ...RUN_PERMISSIONS, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.level), ["info", "warn", "error"]);
  assert.deepEqual(leakedSecrets(stdout), []);
});

Deno.test("LOG_DIR/citadel.log and its rotated files carry no corpus secret", async () => {
  await using tmp = await tempDir();
  const sink = await openLogFileSink({ dir: tmp.path, maxBytes: 4096, backups: 5 });
  const logger = createLogger({ level: "debug", sinks: [sink], flushIntervalMs: 1 });
  for (let i = 0; i < 5; i++) {
    logCorpus(logger);
    await logger.flush();
  }
  await logger.close();
  let all = "";
  for await (const entry of Deno.readDir(tmp.path)) {
    all += await Deno.readTextFile(`${tmp.path}/${entry.name}`);
  }
  assert.equal(all.trim().split("\n").length, 15);
  assert.deepEqual(leakedSecrets(all), []);
});

Deno.test("access and error logs of the app carry no secret from URLs, headers or errors", async () => {
  const t = await buildTestApp();
  try {
    await request(t.app, "GET", `/health?token=${SECRETS.queryToken}&code=${SECRETS.oauthCode}`, {
      headers: {
        authorization: `Bearer ${SECRETS.jwt}`,
        cookie: `sid=${SECRETS.sessionCookie}`,
        "x-api-key": SECRETS.apiKey,
      },
    });
    const failing = new Hono<AppEnv>();
    failing.get("/boom", () => {
      throw new Error(SECRET_TEXT);
    });
    failing.onError(errorHandler(t.deps.logger));
    const res = await failing.request("http://localhost/boom");
    assert.equal(res.status, 500);
    assert.deepEqual(leakedSecrets(await res.text()), []);
    await t.deps.logger.flush();
    const logs = t.logs.join("\n");
    assert.ok(logs.includes('"msg":"request"') && logs.includes('"msg":"unhandled error"'));
    assert.deepEqual(leakedSecrets(logs), []);
  } finally {
    await t.close();
  }
});

Deno.test("audit details and user agents carry no corpus secret", async () => {
  const t = await buildTestApp();
  try {
    const row = await recordAudit(t.deps.db, {
      actorType: "anonymous",
      action: "auth.login.failed",
      outcome: "failure",
      userAgent: `curl/8.5 ${SECRET_TEXT}`,
      details: { reason: SECRET_TEXT, method: `Bearer ${SECRETS.opaqueBearer}`, ...secretFields() },
    }, { clock: t.clock });
    const stored = await t.deps.db.selectFrom("audit_events").selectAll()
      .where("id", "=", row.id).executeTakeFirstOrThrow();
    assert.deepEqual(Object.keys(JSON.parse(stored.details)).sort(), ["method", "reason"]);
    assert.deepEqual(leakedSecrets(JSON.stringify(stored)), []);
  } finally {
    await t.close();
  }
});

Deno.test("alerts in the log and in the webhook body carry no corpus secret", async () => {
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    bodies.push(await req.text());
    return new Response(null, { status: 204 });
  });
  const sink = memorySink();
  const logger = createLogger({ level: "debug", sinks: [sink], flushIntervalMs: 1 });
  const alerter = createAlerter({
    logger,
    clock: new ManualClock(),
    webhookUrl: `http://127.0.0.1:${server.addr.port}/alerts`,
    webhookSecret: SECRETS.webhookSecret,
  });
  try {
    alerter.alert("client_blocked", { reason: SECRET_TEXT, ...secretFields() });
    assert.equal(await alerter.flush(), true);
    await logger.flush();
    assert.equal(bodies.length, 1);
    assert.ok(sink.lines.some((l) => l.includes("security alert")));
    assert.deepEqual(leakedSecrets(bodies.join("\n") + sink.lines.join("\n")), []);
  } finally {
    await alerter.close(1000);
    await logger.close();
    await server.shutdown();
  }
});
