/**
 * The password login: the login guard first, constant-time answers for unknown accounts,
 * rehashing, then either the MFA challenge or a session started with its audit event and
 * alerts (`finish`, which the MFA step completes with too).
 */
import { recipientOf } from "./email_messages.ts";
import type { Db, User } from "../db/schema.ts";
import { findUserByLogin, normalizeEmail } from "../db/users_repo.ts";
import { AppError, problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import type { Alerter } from "./alerts.ts";
import type { AuditActor } from "./audit_events.ts";
import { clientKey } from "../lib/client_ip.ts";
import type { Audit } from "./audit.ts";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { FactorInput, PasskeyFactor, SecondFactorInput } from "./mfa.ts";
import { invalidPasskey, type Passkeys } from "./passkeys.ts";
import {
  failClosed,
  type LoginAttemptOptions,
  type LoginDecision,
  type LoginGuard,
  tooManyAttempts,
} from "./login_guard.ts";
import { networkOf, recordLoginNetwork } from "./login_networks.ts";
import type { DeviceTokens } from "./device_tokens.ts";
import type { SecurityNotices } from "./security_notices.ts";
import { dummyVerify, hashPassword, verifyPassword } from "./passwords.ts";
import type { AccessTokenAnswer, ClientMeta, SessionService, TokenPair } from "./sessions.ts";

/** What a completed login answers. */
export interface LoginResult {
  tokens: TokenPair;
  user: User;
  deviceToken: string;
}

/** What the password step answers when MFA is on. */
export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
  expires_in: number;
}

/** Dependencies of {@linkcode createLoginService}. */
export interface LoginDeps {
  db: Db;
  clock: Clock;
  hasher: PasswordHasher;
  sessions: SessionService;
  guard: LoginGuard;
  audit: Audit;
  alerts: Alerter;
  devices: DeviceTokens;
  /** EMAIL_VERIFICATION=required: an unverified account's right password gets 403. */
  requireVerifiedEmail: boolean;
  /** Notices of sign-ins from new networks. */
  notices: SecurityNotices;
  /**
   * Called when a login is refused for a spent per-email budget, with the account's id when
   * it exists (the unlock link, account_unlock.ts); must not throw.
   */
  onEmailBudgetSpent?: (
    login: { userId?: string; name: string },
    actor: AuditActor,
  ) => Promise<void>;
  /** The second step (mfa_login.ts): its challenge, and a factor verified under its limits. */
  challenges: {
    issue(user: User): Promise<MfaChallenge>;
    verify(
      user: User,
      input: SecondFactorInput,
      actor: AuditActor,
      purpose: "reauthenticate",
      boundTo?: string,
    ): Promise<string>;
  };
  /** Passkeys: a password login asks for a second step when the user has one. */
  passkeys: Pick<Passkeys, "count" | "ownerOf" | "verifyAssertion">;
  /** Sign-ins by outcome (`success` for every method, here in `finish`) and guard blocks. */
  metrics?: Pick<Metrics, "logins" | "guardBlocks">;
}

/** What a step-up presents: the password (and a code with TOTP on), or a passkey alone. */
export type ReauthenticationInput =
  | { password: string; factor?: FactorInput }
  | { passkey: PasskeyFactor };

/** The `amr` of a passkey sign-in: possession of a key, and the user verified on it. */
export const PASSKEY_AMR = ["hwk", "user"];

/** The prefix of login-guard account keys that name an existing account by its id. */
export const ACCOUNT_KEY_PREFIX = "account:";

const invalidCredentials = () =>
  problem("invalid_credentials", { detail: "The email or password is incorrect" });
const emailNotVerified = () =>
  problem("email_not_verified", {
    detail: "Confirm your email address first: follow the link in the message we sent, " +
      "or ask for a new one (POST /api/v1/auth/verify-email/request)",
  });

/**
 * Password login: the guard reserves the attempt before any verification (a blocked
 * pair is answered 429 without verifying, even a correct password), unknown emails run
 * a dummy verification, and unknown email, wrong password and disabled account all end
 * in the same 401. Every outcome is audited; a success in the session's transaction.
 */
export function createLoginService(deps: LoginDeps) {
  const { db, clock, hasher, sessions, guard, audit, alerts, devices, metrics } = deps;

  /**
   * A blocked attempt (a sign-in, or a password re-entered by a signed-in user): audited,
   * alerted, counted (a guard block always, a login outcome for a sign-in), 429 with
   * Retry-After.
   */
  const refuseBlocked = async (
    decision: Extract<LoginDecision, { allowed: false }>,
    meta: ClientMeta,
    actor: AuditActor,
    attempt: { signIn: boolean; login?: { userId?: string; name: string } },
  ): Promise<never> => {
    const { login } = attempt;
    metrics?.guardBlocks.inc([decision.reason]);
    if (attempt.signIn) metrics?.logins.inc(["blocked"]);
    const scope = decision.reason === "ip" ? "client" : "account";
    const retryAfter = decision.retryAfterSeconds;
    await audit(db, {
      ...actor,
      action: "auth.login.blocked",
      outcome: "denied",
      details: { reason: decision.reason, scope, retry_after_seconds: retryAfter },
    });
    alerts.alert(scope === "client" ? "client_blocked" : "account_blocked", {
      reason: decision.reason,
      ip: meta.ip,
      retry_after_seconds: retryAfter,
    });
    if (decision.reason === "email" && login) await deps.onEmailBudgetSpent?.(login, actor);
    throw tooManyAttempts(retryAfter);
  };

  const reserve = async (ipKey: string, account: string, options: LoginAttemptOptions) => {
    return await failClosed(() => guard.attempt(ipKey, account, options));
  };

  /**
   * EMAIL_VERIFICATION=required: an unverified account's right credential is refused with 403
   * (after the guard counted it a success), audited.
   */
  const assertVerifiedEmail = async (user: User, actor: AuditActor, method: string) => {
    if (!deps.requireVerifiedEmail || user.email_verified_at !== null) return;
    await audit(db, {
      ...actor,
      action: "auth.login.failed",
      outcome: "denied",
      targetType: "user",
      targetId: user.id,
      details: { reason: "email_not_verified", method },
    });
    throw emailNotVerified();
  };

  /**
   * Completes a login whose every factor has been verified: `last_login_at` (and a
   * rehashed password), the session with its `amr`, the audit event and new-network alert in
   * one transaction, and a device credential.
   */
  async function finish(
    user: User,
    meta: ClientMeta,
    actor: AuditActor,
    amr: string[],
    newHash?: string,
  ): Promise<LoginResult> {
    const now = clock.now();
    await sessions.prepare();
    const started = await db.transaction().execute(async (trx) => {
      await trx.updateTable("users")
        .set({ last_login_at: now, ...(newHash ? { password_hash: newHash } : {}) })
        .where("id", "=", user.id).execute();
      const session = await sessions.start(trx, user, meta, amr);
      const network = await recordLoginNetwork(trx, user.id, meta.ip, now);
      if (network.isNew && network.hadHistory) {
        await deps.notices.newNetwork(
          trx,
          recipientOf(user),
          network.network,
          meta.ip,
        );
      }
      await audit(trx, {
        ...actor,
        actorType: "user",
        actorId: user.id,
        action: "auth.login.succeeded",
        outcome: "success",
        targetType: "session",
        targetId: session.sessionId,
        details: {
          method: amr.join("+"),
          session_id: session.sessionId,
          network: network.network,
          new_network: network.isNew,
        },
      });
      return { ...session, network };
    });
    metrics?.logins.inc(["success"]);
    if (started.network.isNew && started.network.hadHistory) {
      alerts.alert("new_network_login", {
        user_id: user.id,
        network: started.network.network,
        ip: meta.ip,
      });
    }
    return {
      tokens: started.tokens,
      user: { ...user, last_login_at: now },
      deviceToken: await devices.issue(user.id),
    };
  }

  /**
   * The password step. With MFA off it completes the login; with MFA on it answers the
   * challenge of the second step instead, and no token.
   */
  async function password(
    loginName: string,
    password: string,
    meta: ClientMeta & { deviceToken?: string },
    actor: AuditActor,
  ): Promise<LoginResult | MfaChallenge> {
    const email = normalizeEmail(loginName);
    const ipKey = clientKey(meta.ip);
    // The account is looked up before the guard, so its username and email share one
    // budget and a device credential can be checked against it.
    const user = await findUserByLogin(db, email);
    const device = user && meta.deviceToken
      ? await devices.verify(meta.deviceToken, user.id)
      : undefined;
    const decision = await reserve(ipKey, user ? ACCOUNT_KEY_PREFIX + user.id : email, {
      network: networkOf(meta.ip),
      device,
    });
    if (!decision.allowed) {
      return await refuseBlocked(decision, meta, actor, {
        signIn: true,
        login: { userId: user?.id, name: email },
      });
    }
    const result = user
      ? await verifyPassword(user.password_hash, password, hasher)
      : await dummyVerify(password, hasher);
    if (!user || !result.ok || user.status !== "active") {
      await guard.failed(decision.ticket);
      const reason = !user ? "unknown_user" : !result.ok ? "wrong_password" : "account_disabled";
      metrics?.logins.inc(["invalid_credentials"]);
      await audit(db, {
        ...actor,
        action: "auth.login.failed",
        outcome: "failure",
        targetType: user ? "user" : null,
        targetId: user?.id ?? null,
        details: { reason, method: "password" },
      });
      throw invalidCredentials();
    }
    await guard.succeeded(decision.ticket);
    await assertVerifiedEmail(user, actor, "password");
    const newHash = result.needsUpgrade ? await hashPassword(password, hasher) : undefined;
    if (user.mfa_enabled_at !== null || await deps.passkeys.count(user.id) > 0) {
      if (newHash) {
        await db.updateTable("users").set({ password_hash: newHash })
          .where("id", "=", user.id).execute();
      }
      return await deps.challenges.issue(user);
    }
    return await finish(user, meta, actor, ["pwd"], newHash);
  }

  /**
   * Passwordless sign-in with a passkey (user verification required, so it is two factors),
   * under the same login guard as a password: the attempt is reserved on the client and on the
   * passkey's account before the assertion is verified, and a refused one counts as a failure.
   */
  async function passkey(
    response: AuthenticationResponseJSON,
    origin: string,
    meta: ClientMeta & { deviceToken?: string },
    actor: AuditActor,
  ): Promise<LoginResult> {
    const ownerId = await deps.passkeys.ownerOf(response.id);
    const owner = ownerId
      ? await db.selectFrom("users").selectAll().where("id", "=", ownerId).executeTakeFirst()
      : undefined;
    // The device credential lets its owner past a spent per-account budget, as at a login.
    const device = owner && meta.deviceToken
      ? await devices.verify(meta.deviceToken, owner.id)
      : undefined;
    const decision = await reserve(
      clientKey(meta.ip),
      owner ? ACCOUNT_KEY_PREFIX + owner.id : `passkey:${response.id.slice(0, 64)}`,
      { network: networkOf(meta.ip), device },
    );
    if (!decision.allowed) return await refuseBlocked(decision, meta, actor, { signIn: true });
    const refuse = async (reason: string, error: AppError): Promise<never> => {
      // The passkey's 401 invalid_passkey is this method's wrong credential.
      metrics?.logins.inc(["invalid_credentials"]);
      await guard.failed(decision.ticket);
      await audit(db, {
        ...actor,
        action: "auth.login.failed",
        outcome: "failure",
        targetType: owner ? "user" : null,
        targetId: owner?.id ?? null,
        details: { reason, method: "passkey" },
      });
      throw error;
    };
    if (!owner) return await refuse("unknown_passkey", invalidPasskey());
    if (owner.status !== "active") return await refuse("account_disabled", invalidPasskey());
    try {
      await deps.passkeys.verifyAssertion(response, { purpose: "login" }, origin, actor);
    } catch (error) {
      if (error instanceof AppError && error.code === "invalid_passkey") {
        return await refuse("invalid_passkey", error);
      }
      throw error;
    }
    await guard.succeeded(decision.ticket);
    await assertVerifiedEmail(owner, actor, "passkey");
    return await finish(owner, meta, actor, PASSKEY_AMR);
  }

  /**
   * Step-up: the session's user proves who they are again (password, and a factor when MFA
   * is on, both under the same limits as a login) and the session gets a fresh `auth_time`
   * and a new access token.
   */
  async function reauthenticate(
    userId: string,
    sessionId: string,
    input: ReauthenticationInput,
    meta: ClientMeta,
    actor: AuditActor,
  ): Promise<AccessTokenAnswer> {
    const user = await db.selectFrom("users").selectAll().where("id", "=", userId)
      .executeTakeFirst();
    if (!user) throw invalidCredentials();
    let amr: string[];
    if ("passkey" in input) {
      // Under the second factor's account limit; the challenge is bound to this session.
      await deps.challenges.verify(user, input.passkey, actor, "reauthenticate", sessionId);
      amr = PASSKEY_AMR;
    } else {
      if (!await confirm(user, input.password, { ...actor, ip: meta.ip }, "reauthenticate")) {
        throw invalidCredentials();
      }
      amr = ["pwd"];
      if (user.mfa_enabled_at !== null) {
        if (!input.factor) {
          throw problem("invalid_mfa_code", {
            detail: "Two-factor authentication is on: send `code` (or `recovery_code`) too",
          });
        }
        amr.push(await deps.challenges.verify(user, input.factor, actor, "reauthenticate"));
      } else if (await deps.passkeys.count(user.id) > 0) {
        throw problem("invalid_passkey", {
          detail: "This account signs in with a passkey as its second factor: confirm with " +
            "the passkey (POST /api/v1/auth/reauthenticate/options, then `passkey_response`)",
        });
      }
    }
    await sessions.prepare();
    return await db.transaction().execute(async (trx) => {
      const answer = await sessions.reauthenticated(trx, user, sessionId, amr);
      await audit(trx, {
        ...actor,
        action: "auth.reauthenticated",
        outcome: "success",
        targetType: "session",
        targetId: sessionId,
        details: { session_id: sessionId, amr },
      });
      return answer;
    });
  }

  /**
   * A signed-in user re-enters their password (step-up, or to change it or their email): under
   * the same login guard as a login (a refused attempt is 429, a wrong one counts), so a stolen
   * access token cannot be used to guess the password. True when it is right and the account
   * active.
   */
  async function confirm(
    user: User,
    password: string,
    actor: AuditActor,
    method: "reauthenticate" | "password_change" | "email_change",
  ): Promise<boolean> {
    const ip = actor.ip ?? "unknown";
    const decision = await reserve(clientKey(ip), ACCOUNT_KEY_PREFIX + user.id, {
      network: networkOf(ip),
    });
    if (!decision.allowed) return await refuseBlocked(decision, { ip }, actor, { signIn: false });
    const result = await verifyPassword(user.password_hash, password, hasher);
    if (!result.ok || user.status !== "active") {
      await guard.failed(decision.ticket);
      await audit(db, {
        ...actor,
        action: "auth.login.failed",
        outcome: "failure",
        targetType: "user",
        targetId: user.id,
        details: { reason: result.ok ? "account_disabled" : "wrong_password", method },
      });
      return false;
    }
    await guard.succeeded(decision.ticket);
    return true;
  }

  return { password, passkey, finish, reauthenticate, confirm };
}
