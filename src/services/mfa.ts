/**
 * The second factor: TOTP enrolment (seed encrypted under ENCRYPTION_KEY), recovery codes
 * (keyed hashes, single use), verification of a code or recovery code with replay
 * protection, and turning MFA off. The login challenge that uses it is mfa_login.ts.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { recipientOf } from "./email_messages.ts";
import type { SecurityNotices } from "./security_notices.ts";
import type { Db, User } from "../db/schema.ts";
import { problem } from "../errors.ts";
import { hex, hmac } from "../lib/crypto.ts";
import type { FieldCipher } from "../lib/field_crypto.ts";
import { generateTotpSecret, matchingStep, otpauthUri, toBase32 } from "../lib/totp.ts";
import type { Clock } from "../platform/clock.ts";
import type { Alerter } from "./alerts.ts";
import type { Audit } from "./audit.ts";
import type { AuditAction, AuditActor } from "./audit_events.ts";
import type { Pepper } from "./pepper.ts";
import type { SessionService } from "./sessions.ts";
import type { UserCache } from "./user_cache.ts";

/** How many recovery codes a set has. */
export const RECOVERY_CODE_COUNT = 10;
/** Where a TOTP seed's envelope lives: it decrypts only in its user's row. */
const SEED_FIELD = { table: "mfa_totp", column: "secret" } as const;

/** What {@linkcode createMfaService} needs. */
export interface MfaDeps {
  db: Db;
  clock: Clock;
  cipher: () => Promise<FieldCipher>;
  pepper: Pepper;
  audit: Audit;
  alerts: Alerter;
  sessions: SessionService;
  users: UserCache;
  /** MFA_ISSUER. */
  issuer: string;
  /** "Two-factor authentication was turned on/off" to the owner. */
  notices: SecurityNotices;
}

/** A presented second factor: a TOTP code or a recovery code. */
export type FactorInput = { code: string } | { recovery_code: string };

/** A passkey assertion as the second factor, with the origin the request reached citadel at. */
export interface PasskeyFactor {
  passkey_response: AuthenticationResponseJSON;
  origin: string;
}

/** A second factor: a TOTP code, a recovery code or a passkey assertion. */
export type SecondFactorInput = FactorInput | PasskeyFactor;

/**
 * What a code is verified for. A TOTP code is accepted once per purpose: a replayed sign-in
 * code is refused, while the code a user just signed in with may still confirm the
 * operation they do next within the same 30 s.
 */
export type FactorPurpose = "login" | "reauthenticate" | "confirm" | "disable" | "regenerate";

/** Which factor was verified, as its RFC 8176 `amr` value. */
export type FactorMethod = "otp" | "rc";

export const invalidMfaCode = () =>
  problem("invalid_mfa_code", { detail: "The code is not valid" });

/** A recovery code: 12 base32 characters (60 bits) in groups of four, e.g. `abcd-efgh-ijkl`. */
function newRecoveryCode(): string {
  const text = toBase32(crypto.getRandomValues(new Uint8Array(8))).slice(0, 12).toLowerCase();
  return `${text.slice(0, 4)}-${text.slice(4, 8)}-${text.slice(8, 12)}`;
}

/** The form a recovery code is hashed in: case, spaces and dashes do not matter. */
function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "");
}

/** TOTP enrolment, recovery codes and factor verification; see the module comment. */
export function createMfaService(deps: MfaDeps) {
  const { db, clock, audit } = deps;

  const codeHash = async (userId: string, code: string) =>
    hex(await hmac(await deps.pepper.key, `rc:${userId}:${normalizeRecoveryCode(code)}`));

  const seedOf = async (row: { user_id: string; secret: string }) =>
    await (await deps.cipher()).decrypt(row.secret, { ...SEED_FIELD, rowId: row.user_id });

  /** Replaces the user's recovery codes with a new set; returns the codes (shown once). */
  async function newRecoveryCodes(trx: Db, userId: string, now: number): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await trx.deleteFrom("mfa_recovery_codes").where("user_id", "=", userId).execute();
    for (const code of codes) {
      await trx.insertInto("mfa_recovery_codes").values({
        code_hash: await codeHash(userId, code),
        user_id: userId,
        created_at: now,
        used_at: null,
      }).execute();
    }
    await trx.updateTable("users").set({ recovery_codes_left: codes.length })
      .where("id", "=", userId).execute();
    return codes;
  }

  /**
   * Accepts a TOTP code of the confirmed (or, for `pending`, the pending) enrolment once per
   * purpose: the step it matches must be later than the last one accepted for that purpose,
   * and recording it is one conditional upsert, so two requests with the same code cannot
   * both pass. Outside any transaction: the row count is the verdict, and D1 reports none
   * inside one.
   */
  async function acceptTotp(
    userId: string,
    code: string,
    state: "confirmed" | "pending",
    purpose: FactorPurpose,
  ): Promise<boolean> {
    let query = db.selectFrom("mfa_totp").selectAll().where("user_id", "=", userId);
    query = state === "confirmed"
      ? query.where("confirmed_at", "is not", null)
      : query.where("confirmed_at", "is", null);
    const row = await query.executeTakeFirst();
    if (!row) return false;
    const step = await matchingStep(await seedOf(row), code.trim(), clock.now());
    if (step === undefined) return false;
    const claimed = await db.insertInto("mfa_totp_steps")
      .values({ user_id: userId, purpose, last_step: step })
      .onConflict((oc) =>
        oc.columns(["user_id", "purpose"]).doUpdateSet({ last_step: step })
          .where("mfa_totp_steps.last_step", "<", step)
      )
      .executeTakeFirst();
    return (claimed.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** Removes a user's second factor in the caller's transaction: seed, steps, codes, state. */
  async function removeFactor(trx: Db, userId: string) {
    await trx.deleteFrom("mfa_totp").where("user_id", "=", userId).execute();
    await forgetSteps(trx, userId);
    await trx.deleteFrom("mfa_recovery_codes").where("user_id", "=", userId).execute();
    await trx.updateTable("users").set({ mfa_enabled_at: null, recovery_codes_left: 0 })
      .where("id", "=", userId).execute();
  }

  /** One audit event about a user's second factor. */
  const auditUser = (
    executor: Db,
    actor: AuditActor,
    action: AuditAction,
    userId: string,
    details: Record<string, unknown>,
  ) =>
    audit(executor, {
      ...actor,
      action,
      outcome: "success",
      targetType: "user",
      targetId: userId,
      details,
    });

  /** Forgets the accepted steps of a user's enrolment (it is replaced or removed). */
  const forgetSteps = (executor: Db, userId: string) =>
    executor.deleteFrom("mfa_totp_steps").where("user_id", "=", userId).execute();

  /**
   * Spends one unused recovery code (outside any transaction, too); returns how many are
   * left, or undefined when it was not one.
   */
  async function spendRecoveryCode(userId: string, code: string): Promise<number | undefined> {
    const spent = await db.updateTable("mfa_recovery_codes")
      .set({ used_at: clock.now() })
      .where("code_hash", "=", await codeHash(userId, code))
      .where("user_id", "=", userId)
      .where("used_at", "is", null)
      .executeTakeFirst();
    if (spent.numUpdatedRows === 0n) return undefined;
    const left = await db.selectFrom("mfa_recovery_codes")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("user_id", "=", userId).where("used_at", "is", null).executeTakeFirstOrThrow();
    await db.updateTable("users").set({ recovery_codes_left: Number(left.n) })
      .where("id", "=", userId).execute();
    return Number(left.n);
  }

  /**
   * Verifies a second factor of a user with MFA on: a TOTP code (once, one step of skew
   * either way) or a recovery code (single use; audited and alerted). Returns the method,
   * or undefined when the factor is wrong.
   */
  async function verifyFactor(
    user: Pick<User, "id">,
    input: FactorInput,
    actor: AuditActor,
    purpose: FactorPurpose,
  ): Promise<FactorMethod | undefined> {
    if ("code" in input) {
      return await acceptTotp(user.id, input.code, "confirmed", purpose) ? "otp" : undefined;
    }
    const left = await spendRecoveryCode(user.id, input.recovery_code);
    if (left === undefined) return undefined;
    await auditUser(db, actor, "mfa.recovery_code_used", user.id, { codes_left: left });
    deps.alerts.alert("mfa_recovery_code_used", { user_id: user.id, codes_left: left });
    return "rc";
  }

  const notEnabled = () =>
    problem("mfa_not_enabled", { detail: "Two-factor authentication is not on" });

  return {
    removeFactor,
    verifyFactor,

    /**
     * Starts (or restarts) an enrolment: a new seed, pending until a code confirms it.
     * 409 `mfa_already_enabled` when MFA is on.
     */
    async enrol(user: User): Promise<{ secret: string; otpauth_uri: string }> {
      if (user.mfa_enabled_at !== null) {
        throw problem("mfa_already_enabled", {
          detail: "Two-factor authentication is already on; turn it off first to re-enrol",
        });
      }
      const secret = generateTotpSecret();
      const cipher = await deps.cipher().catch((cause) => {
        throw problem("mfa_unavailable", {
          detail: "This server cannot store second factors yet: its operator must set " +
            "ENCRYPTION_KEY",
          cause,
        });
      });
      const envelope = await cipher.encrypt(secret, {
        ...SEED_FIELD,
        rowId: user.id,
      });
      await forgetSteps(db, user.id);
      // A confirmed enrolment is never replaced here (MFA is off, checked above; the
      // condition also holds against a concurrent confirmation).
      await db.insertInto("mfa_totp").values({
        user_id: user.id,
        secret: envelope,
        created_at: clock.now(),
        confirmed_at: null,
      }).onConflict((oc) =>
        oc.column("user_id").doUpdateSet({
          secret: envelope,
          created_at: clock.now(),
          confirmed_at: null,
        }).where("mfa_totp.confirmed_at", "is", null)
      ).execute();
      return { secret, otpauth_uri: otpauthUri(deps.issuer, user.email, secret) };
    },

    /**
     * Confirms the pending enrolment with a code: MFA is on, a set of recovery codes is
     * returned (shown only here), and the current session now counts as authenticated with
     * the second factor. 401 `invalid_mfa_code` for a wrong code.
     */
    async confirm(
      user: User,
      code: string,
      sessionId: string | undefined,
      actor: AuditActor,
    ): Promise<{ recovery_codes: string[] }> {
      if (user.mfa_enabled_at !== null) {
        throw problem("mfa_already_enabled", { detail: "Two-factor authentication is already on" });
      }
      const pending = await db.selectFrom("mfa_totp").select("user_id")
        .where("user_id", "=", user.id).where("confirmed_at", "is", null).executeTakeFirst();
      if (!pending) {
        throw problem("mfa_enrollment_not_started", {
          detail: "Start an enrolment with POST /api/v1/me/mfa/totp first",
        });
      }
      if (!await acceptTotp(user.id, code, "pending", "confirm")) throw invalidMfaCode();
      await deps.sessions.prepare();
      const codes = await db.transaction().execute(async (trx) => {
        const now = clock.now();
        await trx.updateTable("mfa_totp").set({ confirmed_at: now })
          .where("user_id", "=", user.id).execute();
        await trx.updateTable("users").set({ mfa_enabled_at: now })
          .where("id", "=", user.id).execute();
        const codes = await newRecoveryCodes(trx, user.id, now);
        if (sessionId) {
          await trx.updateTable("sessions").set({ amr: JSON.stringify(["pwd", "otp"]) })
            .where("id", "=", sessionId).execute();
        }
        await auditUser(trx, actor, "mfa.enrolled", user.id, { method: "totp" });
        await deps.notices.mfaChanged(trx, recipientOf(user), true, actor.ip);
        return codes;
      });
      deps.users.forget(user.id);
      return { recovery_codes: codes };
    },

    /** 409 `mfa_not_enabled` unless the user has MFA on. */
    assertEnabled(user: Pick<User, "mfa_enabled_at">) {
      if (user.mfa_enabled_at === null) throw notEnabled();
    },

    /**
     * Turns MFA off and revokes every other session of the user. The caller has verified a
     * current factor (`method`) under the account's limits (mfa_login.ts `verify`).
     */
    async disable(
      user: User,
      method: FactorMethod,
      keepSessionId: string | undefined,
      actor: AuditActor,
    ) {
      await db.transaction().execute(async (trx) => {
        await removeFactor(trx, user.id);
        const revoked = await deps.sessions.revokeAll(trx, user.id, "mfa_disabled", keepSessionId);
        // The kept session no longer stands on TOTP: its next tokens say so. A passkey it
        // signed in with (`hwk`) still stands.
        if (keepSessionId) {
          const kept = await trx.selectFrom("sessions").select("amr")
            .where("id", "=", keepSessionId).executeTakeFirst();
          const amr = (kept?.amr ? JSON.parse(kept.amr) as string[] : ["pwd"])
            .filter((m) => m !== "otp" && m !== "rc");
          await trx.updateTable("sessions")
            .set({ amr: JSON.stringify(amr.length > 0 ? amr : ["pwd"]) })
            .where("id", "=", keepSessionId).execute();
        }
        await auditUser(trx, actor, "mfa.disabled", user.id, {
          method: method === "otp" ? "totp" : "recovery_code",
          sessions_revoked: revoked.length,
        });
        await deps.notices.mfaChanged(
          trx,
          recipientOf(user),
          false,
          actor.ip,
        );
      });
      deps.users.forget(user.id);
    },

    /**
     * A new set of recovery codes (the old set stops working). The caller has verified a
     * current factor under the account's limits.
     */
    async regenerate(user: User, actor: AuditActor) {
      const codes = await db.transaction().execute(async (trx) => {
        const codes = await newRecoveryCodes(trx, user.id, clock.now());
        await auditUser(trx, actor, "mfa.recovery_codes_regenerated", user.id, {
          count: codes.length,
        });
        return codes;
      });
      deps.users.forget(user.id);
      return { recovery_codes: codes };
    },

    /**
     * An administrator's reset (lost device): every second factor removed (TOTP, recovery
     * codes, passkeys) and every session revoked.
     */
    async reset(user: User, actor: AuditActor) {
      await db.transaction().execute(async (trx) => {
        await removeFactor(trx, user.id);
        await trx.deleteFrom("passkeys").where("user_id", "=", user.id).execute();
        const revoked = await deps.sessions.revokeAll(trx, user.id, "mfa_reset");
        await auditUser(trx, actor, "mfa.reset", user.id, { sessions_revoked: revoked.length });
        await deps.notices.mfaChanged(trx, recipientOf(user), false, actor.ip);
      });
      deps.users.forget(user.id);
      deps.alerts.alert("mfa_reset", { user_id: user.id, by: actor.actorId });
    },
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
