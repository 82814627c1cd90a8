import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { Db } from "../db/schema.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";

/**
 * Revokes one session of a user (or all of them when `sessionId` is omitted) and audits
 * each revocation as `session.revoked`, in one transaction. Returns the revoked ids.
 */
export async function revokeSessionsAudited(
  c: Context<AppEnv>,
  deps: { db: Db; services: Services },
  target: { userId: string; sessionId?: string },
  reason: string,
): Promise<string[]> {
  const { sessions, audit } = deps.services;
  return await deps.db.transaction().execute(async (trx) => {
    const ids = target.sessionId === undefined
      ? await sessions.revokeAll(trx, target.userId, reason)
      : (await sessions.revoke(trx, target.sessionId, reason, target.userId))
      ? [target.sessionId]
      : [];
    for (const id of ids) {
      await audit(trx, {
        ...auditContext(c),
        action: "session.revoked",
        outcome: "success",
        targetType: "session",
        targetId: id,
        details: { session_id: id, reason },
      });
    }
    return ids;
  });
}
