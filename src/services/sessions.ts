/**
 * Sessions: issuing access and refresh tokens, refresh-token rotation with reuse detection,
 * and revocation.
 */
import type { Db, User } from "../db/schema.ts";
import { problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { Metrics } from "../platform/metrics.ts";
import { hex, hmac, randomToken, toBase64Url } from "../lib/crypto.ts";
import type { JwtService } from "./jwt.ts";
import type { Pepper } from "./pepper.ts";
import type { RevocationList } from "./revocation_list.ts";

/** RFC 6749 token response fields. */
export interface TokenPair {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
}

/**
 * How and when the user proved who they are in a session: RFC 8176 `amr` values (`pwd`,
 * `otp`, `rc` for a recovery code) and the time, epoch ms. Access tokens carry both.
 */
export interface Authentication {
  amr: string[];
  authTime: number;
}

/** An access token on its own, as a reauthentication answers it. */
export interface AccessTokenAnswer {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
}

/** How a session row remembers its authentication; sessions from before 0008 had none. */
function authenticationOf(
  row: { amr: string | null; auth_time: number | null; created_at: number },
): Authentication {
  return {
    amr: row.amr ? JSON.parse(row.amr) as string[] : ["pwd"],
    authTime: row.auth_time ?? row.created_at,
  };
}

/** Where a session was started from. */
export interface ClientMeta {
  ip: string;
  userAgent?: string;
}

/** The lifetimes the session service reads (ACCESS_TOKEN_TTL, REFRESH_TOKEN_*); `Config` fits. */
export interface SessionSettings {
  jwt: { accessTtlSeconds: number };
  refresh: { ttlSeconds: number; idleSeconds: number; graceSeconds: number };
}

/** Dependencies of the session service. */
export interface SessionDeps {
  db: Db;
  clock: Clock;
  config: SessionSettings;
  jwt: JwtService;
  pepper: Pepper;
  revocations: RevocationList;
  /** Counts refresh-token reuse, once its session's revocation has committed. */
  metrics?: Pick<Metrics, "refreshReuse">;
}

type Executor = Pick<Db, "selectFrom" | "insertInto" | "updateTable">;

const invalidRefresh = () =>
  problem("invalid_refresh_token", { detail: "The refresh token is not valid" });

/** Sessions, refresh-token rotation with reuse detection, and revocation. */
export function createSessionService(deps: SessionDeps) {
  const { db, clock, config, jwt, revocations } = deps;

  const { pepper } = deps;
  const hashWith = async (key: CryptoKey, token: string) => hex(await hmac(key, `rt:${token}`));
  const hashToken = async (token: string) => hashWith(await pepper.key, token);
  // The successor of a refresh token is a keyed function of it: a retry inside the grace
  // window can be answered with the very same pair without storing any token.
  const successorOf = async (token: string, key?: CryptoKey) =>
    toBase64Url(await hmac(key ?? await pepper.key, `rt-next:${token}`));

  async function accessToken(
    user: Pick<User, "id" | "role">,
    sessionId: string,
    iatMs: number,
    auth: Authentication,
  ) {
    const iat = Math.floor(iatMs / 1000);
    const jti = hex(await hmac(await pepper.key, `jti:${sessionId}:${iatMs}`)).slice(0, 32);
    return await jwt.sign({
      sub: user.id,
      sid: sessionId,
      jti,
      iat,
      exp: iat + config.jwt.accessTtlSeconds,
      role: user.role,
      amr: auth.amr,
      auth_time: Math.floor(auth.authTime / 1000),
    });
  }

  async function pair(
    user: Pick<User, "id" | "role">,
    sessionId: string,
    refreshToken: string,
    iatMs: number,
    auth: Authentication,
  ): Promise<TokenPair> {
    return {
      access_token: await accessToken(user, sessionId, iatMs, auth),
      token_type: "Bearer",
      expires_in: config.jwt.accessTtlSeconds,
      refresh_token: refreshToken,
    };
  }

  async function revokeWhere(
    executor: Executor,
    filter: { sessionId?: string; userId?: string; exceptSessionId?: string },
    reason: string,
  ): Promise<string[]> {
    const now = clock.now();
    let query = executor.selectFrom("sessions").select("id").where("revoked_at", "is", null);
    if (filter.sessionId) query = query.where("id", "=", filter.sessionId);
    if (filter.userId) query = query.where("user_id", "=", filter.userId);
    if (filter.exceptSessionId) query = query.where("id", "!=", filter.exceptSessionId);
    const ids = (await query.execute()).map((r) => r.id);
    if (ids.length === 0) return ids;
    await executor.updateTable("sessions").set({ revoked_at: now, revoke_reason: reason })
      .where("id", "in", ids).execute();
    for (const id of ids) revocations.add(id, now);
    return ids;
  }

  return {
    pair,

    /**
     * Brings the signing keys up to date. Call it before the transaction that calls
     * {@linkcode start}: inside it the key ring cannot read the database.
     */
    prepare: () => jwt.prepare(),

    /** Starts a session for a user and returns its first token pair (see `prepare`). */
    async start(executor: Executor, user: User, meta: ClientMeta, amr: string[] = ["pwd"]) {
      const now = clock.now();
      const auth: Authentication = { amr, authTime: now };
      const sessionId = crypto.randomUUID();
      const refreshToken = randomToken(32);
      await executor.insertInto("sessions").values({
        id: sessionId,
        user_id: user.id,
        created_at: now,
        last_used_at: now,
        expires_at: now + config.refresh.ttlSeconds * 1000,
        revoked_at: null,
        revoke_reason: null,
        ip: meta.ip,
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
        amr: JSON.stringify(amr),
        auth_time: now,
      }).execute();
      await executor.insertInto("refresh_tokens").values({
        token_hash: await hashToken(refreshToken),
        session_id: sessionId,
        issued_at: now,
        rotated_at: null,
      }).execute();
      return { sessionId, tokens: await pair(user, sessionId, refreshToken, now, auth) };
    },

    /**
     * Exchanges a refresh token for a new pair. A token already rotated more than the
     * grace window ago is reuse: the whole session is revoked. Within the window the
     * same successor pair is returned (concurrent tabs).
     */
    async rotate(
      presented: string,
      onReuse?: (trx: Db, reuse: { sessionId: string; userId: string }) => Promise<void>,
    ): Promise<
      { tokens: TokenPair; user: User; sessionId: string } | { expired: true } | {
        reused: true;
        sessionId: string;
        userId: string;
      }
    > {
      await jwt.prepare();
      const now = clock.now();
      const currentHash = await hashToken(presented);
      const result = await db.transaction().execute(async (trx) => {
        const find = (hash: string) =>
          trx.selectFrom("refresh_tokens")
            .innerJoin("sessions", "sessions.id", "refresh_tokens.session_id")
            .innerJoin("users", "users.id", "sessions.user_id")
            .select([
              "refresh_tokens.rotated_at",
              "sessions.id as session_id",
              "sessions.revoked_at",
              "sessions.expires_at",
              "sessions.last_used_at",
              "sessions.amr",
              "sessions.auth_time",
              "sessions.created_at as session_created_at",
            ])
            .selectAll("users")
            .where("refresh_tokens.token_hash", "=", hash)
            .executeTakeFirst();
        let tokenHash = currentHash;
        let row = await find(tokenHash);
        // Issued under a legacy pepper (before an upgrade): that key made its successor too.
        let issuedWith: CryptoKey | undefined;
        for (const legacy of row ? [] : await pepper.legacy) {
          const legacyHash = await hashWith(legacy, presented);
          row = await find(legacyHash);
          if (row) {
            tokenHash = legacyHash;
            issuedWith = legacy;
            break;
          }
        }
        if (!row || row.revoked_at !== null) throw invalidRefresh();
        const {
          session_id: sessionId,
          rotated_at: rotatedAt,
          revoked_at: _revokedAt,
          expires_at: expiresAt,
          last_used_at: lastUsedAt,
          amr,
          auth_time,
          session_created_at,
          ...user
        } = row;
        const auth = authenticationOf({ amr, auth_time, created_at: session_created_at });
        const idleLimit = lastUsedAt + config.refresh.idleSeconds * 1000;
        if (expiresAt <= now || idleLimit <= now || user.status !== "active") {
          // Returned, not thrown: the revocation must commit.
          await revokeWhere(trx, { sessionId }, user.status !== "active" ? "disabled" : "expired");
          return { expired: true as const };
        }
        if (rotatedAt !== null) {
          const successor = await successorOf(presented, issuedWith);
          const successorHash = issuedWith
            ? await hashWith(issuedWith, successor)
            : await hashToken(successor);
          const successorRow = await trx.selectFrom("refresh_tokens").select("rotated_at")
            .where("token_hash", "=", successorHash).executeTakeFirst();
          const inGrace = now - rotatedAt <= config.refresh.graceSeconds * 1000;
          if (inGrace && successorRow && successorRow.rotated_at === null) {
            return {
              tokens: await pair(user, sessionId, successor, rotatedAt, auth),
              user,
              sessionId,
            };
          }
          await revokeWhere(trx, { sessionId }, "refresh_token_reused");
          await onReuse?.(trx, { sessionId, userId: user.id });
          return { reused: true as const, sessionId, userId: user.id };
        }
        const successor = await successorOf(presented);
        // Re-hashed under the current pepper as it is rotated, so a replay is still found.
        await trx.updateTable("refresh_tokens").set({ rotated_at: now, token_hash: currentHash })
          .where("token_hash", "=", tokenHash).execute();
        await trx.insertInto("refresh_tokens").values({
          token_hash: await hashToken(successor),
          session_id: sessionId,
          issued_at: now,
          rotated_at: null,
        }).execute();
        await trx.updateTable("sessions").set({ last_used_at: now })
          .where("id", "=", sessionId).execute();
        return { tokens: await pair(user, sessionId, successor, now, auth), user, sessionId };
      });
      if ("reused" in result) deps.metrics?.refreshReuse.inc();
      return result;
    },

    /**
     * Records a fresh proof of identity in a session (reauthentication, or a second factor
     * just enrolled) and answers a new access token carrying it; call `prepare` first.
     */
    async reauthenticated(
      executor: Executor,
      user: Pick<User, "id" | "role">,
      sessionId: string,
      amr: string[],
    ): Promise<AccessTokenAnswer> {
      const now = clock.now();
      await executor.updateTable("sessions").set({ amr: JSON.stringify(amr), auth_time: now })
        .where("id", "=", sessionId).execute();
      return {
        access_token: await accessToken(user, sessionId, now, { amr, authTime: now }),
        token_type: "Bearer",
        expires_in: config.jwt.accessTtlSeconds,
      };
    },

    /**
     * A new access token of an existing session, as its row remembers its authentication
     * (the console calls the API with one per request); call `prepare` first.
     */
    accessFor(
      user: Pick<User, "id" | "role">,
      session: { id: string; amr: string | null; auth_time: number | null; created_at: number },
    ): Promise<string> {
      return accessToken(user, session.id, clock.now(), authenticationOf(session));
    },

    /** Revokes one session; returns whether it was active. */
    async revoke(executor: Executor, sessionId: string, reason: string, userId?: string) {
      return (await revokeWhere(executor, { sessionId, userId }, reason)).length > 0;
    },

    /** Revokes every session of a user, optionally keeping one; returns the revoked ids. */
    revokeAll(executor: Executor, userId: string, reason: string, exceptSessionId?: string) {
      return revokeWhere(executor, { userId, exceptSessionId }, reason);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;

/**
 * Sessions neither revoked nor past their absolute expiry at `now` (an idle one still counts
 * until its next refresh finds it idle), for the resource log.
 */
export async function countOpenSessions(db: Db, now: number): Promise<number> {
  const { n } = await db.selectFrom("sessions")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("revoked_at", "is", null).where("expires_at", ">", now)
    .executeTakeFirstOrThrow();
  return Number(n);
}
