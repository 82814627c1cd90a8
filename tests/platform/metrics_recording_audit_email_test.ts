/**
 * The audit and email metrics of platform/metrics.ts read back from a real `GET /metrics`:
 * audit events by outcome (equal to the rows the app appended, whichever service appended
 * them, the background email sender's included), delivery failures of the outbox sender over a
 * real SMTP connection that is refused, and the outbox depth read from the database at each
 * scrape.
 */
import assert from "node:assert/strict";
import { buildEmailSender } from "../../src/server/email_sender.ts";
import { login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { request } from "../support/helpers.ts";
import { type MeteredApp, meteredApp, scrape, watch } from "../support/metrics_support.ts";
import { freePort } from "../support/smtp_server.ts";

/** The audit rows by outcome, as the counter names them. */
async function auditRowsByOutcome(t: MeteredApp): Promise<Record<string, number>> {
  const rows = await t.deps.db.selectFrom("audit_events")
    .select(["outcome", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("outcome").execute();
  return Object.fromEntries(
    rows.map((r) => [`citadel_audit_events_total{outcome="${r.outcome}"}`, Number(r.n)]),
  );
}

/** Messages neither sent nor given up, counted straight from the table. */
async function waiting(t: MeteredApp): Promise<number> {
  const rows = await t.deps.db.selectFrom("email_outbox").select("id")
    .where("sent_at", "is", null).where("failed_at", "is", null).execute();
  return rows.length;
}

Deno.test("every audit event the app appends is counted by its outcome", async () => {
  const t = await meteredApp({ LOGIN_MAX_ATTEMPTS: "1" });
  try {
    const audits = await watch(t, ["citadel_audit_events_total"]);
    const user = await registerUser(t);
    await login(t, user.email);
    const wrong = { email: user.email, password: "Wrong-Password-123!" };
    for (const expected of [401, 429]) {
      const res = await request(t.app, "POST", "/api/v1/auth/login", { body: wrong });
      assert.equal(res.status, expected);
    }
    const moved = await audits.changes();
    assert.deepEqual(moved, await auditRowsByOutcome(t));
    assert.ok(
      moved['citadel_audit_events_total{outcome="success"}'] >= 2 &&
        moved['citadel_audit_events_total{outcome="failure"}'] === 1 &&
        moved['citadel_audit_events_total{outcome="denied"}'] === 1,
      JSON.stringify(moved),
    );
  } finally {
    await t.close();
  }
});

Deno.test("a delivery the SMTP server refuses counts a send failure and its audit event; the outbox depth follows the table", async () => {
  // Nothing listens on the port: every connection is refused at once.
  const t = await meteredApp({ SMTP_URL: `smtp://127.0.0.1:${freePort()}` });
  try {
    const watched = await watch(t, [
      "citadel_email_send_failures_total",
      "citadel_email_outbox_depth",
      "citadel_audit_events_total",
    ]);
    for (let i = 0; i < 2; i++) await registerUser(t, undefined, STRONG_PASSWORD);
    assert.equal(await waiting(t), 2, "each registration queued its verification message");
    assert.deepEqual(await watched.changes(), {
      "citadel_email_outbox_depth": 2,
      'citadel_audit_events_total{outcome="success"}': 2,
    });

    const built = await buildEmailSender(t.deps);
    assert.ok(built, "an SMTP transport");
    try {
      assert.equal(await built.sender.runOnce(), 0);
    } finally {
      built.transport.close();
    }
    // Both are retried later: still waiting, so the depth stays.
    assert.equal(await waiting(t), 2);
    assert.deepEqual(await watched.changes(), {
      "citadel_email_send_failures_total": 2,
      'citadel_audit_events_total{outcome="failure"}': 2,
    });

    await t.deps.db.updateTable("email_outbox").set({ failed_at: t.clock.now() })
      .where("sent_at", "is", null).execute();
    assert.equal((await scrape(t)).get("citadel_email_outbox_depth"), 0, "given up: not waiting");
  } finally {
    await t.close();
  }
});
