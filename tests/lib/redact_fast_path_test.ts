import assert from "node:assert/strict";
import { isFreeOfSecrets, redact, REDACTED, redactText } from "../../src/lib/redact.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl";

Deno.test("redactText() still scrubs every kind of secret, in any letter case", () => {
  const cases: Array<[string, string]> = [
    ["AUTHORIZATION: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"],
    ["set-COOKIE: sid=abc123", "abc123"],
    ["X-Api-Key: ctd_live_0123456789abcdefghij", "0123456789abcdefghij"],
    ["sent BEARER abcdef.ghijkl", "abcdef.ghijkl"],
    [`token in text ${JWT} here`, JWT],
    ["key ctd_0123456789abcdefghijkl leaked", "ctd_0123456789abcdefghijkl"],
    ["postgres://app:s3cret-pw@db.internal/citadel", "s3cret-pw"],
    ["PASSWORD=hunter22&x=1", "hunter22"],
    ["?Code=987654", "987654"],
  ];
  for (const [input, secret] of cases) {
    const out = redactText(input);
    assert.ok(!out.includes(secret), `${input} -> ${out}`);
    assert.ok(out.includes(REDACTED), `${input} -> ${out}`);
  }
});

Deno.test("redactText() returns text without any secret marker unchanged", () => {
  for (const text of ["/api/v1/me", "GET", "2026-01-01T00:00:00.000Z", "request", "::1"]) {
    assert.equal(redactText(text), text);
  }
});

Deno.test("isFreeOfSecrets() is true only where redact() would change nothing", () => {
  const free = [
    { method: "GET", path: "/api/v1/me", status: 200, duration_ms: 3, request_id: "r-1" },
    { token: null, password: undefined, secret: false, n: 1.5 },
  ];
  for (const value of free) {
    assert.ok(isFreeOfSecrets(value), JSON.stringify(value));
    assert.equal(JSON.stringify(redact(value)), JSON.stringify(value));
  }
  const secret = [
    { password: "hunter22" },
    { api_key: 5 },
    { msg: `Bearer ${JWT}` },
    { url: "https://u:p@host/" },
  ];
  for (const value of secret) {
    assert.equal(isFreeOfSecrets(value), false, JSON.stringify(value));
    assert.notEqual(JSON.stringify(redact(value)), JSON.stringify(value));
  }
  // Anything but a flat plain object goes through redact(), whatever it holds.
  const other = [
    { nested: { path: "/" } },
    { list: ["a"] },
    new Date(0),
    Object.assign(Object.create(null), { a: "b" }),
    new Error("boom"),
  ];
  for (const value of other) assert.equal(isFreeOfSecrets(value), false);
});

Deno.test("the logger writes redacted lines for secrets and plain lines as they are", async () => {
  const sink = memorySink();
  const logger = createLogger({
    sinks: [sink],
    now: () => Date.UTC(2026, 0, 1),
    flushIntervalMs: 1,
  });
  logger.info("request", { method: "GET", path: "/api/v1/me", status: 200 });
  logger.info("login", { email: "a@example.com", password: "hunter22", note: `Bearer ${JWT}` });
  await logger.flush();
  assert.deepEqual(JSON.parse(sink.lines[0]), {
    time: "2026-01-01T00:00:00.000Z",
    level: "info",
    msg: "request",
    method: "GET",
    path: "/api/v1/me",
    status: 200,
  });
  const second = JSON.parse(sink.lines[1]);
  assert.equal(second.time, "2026-01-01T00:00:00.000Z", "one timestamp per millisecond");
  assert.equal(second.password, REDACTED);
  assert.equal(second.note, `Bearer ${REDACTED}`);
  assert.ok(!sink.lines.join("\n").includes("hunter22"));
});
