/**
 * Console sessions: a sign-in to the web console is a row of `sessions` (started by the same
 * login as the API's, so everything that revokes sessions ends it) plus a `console_sessions`
 * row holding the keyed hash of the `__Host-` cookie's random token, an absolute expiry
 * (12 h) and an idle timeout (15 min for admins, 30 min for users). Each request that
 * presents the cookie is checked against all of it and moves the idle clock.
 */
import type { Db, User } from "../db/schema.ts";
import { hex, hmac, randomToken } from "../lib/crypto.ts";
import type { Clock } from "../platform/clock.ts";
import type { Pepper } from "./pepper.ts";
import { isAdminRole } from "./roles.ts";
import type { SessionService } from "./sessions.ts";

/** The longest a console session lives, whatever its activity. */
export const CONSOLE_ABSOLUTE_MS = 12 * 3_600_000;
/** Idle timeouts: shorter for the accounts that can change others. */
export const CONSOLE_IDLE_MS = { admin: 15 * 60_000, user: 30 * 60_000 } as const;

/** A live console session, as a request resolves it. */
export interface ConsoleSession {
  sessionId: string;
  user: User;
  /** When the session's owner last proved who they are (step-up), epoch ms. */
  authTime: number;
  amr: string[];
  /** An access token of the session for the console's calls to the API. */
  accessToken(): Promise<string>;
}

/** Console sessions; see the module comment. */
export function createConsoleSessions(
  deps: { db: Db; clock: Clock; pepper: Pepper; sessions: SessionService },
) {
  const { db, clock } = deps;
  const hashOf = async (token: string) =>
    hex(await hmac(await deps.pepper.key, `console:${token}`));

  return {
    /** Opens a console session on an API session just started; answers the cookie's token. */
    async open(sessionId: string, role: string): Promise<string> {
      const token = randomToken(32);
      const now = clock.now();
      await db.insertInto("console_sessions").values({
        token_hash: await hashOf(token),
        session_id: sessionId,
        created_at: now,
        last_seen_at: now,
        expires_at: now + CONSOLE_ABSOLUTE_MS,
        idle_ms: isAdminRole(role) ? CONSOLE_IDLE_MS.admin : CONSOLE_IDLE_MS.user,
      }).execute();
      return token;
    },

    /**
     * The live session of a cookie token: its session not revoked or expired, its user
     * active, within its absolute and idle limits; the idle clock moves. Undefined otherwise.
     */
    async resolve(token: string): Promise<ConsoleSession | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const now = clock.now();
      const row = await db.selectFrom("console_sessions")
        .innerJoin("sessions", "sessions.id", "console_sessions.session_id")
        .innerJoin("users", "users.id", "sessions.user_id")
        .selectAll("users")
        .select([
          "console_sessions.session_id",
          "console_sessions.last_seen_at",
          "console_sessions.expires_at as console_expires_at",
          "console_sessions.idle_ms",
          "sessions.amr",
          "sessions.auth_time",
          "sessions.created_at as session_created_at",
        ])
        .where("console_sessions.token_hash", "=", await hashOf(token))
        .where("sessions.revoked_at", "is", null)
        .where("sessions.expires_at", ">", now)
        .where("users.status", "=", "active")
        .executeTakeFirst();
      if (!row) return undefined;
      // The idle limit of the user's role now (a promotion shortens it at once).
      const idleMs = isAdminRole(row.role) ? CONSOLE_IDLE_MS.admin : CONSOLE_IDLE_MS.user;
      if (row.console_expires_at <= now || row.last_seen_at + idleMs <= now) {
        return undefined;
      }
      await db.updateTable("console_sessions").set({ last_seen_at: now })
        .where("session_id", "=", row.session_id).execute();
      const {
        session_id: sessionId,
        last_seen_at: _seen,
        console_expires_at: _expires,
        idle_ms: _idle,
        amr,
        auth_time,
        session_created_at,
        ...user
      } = row;
      const session = { id: sessionId, amr, auth_time, created_at: session_created_at };
      return {
        sessionId,
        user: user as User,
        authTime: auth_time ?? session_created_at,
        amr: amr ? JSON.parse(amr) as string[] : ["pwd"],
        accessToken: async () => {
          await deps.sessions.prepare();
          return await deps.sessions.accessFor(user, session);
        },
      };
    },
  };
}

/** Console sessions; see {@linkcode createConsoleSessions}. */
export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;
