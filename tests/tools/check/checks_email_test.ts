/**
 * CIT-034, CIT-035 and CIT-092 of `citadel check` (src/tools/check/checks_email.ts): messages
 * the outbox gave up on in the last 7 days, messages unsent for over 15 minutes, and
 * production without SMTP_URL. The outbox rows are made by the real outbox (enqueueEmail and
 * the sender, over real transports: a closed port, a real SMTP server that refuses, .eml
 * files) in the hardened deployment's database.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { SMTPServer } from "smtp-server";
import type { Db } from "../../../src/db/schema.ts";
import { ManualClock } from "../../../src/platform/clock.ts";
import { createLogger, memorySink } from "../../../src/platform/logger.ts";
import {
  fileTransport,
  type MailTransport,
  smtpTransport,
} from "../../../src/platform/mail_transport.ts";
import { recordAudit } from "../../../src/services/audit.ts";
import {
  createOutboxSender,
  enqueueEmail,
  MAX_ATTEMPTS,
  outboxCipher,
} from "../../../src/services/email_outbox.ts";
import { createPepper } from "../../../src/services/pepper.ts";
import {
  type Deployment,
  freshSecret,
  hardenedDeployment,
} from "../../support/check_deployment.ts";
import { type Case, tableTest, withDb } from "../../support/check_table.ts";
import { freePort } from "../../support/smtp_server.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const FROM = "citadel <no-reply@citadel.test>";
const SMTP_PASSWORD = "Vq7-Lantern-Quartz-91";
// The outbox seals message bodies; the check reads only their metadata.
const CIPHER = await outboxCipher(
  createPepper({ hashPepper: freshSecret(), jwtSecret: freshSecret() }),
);

/** Queues one message in the deployment's outbox as of `at`. */
function queue(d: Deployment, at: number, kind = "verify_email", to = "ada@example.test") {
  return withDb(d, (db) =>
    enqueueEmail(
      db,
      {
        to,
        subject: "Confirm your email address",
        text: "Confirm it: https://auth.example.com/account/verify-email#token=x\n",
        html: "<p>Confirm it</p>\n",
        kind,
      },
      at,
      CIPHER,
    ));
}

/**
 * Runs the real outbox sender over `transport` on the deployment's database, `runs` times,
 * its clock starting at `from` and moving an hour (more than any retry delay) after each run.
 */
async function deliver(
  d: Deployment,
  transport: MailTransport,
  options: { from: number; runs: number },
): Promise<void> {
  const clock = new ManualClock(options.from);
  const db = await d.open();
  try {
    const outbox = createOutboxSender({
      db,
      clock,
      transport,
      logger: createLogger({ sinks: [memorySink()] }),
      audit: (executor, event) => recordAudit(executor, event, { clock }),
      messageIdDomain: "citadel.test",
      cipher: CIPHER,
    });
    for (let i = 0; i < options.runs; i++) {
      await outbox.runOnce();
      clock.advance(60 * MINUTE_MS);
    }
  } finally {
    transport.close();
    await db.destroy();
  }
}

/** An SMTP transport to a loopback port where nothing listens: every attempt is refused. */
const nothingListens = () =>
  smtpTransport({ url: `smtp://127.0.0.1:${freePort()}`, from: FROM, timeoutSeconds: 5 });

/** Queues a message `daysAgo` days ago and lets the sender give up on it (MAX_ATTEMPTS refusals). */
async function givenUpDaysAgo(d: Deployment, daysAgo: number, kind = "password_reset") {
  const from = d.now - daysAgo * DAY_MS;
  await queue(d, from, kind);
  await deliver(d, nothingListens(), { from, runs: MAX_ATTEMPTS });
}

const outbox = (db: Db) => db.selectFrom("email_outbox").selectAll().execute();

const CASES: Case[] = [
  {
    defect: "a password-reset message given up 3 days ago (the mail server was unreachable)",
    expected: ["CIT-034 medium"],
    info: ["CIT-092"],
    exitCode: 0,
    apply: (d) => givenUpDaysAgo(d, 3),
  },
  {
    defect: "a message given up 8 days ago (queued 10 days ago; the sender tried for 36 hours)",
    expected: [],
    exitCode: 0,
    apply: (d) => givenUpDaysAgo(d, 10),
  },
  {
    defect: "a verification message queued 20 minutes ago that no sender tried",
    expected: ["CIT-035 medium"],
    exitCode: 0,
    apply: (d) => queue(d, d.now - 20 * MINUTE_MS),
  },
  {
    defect: "a message queued 30 minutes ago whose first attempt was refused",
    expected: ["CIT-035 medium"],
    exitCode: 0,
    async apply(d) {
      await queue(d, d.now - 30 * MINUTE_MS);
      await deliver(d, nothingListens(), { from: d.now - 29 * MINUTE_MS, runs: 1 });
    },
  },
  {
    defect: "a message queued 5 minutes ago",
    expected: [],
    exitCode: 0,
    apply: (d) => queue(d, d.now - 5 * MINUTE_MS),
  },
  {
    defect: "a message queued an hour ago and sent (as an .eml file)",
    expected: [],
    exitCode: 0,
    async apply(d) {
      await queue(d, d.now - 60 * MINUTE_MS);
      await deliver(d, fileTransport(`${d.dir}/data/mail`, FROM), {
        from: d.now - 59 * MINUTE_MS,
        runs: 1,
      });
    },
  },
  {
    defect: "a database from before the email outbox (migration 0009 pending)",
    expected: ["CIT-025 high"],
    exitCode: 1,
    apply: (d) =>
      withDb(d, async (db) => {
        await db.deleteFrom("citadel_migrations").where("name", "=", "0009_email").execute();
        await sql`DROP TABLE email_outbox`.execute(db);
        await sql`DROP TABLE email_tokens`.execute(db);
        await sql`ALTER TABLE users DROP COLUMN email_verified_at`.execute(db);
      }),
  },
  {
    defect: "SMTP_URL and PUBLIC_URL set in production",
    expected: [],
    exitCode: 0,
    apply(d) {
      d.env.SMTP_URL = `smtp://mailer:${SMTP_PASSWORD}@mail.example.com:587`;
      d.env.PUBLIC_URL = "https://auth.example.com";
    },
  },
  {
    defect: "an SMTP_URL the server refuses (http://)",
    expected: ["CIT-090 high"],
    exitCode: 1,
    apply(d) {
      d.env.SMTP_URL = "http://mail.example.com";
      d.env.PUBLIC_URL = "https://auth.example.com";
    },
  },
];

tableTest(CASES);

Deno.test("CIT-034 counts what was given up by kind and shows the server's last answer, without the recipient's address", async () => {
  await using d = await hardenedDeployment();
  // A real SMTP server that refuses every recipient, naming the address as servers do.
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, callback) {
      const error = new Error(`5.1.1 <${address.address}>: Recipient address rejected`);
      Object.assign(error, { responseCode: 550 });
      callback(error);
    },
  });
  const port = freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  try {
    const from = d.now - 2 * DAY_MS;
    await queue(d, from, "password_reset", "grace@example.test");
    await queue(d, from, "password_reset", "alan@example.test");
    await queue(d, from, "verify_email", "barbara@example.test");
    const transport = smtpTransport({
      url: `smtp://127.0.0.1:${port}`,
      from: FROM,
      allowInsecure: true,
      timeoutSeconds: 5,
    });
    await deliver(d, transport, { from, runs: MAX_ATTEMPTS });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  await withDb(d, async (db) => {
    const rows = await outbox(db);
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.attempts, MAX_ATTEMPTS);
      assert.notEqual(row.failed_at, null, "given up");
      assert.match(row.last_error ?? "", /@example\.test>: Recipient address rejected/);
    }
  });
  const { report, exitCode } = await d.check();
  assert.equal(exitCode, 0, "medium is below the default fail level");
  const findings = report.findings.filter((f) => f.id === "CIT-034");
  assert.equal(findings.length, 1);
  const [finding] = findings;
  assert.equal(finding.severity, "medium");
  assert.equal(finding.title, "Email messages were given up");
  assert.match(
    finding.found,
    /^3 message\(s\) given up after 36 failed attempts in the last 7 days \(password_reset 2, verify_email 1\); last error: .*550 5\.1\.1 <<address>>: Recipient address rejected/,
  );
  assert.ok(!finding.found.includes("@example.test"), finding.found);
  assert.match(finding.fix, /citadel email test --to/);
  assert.ok(!report.findings.some((f) => f.id === "CIT-035"), "nothing waits any more");
});

Deno.test("CIT-035 tells a sender that never ran from a mail server that refuses", async () => {
  await using d = await hardenedDeployment();
  await queue(d, d.now - 3 * 60 * MINUTE_MS, "password_reset");
  await queue(d, d.now - 20 * MINUTE_MS, "verify_email");
  const idle = (await d.check()).report.findings.filter((f) => f.id === "CIT-035");
  assert.equal(idle.length, 1);
  assert.equal(idle[0].severity, "medium");
  assert.equal(
    idle[0].found,
    "2 message(s) unsent for over 15 minutes, the oldest for 3 hours " +
      "(password_reset 1, verify_email 1); no sender has tried any of them: no `citadel serve` " +
      "runs the background sender and no `citadel email send` is scheduled",
  );
  assert.match(idle[0].fix, /`citadel serve`/);
  assert.match(idle[0].fix, /`citadel email send` every minute/);

  await deliver(d, nothingListens(), { from: d.now - 10 * MINUTE_MS, runs: 1 });
  const refused = (await d.check()).report.findings.filter((f) => f.id === "CIT-035");
  assert.equal(refused.length, 1);
  assert.match(
    refused[0].found,
    /^2 message\(s\) unsent for over 15 minutes, the oldest for 3 hours \(password_reset 1, verify_email 1\); 2 of them failed at least once; last error: .*ECONNREFUSED/,
  );
  assert.match(refused[0].fix, /citadel email test --to/);
  await withDb(d, async (db) => {
    const failures = await db.selectFrom("audit_events").select("action")
      .where("action", "=", "email.delivery_failed").execute();
    assert.equal(failures.length, 2, "each refusal is audited");
  });
});

Deno.test("CIT-034 and CIT-035 never show the SMTP credentials a delivery error repeats", async () => {
  await using d = await hardenedDeployment();
  d.env.SMTP_URL = `smtp://mailer:${encodeURIComponent(SMTP_PASSWORD)}@mail.example.com:587`;
  d.env.PUBLIC_URL = "https://auth.example.com";
  await queue(d, d.now - DAY_MS, "password_reset");
  await queue(d, d.now - 30 * MINUTE_MS, "verify_email");
  await withDb(d, async (db) => {
    // What a careless relay might answer: the credentials it was given, echoed.
    const echoed = `535 authentication failed for mailer:${SMTP_PASSWORD}\r\nbye`;
    await db.updateTable("email_outbox").set({ last_error: echoed, attempts: 1 }).execute();
    await db.updateTable("email_outbox")
      .set({ failed_at: d.now - DAY_MS + 3 * 60 * MINUTE_MS, attempts: MAX_ATTEMPTS })
      .where("kind", "=", "password_reset").execute();
  });
  const { report } = await d.check();
  const shown = report.findings.filter((f) => f.id === "CIT-034" || f.id === "CIT-035");
  assert.deepEqual(shown.map((f) => f.id).sort(), ["CIT-034", "CIT-035"]);
  for (const finding of shown) {
    assert.ok(!finding.found.includes(SMTP_PASSWORD), finding.found);
    assert.match(finding.found, /535 authentication failed for \[redacted\]:\[redacted\] bye$/);
  }
});

Deno.test("CIT-092 is an info finding of production without SMTP_URL only", async () => {
  await using d = await hardenedDeployment();
  const cit092 = async () => (await d.check()).report.findings.filter((f) => f.id === "CIT-092");

  const [finding] = await cit092();
  assert.deepEqual(
    { ...finding, found: undefined, fix: undefined },
    {
      id: "CIT-092",
      severity: "info",
      title: "Users cannot reset a forgotten password by email",
      setting: "SMTP_URL",
      found: undefined,
      fix: undefined,
    },
  );
  assert.match(finding.found, /^APP_ENV=production without SMTP_URL: .*503 email_not_configured/);
  assert.match(finding.fix, /citadel admin reset-password/);

  d.env.SMTP_URL = "smtps://mailer:secret-value-1234@mail.example.com:465";
  d.env.PUBLIC_URL = "https://auth.example.com";
  assert.deepEqual(await cit092(), [], "with SMTP_URL");

  d.env.SMTP_URL = "http://mail.example.com";
  assert.deepEqual(await cit092(), [], "a refused SMTP_URL is CIT-090's finding");

  delete d.env.SMTP_URL;
  d.env.APP_ENV = "development";
  assert.deepEqual(await cit092(), [], "development writes .eml files");
});
