/**
 * The `citadel check` findings about email: messages the outbox gave up on (CIT-034), messages
 * waiting too long to be sent (CIT-035), and production without SMTP_URL, where users cannot
 * reset a forgotten password by email (CIT-092). The email settings `serve` refuses are
 * production rules, which CIT-091 already reports.
 */
import { MAX_ATTEMPTS } from "../../services/email_outbox.ts";
import { type CheckContext, type CheckDefinition, defineCheck, type Detail } from "./types.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Messages given up within this many days are reported. */
export const GIVEN_UP_DAYS = 7;
/** A message unsent for longer than this many minutes is a backlog. */
export const BACKLOG_MINUTES = 15;
/** The longest piece of a delivery error a finding shows. */
const ERROR_CHARS = 200;

/** The outbox's rows of interest, or undefined when the database has no outbox yet. */
async function outboxRows(context: CheckContext, where: "given_up" | "waiting") {
  const database = context.database;
  if (!database?.tables.has("email_outbox")) return undefined;
  let query = database.db.selectFrom("email_outbox")
    .select(["kind", "created_at", "attempts", "failed_at", "last_error"])
    .where("sent_at", "is", null);
  query = where === "given_up"
    ? query.where("failed_at", ">=", context.now - GIVEN_UP_DAYS * DAY_MS)
    : query.where("failed_at", "is", null)
      .where("created_at", "<", context.now - BACKLOG_MINUTES * MINUTE_MS);
  return await query.execute();
}

/** `password_reset 2, verify_email 1`: how many rows of each kind. */
function byKind(rows: readonly { kind: string }[]): string {
  const counts = new Map<string, number>();
  for (const { kind } of rows) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

/**
 * A delivery error as a finding may show it: one line, short, without the SMTP credentials
 * or any recipient's address (reports end up in CI logs).
 */
function shownError(error: string, context: CheckContext): string {
  let text = error;
  try {
    const url = new URL(context.config.email.smtpUrl ?? "");
    for (const part of [url.password, url.username]) {
      if (!part) continue;
      text = text.replaceAll(part, "[redacted]").replaceAll(decodeURIComponent(part), "[redacted]");
    }
  } catch { /* no SMTP_URL */ }
  text = text.replace(/[^\s<>"'@]+@[^\s<>"'@]+\.[^\s<>"'@]+/g, "<address>")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS)}…` : text;
}

/** The most recent error among `rows`, as shown. */
function lastError(
  rows: readonly { last_error: string | null; failed_at: number | null; created_at: number }[],
  context: CheckContext,
): string | undefined {
  const latest = rows.filter((r) => r.last_error)
    .sort((a, b) => (b.failed_at ?? b.created_at) - (a.failed_at ?? a.created_at))[0];
  return latest?.last_error ? shownError(latest.last_error, context) : undefined;
}

/** "12 minutes", "3 hours", "2 days". */
function age(ms: number): string {
  const minutes = Math.floor(ms / MINUTE_MS);
  if (minutes < 120) return `${minutes} minutes`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} hours` : `${Math.floor(hours / 24)} days`;
}

async function givenUp(context: CheckContext): Promise<Detail[]> {
  const rows = await outboxRows(context, "given_up");
  if (!rows || rows.length === 0) return [];
  const error = lastError(rows, context);
  return [{
    found: `${rows.length} message(s) given up after ${MAX_ATTEMPTS} failed attempts in the ` +
      `last ${GIVEN_UP_DAYS} days (${byKind(rows)})` + (error ? `; last error: ${error}` : ""),
  }];
}

async function backlog(context: CheckContext): Promise<Detail[]> {
  const rows = await outboxRows(context, "waiting");
  if (!rows || rows.length === 0) return [];
  const oldest = Math.min(...rows.map((r) => r.created_at));
  const tried = rows.filter((r) => r.attempts > 0).length;
  const error = lastError(rows, context);
  const why = tried === 0
    ? "no sender has tried any of them: no `citadel serve` runs the background sender and no " +
      "`citadel email send` is scheduled"
    : `${tried} of them failed at least once` + (error ? `; last error: ${error}` : "");
  return [{
    found: `${rows.length} message(s) unsent for over ${BACKLOG_MINUTES} minutes, the oldest ` +
      `for ${age(context.now - oldest)} (${byKind(rows)}); ${why}`,
    fix: tried === 0
      ? "Run `citadel serve` on a host (its background sender polls the outbox every second), " +
        "or schedule `citadel email send` every minute where only Deno Deploy or Cloudflare " +
        "Workers serve"
      : undefined,
  }];
}

/** Messages the outbox gave up on or still holds. */
export const EMAIL_OUTBOX_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-034",
    severity: "medium",
    group: "database",
    title: "Email messages were given up",
    fix: "Check SMTP_URL with `citadel email test --to you@example.com` and the server's " +
      "answer; messages given up are not retried, so their users must ask for new links",
    run: givenUp,
  }),
  defineCheck({
    id: "CIT-035",
    severity: "medium",
    group: "database",
    title: "Email messages are waiting to be sent",
    fix: "Check SMTP_URL with `citadel email test --to you@example.com`: the mail server " +
      "refuses or cannot be reached",
    run: backlog,
  }),
];

/** What production without email means for users. */
export const EMAIL_CONFIG_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-092",
    severity: "info",
    group: "config",
    title: "Users cannot reset a forgotten password by email",
    fix: "Set SMTP_URL and PUBLIC_URL, then `citadel email test --to you@example.com`; until " +
      "then an operator resets passwords with `citadel admin reset-password`",
    run(context) {
      // An SMTP_URL the server refuses is CIT-090's finding, at high.
      const refused = context.configProblems.some((p) => p.variable === "SMTP_URL");
      return context.production && !context.config.email.smtpUrl && !refused
        ? [{
          found: "APP_ENV=production without SMTP_URL: the email endpoints answer 503 " +
            "email_not_configured, so nobody can verify an address, reset a forgotten " +
            "password or get an unlock link, and no security notices are sent",
          setting: "SMTP_URL",
        }]
        : [];
    },
  }),
];
