import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { createLogger, memorySink } from "../../src/platform/logger.ts";
import { createAlerter } from "../../src/services/alerts.ts";

const SECRET = "whsec-test-0123456789abcdef";

interface Received {
  body: string;
  headers: Headers;
}

/** A real webhook receiver on a loopback port; `respond` decides each answer. */
function receiver(respond: (n: number) => Promise<number> | number) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ body: await req.text(), headers: req.headers });
    return new Response(null, { status: await respond(received.length) });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/citadel`,
    received,
    close: () => server.shutdown(),
  };
}

/** Verifies a delivery the way a receiver should: HMAC over "<timestamp>.<raw body>". */
async function signatureValid(r: Received, secret: string): Promise<boolean> {
  const timestamp = r.headers.get("x-citadel-timestamp") ?? "";
  const header = r.headers.get("x-citadel-signature") ?? "";
  if (!header.startsWith("sha256=")) return false;
  const mac = new Uint8Array(header.slice(7).match(/../g)!.map((h) => parseInt(h, 16)));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    new TextEncoder().encode(`${timestamp}.${r.body}`),
  );
}

function setup(webhookUrl?: string, extra: { maxAttempts?: number; baseDelayMs?: number } = {}) {
  const sink = memorySink();
  const logger = createLogger({ level: "debug", sinks: [sink], flushIntervalMs: 1 });
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
  const alerter = createAlerter({ logger, clock, webhookUrl, webhookSecret: SECRET, ...extra });
  return { sink, logger, clock, alerter };
}

Deno.test("alert() logs at WARN and POSTs a correctly signed alert to the webhook", async () => {
  const hook = receiver(() => 204);
  const { sink, logger, alerter } = setup(hook.url);
  try {
    alerter.alert("new_network_login", {
      user_id: "u-1",
      network: "198.51.100.0/24",
      authorization: "Bearer should-not-leave",
    });
    assert.equal(await alerter.flush(), true);
    assert.equal(hook.received.length, 1);
    const [delivery] = hook.received;
    assert.equal(await signatureValid(delivery, SECRET), true);
    assert.equal(await signatureValid(delivery, "another-secret"), false);
    assert.equal(delivery.headers.get("content-type"), "application/json");
    assert.equal(
      delivery.headers.get("x-citadel-timestamp"),
      String(Date.UTC(2026, 2, 1, 12) / 1000),
    );
    const payload = JSON.parse(delivery.body);
    assert.equal(payload.kind, "new_network_login");
    assert.equal(payload.occurred_at, "2026-03-01T12:00:00.000Z");
    assert.equal(payload.id, delivery.headers.get("x-citadel-alert-id"));
    assert.deepEqual(payload.details, {
      user_id: "u-1",
      network: "198.51.100.0/24",
      authorization: "[REDACTED]",
    });
    await logger.flush();
    const line = JSON.parse(sink.lines.find((l) => l.includes("security alert"))!);
    assert.equal(line.level, "warn");
    assert.equal(line.alert, "new_network_login");
    assert.equal(line.details.authorization, "[REDACTED]");
  } finally {
    await alerter.close(1000);
    await logger.close();
    await hook.close();
  }
});

Deno.test("alert() returns at once while a slow webhook takes 2 s to answer", async () => {
  const hook = receiver(async () => {
    await new Promise((r) => setTimeout(r, 2000));
    return 200;
  });
  const { logger, alerter } = setup(hook.url);
  try {
    const started = performance.now();
    alerter.alert("account_blocked", { user_id: "u-2" });
    alerter.alert("client_blocked", { ip: "203.0.113.9", reason: "sensitive_path" });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 50, `alert() took ${elapsed} ms`);
    assert.equal(await alerter.flush(10_000), true);
    assert.deepEqual(hook.received.map((r) => JSON.parse(r.body).kind).sort(), [
      "account_blocked",
      "client_blocked",
    ]);
  } finally {
    await alerter.close(1000);
    await logger.close();
    await hook.close();
  }
});

Deno.test("a webhook answering 500 gets the same alert again after a backoff", async () => {
  const hook = receiver((n) => n === 1 ? 500 : 200);
  const { logger, alerter } = setup(hook.url, { baseDelayMs: 50 });
  try {
    alerter.alert("refresh_token_reused", { session_id: "s-1" });
    assert.equal(await alerter.flush(), true);
    assert.equal(hook.received.length, 2);
    const ids = hook.received.map((r) => r.headers.get("x-citadel-alert-id"));
    assert.equal(ids[0], ids[1]);
    for (const r of hook.received) assert.equal(await signatureValid(r, SECRET), true);
  } finally {
    await alerter.close(1000);
    await logger.close();
    await hook.close();
  }
});

Deno.test("delivery stops after maxAttempts and the failure is logged", async () => {
  const hook = receiver(() => 503);
  const { sink, logger, alerter } = setup(hook.url, { maxAttempts: 3, baseDelayMs: 20 });
  try {
    alerter.alert("client_blocked", { ip: "203.0.113.7" });
    assert.equal(await alerter.flush(), true);
    assert.equal(hook.received.length, 3);
    await logger.flush();
    assert.ok(sink.lines.some((l) => l.includes("alert webhook delivery failed")));
  } finally {
    await alerter.close(1000);
    await logger.close();
    await hook.close();
  }
});

Deno.test("close() gives up on a hung webhook within its bound", async () => {
  let release!: () => void;
  const hung = new Promise<void>((r) => release = r);
  const hook = receiver(async () => {
    await hung;
    return 200;
  });
  const { sink, logger, alerter } = setup(hook.url);
  try {
    alerter.alert("account_blocked", { user_id: "u-3" });
    const started = performance.now();
    await alerter.close(300);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1500, `close() took ${elapsed} ms`);
    await logger.flush();
    assert.ok(sink.lines.some((l) => l.includes("alerts not delivered before shutdown")));
  } finally {
    release();
    await logger.close();
    await hook.close();
  }
});

Deno.test("without ALERT_WEBHOOK_URL alerts only go to the log", async () => {
  const { sink, logger, alerter } = setup(undefined);
  alerter.alert("client_blocked", { ip: "203.0.113.8", reason: "not_found_scan" });
  assert.equal(await alerter.flush(), true);
  await alerter.close();
  await logger.close();
  assert.equal(sink.lines.filter((l) => l.includes('"level":"warn"')).length, 1);
});

// A webhook URL without a secret, or not http(s), is refused by parseConfig
// (tests/config_test.ts): createAlerter() takes both as given.
