import type { Db } from "../db/schema.ts";

/** A Kysely instance or an open transaction on it. */
export type Executor = Pick<Db, "updateTable">;

/**
 * Revokes every open session of the given users, the way a logout-all does, and returns
 * how many were revoked. Servers pick the change up from `sessions.revoked_at` (their
 * revocation list polls it), so tokens stop working everywhere within a second.
 */
export async function revokeAllSessions(
  executor: Executor,
  userIds: string[],
  options: { reason: string; now: number },
): Promise<number> {
  let revoked = 0;
  // Bounded chunks keep each statement under SQLite's limit on bound parameters.
  for (let i = 0; i < userIds.length; i += 500) {
    const result = await executor.updateTable("sessions")
      .set({ revoked_at: options.now, revoke_reason: options.reason })
      .where("user_id", "in", userIds.slice(i, i + 500))
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    revoked += Number(result.numUpdatedRows);
  }
  return revoked;
}
