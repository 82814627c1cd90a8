/**
 * The in-memory list of revoked sessions that every authenticated request checks, refreshed
 * from the database at most about once a second.
 */
import type { Db } from "../db/schema.ts";
import type { Clock } from "../platform/clock.ts";

/** Options of {@linkcode createRevocationList}. */
export interface RevocationListOptions {
  db: Db;
  clock: Clock;
  /** After this long the set is refreshed in the background on the next request. */
  refreshAfterMs?: number;
  /** After this long a request waits for a refresh: the bound on cross-process staleness. */
  maxStalenessMs?: number;
  /** How long a revoked session matters: an access token lives at most this long. */
  accessTtlMs: number;
}

/** Answers "is this session revoked?" from memory, kept fresh from the database. */
export interface RevocationList {
  /** Resolves to true when the session was revoked, by this or any process. */
  isRevoked(sessionId: string): Promise<boolean>;
  /** Records a revocation made by this process, effective at once. */
  add(sessionId: string, at: number): void;
}

const CLOCK_SKEW_MS = 2_000;

/**
 * Revoked session ids in a Set, refreshed from `sessions.revoked_at` by one indexed
 * query at most every `refreshAfterMs`. Busy servers refresh in the background; after
 * `maxStalenessMs` without a refresh (an idle server) the next request waits for one, so
 * a revocation in another process is honoured within about a second without a database
 * lookup per request.
 */
export function createRevocationList(options: RevocationListOptions): RevocationList {
  const { db, clock } = options;
  const refreshAfter = options.refreshAfterMs ?? 250;
  const maxStaleness = options.maxStalenessMs ?? 750;
  const retainMs = options.accessTtlMs + CLOCK_SKEW_MS * 2;
  const revoked = new Map<string, number>();
  let cursor = clock.now() - retainMs;
  let refreshedAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  const prune = (now: number) => {
    for (const [id, at] of revoked) if (at < now - retainMs) revoked.delete(id);
  };

  const refresh = () => {
    inFlight ??= (async () => {
      const started = clock.now();
      try {
        const rows = await db.selectFrom("sessions").select(["id", "revoked_at"])
          .where("revoked_at", ">=", cursor).execute();
        for (const row of rows) revoked.set(row.id, row.revoked_at!);
        // Other processes stamp with their own clocks: look back a little each time.
        cursor = Math.max(cursor, started - CLOCK_SKEW_MS);
        refreshedAt = started;
        prune(started);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    async isRevoked(sessionId) {
      const age = clock.now() - refreshedAt;
      if (age > maxStaleness) await refresh();
      else if (age > refreshAfter) void refresh().catch(() => {});
      return revoked.has(sessionId);
    },
    add(sessionId, at) {
      revoked.set(sessionId, at);
    },
  };
}
