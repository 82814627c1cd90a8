/**
 * Removing what no longer protects anything: expired and old revoked sessions, old login
 * records, dead MFA challenges, expired counters and blocks.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";
import type { CounterStore } from "../platform/counter_store.ts";

/** What one cleanup removed. */
export interface CleanupResult {
  sessions: number;
  loginHistory: number;
  mfaChallenges: number;
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
  // Second-factor attempts count for fifteen minutes.
  await deps.db.deleteFrom("mfa_attempts").where("at", "<", now - DAY_MS).execute();
  const counters = await deps.counters.cleanup();
  return {
    sessions: Number(sessions.numDeletedRows),
    loginHistory: Number(history.numDeletedRows),
    mfaChallenges: Number(challenges.numDeletedRows),
    counters,
  };
}
