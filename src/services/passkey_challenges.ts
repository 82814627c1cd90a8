/**
 * WebAuthn challenges: issued with what they are for and what asked for them, stored only as
 * a keyed hash, five minutes, single-use. A response's challenge is claimed (deleted) before
 * the response is verified, so an assertion can never be verified twice.
 */
import type { Db } from "../db/schema.ts";
import { fromBase64Url, hex, hmac } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import type { Pepper } from "./pepper.ts";

/** How long a ceremony's challenge lives. */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000;

/** What a challenge is for: adding a passkey, signing in, a login's second step, step-up. */
export type ChallengePurpose = "register" | "login" | "mfa" | "reauthenticate";

/** What a challenge was issued for; a response must match all of it. */
export interface ChallengeBinding {
  purpose: ChallengePurpose;
  /** The user the ceremony is for; undefined for a sign-in without an email. */
  userId?: string;
  /** The session id or `mfa_token` hash that asked; undefined for a sign-in. */
  boundTo?: string;
}

/** The challenge store; see the module comment. */
export function createPasskeyChallenges(deps: { db: Db; clock: Clock; pepper: Pepper }) {
  const { db, clock } = deps;
  const hashOf = async (challenge: string) =>
    hex(await hmac(await deps.pepper.key, `webauthn:${challenge}`));

  return {
    /** Stores a challenge the options just carried (base64url, as the client echoes it). */
    async remember(challenge: string, binding: ChallengeBinding): Promise<void> {
      const now = clock.now();
      await db.insertInto("passkey_challenges").values({
        challenge_hash: await hashOf(challenge),
        purpose: binding.purpose,
        user_id: binding.userId ?? null,
        bound_to: binding.boundTo ?? null,
        created_at: now,
        expires_at: now + PASSKEY_CHALLENGE_TTL_MS,
      }).execute();
    },

    /**
     * Claims the challenge a response's `clientDataJSON` names: deleted whatever follows, and
     * returned only when it was live and issued for exactly `expected` (a sign-in challenge
     * issued for one user's email accepts only that user). Undefined otherwise.
     */
    async claim(
      clientDataJSON: string,
      expected: ChallengeBinding,
    ): Promise<string | undefined> {
      // Read here rather than through the library's helpers, whose index would load its
      // certificate and metadata code at start-up; the library checks the rest later.
      let challenge: unknown;
      try {
        challenge = JSON.parse(new TextDecoder().decode(fromBase64Url(clientDataJSON))).challenge;
      } catch {
        return undefined;
      }
      if (typeof challenge !== "string" || challenge.length > 512) return undefined;
      const hash = await hashOf(challenge);
      const row = await db.selectFrom("passkey_challenges").selectAll()
        .where("challenge_hash", "=", hash).executeTakeFirst();
      if (!row) return undefined;
      const deleted = await db.deleteFrom("passkey_challenges")
        .where("challenge_hash", "=", hash).where("expires_at", ">", clock.now())
        .executeTakeFirst();
      if (deleted.numDeletedRows !== 1n) return undefined;
      const matches = row.purpose === expected.purpose &&
        (row.bound_to ?? undefined) === expected.boundTo &&
        (row.user_id === null || row.user_id === expected.userId);
      return matches ? challenge : undefined;
    },
  };
}

export type PasskeyChallenges = ReturnType<typeof createPasskeyChallenges>;
