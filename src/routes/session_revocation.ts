import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { Db } from "../db/schema.ts";
import type { Services } from "../services/container.ts";
import { auditContext } from "./audit_context.ts";

/**
 * Revokes one session of a user (or all of them when `sessionId` is omitted), and with
 * `apiKeys` every API key of the user too, auditing each revocation, in one transaction.
 * Returns the revoked ids.
 */
export async function revokeSessionsAudited(
  c: Context<AppEnv>,
  deps: { db: Db; services: Services },
  target: { userId: string; sessionId?: string; apiKeys?: boolean },
  reason: string,
): Promise<{ sessions: string[]; apiKeys: string[] }> {
  const { sessions, audit, apiKeys } = deps.services;
  const revoked = await deps.db.transaction().execute(async (trx) => {
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
    const keys = target.apiKeys
      ? await apiKeys.revokeAllOf(trx, target.userId, auditContext(c), reason)
      : [];
    return { sessions: ids, apiKeys: keys };
  });
  apiKeys.forget(revoked.apiKeys);
  return revoked;
}
