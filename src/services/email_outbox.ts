/**
 * The email outbox: a message is written in the transaction of the change that causes it
 * (`enqueue`), and a background sender delivers due messages with retries and exponential
 * backoff. A row is leased before it is sent, so two senders (workers, hosts) never send
 * the same message at once, and a sender that dies mid-send leaves a lease that runs out.
 */
import type { Selectable } from "kysely";
import type { Db, EmailOutboxTable } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/logger.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { MailTransport, SendResult } from "../platform/mail_transport.ts";
import { hmac } from "../lib/crypto.ts";
import { createFieldCipher, type FieldCipher, FieldCryptoError } from "../lib/field_crypto.ts";
import type { Audit } from "./audit.ts";
import type { Pepper } from "./pepper.ts";
import { SYSTEM_ACTOR } from "./audit_events.ts";

/** A message to queue. */
export interface QueuedMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What it is about (`verify_email`, `password_reset`, ...), for logs and the audit. */
  kind: string;
}

/**
 * Attempts before a message is given up: the last comes about 26 hours after the first, so a
 * mail server down for a day loses nothing.
 */
export const MAX_ATTEMPTS = 36;
/** How long a sender holds a message it is sending. */
const LEASE_MS = 120_000;
/**
 * The longest a send may take: well inside the lease, so no other sender can lease a message
 * while this one may still be delivering it. A send cut off here counts as failed and is
 * retried (SMTP cannot tell whether the server kept it; the stable Message-ID lets a receiver
 * drop the copy).
 */
const SEND_DEADLINE_MS = 90_000;
const FIRST_RETRY_MS = 5_000;
const LONGEST_RETRY_MS = 3_600_000;
const BATCH = 20;

/** The wait before attempt `attempts + 1`: 5 s, 10 s, 20 s, ... at most an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * A failure as text for `last_error` and the log. A refused connection to a name with
 * several addresses (`localhost`: ::1 and 127.0.0.1) is an AggregateError with an empty
 * message; its inner errors say what happened.
 */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && !error.message && error.errors.length > 0) {
    return error.errors.map(describeError).join("; ");
  }
  if (error instanceof Error) {
    return error.message || String((error as { code?: unknown }).code ?? error.name);
  }
  return String(error);
}

/**
 * The cipher of message bodies, keyed from the pepper (HASH_PEPPER or DATA_DIR/hash_pepper,
 * which every installation has): the bodies carry link tokens, which must not sit readable in
 * the database file while a message waits, nor after.
 */
export async function outboxCipher(pepper: Pick<Pepper, "key">): Promise<FieldCipher> {
  const bytes = await hmac(await pepper.key, "citadel/email-outbox/v1");
  return await createFieldCipher({ current: new Uint8Array(bytes) });
}

const bodyField = (column: "text_body" | "html_body", rowId: string) => ({
  table: "email_outbox",
  column,
  rowId,
});

/** Queues a message in the caller's transaction; it is sent only if that transaction commits. */
export async function enqueueEmail(
  executor: Pick<Db, "insertInto">,
  message: QueuedMessage,
  now: number,
  cipher: FieldCipher,
): Promise<string> {
  const id = crypto.randomUUID();
  await executor.insertInto("email_outbox").values({
    id,
    recipient: message.to,
    subject: message.subject,
    text_body: await cipher.encrypt(message.text, bodyField("text_body", id)),
    html_body: await cipher.encrypt(message.html, bodyField("html_body", id)),
    kind: message.kind,
    created_at: now,
    next_attempt_at: now,
    lease_until: null,
    sent_at: null,
    failed_at: null,
    last_error: null,
    message_id: null,
  }).execute();
  return id;
}

/** Messages still to deliver: neither sent nor given up (due now or waiting for a retry). */
export async function outboxDepth(db: Db): Promise<number> {
  const { n } = await db.selectFrom("email_outbox")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("sent_at", "is", null).where("failed_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** A due row as the sender reads it. */
type OutboxRow = Pick<
  Selectable<EmailOutboxTable>,
  "id" | "recipient" | "subject" | "text_body" | "html_body" | "kind" | "attempts"
>;

/** What {@linkcode createOutboxSender} needs. */
export interface OutboxSenderDeps {
  db: Db;
  clock: Clock;
  transport: MailTransport;
  logger: Logger;
  audit: Audit;
  /** The domain of Message-IDs, e.g. the host of PUBLIC_URL. */
  messageIdDomain: string;
  /** Opens the bodies {@linkcode enqueueEmail} sealed; see {@linkcode outboxCipher}. */
  cipher: FieldCipher;
  /** Counts failed deliveries (every failed attempt, retried or given up). */
  metrics?: Pick<Metrics, "emailSendFailures">;
}

/** Delivers the outbox; `runOnce` for tests and the CLI, `start` for a server. */
export function createOutboxSender(deps: OutboxSenderDeps) {
  const { db, clock, transport, logger } = deps;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<number> | undefined;

  /** Leases one due row; false when another sender has it. */
  /**
   * Leases one row still due at this moment (the clock read now, not at the start of a batch
   * whose sends may have taken minutes) and reads it as the lease found it; undefined when
   * another sender has it, sent it or rescheduled it.
   */
  async function lease(id: string): Promise<OutboxRow | undefined> {
    const now = clock.now();
    const leased = await db.updateTable("email_outbox").set({ lease_until: now + LEASE_MS })
      .where("id", "=", id).where("sent_at", "is", null).where("failed_at", "is", null)
      .where("next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .executeTakeFirst();
    if (leased.numUpdatedRows === 0n) return undefined;
    return await db.selectFrom("email_outbox")
      .select(["id", "recipient", "subject", "text_body", "html_body", "kind", "attempts"])
      .where("id", "=", id).executeTakeFirst();
  }

  /** Sends one message, cut off at {@linkcode SEND_DEADLINE_MS}. */
  async function send(row: OutboxRow, messageId: string): Promise<SendResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${SEND_DEADLINE_MS / 1000} s`)),
        SEND_DEADLINE_MS,
      );
    });
    try {
      const { cipher } = deps;
      return await Promise.race([
        transport.send({
          to: row.recipient,
          subject: row.subject,
          text: await cipher.decrypt(row.text_body, bodyField("text_body", row.id)),
          html: await cipher.decrypt(row.html_body, bodyField("html_body", row.id)),
          messageId,
        }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Records an accepted message as sent, retried a few times: a database hiccup here must not
   * turn into a failed delivery (which would send it again). If it still fails, the lease
   * stays until it runs out, and the message may then go out a second time.
   */
  async function markSent(row: OutboxRow, result: SendResult): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await db.updateTable("email_outbox")
          // A sent message's bodies serve no one: dropped with the tokens in them.
          .set({
            sent_at: clock.now(),
            lease_until: null,
            message_id: result.messageId,
            text_body: "",
            html_body: "",
          })
          .where("id", "=", row.id).execute();
        return;
      } catch (error) {
        if (attempt >= 3) {
          logger.error("email sent but not recorded as sent", { id: row.id, error });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /** A failed send: the next attempt scheduled (or given up), logged and audited. */
  async function recordFailure(row: OutboxRow, error: unknown): Promise<void> {
    deps.metrics?.emailSendFailures.inc();
    const attempts = row.attempts + 1;
    const now = clock.now();
    // A body that does not open (another pepper, a tampered row) will never open: no retries.
    const givenUp = attempts >= MAX_ATTEMPTS || error instanceof FieldCryptoError;
    const reason = describeError(error);
    // The attempt and its audit event are one write: a reader (or a crash) never sees one alone.
    await db.transaction().execute(async (trx) => {
      await trx.updateTable("email_outbox").set({
        attempts,
        lease_until: null,
        last_error: reason.slice(0, 500),
        next_attempt_at: now + retryDelayMs(attempts),
        failed_at: givenUp ? now : null,
      }).where("id", "=", row.id).execute();
      await deps.audit(trx, {
        ...SYSTEM_ACTOR,
        action: "email.delivery_failed",
        outcome: "failure",
        targetType: "email",
        targetId: row.id,
        details: { kind: row.kind, attempts, given_up: givenUp },
      });
    });
    logger.warn("email delivery failed", {
      id: row.id,
      kind: row.kind,
      attempts,
      given_up: givenUp,
      error: reason,
    });
  }

  async function deliver(row: OutboxRow): Promise<boolean> {
    let result: SendResult;
    try {
      result = await send(row, `<${row.id}@${deps.messageIdDomain}>`);
    } catch (error) {
      await recordFailure(row, error);
      return false;
    }
    await markSent(row, result);
    logger.info("email sent", { id: row.id, kind: row.kind, response: result.response });
    return true;
  }

  /** Sends every due message once; returns how many were sent. */
  async function runOnce(): Promise<number> {
    const now = clock.now();
    const due = await db.selectFrom("email_outbox").select("id")
      .where("sent_at", "is", null).where("failed_at", "is", null)
      .where("next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .orderBy("next_attempt_at").limit(BATCH).execute();
    let sent = 0;
    for (const { id } of due) {
      const row = await lease(id);
      if (row && await deliver(row)) sent++;
    }
    return sent;
  }

  return {
    runOnce,
    /** Polls every `everyMs` (default 1 s), one run at a time, until `stop`. */
    start(everyMs = 1000) {
      timer ??= setInterval(() => {
        running ??= runOnce().catch((error) => {
          logger.error("email outbox failed", { error });
          return 0;
        }).finally(() => running = undefined);
      }, everyMs);
    },
    /** Stops polling and waits for a run in progress. */
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type OutboxSender = ReturnType<typeof createOutboxSender>;
