/**
 * Provider identities and the accounts they sign in to: the exchange of a login code (sign
 * in, or create the account of a new person), linking with a link code by the signed-in owner
 * of the matching verified address, the user's list, and unlinking while another way to sign
 * in remains.
 */
import type { Db, User } from "../db/schema.ts";
import { normalizeEmail } from "../db/users_repo.ts";
import { isUniqueViolation } from "../db/unique_violation.ts";
import { errors, problem } from "../errors.ts";
import type { FieldCipher } from "../lib/field_crypto.ts";
import type { OAuthProviderConfig } from "../lib/oauth_providers.ts";
import { constantTimeEqual, toBase64Url } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import type { Metrics } from "../platform/metrics.ts";
import { insertRegistered } from "./accounts.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import type { LoginResult, MfaChallenge } from "./login.ts";
import { CODE_TOKENS_FIELD, oauthHash } from "./oauth_flows.ts";
import { NO_PASSWORD } from "./passwords.ts";
import { assertSignInRemains } from "./sign_in_methods.ts";
import type { Pepper } from "./pepper.ts";
import type { ClientMeta } from "./sessions.ts";
import type { UserCache } from "./user_cache.ts";

/** The `amr` of a session a provider's sign-in started (RFC 8176: federated). */
export const OAUTH_AMR = ["fed"];

/** What {@linkcode createOAuthIdentities} needs. */
export interface OAuthIdentitiesDeps {
  db: Db;
  clock: Clock;
  pepper: Pepper;
  audit: Audit;
  cipher: () => Promise<FieldCipher>;
  users: Pick<UserCache, "forget">;
  providers: readonly OAuthProviderConfig[];
  registrationEnabled: boolean;
  /** EMAIL_VERIFICATION=required: an account with an unverified address is refused. */
  requireVerifiedEmail: boolean;
  /** Completes a login whose every factor was verified (login.ts). */
  finish(user: User, meta: ClientMeta, actor: AuditActor, amr: string[]): Promise<LoginResult>;
  /** The second step for a user with MFA, and whether the user has one. */
  challenges: { issue(user: User, firstFactor: string): Promise<MfaChallenge> };
  passkeys: { count(userId: string): Promise<number> };
  /** Login outcomes: a disabled account's refusal (success and MFA are counted downstream). */
  metrics?: Pick<Metrics, "logins">;
}

/** A linked identity as the API shows it. */
export interface IdentityView {
  id: string;
  provider: string;
  provider_name: string;
  email: string | null;
  email_verified: boolean;
  created_at: string;
  last_used_at: string | null;
}

const IDENTITY_TOKENS_FIELD = { table: "oauth_identities", column: "tokens" } as const;

const invalidCode = () =>
  problem("invalid_oauth_code", {
    detail: "The code is unknown, expired or already used; sign in with the provider again",
  });

/** Identities and their accounts: one per app. */
export function createOAuthIdentities(deps: OAuthIdentitiesDeps) {
  const { db, clock, pepper, audit } = deps;
  const displayName = (provider: string) =>
    deps.providers.find((p) => p.name === provider)?.displayName ?? provider;

  const view = (row: {
    id: string;
    provider: string;
    email: string | null;
    email_verified: number;
    created_at: number;
    last_used_at: number | null;
  }): IdentityView => ({
    id: row.id,
    provider: row.provider,
    provider_name: displayName(row.provider),
    email: row.email,
    email_verified: row.email_verified === 1,
    created_at: new Date(row.created_at).toISOString(),
    last_used_at: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
  });

  /** Reads a code of `kind` by its keyed hash, live or not at all. */
  async function peek(code: string, kind: "login" | "link") {
    if (code.length > 128) throw invalidCode();
    const codeHash = await oauthHash(pepper, "code", code);
    const row = await db.selectFrom("oauth_codes").selectAll().where("code_hash", "=", codeHash)
      .executeTakeFirst();
    if (!row || row.kind !== kind || row.expires_at <= clock.now()) throw invalidCode();
    return row;
  }

  /**
   * Whether a code is presented by the browser its flow ran in: true without a flow cookie (an
   * app on another site sends none) or for a code issued before codes were bound.
   */
  async function sameBrowser(
    row: { browser_hash: string | null },
    browserSecret: string | undefined,
  ): Promise<boolean> {
    if (browserSecret === undefined || row.browser_hash === null) return true;
    return constantTimeEqual(await oauthHash(pepper, "browser", browserSecret), row.browser_hash);
  }

  /**
   * Whether the app that exchanges a code holds the verifier of the PKCE challenge it sent at
   * the start (S256); true for a code without one.
   */
  async function appVerified(
    row: { app_challenge: string | null },
    verifier: string | undefined,
  ): Promise<boolean> {
    if (row.app_challenge === null) return true;
    if (verifier === undefined) return false;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return constantTimeEqual(toBase64Url(new Uint8Array(digest)), row.app_challenge);
  }

  /** Spends a code: only the first of concurrent uses gets it. */
  async function claim(codeHash: string) {
    const deleted = await db.deleteFrom("oauth_codes").where("code_hash", "=", codeHash)
      .executeTakeFirst();
    if (deleted.numDeletedRows !== 1n) throw invalidCode();
  }

  /** The provider tokens of a code, re-encrypted for the identity row (or null). */
  async function tokensFor(
    code: { code_hash: string; tokens: string | null },
    identityId: string,
  ): Promise<string | null> {
    if (code.tokens === null) return null;
    const cipher = await deps.cipher();
    const plain = await cipher.decrypt(code.tokens, {
      ...CODE_TOKENS_FIELD,
      rowId: code.code_hash,
    });
    return await cipher.encrypt(plain, { ...IDENTITY_TOKENS_FIELD, rowId: identityId });
  }

  type Code = Awaited<ReturnType<typeof peek>>;

  /** The new person's account and identity, in one transaction; null when it lost a race. */
  async function createAccount(code: Code, actor: AuditActor): Promise<User | null> {
    const identityId = crypto.randomUUID();
    const tokens = await tokensFor(code, identityId);
    try {
      return await db.transaction().execute(async (trx) => {
        const now = clock.now();
        const user = await insertRegistered(trx, {
          email: code.email!,
          passwordHash: NO_PASSWORD,
          name: code.name,
          emailVerified: code.email_verified === 1,
        }, { audit, now, actor, method: `oauth:${code.provider}` });
        await trx.insertInto("oauth_identities").values({
          id: identityId,
          user_id: user.id,
          provider: code.provider,
          subject: code.subject,
          email: code.email,
          email_verified: code.email_verified,
          tokens,
          created_at: now,
          last_used_at: null,
        }).execute();
        await audit(trx, {
          ...actor,
          actorType: "user",
          actorId: user.id,
          action: "oauth.linked",
          outcome: "success",
          targetType: "user",
          targetId: user.id,
          details: { provider: code.provider, identity_id: identityId, via: "registration" },
        });
        return user;
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const linked = await identityOf(code.provider, code.subject);
      if (linked) return null; // a concurrent exchange for the same person created it
      throw errors.emailTaken();
    }
  }

  const identityOf = (provider: string, subject: string) =>
    db.selectFrom("oauth_identities").selectAll().where("provider", "=", provider)
      .where("subject", "=", subject).executeTakeFirst();

  return {
    /**
     * `POST /auth/oauth/exchange`: the login code becomes a session (or the second step's
     * challenge). A disabled account is refused like a wrong password. `browserSecret` is the
     * flow cookie the request carries: when it is another browser's than the flow's, the code
     * is refused (and spent), so nobody can sign a victim's browser in to their own account
     * with a code of theirs (an app on another site never sends it: nothing is checked then).
     * A code whose start carried the app's PKCE challenge needs its `codeVerifier`.
     */
    async exchange(
      code: string,
      meta: ClientMeta,
      actor: AuditActor,
      proof: { browserSecret?: string; codeVerifier?: string } = {},
    ): Promise<LoginResult | MfaChallenge> {
      const row = await peek(code, "login");
      await claim(row.code_hash);
      const refuse = async (reason: string, error: Error): Promise<never> => {
        await audit(db, {
          ...actor,
          action: "oauth.failed",
          outcome: "failure",
          details: { provider: row.provider, reason, stage: "exchange" },
        });
        throw error;
      };
      if (!await sameBrowser(row, proof.browserSecret)) {
        return await refuse("other_browser", invalidCode());
      }
      if (!await appVerified(row, proof.codeVerifier)) {
        return await refuse("app_pkce_mismatch", invalidCode());
      }
      let identity = await identityOf(row.provider, row.subject);
      let created = false;
      if (!identity) {
        if (!deps.registrationEnabled) {
          return await refuse(
            "registration_disabled",
            problem("registration_disabled", { detail: "Registration is disabled" }),
          );
        }
        created = await createAccount(row, actor) !== null;
        identity = await identityOf(row.provider, row.subject);
        if (!identity) throw invalidCode();
      }
      const user = await db.selectFrom("users").selectAll().where("id", "=", identity.user_id)
        .executeTakeFirstOrThrow();
      if (user.status !== "active") {
        deps.metrics?.logins.inc(["invalid_credentials"]);
        return await refuse(
          "account_disabled",
          problem("invalid_credentials", { detail: "The email or password is incorrect" }),
        );
      }
      if (deps.requireVerifiedEmail && user.email_verified_at === null) {
        return await refuse(
          "email_not_verified",
          problem("email_not_verified", {
            detail: "Confirm your email address first: follow the link in the message we sent, " +
              "or ask for a new one (POST /api/v1/auth/verify-email/request)",
          }),
        );
      }
      await db.updateTable("oauth_identities").set({
        last_used_at: clock.now(),
        email: row.email,
        email_verified: row.email_verified,
        ...(row.tokens !== null ? { tokens: await tokensFor(row, identity.id) } : {}),
      }).where("id", "=", identity.id).execute();
      const mfa = user.mfa_enabled_at !== null || await deps.passkeys.count(user.id) > 0;
      await audit(db, {
        ...actor,
        actorType: "user",
        actorId: user.id,
        action: "oauth.login",
        outcome: "success",
        targetType: "user",
        targetId: user.id,
        details: { provider: row.provider, identity_id: identity.id, mfa_required: mfa, created },
      });
      if (mfa) return await deps.challenges.issue(user, OAUTH_AMR[0]);
      return await deps.finish(user, meta, actor, OAUTH_AMR);
    },

    /**
     * `POST /me/identities/link`: the signed-in user links the identity of a link code that was
     * offered to their account, whose verified address is the one the provider verified, from
     * the browser its flow ran in when the request carries a flow cookie (as for the exchange).
     */
    async link(
      user: User,
      linkCode: string,
      actor: AuditActor,
      browserSecret?: string,
    ): Promise<IdentityView> {
      const row = await peek(linkCode, "link");
      const matches = row.user_id === user.id && row.email_verified === 1 &&
        row.email !== null && normalizeEmail(row.email) === user.email &&
        user.email_verified_at !== null && await sameBrowser(row, browserSecret);
      if (!matches) {
        throw problem("invalid_oauth_code", {
          detail: "This link code was not offered to this account: sign in to the account whose " +
            "verified email the provider confirmed",
        });
      }
      await claim(row.code_hash);
      const existing = await identityOf(row.provider, row.subject);
      if (existing) {
        if (existing.user_id === user.id) return view(existing);
        throw problem("identity_taken", {
          detail: "This provider account is already linked to another account",
        });
      }
      const id = crypto.randomUUID();
      const now = clock.now();
      const inserted = {
        id,
        user_id: user.id,
        provider: row.provider,
        subject: row.subject,
        email: row.email,
        email_verified: row.email_verified,
        tokens: await tokensFor(row, id),
        created_at: now,
        last_used_at: null,
      };
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto("oauth_identities").values(inserted).execute();
          await audit(trx, {
            ...actor,
            action: "oauth.linked",
            outcome: "success",
            targetType: "user",
            targetId: user.id,
            details: { provider: row.provider, identity_id: id, via: "link_code" },
          });
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw problem("identity_taken", {
          detail: "This provider account is already linked to another account",
        });
      }
      return view(inserted);
    },

    /** The user's linked identities, oldest first. */
    async list(userId: string): Promise<IdentityView[]> {
      const rows = await db.selectFrom("oauth_identities").selectAll()
        .where("user_id", "=", userId).orderBy("created_at").orderBy("id").execute();
      return rows.map(view);
    },

    /** Unlinks one identity, unless it is the user's last way to sign in. */
    async unlink(user: User, identityId: string, actor: AuditActor): Promise<void> {
      const identity = await db.selectFrom("oauth_identities").selectAll()
        .where("id", "=", identityId).where("user_id", "=", user.id).executeTakeFirst();
      if (!identity) {
        throw problem("identity_not_found", { detail: "You have no linked identity with this id" });
      }
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom("oauth_identities").where("id", "=", identityId).execute();
        await assertSignInRemains(trx, user.id);
        await audit(trx, {
          ...actor,
          action: "oauth.unlinked",
          outcome: "success",
          targetType: "user",
          targetId: user.id,
          details: { provider: identity.provider, identity_id: identityId },
        });
      });
      deps.users.forget(user.id);
    },
  };
}

/** Provider identities and their accounts. */
export type OAuthIdentities = ReturnType<typeof createOAuthIdentities>;
