import assert from "node:assert/strict";
import { AppError } from "../../src/errors.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { memoryCounterStore } from "../../src/platform/counter_store_memory.ts";
import {
  createMail,
  EVEN_ANSWER_MS,
  type MailConfig,
  mailSettings,
  messageIdDomain,
} from "../../src/services/mail.ts";
import { outboxCipher } from "../../src/services/email_outbox.ts";
import { createPepper } from "../../src/services/pepper.ts";
import { buildTestApp, TEST_SECRET } from "../support/helpers.ts";
import { unreachableCounterStore } from "../support/unreachable_counter_store.ts";

const cipher = () => outboxCipher(createPepper({ jwtSecret: TEST_SECRET }));

const config = (email: Partial<MailConfig["email"]>, appEnv = "development"): MailConfig => ({
  appEnv,
  host: "127.0.0.1",
  port: 8000,
  email: { verification: "optional", securityNotices: true, ...email },
});

Deno.test("mailSettings: email is on except in production without SMTP_URL; links default to PUBLIC_URL/account", () => {
  assert.equal(mailSettings(config({})).enabled, true, "development writes .eml files");
  assert.equal(mailSettings(config({}, "production")).enabled, false);
  assert.equal(mailSettings(config({ smtpUrl: "smtp://m:587" }, "production")).enabled, true);
  assert.equal(mailSettings(config({})).linkBase, "http://127.0.0.1:8000/account");
  assert.equal(
    mailSettings(config({ publicUrl: "https://auth.example.com/" })).linkBase,
    "https://auth.example.com/account",
  );
  assert.equal(
    mailSettings(config({ publicUrl: "https://a.example", linkBaseUrl: "https://app.example/x" }))
      .linkBase,
    "https://app.example/x",
  );
  assert.equal(
    messageIdDomain(config({ publicUrl: "https://auth.example.com" })),
    "auth.example.com",
  );
  assert.equal(messageIdDomain(config({})), "citadel.localhost");
});

Deno.test("allowTo: one message per address a minute and five an hour, per purpose", async () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 3));
  const mail = createMail({
    settings: mailSettings(config({})),
    clock,
    counters: memoryCounterStore(clock),
    cipher,
  });
  assert.equal(await mail.allowTo("a@example.com", "password_reset"), true);
  assert.equal(await mail.allowTo("a@example.com", "password_reset"), false, "same minute");
  assert.equal(await mail.allowTo("b@example.com", "password_reset"), true, "another address");
  assert.equal(await mail.allowTo("a@example.com", "verify_email"), true, "another purpose");
  let allowed = 1;
  for (let minute = 1; minute < 20; minute++) {
    clock.advance(61_000);
    if (await mail.allowTo("a@example.com", "password_reset")) allowed++;
  }
  assert.equal(allowed, 5, "five within the hour");
  clock.advance(3_600_000);
  assert.equal(await mail.allowTo("a@example.com", "password_reset"), true, "a new hour");
});

Deno.test("allowTo fails closed with 503 guard_unavailable when the counter store is down", async () => {
  const clock = new ManualClock();
  const mail = createMail({
    settings: mailSettings(config({})),
    clock,
    counters: unreachableCounterStore(),
    cipher,
  });
  await assert.rejects(
    mail.allowTo("a@example.com", "password_reset"),
    (error: AppError) => error.status === 503 && error.code === "guard_unavailable",
  );
});

Deno.test("evenly answers no sooner than EVEN_ANSWER_MS, failures too; requireEnabled is 503 email_not_configured", async () => {
  const clock = new ManualClock();
  const counters = memoryCounterStore(clock);
  const mail = createMail({ settings: mailSettings(config({})), clock, counters, cipher });
  let started = performance.now();
  assert.equal(await mail.evenly(() => Promise.resolve(7)), 7);
  assert.ok(performance.now() - started >= EVEN_ANSWER_MS - 1);
  started = performance.now();
  await assert.rejects(mail.evenly(() => Promise.reject(new Error("boom"))), /boom/);
  assert.ok(performance.now() - started >= EVEN_ANSWER_MS - 1);

  mail.requireEnabled();
  const off = createMail({
    settings: mailSettings(config({}, "production")),
    clock,
    counters,
    cipher,
  });
  assert.throws(
    () => off.requireEnabled(),
    (error: AppError) => error.status === 503 && error.code === "email_not_configured",
  );
});

Deno.test("queue() writes to the outbox, but nothing to a .localhost placeholder address", async () => {
  const t = await buildTestApp();
  try {
    const mail = createMail({
      settings: mailSettings(config({})),
      clock: t.clock,
      counters: t.deps.counters,
      cipher,
    });
    const message = (to: string) => ({ to, subject: "s", text: "t", html: "h", kind: "notice" });
    await mail.queue(t.deps.db, message("admin@citadel.localhost"));
    await mail.queue(t.deps.db, message("ada@example.com"));
    const rows = await t.deps.db.selectFrom("email_outbox").select("recipient").execute();
    assert.deepEqual(rows.map((r) => r.recipient), ["ada@example.com"]);
  } finally {
    await t.close();
  }
});
