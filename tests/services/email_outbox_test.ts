import assert from "node:assert/strict";
import { sql } from "kysely";
import { connect } from "../../src/db/connect.ts";
import type { Db } from "../../src/db/schema.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { smtpTransport } from "../../src/platform/mail_transport.ts";
import { recordAudit } from "../../src/services/audit.ts";
import {
  createOutboxSender,
  enqueueEmail,
  MAX_ATTEMPTS,
  outboxCipher,
  type QueuedMessage,
  retryDelayMs,
} from "../../src/services/email_outbox.ts";
import { createPepper } from "../../src/services/pepper.ts";
import { buildTestApp, tempDir, TEST_SECRET, type TestApp } from "../support/helpers.ts";
import {
  freePort,
  SMTP_PASS,
  SMTP_USER,
  startSmtpServer,
  type TestSmtpServer,
} from "../support/smtp_server.ts";
import { generateCertificate, type TestCertificate } from "../support/tls_cert.ts";

const DOMAIN = "citadel.test";
const CIPHER = await outboxCipher(createPepper({ jwtSecret: TEST_SECRET }));
const START = Date.UTC(2026, 5, 1, 12);

function mail(n = 1): QueuedMessage {
  return {
    to: `user${n}@example.test`,
    subject: `Message ${n}`,
    text: `Hello ${n}`,
    html: `<p>Hello ${n}</p>`,
    kind: "verify_email",
  };
}

function sender(t: TestApp, db: Db, cert: TestCertificate, port: number) {
  const transport = smtpTransport({
    url: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@localhost:${port}`,
    from: "Citadel <no-reply@citadel.test>",
    ca: cert.ca,
    timeoutSeconds: 5,
  });
  const outbox = createOutboxSender({
    db,
    clock: t.clock,
    transport,
    logger: t.deps.logger,
    audit: (executor, event) => recordAudit(executor, event, { clock: t.clock }),
    messageIdDomain: DOMAIN,
    cipher: CIPHER,
  });
  return { outbox, transport };
}

function rows(db: Db) {
  return db.selectFrom("email_outbox").selectAll().orderBy("created_at").execute();
}

function failures(db: Db) {
  return db.selectFrom("audit_events").selectAll()
    .where("action", "=", "email.delivery_failed").orderBy("seq").execute();
}

/** How often each Message-ID reached the server. */
function countByMessageId(server: TestSmtpServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of server.received) {
    const id = m.parsed.messageId ?? "";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

async function setup(env: Record<string, string> = {}) {
  const dir = await tempDir();
  const cert = await generateCertificate(dir.path);
  const clock = new ManualClock(START);
  const t = await buildTestApp(env, { clock });
  return {
    dir,
    cert,
    clock,
    t,
    async [Symbol.asyncDispose]() {
      await t.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("enqueue commits with the caller's transaction; runOnce delivers exactly once", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await enqueueEmail(trx, mail(0), clock.now(), CIPHER);
      throw new Error("the change failed");
    }),
    /the change failed/,
  );
  assert.equal((await rows(db)).length, 0, "a rolled-back transaction queues nothing");

  const id = await db.transaction().execute((trx) =>
    enqueueEmail(trx, mail(1), clock.now(), CIPHER)
  );
  const [queued] = await rows(db);
  assert.equal(queued.id, id);
  assert.equal(queued.next_attempt_at, START);
  assert.equal(queued.attempts, 0);
  // The bodies carry link tokens: sealed in the row, bound to it.
  assert.ok(!queued.text_body.includes("Hello 1") && !queued.html_body.includes("Hello 1"));

  const server = await startSmtpServer({ cert });
  const { outbox, transport } = sender(t, db, cert, server.port);
  try {
    clock.advance(1000);
    assert.equal(await outbox.runOnce(), 1);
    assert.equal(server.received.length, 1);
    const [got] = server.received;
    assert.equal(got.secure, true);
    assert.equal(got.parsed.messageId, `<${id}@${DOMAIN}>`);
    assert.equal(got.parsed.subject, "Message 1");
    assert.deepEqual(got.envelopeTo, ["user1@example.test"]);
    const [row] = await rows(db);
    assert.equal(row.sent_at, START + 1000);
    assert.equal(row.lease_until, null);
    assert.equal(row.message_id, `<${id}@${DOMAIN}>`);
    assert.equal(row.text_body + row.html_body, "", "a sent message's bodies are dropped");

    assert.equal(await outbox.runOnce(), 0, "a sent message is not sent again");
    assert.equal(server.received.length, 1);
    assert.equal((await failures(db)).length, 0);
  } finally {
    transport.close();
    await server.stop();
  }
});

Deno.test("mail server down: the row backs off, is audited, then goes once", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  const port = freePort();
  const id = await enqueueEmail(db, mail(), clock.now(), CIPHER);
  const { outbox, transport } = sender(t, db, cert, port);
  let server: TestSmtpServer | undefined;
  try {
    assert.equal(await outbox.runOnce(), 0);
    const [row] = await rows(db);
    assert.equal(row.attempts, 1);
    assert.equal(row.next_attempt_at, START + 5000);
    assert.equal(row.lease_until, null);
    assert.equal(row.sent_at, null);
    assert.equal(row.failed_at, null);
    assert.match(row.last_error ?? "", /ECONNREFUSED/, "last_error says why");
    const events = await failures(db);
    assert.equal(events.length, 1);
    assert.equal(events[0].actor_type, "system");
    assert.equal(events[0].outcome, "failure");
    assert.equal(events[0].target_type, "email");
    assert.equal(events[0].target_id, id);
    assert.deepEqual(JSON.parse(events[0].details), {
      attempts: 1,
      given_up: false,
      kind: "verify_email",
    });
    await t.deps.logger.flush();
    assert.ok(t.logs.some((l) => l.includes("email delivery failed")));

    server = await startSmtpServer({ cert, port });
    clock.advance(4999);
    assert.equal(await outbox.runOnce(), 0, "not due before its backoff");
    assert.equal(server.received.length, 0);
    clock.advance(1);
    assert.equal(await outbox.runOnce(), 1);
    assert.equal(await outbox.runOnce(), 0);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0].parsed.messageId, `<${id}@${DOMAIN}>`);
    const [sent] = await rows(db);
    assert.equal(sent.sent_at, START + 5000);
    assert.equal(sent.attempts, 1);
  } finally {
    transport.close();
    await server?.stop();
  }
});

Deno.test("two senders on one database deliver each of 10 messages exactly once", async () => {
  await using dir = await tempDir();
  await using s = await setup({ DATABASE_URL: `file:${dir.path}/outbox.db` });
  const { t, cert, clock } = s;
  const second = await connect({ databaseUrl: `file:${dir.path}/outbox.db` });
  const server = await startSmtpServer({ cert });
  const a = sender(t, t.deps.db, cert, server.port);
  const b = sender(t, second.db, cert, server.port);
  try {
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) {
      ids.push(await enqueueEmail(t.deps.db, mail(n), clock.now(), CIPHER));
    }
    const [sentA, sentB] = await Promise.all([a.outbox.runOnce(), b.outbox.runOnce()]);
    assert.equal(sentA + sentB, 10);
    const counts = countByMessageId(server);
    assert.equal(server.received.length, 10);
    assert.deepEqual(
      [...counts.entries()].sort(),
      ids.map((id) => [`<${id}@${DOMAIN}>`, 1]).sort(),
    );
    assert.ok((await rows(t.deps.db)).every((r) => r.sent_at !== null && r.attempts === 0));
    assert.equal(await a.outbox.runOnce() + await b.outbox.runOnce(), 0);
  } finally {
    a.transport.close();
    b.transport.close();
    await server.stop();
    await second.db.destroy();
  }
});

Deno.test("a lease left by a crashed sender delays the message until it runs out", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  const id = await enqueueEmail(db, mail(), clock.now(), CIPHER);
  await sql`UPDATE email_outbox SET lease_until = ${START + 120_000} WHERE id = ${id}`.execute(db);
  const server = await startSmtpServer({ cert });
  const { outbox, transport } = sender(t, db, cert, server.port);
  try {
    assert.equal(await outbox.runOnce(), 0);
    clock.advance(120_000);
    assert.equal(await outbox.runOnce(), 0, "the lease still holds at its last millisecond");
    assert.equal(server.received.length, 0);
    clock.advance(1);
    assert.equal(await outbox.runOnce(), 1);
    assert.equal(await outbox.runOnce(), 0);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0].parsed.messageId, `<${id}@${DOMAIN}>`);
  } finally {
    transport.close();
    await server.stop();
  }
});

Deno.test("after MAX_ATTEMPTS failures the message is given up and audited", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  const id = await enqueueEmail(db, mail(), clock.now(), CIPHER);
  const { outbox, transport } = sender(t, db, cert, freePort());
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      assert.equal(await outbox.runOnce(), 0);
      const [row] = await rows(db);
      assert.equal(row.attempts, attempt);
      if (attempt < MAX_ATTEMPTS) {
        assert.equal(row.failed_at, null);
        assert.equal(row.next_attempt_at, clock.now() + retryDelayMs(attempt));
        clock.set(row.next_attempt_at);
      }
    }
    const [row] = await rows(db);
    assert.equal(row.failed_at, clock.now());
    assert.equal(row.sent_at, null);
    const events = await failures(db);
    assert.equal(events.length, MAX_ATTEMPTS);
    assert.ok(events.every((e) => e.target_id === id));
    assert.deepEqual(
      events.map((e) => JSON.parse(e.details).given_up),
      [...Array(MAX_ATTEMPTS - 1).fill(false), true],
    );
    assert.equal(JSON.parse(events.at(-1)!.details).attempts, MAX_ATTEMPTS);

    clock.advance(7 * 24 * 3_600_000);
    assert.equal(await outbox.runOnce(), 0);
    assert.equal((await rows(db))[0].attempts, MAX_ATTEMPTS, "a given-up message is not tried");
    assert.equal((await failures(db)).length, MAX_ATTEMPTS);
  } finally {
    transport.close();
  }
});

Deno.test("retryDelayMs doubles from 5 s and stops at an hour", () => {
  assert.deepEqual([1, 2, 3, 4].map(retryDelayMs), [5_000, 10_000, 20_000, 40_000]);
  assert.equal(retryDelayMs(0), 5_000);
  assert.equal(retryDelayMs(MAX_ATTEMPTS), 3_600_000);
});

Deno.test("a message the server accepted but the database would not mark sent is not counted as failed nor sent again while its lease holds", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  const id = await enqueueEmail(db, mail(1), clock.now(), CIPHER);
  // The database itself refuses to record the send (a real write failure, not a stub).
  await sql`CREATE TRIGGER refuse_sent BEFORE UPDATE OF sent_at ON email_outbox
    WHEN NEW.sent_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'database is busy'); END`
    .execute(db);
  const server = await startSmtpServer({ cert });
  const { outbox, transport } = sender(t, db, cert, server.port);
  try {
    assert.equal(await outbox.runOnce(), 1, "the server accepted it");
    const [row] = await rows(db);
    assert.equal(row.sent_at, null);
    assert.equal(row.attempts, 0, "not a failed delivery");
    assert.ok(row.lease_until !== null && row.lease_until > clock.now(), "the lease is kept");
    assert.equal((await failures(db)).length, 0, "no email.delivery_failed");
    await t.deps.logger.flush();
    assert.ok(t.logs.some((line) => line.includes("email sent but not recorded as sent")));
    clock.advance(60_000);
    assert.equal(await outbox.runOnce(), 0, "within the lease nobody sends it again");
    assert.deepEqual([...countByMessageId(server).values()], [1]);
    assert.equal(row.id, id);
  } finally {
    transport.close();
    await server.stop();
  }
});

Deno.test("a row another sender failed while this one was busy is not leased again before its retry is due", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  const first = await enqueueEmail(db, mail(1), clock.now(), CIPHER);
  const second = await enqueueEmail(db, mail(2), clock.now(), CIPHER);
  const server = await startSmtpServer({ cert });
  const down = sender(t, db, cert, freePort());
  const up = sender(t, db, cert, server.port);
  // While A sends the first message, B (its mail server down) leases the second and fails it.
  const realSend = up.transport.send.bind(up.transport);
  up.transport.send = async (message) => {
    assert.equal(await down.outbox.runOnce(), 0);
    return await realSend(message);
  };
  try {
    assert.equal(await up.outbox.runOnce(), 1, "A sent only the first");
    const byId = new Map((await rows(db)).map((r) => [r.id, r]));
    assert.notEqual(byId.get(first)!.sent_at, null);
    assert.equal(byId.get(second)!.sent_at, null, "its retry is not due yet");
    assert.equal(byId.get(second)!.attempts, 1);
    assert.deepEqual(server.received.map((m) => m.parsed.subject), ["Message 1"]);
  } finally {
    up.transport.close();
    down.transport.close();
    await server.stop();
  }
});

Deno.test("a body that does not open under this pepper (another pepper, or moved to another row) is given up at once, nothing sent", async () => {
  await using s = await setup();
  const { t, cert, clock } = s;
  const db = t.deps.db;
  const other = await outboxCipher(
    createPepper({ hashPepper: "another-pepper-of-32-bytes-or-more!!", jwtSecret: TEST_SECRET }),
  );
  const foreign = await enqueueEmail(db, mail(1), clock.now(), other);
  const moved = await enqueueEmail(db, mail(2), clock.now(), CIPHER);
  const donor = await enqueueEmail(db, mail(3), clock.now(), CIPHER);
  const [donorRow] = await db.selectFrom("email_outbox").select(["text_body", "html_body"])
    .where("id", "=", donor).execute();
  await db.updateTable("email_outbox").set(donorRow).where("id", "=", moved).execute();
  await db.deleteFrom("email_outbox").where("id", "=", donor).execute();
  const server = await startSmtpServer({ cert });
  const { outbox, transport } = sender(t, db, cert, server.port);
  try {
    assert.equal(await outbox.runOnce(), 0);
    assert.equal(server.received.length, 0);
    for (const row of await rows(db)) {
      assert.ok([foreign, moved].includes(row.id));
      assert.equal(row.attempts, 1);
      assert.notEqual(row.failed_at, null, "given up at the first attempt");
    }
    assert.deepEqual((await failures(db)).map((e) => JSON.parse(e.details).given_up), [true, true]);
  } finally {
    transport.close();
    await server.stop();
  }
});
