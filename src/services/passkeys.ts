/**
 * Passkeys (WebAuthn, through @simplewebauthn/server): registering one in a fresh session,
 * listing, renaming and removing them, and verifying an assertion for a sign-in, a login's
 * second step or a step-up. User verification is required in both ceremonies, so a passkey
 * alone is two factors. The signature counter is checked after the signature: a counter that
 * did not grow is a cloned authenticator, refused, audited and alerted.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { Db, User } from "../db/schema.ts";
import { findUserByLogin, normalizeEmail } from "../db/users_repo.ts";
import { isUniqueViolation } from "../db/unique_violation.ts";
import { problem } from "../errors.ts";
import { fromBase64Url, hmac, toBase64Url } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import type { Alerter } from "./alerts.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import {
  type ChallengeBinding,
  createPasskeyChallenges,
  PASSKEY_CHALLENGE_TTL_MS,
} from "./passkey_challenges.ts";
import type { Pepper } from "./pepper.ts";
import type { RelyingParty } from "./relying_party.ts";
import type { SecurityNotices } from "./security_notices.ts";
import type { SessionService } from "./sessions.ts";
import { assertSignInRemains } from "./sign_in_methods.ts";

/** The most passkeys one account may hold. */
export const MAX_PASSKEYS_PER_USER = 20;

/** What {@linkcode createPasskeys} needs. */
export interface PasskeyDeps {
  db: Db;
  clock: Clock;
  pepper: Pepper;
  audit: Audit;
  alerts: Alerter;
  /** The relying party for a request that reached citadel at this origin (relying_party.ts). */
  relyingParty(requestOrigin: string): RelyingParty | undefined;
  /** Called when a user's passkeys changed (the user cache, whose second factor changed). */
  changed(userId: string): void;
  /** The owner hears of a passkey added or removed. */
  notices: Pick<SecurityNotices, "passkeyChanged">;
  /** Removing a passkey ends the sessions that may stand on it. */
  sessions: Pick<SessionService, "revokeAll">;
}

/** A passkey as the API shows it. */
export interface PasskeyView {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  backed_up: boolean;
  transports: string[];
}

/** A passkey as an administrator sees it: with the time a counter regression suspended it. */
export interface AdminPasskeyView extends PasskeyView {
  suspended_at: string | null;
}

/** A verified assertion: whose passkey it was. */
export interface VerifiedPasskey {
  id: string;
  userId: string;
}

/** The one answer to any refused assertion, whatever the reason (no oracle). */
export const invalidPasskey = () =>
  problem("invalid_passkey", {
    detail: "The passkey could not be verified; ask for new options and try again",
  });

/** The longest credential id accepted, in bytes (WebAuthn: RPs should refuse longer ones). */
export const MAX_CREDENTIAL_ID_BYTES = 1023;
/** The transports WebAuthn defines; anything else a client reports is dropped. */
const TRANSPORTS = new Set(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);
const limitReached = () =>
  problem("passkey_limit_reached", {
    detail: `An account holds at most ${MAX_PASSKEYS_PER_USER} passkeys; remove one first`,
  });
const registrationFailed = () =>
  problem("passkey_registration_failed", {
    detail: "The new passkey could not be verified; ask for new options and try again",
  });
const notFound = () =>
  problem("passkey_not_found", { detail: "No passkey with this id belongs to you" });

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();
type PasskeyRow = {
  id: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  backed_up: number;
  transports: string;
};

/** The API's shape of a passkey row. */
export function passkeyView(row: PasskeyRow): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    created_at: iso(row.created_at)!,
    last_used_at: iso(row.last_used_at),
    backed_up: row.backed_up === 1,
    transports: JSON.parse(row.transports) as string[],
  };
}

// Loaded on the first ceremony, so neither start-up nor the authenticated hot path carries it.
const webauthn = () => import("@simplewebauthn/server");

/** The passkey service; see the module comment. */
export function createPasskeys(deps: PasskeyDeps) {
  const { db, clock, audit } = deps;
  const challenges = createPasskeyChallenges(deps);

  const partyFor = (requestOrigin: string): RelyingParty => {
    const party = deps.relyingParty(requestOrigin);
    if (!party) {
      throw problem("passkeys_unavailable", {
        detail: "Passkeys need a relying party: set PUBLIC_URL (or WEBAUTHN_RP_ID and " +
          "WEBAUTHN_ORIGINS)",
      });
    }
    return party;
  };

  const rowsOf = (userId: string) =>
    db.selectFrom("passkeys").selectAll().where("user_id", "=", userId)
      .orderBy("created_at").orderBy("id").execute();

  const credentialsOf = async (userId: string) =>
    (await db.selectFrom("passkeys").select(["credential_id", "transports"])
      .where("user_id", "=", userId).orderBy("created_at").execute())
      .map((row) => ({ id: row.credential_id, transports: JSON.parse(row.transports) }));

  /** Options for an assertion, their challenge remembered with what it is for. */
  async function requestOptions(
    party: RelyingParty,
    allow: { id: string; transports?: string[] }[] | undefined,
    binding: ChallengeBinding,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await (await webauthn()).generateAuthenticationOptions({
      rpID: party.id,
      allowCredentials: allow as { id: string }[] | undefined,
      userVerification: "required",
      timeout: PASSKEY_CHALLENGE_TTL_MS,
    });
    await challenges.remember(options.challenge, binding);
    return options;
  }

  /**
   * Stand-ins for an unknown email or an account without passkeys, so the answer has the same
   * shape (one credential, stable for the address) whether or not the account exists.
   */
  const decoyCredentials = async (email: string) => [{
    id: toBase64Url(
      (await hmac(await deps.pepper.key, `passkey-decoy:${normalizeEmail(email)}`)).slice(0, 32),
    ),
    // In the order browsers report transports (sorted), as a real passkey's would be.
    transports: ["hybrid", "internal"],
  }];

  return {
    /** How many passkeys a user has (a passkey makes a password login ask for a second step). */
    async count(userId: string): Promise<number> {
      const { n } = await db.selectFrom("passkeys")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("user_id", "=", userId).executeTakeFirstOrThrow();
      return Number(n);
    },

    /** The user's passkeys, oldest first. */
    async list(userId: string): Promise<PasskeyView[]> {
      return (await rowsOf(userId)).map(passkeyView);
    },

    /**
     * The user's passkeys as an administrator sees them: also when one was suspended (a
     * counter regression), so the one to remove can be found.
     */
    async listForAdmin(userId: string): Promise<AdminPasskeyView[]> {
      return (await rowsOf(userId)).map((row) => ({
        ...passkeyView(row),
        suspended_at: iso(row.suspended_at),
      }));
    },

    /** Registration options for a signed-in user, bound to the session that asked. */
    async registrationOptions(
      user: User,
      sessionId: string,
      requestOrigin: string,
    ): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const party = partyFor(requestOrigin);
      // Refused before the ceremony, so no authenticator creates a passkey that cannot be kept.
      if ((await rowsOf(user.id)).length >= MAX_PASSKEYS_PER_USER) throw limitReached();
      const options = await (await webauthn()).generateRegistrationOptions({
        rpName: party.name,
        rpID: party.id,
        userName: user.email,
        userDisplayName: user.name ?? user.email,
        // The user handle is the account's id (no personal data); sign-in checks it.
        userID: new TextEncoder().encode(user.id),
        attestationType: "none",
        excludeCredentials: await credentialsOf(user.id),
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
        timeout: PASSKEY_CHALLENGE_TTL_MS,
      });
      await challenges.remember(options.challenge, {
        purpose: "register",
        userId: user.id,
        boundTo: sessionId,
      });
      return options;
    },

    /**
     * Verifies a registration response against the challenge this session asked for and
     * stores the passkey: 409 when its credential id is anyone's already.
     */
    async register(
      user: User,
      sessionId: string,
      input: { name: string; response: RegistrationResponseJSON },
      requestOrigin: string,
      actor: AuditActor,
    ): Promise<PasskeyView> {
      const party = partyFor(requestOrigin);
      const refused = async (reason: string, error = registrationFailed()): Promise<never> => {
        await audit(db, {
          ...actor,
          action: "passkey.registered",
          outcome: "denied",
          targetType: "user",
          targetId: user.id,
          details: { reason, name: input.name },
        });
        throw error;
      };
      const challenge = await challenges.claim(input.response.response.clientDataJSON, {
        purpose: "register",
        userId: user.id,
        boundTo: sessionId,
      });
      if (!challenge) return await refused("invalid_challenge");
      const verification = await (await webauthn()).verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: challenge,
        expectedOrigin: party.origins,
        expectedRPID: party.id,
        requireUserVerification: true,
      }).catch(() => undefined);
      if (!verification?.verified) return await refused("invalid_response");
      const info = verification.registrationInfo;
      // The id the client names must be the one the authenticator attested, and of sane size.
      if (
        info.credential.id !== input.response.id ||
        fromBase64Url(info.credential.id).length > MAX_CREDENTIAL_ID_BYTES
      ) return await refused("invalid_credential_id");
      const now = clock.now();
      const row = {
        id: crypto.randomUUID(),
        user_id: user.id,
        credential_id: info.credential.id,
        public_key: toBase64Url(info.credential.publicKey),
        counter: info.credential.counter,
        transports: JSON.stringify(
          (info.credential.transports ?? []).filter((t) => TRANSPORTS.has(t)),
        ),
        device_type: info.credentialDeviceType,
        backed_up: info.credentialBackedUp ? 1 : 0,
        aaguid: info.aaguid,
        name: input.name,
        created_at: now,
        last_used_at: null,
        suspended_at: null,
      };
      const outcome = await db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom("passkeys").select("user_id")
          .where("credential_id", "=", row.credential_id).executeTakeFirst();
        if (taken) return "already_registered" as const;
        const { n } = await trx.selectFrom("passkeys")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("user_id", "=", user.id).executeTakeFirstOrThrow();
        if (Number(n) >= MAX_PASSKEYS_PER_USER) return "limit_reached" as const;
        await trx.insertInto("passkeys").values(row).execute();
        await audit(trx, {
          ...actor,
          action: "passkey.registered",
          outcome: "success",
          targetType: "user",
          targetId: user.id,
          details: {
            passkey_id: row.id,
            name: row.name,
            device_type: row.device_type,
            backed_up: info.credentialBackedUp,
          },
        });
        await deps.notices.passkeyChanged(trx, user.id, "added", row.name, actor.ip);
        return "registered" as const;
      }).catch((error) => {
        // Two registrations of one credential at once: the unique index decides.
        if (isUniqueViolation(error)) return "already_registered" as const;
        throw error;
      });
      if (outcome === "already_registered") {
        return await refused(
          outcome,
          problem("passkey_already_registered", { detail: "This passkey is registered already" }),
        );
      }
      if (outcome === "limit_reached") return await refused(outcome, limitReached());
      deps.changed(user.id);
      return passkeyView(row);
    },

    /** Renames one of the user's passkeys. */
    async rename(userId: string, id: string, name: string): Promise<PasskeyView> {
      const updated = await db.updateTable("passkeys").set({ name })
        .where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw notFound();
      const row = await db.selectFrom("passkeys").selectAll().where("id", "=", id)
        .executeTakeFirstOrThrow();
      return passkeyView(row);
    },

    /**
     * Removes one of the user's passkeys (by the user or an administrator), audited, and ends
     * the user's sessions but `keepSessionId` (the remover's own): a passkey removed because its
     * device was lost must not leave the sessions it opened.
     */
    async remove(
      userId: string,
      id: string,
      actor: AuditActor,
      keepSessionId?: string,
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom("passkeys").select(["id", "name"])
          .where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
        if (!row) throw notFound();
        await trx.deleteFrom("passkeys").where("id", "=", id).execute();
        await assertSignInRemains(trx, userId);
        const revoked = await deps.sessions.revokeAll(
          trx,
          userId,
          "passkey_removed",
          keepSessionId,
        );
        await audit(trx, {
          ...actor,
          action: "passkey.removed",
          outcome: "success",
          targetType: "user",
          targetId: userId,
          details: { passkey_id: id, name: row.name, sessions_revoked: revoked.length },
        });
        await deps.notices.passkeyChanged(trx, userId, "removed", row.name, actor.ip);
      });
      deps.changed(userId);
    },

    /**
     * Assertion options. `login`: for an email, its account's passkeys (or a stand-in of the
     * same shape); without one, any discoverable passkey. `mfa` and `reauthenticate`: the
     * user's passkeys, the challenge bound to the `mfa_token` hash or session.
     */
    async authenticationOptions(
      request:
        | { purpose: "login"; email?: string }
        | { purpose: "mfa" | "reauthenticate"; userId: string; boundTo: string },
      requestOrigin: string,
    ): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const party = partyFor(requestOrigin);
      if (request.purpose !== "login") {
        const allow = await credentialsOf(request.userId);
        return await requestOptions(party, allow, request);
      }
      if (request.email === undefined) return await requestOptions(party, undefined, request);
      const user = await findUserByLogin(db, request.email);
      // The same queries whether or not the address has an account.
      const own = await credentialsOf(user?.id ?? crypto.randomUUID());
      const allow = own.length > 0 ? own : await decoyCredentials(request.email);
      return await requestOptions(party, allow, { purpose: "login", userId: user?.id });
    },

    /** The owner of a credential id, if it is anyone's passkey. */
    async ownerOf(credentialId: string): Promise<string | undefined> {
      const row = await db.selectFrom("passkeys").select("user_id")
        .where("credential_id", "=", credentialId).executeTakeFirst();
      return row?.user_id;
    },

    /**
     * Verifies an assertion against the challenge issued for `expected` (claimed first, so
     * it works once), the credential's public key, the relying party, user verification and
     * the counter; records its use. 401 `invalid_passkey` for anything wrong.
     */
    async verifyAssertion(
      response: AuthenticationResponseJSON,
      expected: ChallengeBinding,
      requestOrigin: string,
      actor: AuditActor,
    ): Promise<VerifiedPasskey> {
      const party = partyFor(requestOrigin);
      const passkey = await db.selectFrom("passkeys").selectAll()
        .where("credential_id", "=", response.id).executeTakeFirst();
      const challenge = await challenges.claim(response.response.clientDataJSON, {
        ...expected,
        userId: passkey?.user_id,
      });
      if (!passkey || !challenge || passkey.suspended_at !== null) throw invalidPasskey();
      if (expected.userId !== undefined && passkey.user_id !== expected.userId) {
        throw invalidPasskey();
      }
      const handle = response.response.userHandle;
      if (handle && handle !== toBase64Url(new TextEncoder().encode(passkey.user_id))) {
        throw invalidPasskey();
      }
      // The counter is compared here, after the signature, so a forged response cannot raise
      // a cloning alarm; the library is given 0 so that it does not refuse first.
      const verification = await (await webauthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: party.origins,
        expectedRPID: party.id,
        credential: {
          id: passkey.credential_id,
          publicKey: fromBase64Url(passkey.public_key),
          counter: 0,
        },
        requireUserVerification: true,
      }).catch(() => undefined);
      if (!verification?.verified) throw invalidPasskey();
      const { newCounter, credentialBackedUp } = verification.authenticationInfo;
      if ((newCounter > 0 || passkey.counter > 0) && newCounter <= passkey.counter) {
        // Two authenticators hold this key: neither can be told from the other, so the passkey
        // is suspended for good (a clone that jumped the counter ahead would otherwise keep
        // working while the genuine one is refused).
        await db.transaction().execute(async (trx) => {
          await trx.updateTable("passkeys").set({ suspended_at: clock.now() })
            .where("id", "=", passkey.id).execute();
          await deps.notices.passkeyChanged(
            trx,
            passkey.user_id,
            "suspended",
            passkey.name,
            actor.ip,
          );
        });
        await audit(db, {
          ...actor,
          action: "passkey.counter_regression",
          outcome: "denied",
          targetType: "user",
          targetId: passkey.user_id,
          details: {
            passkey_id: passkey.id,
            stored_counter: passkey.counter,
            presented_counter: newCounter,
          },
        });
        deps.alerts.alert("passkey_counter_regression", {
          user_id: passkey.user_id,
          passkey_id: passkey.id,
          ip: actor.ip ?? null,
        });
        throw invalidPasskey();
      }
      // Conditional on the counter read, so two concurrent uses of one counter value cannot
      // both pass.
      const recorded = await db.updateTable("passkeys")
        .set({
          counter: newCounter,
          last_used_at: clock.now(),
          backed_up: credentialBackedUp ? 1 : 0,
        })
        .where("id", "=", passkey.id).where("counter", "=", passkey.counter)
        .executeTakeFirst();
      if (recorded.numUpdatedRows === 0n) throw invalidPasskey();
      await audit(db, {
        ...actor,
        actorType: "user",
        actorId: passkey.user_id,
        action: "passkey.login",
        outcome: "success",
        targetType: "user",
        targetId: passkey.user_id,
        details: { passkey_id: passkey.id, purpose: expected.purpose },
      });
      return { id: passkey.id, userId: passkey.user_id };
    },
  };
}

export type Passkeys = ReturnType<typeof createPasskeys>;
