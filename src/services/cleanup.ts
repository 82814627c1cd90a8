/**
 * Removing what no longer protects anything: expired and old revoked sessions, old login
 * records, dead MFA and passkey challenges, social sign-in flows and codes past their time, spent email tokens, old outbox messages, expired counters and
 * blocks.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { CounterStore } from "../platform/counter_store.ts";

/** What one cleanup removed. */
export interface CleanupResult {
  sessions: number;
  loginHistory: number;
  mfaChallenges: number;
  /** Passkey ceremony challenges past their five minutes. */
  passkeyChallenges: number;
  /** Social sign-in flows and one-time codes past their lifetime (ten minutes at most). */
  oauth: number;
  /** Email tokens used or expired a day ago, and messages sent or given up a week ago. */
  emailTokens: number;
  emailOutbox: number;
  counters: number;
}

/** What cleanup reads: the access-token lifetime and the login-history retention. */
export interface CleanupSettings {
  jwt: { accessTtlSeconds: number };
  loginGuard: { retentionDays: number };
}

const DAY_MS = 86_400_000;

/**
 * Removes what no longer protects anything: sessions past their absolute expiry and
 * revoked sessions older than a day (longer than any access token that could name them;
 * their refresh tokens go with them), login records older than
 * LOGIN_ATTEMPT_RETENTION_DAYS, and expired counters and blocks.
 */
export async function cleanupExpired(
  deps: { db: Db; clock: Clock; counters: CounterStore },
  config: CleanupSettings,
): Promise<CleanupResult> {
  const now = deps.clock.now();
  const revokedBefore = now - Math.max(DAY_MS, config.jwt.accessTtlSeconds * 2000);
  const sessions = await deps.db.deleteFrom("sessions")
    .where((eb) => eb.or([eb("expires_at", "<", now), eb("revoked_at", "<", revokedBefore)]))
    .executeTakeFirst();
  const history = await deps.db.deleteFrom("login_history")
    .where("last_success_at", "<", now - config.loginGuard.retentionDays * DAY_MS)
    .executeTakeFirst();
  // An MFA challenge is dead five minutes after it was issued; kept a day, for no reason
  // beyond making the table's size easy to reason about.
  const challenges = await deps.db.deleteFrom("mfa_challenges")
    .where("expires_at", "<", now - DAY_MS).executeTakeFirst();
  // A passkey ceremony's challenge is dead five minutes after it was issued.
  const passkeyChallenges = await deps.db.deleteFrom("passkey_challenges")
    .where("expires_at", "<", now).executeTakeFirst();
  const oauthFlows = await deps.db.deleteFrom("oauth_flows")
    .where("expires_at", "<", now).executeTakeFirst();
  const oauthCodes = await deps.db.deleteFrom("oauth_codes")
    .where("expires_at", "<", now).executeTakeFirst();
  // Second-factor attempts count for fifteen minutes.
  await deps.db.deleteFrom("mfa_attempts").where("at", "<", now - DAY_MS).execute();
  // A used or expired link token is kept a day (what happened to a link stays explainable).
  const emailTokens = await deps.db.deleteFrom("email_tokens")
    .where((eb) => eb.or([eb("used_at", "<", now - DAY_MS), eb("expires_at", "<", now - DAY_MS)]))
    .executeTakeFirst();
  // A sent or given-up message is kept a week, for `citadel check` and the operator.
  const emailOutbox = await deps.db.deleteFrom("email_outbox")
    .where((eb) =>
      eb.or([eb("sent_at", "<", now - 7 * DAY_MS), eb("failed_at", "<", now - 7 * DAY_MS)])
    ).executeTakeFirst();
  const counters = await deps.counters.cleanup();
  return {
    sessions: Number(sessions.numDeletedRows),
    loginHistory: Number(history.numDeletedRows),
    mfaChallenges: Number(challenges.numDeletedRows),
    passkeyChallenges: Number(passkeyChallenges.numDeletedRows),
    oauth: Number(oauthFlows.numDeletedRows) + Number(oauthCodes.numDeletedRows),
    emailTokens: Number(emailTokens.numDeletedRows),
    emailOutbox: Number(emailOutbox.numDeletedRows),
    counters,
  };
}
