/**
 * Ending sessions on purpose: logout, a user signing out one of their sessions, an
 * administrator revoking a user's sessions (optionally with every API key). Each call
 * is one transaction with an audit event per ended credential.
 */
import type { Db } from "../db/schema.ts";
import type { ApiKeyService } from "./api_keys.ts";
import type { Audit } from "./audit.ts";
import type { AuditActor } from "./audit_events.ts";
import type { SessionService } from "./sessions.ts";

/** Dependencies of {@linkcode createSessionEnds}. */
export interface SessionEndsDeps {
  db: Db;
  sessions: SessionService;
  apiKeys: ApiKeyService;
  audit: Audit;
}

/** What {@linkcode createSessionEnds}'s `revoke` ended. */
export interface Revoked {
  sessions: string[];
  apiKeys: string[];
}

/** Builds the session-ending operations; one per app. */
export function createSessionEnds(deps: SessionEndsDeps) {
  const { db, sessions, apiKeys, audit } = deps;
  return {
    /**
     * Revokes one session of a user (or all of them when `sessionId` is omitted), and with
     * `apiKeys` every API key of the user too, auditing each as `session.revoked` /
     * `api_key.revoked`, in one transaction.
     */
    async revoke(
      target: { userId: string; sessionId?: string; apiKeys?: boolean },
      reason: string,
      actor: AuditActor,
    ): Promise<Revoked> {
      const revoked = await db.transaction().execute(async (trx) => {
        const ids = target.sessionId === undefined
          ? await sessions.revokeAll(trx, target.userId, reason)
          : (await sessions.revoke(trx, target.sessionId, reason, target.userId))
          ? [target.sessionId]
          : [];
        for (const id of ids) {
          await audit(trx, {
            ...actor,
            action: "session.revoked",
            outcome: "success",
            targetType: "session",
            targetId: id,
            details: { session_id: id, reason },
          });
        }
        const keys = target.apiKeys
          ? await apiKeys.revokeAllOf(trx, target.userId, actor, reason)
          : [];
        return { sessions: ids, apiKeys: keys };
      });
      apiKeys.forget(revoked.apiKeys);
      return revoked;
    },

    /** Logout: ends the caller's session, or with `all` every session of the user. */
    async logout(caller: { userId: string; sessionId?: string }, all: boolean, actor: AuditActor) {
      await db.transaction().execute(async (trx) => {
        if (all) await sessions.revokeAll(trx, caller.userId, "logout_all");
        else if (caller.sessionId) {
          await sessions.revoke(trx, caller.sessionId, "logout", caller.userId);
        }
        await audit(trx, {
          ...actor,
          action: "auth.logout",
          outcome: "success",
          targetType: "session",
          targetId: caller.sessionId ?? null,
          details: { session_id: caller.sessionId, all_sessions: all },
        });
      });
    },
  };
}

/** The session-ending operations; see {@linkcode createSessionEnds}. */
export type SessionEnds = ReturnType<typeof createSessionEnds>;
