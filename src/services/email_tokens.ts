/**
 * Single-use email tokens (verify an address, reset a password, confirm an email change,
 * unlock an account): 32 random bytes in base64url, stored only as a keyed hash under the
 * pepper, with an expiry; issuing one for a purpose retires the user's earlier ones, so only
 * the newest link works.
 */
import type { Db } from "../db/schema.ts";
import { hex, hmac, randomToken } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import type { Pepper } from "./pepper.ts";

/** What a token is for, and how long it lives. */
export const EMAIL_TOKEN_TTL_MS = {
  verify_email: 24 * 3_600_000,
  password_reset: 30 * 60_000,
  email_change: 24 * 3_600_000,
  unlock: 60 * 60_000,
} as const;

/** A purpose of {@linkcode EMAIL_TOKEN_TTL_MS}. */
export type EmailTokenPurpose = keyof typeof EMAIL_TOKEN_TTL_MS;

/** What a live or spent token stands for. */
export interface TokenGrant {
  userId: string;
  newEmail: string | null;
}

/** The links a change of credentials or address ends: every one but plain verification. */
export const ACCOUNT_LINKS: readonly EmailTokenPurpose[] = [
  "password_reset",
  "email_change",
  "unlock",
];

/**
 * Retires the user's unused tokens of `purposes`, in the caller's transaction: a password
 * reset or change, or a confirmed email change, ends every link an intruder may hold (a
 * pending email change to their own address above all).
 */
export async function retireEmailTokens(
  executor: Pick<Db, "updateTable">,
  userId: string,
  purposes: readonly EmailTokenPurpose[],
  now: number,
): Promise<void> {
  await executor.updateTable("email_tokens").set({ used_at: now })
    .where("user_id", "=", userId).where("purpose", "in", [...purposes])
    .where("used_at", "is", null).execute();
}

/** Issues and consumes email tokens; see the module comment. */
export function createEmailTokens(deps: { db: Db; clock: Clock; pepper: Pepper }) {
  const { db, clock } = deps;
  const hashOf = async (purpose: EmailTokenPurpose, token: string) =>
    hex(await hmac(await deps.pepper.key, `email-token:${purpose}:${token}`));

  return {
    /**
     * A new token for `userId`, in the caller's transaction (with the message that carries
     * it); the user's unused tokens of the same purpose stop working.
     */
    async issue(
      executor: Pick<Db, "insertInto" | "updateTable">,
      userId: string,
      purpose: EmailTokenPurpose,
      newEmail: string | null = null,
    ): Promise<string> {
      const now = clock.now();
      await executor.updateTable("email_tokens").set({ used_at: now })
        .where("user_id", "=", userId).where("purpose", "=", purpose)
        .where("used_at", "is", null).execute();
      const token = randomToken(32);
      await executor.insertInto("email_tokens").values({
        token_hash: await hashOf(purpose, token),
        user_id: userId,
        purpose,
        new_email: newEmail,
        created_at: now,
        expires_at: now + EMAIL_TOKEN_TTL_MS[purpose],
        used_at: null,
      }).execute();
      return token;
    },

    /**
     * What a live token of `purpose` stands for, without spending it (to check a new password
     * before the token is spent); undefined when unknown, expired or used.
     */
    async peek(token: string, purpose: EmailTokenPurpose): Promise<TokenGrant | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const row = await db.selectFrom("email_tokens").select(["user_id", "new_email"])
        .where("token_hash", "=", await hashOf(purpose, token)).where("purpose", "=", purpose)
        .where("used_at", "is", null).where("expires_at", ">", clock.now())
        .executeTakeFirst();
      return row && { userId: row.user_id, newEmail: row.new_email };
    },

    /**
     * Spends a token of `purpose`: undefined when unknown, expired or already used. One
     * conditional update outside any transaction, so two requests cannot both spend it.
     */
    async consume(token: string, purpose: EmailTokenPurpose): Promise<TokenGrant | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const hash = await hashOf(purpose, token);
      const now = clock.now();
      const spent = await db.updateTable("email_tokens").set({ used_at: now })
        .where("token_hash", "=", hash).where("purpose", "=", purpose)
        .where("used_at", "is", null).where("expires_at", ">", now)
        .executeTakeFirst();
      if (spent.numUpdatedRows === 0n) return undefined;
      const row = await db.selectFrom("email_tokens").select(["user_id", "new_email"])
        .where("token_hash", "=", hash).executeTakeFirstOrThrow();
      return { userId: row.user_id, newEmail: row.new_email };
    },
  };
}

export type EmailTokens = ReturnType<typeof createEmailTokens>;
