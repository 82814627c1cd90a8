/**
 * The second step of a login with MFA on: the single-use `mfa_token` challenge (stored as a
 * keyed hash, five minutes) and its completion with a TOTP or recovery code, under two
 * limits that hold across processes and concurrent requests: five attempts per token and ten
 * failures per account in fifteen minutes.
 */
import type { Db, User } from "../db/schema.ts";
import { AppError, problem } from "../errors.ts";
import { hex, hmac, randomToken } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import type { CounterStore } from "../platform/counter_store.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { Alerter } from "./alerts.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import type { LoginResult, MfaChallenge } from "./login.ts";
import { failClosed, tooManyAttempts } from "./login_guard.ts";
import {
  type FactorInput,
  type FactorMethod,
  type FactorPurpose,
  invalidMfaCode,
  type MfaService,
  type PasskeyFactor,
  type SecondFactorInput,
} from "./mfa.ts";
import { invalidPasskey, type Passkeys } from "./passkeys.ts";
import type { Pepper } from "./pepper.ts";
import type { ClientMeta } from "./sessions.ts";

/** How long an `mfa_token` lives. */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong codes one `mfa_token` takes before it is dead. */
export const MFA_ATTEMPTS_PER_TOKEN = 5;
/** Wrong codes one account takes in {@linkcode MFA_WINDOW_MS} before it is blocked. */
export const MFA_FAILURES_PER_ACCOUNT = 10;
/** The window of the account limit, and how long its block lasts after the last failure. */
export const MFA_WINDOW_MS = 15 * 60_000;

const isPasskey = (input: SecondFactorInput): input is PasskeyFactor => "passkey_response" in input;

/** What {@linkcode createMfaLogin} needs. */
export interface MfaLoginDeps {
  db: Db;
  clock: Clock;
  pepper: Pepper;
  counters: CounterStore;
  audit: Audit;
  alerts: Alerter;
  mfa: MfaService;
  passkeys: Passkeys;
  /** Completes the login once the factor is verified (login.ts `finish`). */
  finish(user: User, meta: ClientMeta, actor: AuditActor, amr: string[]): Promise<LoginResult>;
  /** Login outcomes: `mfa_required` (a challenge issued) and `mfa_failed` (a wrong factor). */
  metrics?: Pick<Metrics, "logins">;
}

const invalidMfaToken = () =>
  problem("invalid_mfa_token", {
    detail: "The MFA token is invalid, expired or already used; log in again",
  });

/** The MFA challenge and its completion; see the module comment. */
export function createMfaLogin(deps: MfaLoginDeps) {
  const { db, clock, counters, audit } = deps;
  const tokenHash = async (token: string) => hex(await hmac(await deps.pepper.key, `mfa:${token}`));
  const blockKey = (userId: string) => `mfa-block:${userId}`;

  /** Records a wrong code; the tenth in the window blocks the account. Always throws. */
  async function failed(
    userId: string,
    failures: number,
    input: SecondFactorInput,
    actor: AuditActor,
  ): Promise<never> {
    const now = clock.now();
    await audit(db, {
      ...actor,
      action: "mfa.challenge_failed",
      outcome: "failure",
      targetType: "user",
      targetId: userId,
      details: {
        method: isPasskey(input) ? "passkey" : "code" in input ? "totp" : "recovery_code",
        attempts: failures,
        reason: "invalid_code",
      },
    });
    if (failures >= MFA_FAILURES_PER_ACCOUNT) {
      const until = now + MFA_WINDOW_MS;
      await failClosed(() => counters.block(blockKey(userId), until));
      await audit(db, {
        ...actor,
        action: "mfa.challenge_blocked",
        outcome: "denied",
        targetType: "user",
        targetId: userId,
        details: { failures, blocked_until: new Date(until).toISOString() },
      });
      deps.alerts.alert("mfa_blocked", { user_id: userId, ip: actor.ip ?? null });
    }
    if (isPasskey(input)) throw invalidPasskey();
    throw invalidMfaCode();
  }

  /**
   * Checks the factor itself: a passkey assertion against the challenge issued for this
   * `mfa_token` (login) or session (step-up), a code against the user's TOTP. The method's
   * `amr` value, or undefined when it is wrong.
   */
  async function check(
    user: User,
    input: SecondFactorInput,
    actor: AuditActor,
    purpose: FactorPurpose,
    boundTo: string | undefined,
  ): Promise<string | undefined> {
    const asUser = { ...actor, actorType: "user" as const, actorId: user.id };
    if (user.status !== "active") return undefined;
    if (!isPasskey(input)) {
      if (user.mfa_enabled_at === null) return undefined;
      return await deps.mfa.verifyFactor(user, input, asUser, purpose);
    }
    if (boundTo === undefined) return undefined;
    try {
      await deps.passkeys.verifyAssertion(
        input.passkey_response,
        { purpose: purpose === "login" ? "mfa" : "reauthenticate", userId: user.id, boundTo },
        input.origin,
        actor,
      );
      return "hwk";
    } catch (error) {
      if (error instanceof AppError && error.code === "invalid_passkey") return undefined;
      throw error;
    }
  }

  /**
   * Verifies a user's factor under the account limit (every route that checks a code shares
   * it): a blocked account gets 429 without a verification. Each attempt is first written
   * down (`mfa_attempts`) and counted over the last fifteen minutes, a sliding window: at
   * most ten attempts can be in flight or failed however many arrive at once, and those
   * beyond are refused unverified. A right code removes its row; a wrong one stays a failure.
   */
  async function verify(
    user: User,
    input: FactorInput,
    actor: AuditActor,
    purpose: FactorPurpose,
  ): Promise<FactorMethod>;
  async function verify(
    user: User,
    input: SecondFactorInput,
    actor: AuditActor,
    purpose: FactorPurpose,
    boundTo?: string,
  ): Promise<string>;
  async function verify(
    user: User,
    input: SecondFactorInput,
    actor: AuditActor,
    purpose: FactorPurpose,
    boundTo?: string,
  ): Promise<string> {
    const now = clock.now();
    const blockedUntil = await failClosed(() => counters.blockedUntil(blockKey(user.id)));
    if (blockedUntil !== undefined && blockedUntil > now) {
      throw tooManyAttempts(Math.ceil((blockedUntil - now) / 1000));
    }
    const attempt = crypto.randomUUID();
    await db.insertInto("mfa_attempts").values({ id: attempt, user_id: user.id, at: now })
      .execute();
    const { n } = await db.selectFrom("mfa_attempts")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("user_id", "=", user.id).where("at", ">", now - MFA_WINDOW_MS)
      .executeTakeFirstOrThrow();
    const count = Number(n);
    const forget = () => db.deleteFrom("mfa_attempts").where("id", "=", attempt).execute();
    if (count > MFA_FAILURES_PER_ACCOUNT) {
      // More guesses than the limit at once: refused unverified, and the account is blocked
      // as if the tenth had failed (the block keeps the later end of two).
      await forget();
      await failClosed(() => counters.block(blockKey(user.id), now + MFA_WINDOW_MS));
      const until = await failClosed(() => counters.blockedUntil(blockKey(user.id)));
      throw tooManyAttempts(Math.max(1, Math.ceil(((until ?? now + MFA_WINDOW_MS) - now) / 1000)));
    }
    const method = await check(user, input, actor, purpose, boundTo);
    if (!method) {
      // Only the second step of a sign-in is a login outcome; step-up and settings are not.
      if (purpose === "login") deps.metrics?.logins.inc(["mfa_failed"]);
      return await failed(user.id, count, input, actor);
    }
    await forget(); // not a failure
    return method;
  }

  return {
    verify,

    /**
     * A new challenge for a user whose password was right, naming the factors the user has:
     * `totp` and `recovery_code` with TOTP on, `passkey` with a passkey. `firstFactor` is the
     * `amr` of what came first (`pwd`, or `fed` after a provider's sign-in).
     */
    async issue(user: User, firstFactor = "pwd"): Promise<MfaChallenge> {
      const token = randomToken(32);
      const now = clock.now();
      const methods = [
        ...(user.mfa_enabled_at !== null ? ["totp", "recovery_code"] : []),
        ...(await deps.passkeys.count(user.id) > 0 ? ["passkey"] : []),
      ];
      await db.insertInto("mfa_challenges").values({
        token_hash: await tokenHash(token),
        user_id: user.id,
        created_at: now,
        expires_at: now + MFA_TOKEN_TTL_SECONDS * 1000,
        attempts: 0,
        used_at: null,
        first_factor: firstFactor === "pwd" ? null : firstFactor,
      }).execute();
      deps.metrics?.logins.inc(["mfa_required"]);
      return {
        mfa_required: true,
        mfa_token: token,
        methods,
        expires_in: MFA_TOKEN_TTL_SECONDS,
      };
    },

    /**
     * Completes a challenge. Each attempt is reserved before any verification, on the token
     * (a conditional update: at most five) and on the account (the shared counter store: at
     * most ten failures in fifteen minutes, then 429 until fifteen minutes after the last),
     * so concurrent guesses cannot verify more codes than the limits allow.
     */
    async complete(
      token: string,
      input: SecondFactorInput,
      meta: ClientMeta,
      actor: AuditActor,
    ): Promise<LoginResult> {
      const hash = await tokenHash(token);
      const now = clock.now();
      const challenge = await db.selectFrom("mfa_challenges").selectAll()
        .where("token_hash", "=", hash).executeTakeFirst();
      if (!challenge || challenge.used_at !== null || challenge.expires_at <= now) {
        throw invalidMfaToken();
      }
      const reserved = await db.updateTable("mfa_challenges")
        .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
        .where("token_hash", "=", hash)
        .where("attempts", "<", MFA_ATTEMPTS_PER_TOKEN)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      if (reserved.numUpdatedRows === 0n) throw invalidMfaToken();
      const user = await db.selectFrom("users").selectAll().where("id", "=", challenge.user_id)
        .executeTakeFirstOrThrow();
      const method = await verify(user, input, actor, "login", hash);
      const claimed = await db.updateTable("mfa_challenges").set({ used_at: clock.now() })
        .where("token_hash", "=", hash).where("used_at", "is", null).executeTakeFirst();
      if (claimed.numUpdatedRows === 0n) throw invalidMfaToken();
      // A spent recovery code changed the `recovery_codes_left` the answer shows.
      const current = method === "rc"
        ? await db.selectFrom("users").selectAll().where("id", "=", user.id)
          .executeTakeFirstOrThrow()
        : user;
      return await deps.finish(current, meta, actor, [challenge.first_factor ?? "pwd", method]);
    },

    /** The user of a live, unused `mfa_token`, for its passkey options; 401 otherwise. */
    async pending(token: string): Promise<{ userId: string; tokenHash: string }> {
      const hash = await tokenHash(token);
      const challenge = await db.selectFrom("mfa_challenges").selectAll()
        .where("token_hash", "=", hash).executeTakeFirst();
      if (
        !challenge || challenge.used_at !== null || challenge.expires_at <= clock.now() ||
        challenge.attempts >= MFA_ATTEMPTS_PER_TOKEN
      ) throw invalidMfaToken();
      return { userId: challenge.user_id, tokenHash: hash };
    },
  };
}

export type MfaLogin = ReturnType<typeof createMfaLogin>;
